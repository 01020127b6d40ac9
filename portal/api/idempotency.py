"""``Idempotency-Key`` on POST: a retried request has its effect once.

Semantics of the IETF draft "The Idempotency-Key HTTP Header Field", as Stripe's API has them:

- the first request with a key runs and its response is kept, per token, for at least
  :data:`KEPT_FOR`; the same key with the same request returns that response again, marked
  ``Idempotent-Replayed: true``;
- the same key with another method, path or body is refused (422, ``idempotency_key_reused``);
- while the first request still runs, a repeat is refused (409, ``idempotency_in_progress``);
- a request that was refused (a problem document) keeps nothing, so the corrected request can
  be sent with the same key, as a form of the pages can be sent again after an error.

The key is claimed in a transaction of its own before the view runs, so a concurrent repeat
finds it (PostgreSQL makes the second INSERT wait and then fail on the unique key); the
response is written in the view's own transaction, together with its effect.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from functools import wraps

from flask import current_app, make_response, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from portal.api.auth import current_token
from portal.api.models import IdempotentRequest
from portal.api.problems import Problem
from portal.db import db, utcnow

HEADER = "Idempotency-Key"
KEPT_FOR = timedelta(hours=24)
MAX_KEY_LENGTH = 255

KEY_TOO_LONG = _l("The Idempotency-Key can have at most 255 characters.")
KEY_REUSED = _l(
    "This Idempotency-Key was already used for a different request. "
    "Use a new key for a new request."
)
IN_PROGRESS = _l(
    "A request with this Idempotency-Key is still being processed. Try again in a moment."
)


def _update(digest, part: bytes) -> None:
    digest.update(len(part).to_bytes(8, "big"))
    digest.update(part)


def _multipart(digest) -> None:
    """Hash a multipart body by its fields and files: the boundary differs on every retry,
    and the raw body is gone once the form has been parsed."""
    for name, value in sorted(request.form.items(multi=True)):
        for part in (b"field", name.encode(), value.encode()):
            _update(digest, part)
    for name, upload in sorted(request.files.items(multi=True), key=lambda item: item[0]):
        for part in (b"file", name.encode(), (upload.filename or "").encode()):
            _update(digest, part)
        content = hashlib.sha256()
        while chunk := upload.stream.read(1 << 16):
            content.update(chunk)
        upload.stream.seek(0)
        _update(digest, content.digest())


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode()):
        _update(digest, part)
    if request.mimetype == "multipart/form-data":
        _multipart(digest)
    else:
        _update(digest, request.get_data())
    return digest.hexdigest()


def _replay(found: IdempotentRequest):
    response = current_app.response_class(
        found.response_body, status=found.status_code, mimetype=found.response_type
    )
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _claim(key: str, fingerprint: str) -> IdempotentRequest | None:
    """Claim ``key`` for this request (committed); return the earlier request if it exists."""
    token = current_token()
    now = utcnow()
    db.session.execute(
        delete(IdempotentRequest).where(
            IdempotentRequest.token_id == token.id,
            IdempotentRequest.created_at < now - KEPT_FOR,
        )
    )
    found = db.session.scalar(
        select(IdempotentRequest).where(
            IdempotentRequest.token_id == token.id, IdempotentRequest.key == key
        )
    )
    if found is not None:
        db.session.commit()
        return found
    db.session.add(
        IdempotentRequest(token_id=token.id, key=key, fingerprint=fingerprint, created_at=now)
    )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Problem(409, "idempotency_in_progress", IN_PROGRESS) from None
    return None


def _release(key: str) -> None:
    db.session.rollback()
    db.session.execute(
        delete(IdempotentRequest).where(
            IdempotentRequest.token_id == current_token().id,
            IdempotentRequest.key == key,
            IdempotentRequest.status_code.is_(None),
        )
    )
    db.session.commit()


def idempotent(view):
    """Run a POST view at most once per ``Idempotency-Key``; the view must not commit."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        key = request.headers.get(HEADER, "").strip()
        if not key:
            response = make_response(view(*args, **kwargs))
            db.session.commit()
            return response
        if len(key) > MAX_KEY_LENGTH:
            raise Problem(400, "idempotency_key_invalid", KEY_TOO_LONG)
        fingerprint = _fingerprint()
        found = _claim(key, fingerprint)
        if found is not None:
            if found.fingerprint != fingerprint:
                raise Problem(422, "idempotency_key_reused", KEY_REUSED)
            if found.status_code is None:
                raise Problem(409, "idempotency_in_progress", IN_PROGRESS)
            return _replay(found)
        try:
            response = make_response(view(*args, **kwargs))
        except BaseException:
            _release(key)
            raise
        if response.status_code >= 400:
            db.session.rollback()
            _release(key)
            return response
        claimed = db.session.scalar(
            select(IdempotentRequest).where(
                IdempotentRequest.token_id == current_token().id, IdempotentRequest.key == key
            )
        )
        claimed.status_code = response.status_code
        claimed.response_body = response.get_data()
        claimed.response_type = response.mimetype
        db.session.commit()
        return response

    return wrapped
