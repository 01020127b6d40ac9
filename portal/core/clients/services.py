"""Clients: create and change the tenant's customers, and invite their users.

Every change writes an audit entry with old and new values in the same transaction.
"""

from __future__ import annotations

import uuid

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from portal.accounts.models import Role, User
from portal.accounts.services import AccountError, invite_user, normalise_email
from portal.audit.services import diff, record
from portal.core.clients.models import Client
from portal.core.errors import DomainError, too_long
from portal.core.warehouses.models import Warehouse
from portal.db import db

NAME_LENGTH = 200


def _clean(
    name: str,
    email: str | None,
    portal_access: bool,
    product_management: bool,
    purchase_order_warehouse_id: uuid.UUID | None,
    *,
    client_id: uuid.UUID | None = None,
) -> dict:
    name = (name or "").strip()
    if not name:
        raise DomainError(_l("Please enter a name."), "name")
    if len(name) > NAME_LENGTH:
        raise DomainError(too_long(NAME_LENGTH), "name")
    # The exact name too: SQLite's lower() leaves non-ASCII letters alone (Ó), the unique key not.
    taken = select(func.count()).where(
        or_(func.lower(Client.name) == name.lower(), Client.name == name)
    )
    if client_id is not None:
        taken = taken.where(Client.id != client_id)
    if db.session.scalar(taken):
        raise DomainError(_l("A client with the name %(name)s already exists.", name=name), "name")
    email = (email or "").strip() or None
    if email is not None:
        try:
            email = normalise_email(email)
        except AccountError as error:
            raise DomainError(error.message, "email") from None
    if purchase_order_warehouse_id is not None:
        # Tenant-scoped: another tenant's warehouse is as unknown as a made-up id.
        exists = db.session.scalar(
            select(func.count()).where(Warehouse.id == purchase_order_warehouse_id)
        )
        if not exists:
            raise DomainError(
                _l("Please choose one of the warehouses."), "purchase_order_warehouse_id"
            )
    return {
        "name": name,
        "email": email,
        "portal_access": bool(portal_access),
        "product_management": bool(product_management),
        "purchase_order_warehouse_id": purchase_order_warehouse_id,
    }


def create_client(
    name: str,
    *,
    email: str | None = None,
    portal_access: bool = True,
    product_management: bool = False,
    purchase_order_warehouse_id: uuid.UUID | None = None,
) -> Client:
    """Add a client of the tenant in context; the caller commits."""
    values = _clean(name, email, portal_access, product_management, purchase_order_warehouse_id)
    client = Client(**values)
    db.session.add(client)
    db.session.flush()
    record("client.created", client, changes=diff({}, values))
    return client


def update_client(
    client: Client,
    *,
    name: str,
    email: str | None,
    portal_access: bool,
    product_management: bool,
    purchase_order_warehouse_id: uuid.UUID | None,
) -> dict:
    """Change a client's name, e-mail, permissions and purchase-order warehouse.

    Returns ``{field: [old, new]}`` of what changed (also written to the audit log).
    """
    values = _clean(
        name,
        email,
        portal_access,
        product_management,
        purchase_order_warehouse_id,
        client_id=client.id,
    )
    before = {key: getattr(client, key) for key in values}
    changes = diff(before, values)
    if changes:
        for key, value in values.items():
            setattr(client, key, value)
        record("client.updated", client, changes=changes)
    return changes


def invite_client_user(client: Client, email: str, name: str = "") -> User:
    """Create a user of ``client`` who chooses a password through an e-mailed link.

    Until then no password works: the account gets a long random one nobody knows. The
    caller sends the invitation (the link needs the request's host) and commits.
    """
    try:
        user = invite_user(email, Role.CLIENT, name=name or "", client=client)
    except AccountError as error:
        raise DomainError(error.message, error.field) from None
    record("client.user_invited", client, details={"email": user.email})
    return user


def client_users(client: Client) -> list[User]:
    """Return the users of ``client``, by e-mail address."""
    return list(
        db.session.scalars(select(User).where(User.client_id == client.id).order_by(User.email))
    )
