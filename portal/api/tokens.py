"""Integration tokens: create (the secret is shown once), regenerate, revoke, authenticate.

A token reads ``ptk_<lookup id>_<secret>``. The lookup id finds the row within the tenant of
the host, so a token works only on its own tenant's host; the secret (32 random bytes) is
compared by its SHA-256. Regenerating keeps the row (name, scopes, owner) and replaces lookup
id and secret, so the old token stops working with the same commit; revoking is just as
immediate, since every request reads the row.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.accounts.models import Role, User
from portal.api.models import ApiToken
from portal.audit.services import record
from portal.core.errors import DomainError
from portal.db import db, utcnow

PREFIX = "ptk_"
SECRET_BYTES = 32
_LOOKUP_ALPHABET = string.ascii_lowercase + string.digits

#: Every scope a token can carry, with its label on the Integration page.
SCOPES = {
    "purchase_orders:read": _l("Read purchase orders"),
    "purchase_orders:write": _l("Answer purchase orders"),
    "orders:read": _l("Read orders, shipments and backorders"),
    "orders:write": _l("Create, change and cancel orders"),
    "products:read": _l("Read products, stock and stock movements"),
    "addresses:read": _l("Read the address book"),
    "addresses:write": _l("Change the address book"),
    "returns:read": _l("Read returns"),
    "catalogue:write": _l("Upload the catalogue"),
    "stores:read": _l("Read the registration data per store and the mandatory data"),
    "stores:write": _l("Change the registration data per store"),
    "clients:read": _l("Read clients and their users"),
    "clients:write": _l("Create and change clients, invite their users"),
    "suppliers:read": _l("Read suppliers and their users"),
    "suppliers:write": _l("Create and change suppliers, invite their users"),
    "stock:write": _l("Correct stock"),
    "returns:write": _l("Receive and cancel returns"),
    "webhooks:manage": _l("Manage the portal's webhooks"),
}
#: What a scope shared with the client or supplier scope means on an administrator's token.
TENANT_SCOPE_LABELS = {
    "orders:read": _l("Read all clients' orders and shipments"),
    "orders:write": _l("Work orders: allocate, pick, ship, complete, cancel"),
    "products:read": _l("Read all clients' products and stock"),
    "purchase_orders:read": _l("Read all purchase orders and goods receipts"),
    "purchase_orders:write": _l("Receive goods, cancel purchase orders"),
    "returns:read": _l("Read all clients' returns"),
}
#: Which roles may hold which scopes. A token without a client or supplier (an admin's) acts
#: for the whole tenant (the tenant scope, :mod:`portal.api.tenant_sync`); only admins issue
#: those, since managing clients and their logins is an admin matter.
SCOPES_FOR_ROLE = {
    Role.SUPPLIER: (
        "purchase_orders:read",
        "purchase_orders:write",
        "catalogue:write",
        "stores:read",
        "stores:write",
    ),
    Role.CLIENT: (
        "orders:read",
        "orders:write",
        "products:read",
        "addresses:read",
        "addresses:write",
        "purchase_orders:read",
        "returns:read",
    ),
    Role.ADMIN: (
        "clients:read",
        "clients:write",
        "orders:read",
        "orders:write",
        "products:read",
        "stock:write",
        "suppliers:read",
        "suppliers:write",
        "purchase_orders:read",
        "purchase_orders:write",
        "returns:read",
        "returns:write",
        "webhooks:manage",
    ),
}


@dataclass(frozen=True)
class Permission:
    """A box on the Integration page: its form field, its label and the scopes it grants (a
    write permission includes reading the same family)."""

    field: str
    label: object
    scopes: tuple[str, ...]


#: The boxes each role ticks on the Integration page, in the page's order.
PERMISSIONS_FOR_ROLE = {
    Role.SUPPLIER: (
        Permission("read", _l("Read purchase orders"), ("purchase_orders:read",)),
        Permission(
            "write",
            _l(
                "Answer purchase orders (acknowledge, confirm, reject, announce dispatches, add documents)"
            ),
            ("purchase_orders:read", "purchase_orders:write"),
        ),
        Permission("catalogue_write", SCOPES["catalogue:write"], ("catalogue:write",)),
        Permission("stores_read", SCOPES["stores:read"], ("stores:read",)),
        Permission(
            "stores_write",
            _l("Change the registration data per store (includes reading it)"),
            ("stores:read", "stores:write"),
        ),
    ),
    Role.CLIENT: (
        Permission("orders_read", SCOPES["orders:read"], ("orders:read",)),
        Permission(
            "orders_write",
            _l("Create, change and cancel orders (includes reading them)"),
            ("orders:read", "orders:write"),
        ),
        Permission("products_read", SCOPES["products:read"], ("products:read",)),
        Permission("addresses_read", SCOPES["addresses:read"], ("addresses:read",)),
        Permission(
            "addresses_write",
            _l("Change the address book (includes reading it)"),
            ("addresses:read", "addresses:write"),
        ),
        Permission(
            "purchase_orders_read",
            _l("Read purchase orders (announced deliveries) and their receipts"),
            ("purchase_orders:read",),
        ),
        Permission("returns_read", SCOPES["returns:read"], ("returns:read",)),
    ),
    Role.ADMIN: (
        Permission("clients_read", SCOPES["clients:read"], ("clients:read",)),
        Permission(
            "clients_write",
            _l("Create and change clients, invite their users (includes reading them)"),
            ("clients:read", "clients:write"),
        ),
        Permission("orders_read", _l("Read all clients' orders and shipments"), ("orders:read",)),
        Permission(
            "orders_write",
            _l("Work orders: allocate, pick, ship, complete, cancel (includes reading them)"),
            ("orders:read", "orders:write"),
        ),
        Permission("products_read", _l("Read all clients' products and stock"), ("products:read",)),
        Permission(
            "stock_write",
            _l("Correct stock (includes reading products)"),
            ("products:read", "stock:write"),
        ),
        Permission("suppliers_read", SCOPES["suppliers:read"], ("suppliers:read",)),
        Permission(
            "suppliers_write",
            _l("Create and change suppliers, invite their users (includes reading them)"),
            ("suppliers:read", "suppliers:write"),
        ),
        Permission(
            "purchase_orders_read",
            _l("Read all purchase orders and goods receipts"),
            ("purchase_orders:read",),
        ),
        Permission(
            "purchase_orders_write",
            _l("Receive goods, cancel purchase orders (includes reading them)"),
            ("purchase_orders:read", "purchase_orders:write"),
        ),
        Permission("returns_read", _l("Read all clients' returns"), ("returns:read",)),
        Permission(
            "returns_write",
            _l("Receive and cancel returns (includes reading them)"),
            ("returns:read", "returns:write"),
        ),
        Permission("webhooks_manage", SCOPES["webhooks:manage"], ("webhooks:manage",)),
    ),
}


@dataclass(frozen=True)
class IssuedToken:
    """A token and its secret, which exists only in this object and is shown once."""

    token: ApiToken
    secret: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_secret(token: ApiToken) -> str:
    token.lookup_id = "".join(secrets.choice(_LOOKUP_ALPHABET) for _ in range(8))
    secret = f"{PREFIX}{token.lookup_id}_{secrets.token_urlsafe(SECRET_BYTES)}"
    token.secret_hash = _hash(secret)
    return secret


def allowed_scopes(user: User) -> tuple[str, ...]:
    return SCOPES_FOR_ROLE.get(user.role, ())


def scope_labels(user: User) -> dict[str, object]:
    """The label of each scope on ``user``'s Integration page."""
    if user.role == Role.ADMIN:
        return {**SCOPES, **TENANT_SCOPE_LABELS}
    return SCOPES


