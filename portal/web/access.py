"""Who may see what inside a tenant: clients see only their own client's data.

Tenant scoping is central (portal.tenants.scoping); this is the second, client-level scope
for the pages that clients and staff share. Views call :func:`visible` on their queries and
:func:`get_visible_or_404` for single objects, so a client's user never reaches another
client's order by changing an id in the address bar.
"""

from __future__ import annotations

import uuid
from functools import wraps

from flask import abort
from flask_login import current_user
from sqlalchemy import Select, select

from portal.accounts.login import login_manager
from portal.accounts.models import Role
from portal.db import db

STAFF_ROLES = (Role.ADMIN, Role.STAFF)


def is_staff() -> bool:
    return current_user.is_authenticated and current_user.role in STAFF_ROLES


def visible(statement: Select, model) -> Select:
    """Narrow ``statement`` on ``model`` to what the current user may see."""
    if is_staff():
        return statement
    if current_user.is_authenticated and current_user.role == Role.CLIENT:
        return statement.where(model.client_id == current_user.client_id)
    # Suppliers and anyone else see no client data through these pages.
    return statement.where(False)


def get_visible_or_404(model, object_id: uuid.UUID, *options):
    """Return the object if the current user may see it; otherwise 404 (never 403: an id of
    someone else's object must not be confirmed to exist)."""
    statement = visible(select(model).where(model.id == object_id), model)
    if options:
        statement = statement.options(*options)
    obj = db.session.scalar(statement)
    if obj is None:
        abort(404)
    return obj


def _require(check):
    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not check():
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate


def _client_with_access() -> bool:
    return (
        current_user.role == Role.CLIENT
        and current_user.client is not None
        and current_user.client.portal_access
    )


#: Staff, and client users whose company has portal access.
client_or_staff = _require(lambda: is_staff() or _client_with_access())
#: Tenant staff and admins only.
staff_only = _require(is_staff)
#: Client users whose company has portal access; staff are refused (the client's own pages).
client_only = _require(_client_with_access)


def can_manage_products() -> bool:
    """Staff always; client users when their company has "product management"."""
    return is_staff() or (_client_with_access() and current_user.client.product_management)


products_editor = _require(can_manage_products)
