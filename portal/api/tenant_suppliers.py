"""The tenant's suppliers and their users: list, read, create, change (active, approval of
changed confirmations, situations), invite a user.

Every change goes through :mod:`portal.core.suppliers.services`, as on the staff pages
(:mod:`portal.web.suppliers`); an invited user gets the same e-mail as from the page. The
supplier's integration and rule sets stay a matter of the pages (they need the plugins'
settings forms).
"""

from __future__ import annotations

import uuid
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate
from sqlalchemy import func, select

from portal.accounts.mails import send_password_link
from portal.accounts.models import User
from portal.api.auth import requires
from portal.api.client_sync import (
    TEXT,
    SyncQuerySchema,
    one_or_404,
    page_schema,
    sync_page,
    text_field,
)
from portal.api.idempotency import idempotent
from portal.api.problems import domain_problem
from portal.api.schemas import InputSchema, messages
from portal.api.tenant_clients import InviteSchema, UserListSchema, UserSchema, user_document
from portal.api.tenant_sync import tenant_blueprint
from portal.core.errors import DomainError, too_long
from portal.core.suppliers import services
from portal.core.suppliers.models import Supplier
from portal.db import contains_any, db
from portal.i18n import enabled_locales

READ = "suppliers:read"
WRITE = "suppliers:write"
SYNC_ORDER = [(Supplier.updated_at, False), (Supplier.id, False)]
YES_OR_NO = _l("Please send true or false.")
#: The fields the API changes; the integration is kept as it is.
FIELDS = ("name", "email", "phone", "active", "changes_need_approval", "situations")

bp = tenant_blueprint(
    "api_tenant_suppliers",
    __name__,
    "/suppliers",
    "The tenant's suppliers and their users (administrators' tokens).",
)


class SupplierSchema(InputSchema):
    id = fields.UUID()
    name = fields.String()
    email = fields.String()
    phone = fields.String()
    active = fields.Boolean()
    changes_need_approval = fields.Boolean(
        metadata={"description": "A confirmation with changes waits for the store's approval"}
    )
    situations = fields.List(
        fields.String(), metadata={"description": "What the supplier may report on an order"}
    )
    integration = fields.String(metadata={"description": "How purchase orders reach it"})
    users = fields.Integer()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


SupplierPageSchema = page_schema("SupplierPageSchema", SupplierSchema)


class SupplierQuerySchema(SyncQuerySchema):
    q = text_field(metadata={"description": "Search name or e-mail address"})
    active = fields.Boolean(error_messages=messages(YES_OR_NO))


def _text(length: int, **kwargs) -> fields.String:
    return fields.String(
        validate=validate.Length(max=length, error=too_long(length)),
        error_messages=messages(TEXT),
        **kwargs,
    )


class SupplierChangeSchema(InputSchema):
    """A supplier's fields; a change sends only those it changes."""

    name = _text(200)
    email = _text(254)
    phone = _text(40)
    active = fields.Boolean(error_messages=messages(YES_OR_NO))
    changes_need_approval = fields.Boolean(error_messages=messages(YES_OR_NO))
    situations = fields.List(
        fields.String(error_messages=messages(TEXT)),
        error_messages=messages(_l("Please send a list of texts.")),
        metadata={"description": "The situations it may report; empty: any text"},
    )


class NewSupplierSchema(SupplierChangeSchema):
    name = _text(200, required=True)


def _known_locale(value: str | None) -> None:
    # The languages depend on the tenant, so they are looked up per request.
    if value is not None and value not in enabled_locales():
        raise ValidationError(str(_l("Please choose one of the languages.")))


class SupplierInviteSchema(InviteSchema):
    locale = fields.String(
        allow_none=True,
        validate=_known_locale,
        error_messages=messages(TEXT),
        metadata={"description": "The invitation's and the portal's language for this user"},
    )


def _situations(supplier: Supplier) -> list[str]:
    return [line for line in (supplier.situations or "").splitlines() if line.strip()]