def permissions_for(user: User) -> tuple[Permission, ...]:
    """Return the boxes ``user`` may tick on the Integration page."""
    return PERMISSIONS_FOR_ROLE.get(user.role, ())


def create_token(
    owner: User, name: str, scopes: list[str], expires_at: datetime | None = None
) -> IssuedToken:
    """Issue a token for ``owner``'s supplier or client (none: a staff or admin token)."""
    name = (name or "").strip()
    if not name:
        raise DomainError(_l("Please give the token a name."), "name")
    if len(name) > 100:
        raise DomainError(_l("The name can have at most 100 characters."), "name")
    scopes = sorted(set(scopes))
    if not scopes:
        raise DomainError(_l("Please choose at least one permission."), "scopes")
    if set(scopes) - set(allowed_scopes(owner)):
        raise DomainError(_l("Please choose only the listed permissions."), "scopes")
    if expires_at is not None and expires_at <= utcnow():
        raise DomainError(_l("The expiry date must lie in the future."), "expires_at")
    token = ApiToken(
        name=name,
        owner_id=owner.id,
        supplier_id=owner.supplier_id,
        client_id=owner.client_id,
        scopes=scopes,
        expires_at=expires_at,
    )
    secret = _new_secret(token)
    db.session.add(token)
    db.session.flush()
    record(
        "api_token.created",
        token,
        details={"name": name, "scopes": " ".join(scopes), "prefix": token.prefix},
    )
    return IssuedToken(token, secret)


def _refuse_revoked(token: ApiToken) -> None:
    if token.revoked_at is not None:
        raise DomainError(_l("This token has been revoked."))


def regenerate_token(token: ApiToken) -> IssuedToken:
    """Replace the token's secret: the old one stops working with this transaction."""
    _refuse_revoked(token)
    old_prefix = token.prefix
    secret = _new_secret(token)
    token.last_used_at = None
    db.session.flush()
    record("api_token.regenerated", token, changes={"prefix": [old_prefix, token.prefix]})
    return IssuedToken(token, secret)


def revoke_token(token: ApiToken) -> None:
    """Stop the token for good."""
    _refuse_revoked(token)
    token.revoked_at = utcnow()
    record("api_token.revoked", token, details={"prefix": token.prefix})


def tokens_of(owner: User) -> list[ApiToken]:
    """The owner's tokens (revoked ones too, for the record), newest first."""
    return list(
        db.session.scalars(
            select(ApiToken).where(ApiToken.owner_id == owner.id).order_by(ApiToken.id.desc())
        )
    )


def find_token(secret: str) -> ApiToken | None:
    """Return the usable token whose secret this is, in the current tenant, or None."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    lookup_id, _, rest = secret[len(PREFIX) :].partition("_")
    if len(lookup_id) != 8 or not rest:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.lookup_id == lookup_id))
    if token is None or not hmac.compare_digest(token.secret_hash, _hash(secret)):
        return None
    if not token.is_usable(utcnow()):
        return None
    owner = token.owner
    if owner is None or not owner.active:
        return None
    if owner.role == Role.SUPPLIER and (owner.supplier is None or not owner.supplier.active):
        return None
    if owner.role == Role.CLIENT and (owner.client is None or not owner.client.portal_access):
        return None
    return token
