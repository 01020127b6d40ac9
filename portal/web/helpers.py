"""Small helpers shared by the web blueprints."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from flask import abort, request, url_for
from sqlalchemy import select

from portal.db import db


def get_or_404(model, object_id: uuid.UUID):
    """Return the tenant's ``model`` row with ``object_id``, or answer 404.

    The query is tenant-scoped like every other, so another tenant's id is simply not found.
    """
    obj = db.session.scalar(select(model).where(model.id == object_id))
    if obj is None:
        abort(404)
    return obj


def safe_next(default_endpoint: str = "web.dashboard") -> str:
    """Return the ``next`` target if it stays on this host, else the default page."""
    target = request.values.get("next", "")
    parts = urlsplit(target)
    if (
        target.startswith("/")
        and not target.startswith("//")
        and not parts.netloc
        and "\\" not in target
    ):
        return target
    return url_for(default_endpoint)


def form_errors_to_fields(form, error) -> None:
    """Attach a service's AccountError-like refusal to the form field it names."""
    field = getattr(form, error.field, None) if getattr(error, "field", None) else None
    # str(): a lazy string counts as safe HTML in Jinja (it has __html__), and messages may
    # carry what the person typed; as a plain str it is escaped like any other text.
    message = str(error.message)
    if field is not None:
        field.errors = [*field.errors, message]
    else:
        form.form_errors.append(message)