def _user_counts(supplier_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not supplier_ids:
        return {}
    rows = db.session.execute(
        select(User.supplier_id, func.count())
        .where(User.supplier_id.in_(supplier_ids))
        .group_by(User.supplier_id)
    )
    return dict(rows.all())


def _documents(suppliers: list[Supplier]) -> list[dict[str, Any]]:
    counts = _user_counts([supplier.id for supplier in suppliers])
    return [
        {
            "id": supplier.id,
            "name": supplier.name,
            "email": supplier.email,
            "phone": supplier.phone,
            "active": supplier.active,
            "changes_need_approval": supplier.changes_need_approval,
            "situations": _situations(supplier),
            "integration": supplier.integration_key,
            "users": counts.get(supplier.id, 0),
            "created_at": supplier.created_at,
            "updated_at": supplier.updated_at,
        }
        for supplier in suppliers
    ]


def _load(supplier_id: uuid.UUID) -> Supplier:
    return one_or_404(select(Supplier).where(Supplier.id == supplier_id))


def _answer(supplier: Supplier) -> dict[str, Any]:
    supplier_id = supplier.id
    db.session.flush()
    db.session.expire_all()
    return _documents([_load(supplier_id)])[0]


def _values(supplier: Supplier | None, body: dict) -> dict[str, Any]:
    current = {
        "name": "",
        "email": "",
        "phone": "",
        "active": True,
        "changes_need_approval": False,
        "situations": "",
    }
    if supplier is not None:
        current = {field: getattr(supplier, field) for field in FIELDS}
    changes = dict(body)
    if "situations" in changes:
        changes["situations"] = "\n".join(changes["situations"])
    return {**current, **changes}


@bp.route("")
@requires(READ, tenant=True)
@bp.arguments(SupplierQuerySchema, location="query")
@bp.response(200, SupplierPageSchema)
def list_suppliers(query):
    """List the tenant's suppliers, oldest change first."""
    statement = select(Supplier)
    if query.get("q"):
        statement = statement.where(contains_any(query["q"][:100], Supplier.name, Supplier.email))
    if "active" in query:
        statement = statement.where(Supplier.active.is_(query["active"]))
    page, following, server_time = sync_page(
        statement, Supplier.updated_at, SYNC_ORDER, query, ".list_suppliers"
    )
    return {"items": _documents(page.items), "next": following, "server_time": server_time}


@bp.route("/<uuid:supplier_id>")
@requires(READ, tenant=True)
@bp.response(200, SupplierSchema)
def get_supplier(supplier_id: uuid.UUID):
    """Return one supplier with its settings."""
    return _documents([_load(supplier_id)])[0]


@bp.route("", methods=["POST"])
@requires(WRITE, tenant=True)
@idempotent
@bp.arguments(NewSupplierSchema)
@bp.response(201, SupplierSchema)
def post_supplier(body):
    """Add a supplier (with the default integration: the portal itself)."""
    values = _values(None, body)
    try:
        supplier = services.create_supplier(values.pop("name"), **values)
    except DomainError as error:
        raise domain_problem(error) from None
    return _answer(supplier)


@bp.route("/<uuid:supplier_id>", methods=["PATCH"])
@requires(WRITE, tenant=True)
@bp.arguments(SupplierChangeSchema)
@bp.response(200, SupplierSchema)
def patch_supplier(body, supplier_id: uuid.UUID):
    """Change a supplier; fields not sent stay as they are."""
    supplier = _load(supplier_id)
    try:
        services.update_supplier(supplier, **_values(supplier, body))
    except DomainError as error:
        raise domain_problem(error) from None
    document = _answer(supplier)
    db.session.commit()
    return document


@bp.route("/<uuid:supplier_id>/users")
@requires(READ, tenant=True)
@bp.response(200, UserListSchema)
def list_users(supplier_id: uuid.UUID):
    """List the supplier's users, by e-mail address."""
    return {"items": [user_document(u) for u in services.supplier_users(_load(supplier_id))]}


@bp.route("/<uuid:supplier_id>/users", methods=["POST"])
@requires(WRITE, tenant=True)
@idempotent
@bp.arguments(SupplierInviteSchema)
@bp.response(201, UserSchema)
def invite_user(body, supplier_id: uuid.UUID):
    """Create a user of the supplier: the person gets an e-mail with a link to choose a
    password, as when invited from the supplier's page."""
    supplier = _load(supplier_id)
    try:
        user = services.invite_supplier_user(
            supplier, body["email"], body["name"], body.get("locale")
        )
    except DomainError as error:
        raise domain_problem(error) from None
    send_password_link(user, "invitation")
    db.session.flush()
    return user_document(user)
