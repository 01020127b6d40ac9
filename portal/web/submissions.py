"""One-time submission tokens: a form that creates something does it once, however often it
is sent.

Every such form carries a hidden, random token (:class:`SubmissionTokenMixin`, rendered by
``form.hidden_tag()``). The view, wrapped in :func:`once_per_submission`, writes the token as
a :class:`FormSubmission` row in the same transaction as its effect, and the view names the
page that shows the result with :func:`record_outcome` before it commits. The token is the
row's primary key, so a second request with the same token cannot write it too:

- on PostgreSQL its INSERT waits until the first transaction ends, then fails with a unique
  violation (or succeeds, when the first one was rolled back);
- on SQLite writing requests run one after the other (``BEGIN IMMEDIATE``, portal/db.py), so
  the second one finds the row at once.

The repeat is then sent to the first submission's result with the message
:data:`ALREADY_DONE`. A refused submission (a form error, a rollback) leaves no row, so the
corrected form can be sent with the same token. A POST without a token (the API, scripts,
older pages) is taken as a first submission.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from functools import wraps

from flask import flash, g, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import ForeignKeyConstraint, String, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column
from wtforms import HiddenField

from portal.db import db, utcnow, uuid7
from portal.tenants.scoping import TenantOwned

#: The form field (and request parameter) that carries the token.
TOKEN_FIELD = "submission_token"  # noqa: S105 - a field name, not a secret

#: How long a sent form is remembered: a repeat within this time is refused as "already
#: done"; older tokens are deleted by the next submission in the tenant.
KEEP_DAYS = 7

ALREADY_DONE = _l(
    "This was already done: the form had been sent before, and nothing was done twice."
)


class FormSubmission(TenantOwned, db.Model):
    """A form sent with a one-time token (the row's ``id``), and the page of its result."""

    __tablename__ = "form_submissions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
    )

    user_id: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A path on the tenant's host; None until the view names it (or when it has no page).
    outcome_url: Mapped[str | None] = mapped_column(String(2000))


def new_submission_token() -> str:
    """Return a fresh token: unguessable and time-ordered, like every id."""
    return str(uuid7())


class SubmissionTokenMixin:
    """Mix into a form that creates something: adds the hidden one-time token.

    A new form gets a fresh token; a form shown again with its errors keeps the one sent.
    """

    submission_token = HiddenField(default=new_submission_token)


def _token_from_request() -> uuid.UUID | None:
    # A form with a prefix (two forms on one page) sends "<prefix>-submission_token".
    raw = request.form.get(TOKEN_FIELD, "") or next(
        (value for key, value in request.form.items() if key.endswith("-" + TOKEN_FIELD)), ""
    )
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        return None  # not one of ours: handled like a form without a token


def _earlier(token: uuid.UUID) -> FormSubmission | None:
    return db.session.scalar(select(FormSubmission).where(FormSubmission.id == token))


def _forget_old_tokens() -> None:
    """Delete the tenant's tokens of forms shown more than :data:`KEEP_DAYS` ago.

    Token ids are time-ordered (UUIDv7: the first 48 bits are the milliseconds when the form
    was shown), so this is a range on the primary key, not a scan.
    """
    cutoff = int((time.time() - KEEP_DAYS * 86400) * 1000)
    db.session.execute(
        delete(FormSubmission)
        .where(FormSubmission.id < uuid.UUID(int=cutoff << 80))
        .execution_options(synchronize_session=False)
    )


def _claim(token: uuid.UUID) -> FormSubmission | None:
    """Write the token in the current transaction; return the earlier submission instead
    when the token was used already."""
    _forget_old_tokens()
    earlier = _earlier(token)
    if earlier is not None:
        return earlier
    submission = FormSubmission(id=token, user_id=current_user.id)
    try:
        with db.session.begin_nested():
            db.session.add(submission)
    except IntegrityError:
        # Another request with this token committed while this one waited for it.
        return _earlier(token)
    g.form_submission = submission
    return None


def _fallback_url() -> str:
    rule = request.url_rule
    if rule is not None and "GET" in (rule.methods or ()):
        return request.path
    return url_for("web.dashboard")


def once_per_submission(view):
    """Run a form's POST once per submission token; send repeats to the first result.

    Put it below the access decorator, so that access is checked first.
    """

    @wraps(view)
    def wrapped(*args, **kwargs):
        token = _token_from_request() if request.method == "POST" else None
        if token is None or not current_user.is_authenticated:
            return view(*args, **kwargs)
        earlier = _claim(token)
        if earlier is None:
            return view(*args, **kwargs)
        target = earlier.outcome_url if earlier.user_id == current_user.id else None
        db.session.rollback()
        flash(ALREADY_DONE, "info")
        return redirect(target or _fallback_url())

    return wrapped


def record_outcome(url: str) -> None:
    """Name the page that shows what this submission did; call it before the commit.

    Does nothing for a request without a token.
    """
    submission = g.get("form_submission")
    if submission is not None:
        submission.outcome_url = url[:2000]
