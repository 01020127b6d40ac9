"""The tenant's clients and their portal logins: list, read, create, change (portal access,
product management, warehouse for purchase orders), invite a user.

Every change goes through :mod:`portal.core.clients.services`, as on the staff pages
(:mod:`portal.web.clients`): the same rules, refusals and audit entries, with the token's owner
as the actor. An invited user gets the same e-mail as from the page.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate
from sqlalchemy import func, select

from portal.accounts.mails import send_password_link
from portal.accounts.models import User
from portal.api.auth import requires
from portal.api.client_sync import (
    AN_ID,
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
from portal.api.tenant_sync import tenant_blueprint
from portal.core.clients import services
from portal.core.clients.models import Client
from portal.core.errors import DomainError, too_long
from portal.db import contains_any, db

READ = "clients:read"
WRITE = "clients:write"
SYNC_ORDER = [(Client.updated_at, False), (Client.id, False)]
YES_OR_NO = _l("Please send true or false.")

bp = tenant_blueprint(
    "api_tenant_clients",
    __name__,
    "/clients",
    "The tenant's clients and their portal logins (administrators' tokens).",
)


# --- schemas ---------------------------------------------------------------------------------


class ClientSchema(InputSchema):
    id = fields.UUID()
    name = fields.String()
    email = fields.String(allow_none=True)
    portal_access = fields.Boolean(metadata={"description": "Its users may use the portal"})
    product_management = fields.Boolean(
        metadata={"description": "Its users may add and edit their products"}
    )
    purchase_order_warehouse_id = fields.UUID(
        allow_none=True, metadata={"description": "Null: the tenant's default warehouse"}
    )
    users = fields.Integer(metadata={"description": "How many portal logins it has"})
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


ClientPageSchema = page_schema("ClientPageSchema", ClientSchema)


class ClientQuerySchema(SyncQuerySchema):
    q = text_field(metadata={"description": "Search name or e-mail address"})


def _flag(description: str) -> fields.Boolean:
    return fields.Boolean(error_messages=messages(YES_OR_NO), metadata={"description": description})


class ClientChangeSchema(InputSchema):
    """The fields of a client; a change sends only those it changes."""

    name = fields.String(
        validate=validate.Length(max=200, error=too_long(200)), error_messages=messages(TEXT)
    )
    email = fields.String(
        allow_none=True,
        validate=validate.Length(max=254, error=too_long(254)),
        error_messages=messages(TEXT),
    )
    portal_access = _flag("Its users may use the portal")
    product_management = _flag("Its users may add and edit their products")
    purchase_order_warehouse_id = fields.UUID(
        allow_none=True,
        error_messages=messages(AN_ID),
        metadata={"description": "Null: the tenant's default warehouse"},
    )


class NewClientSchema(ClientChangeSchema):
    name = fields.String(
        required=True,
        validate=validate.Length(max=200, error=too_long(200)),
        error_messages=messages(TEXT),
    )


class UserSchema(InputSchema):
    id = fields.UUID()
    email = fields.String()
    name = fields.String()
    active = fields.Boolean()
    invited = fields.Boolean(metadata={"description": "Invited and not logged in yet"})
    last_login_at = fields.AwareDateTime(allow_none=True)


class UserListSchema(InputSchema):
    items = fields.List(fields.Nested(UserSchema))


class InviteSchema(InputSchema):
    email = fields.String(
        required=True,
        validate=validate.Length(max=254, error=too_long(254)),
        error_messages=messages(TEXT),
    )
    name = fields.String(
        load_default="",
        validate=validate.Length(max=200, error=too_long(200)),
        error_messages=messages(TEXT),
    )


# --- reading ---------------------------------------------------------------------------------


def _user_counts(client_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not client_ids:
        return {}
    rows = db.session.execute(
        select(User.client_id, func.count())
        .where(User.client_id.in_(client_ids))
        .group_by(User.client_id)
    )
    return dict(rows.all())


def _documents(clients: list[Client]) -> list[dict[str, Any]]:
    counts = _user_counts([client.id for client in clients])
    return [
        {
            "id": client.id,
            "name": client.name,
            "email": client.email,
            "portal_access": client.portal_access,
            "product_management": client.product_management,
            "purchase_order_warehouse_id": client.purchase_order_warehouse_id,
            "users": counts.get(client.id, 0),
            "created_at": client.created_at,
            "updated_at": client.updated_at,
        }
        for client in clients
    ]


def _load(client_id: uuid.UUID) -> Client:
    return one_or_404(select(Client).where(Client.id == client_id))


def _answer(client: Client) -> dict[str, Any]:
    client_id = client.id
    db.session.flush()
    db.session.expire_all()
    return _documents([_load(client_id)])[0]


@bp.route("")
@requires(READ, tenant=True)
@bp.arguments(ClientQuerySchema, location="query")
@bp.response(200, ClientPageSchema)
def list_clients(query):
    """List the tenant's clients, oldest change first."""
    statement = select(Client)
    if query.get("q"):
        statement = statement.where(contains_any(query["q"][:100], Client.name, Client.email))
    page, following, server_time = sync_page(
        statement, Client.updated_at, SYNC_ORDER, query, ".list_clients"
    )
    return {"items": _documents(page.items), "next": following, "server_time": server_time}


@bp.route("/<uuid:client_id>")
@requires(READ, tenant=True)
@bp.response(200, ClientSchema)
def get_client(client_id: uuid.UUID):
    """Return one client with its settings."""
    return _documents([_load(client_id)])[0]


# --- changing --------------------------------------------------------------------------------


def _values(client: Client | None, body: dict) -> dict[str, Any]:
    """The client's settings after the change: what ``body`` sends, the rest as it is."""
    current = {
        "name": client.name if client else "",
        "email": client.email if client else None,
        "portal_access": client.portal_access if client else True,
        "product_management": client.product_management if client else False,
        "purchase_order_warehouse_id": client.purchase_order_warehouse_id if client else None,
    }
    return {**current, **body}


@bp.route("", methods=["POST"])
@requires(WRITE, tenant=True)
@idempotent
@bp.arguments(NewClientSchema)
@bp.response(201, ClientSchema)
def post_client(body):
    """Add a client; its users are invited with ``POST /tenant/clients/{id}/users``."""
    values = _values(None, body)
    try:
        client = services.create_client(values.pop("name"), **values)
    except DomainError as error:
        raise domain_problem(error) from None
    return _answer(client)


@bp.route("/<uuid:client_id>", methods=["PATCH"])
@requires(WRITE, tenant=True)
@bp.arguments(ClientChangeSchema)
@bp.response(200, ClientSchema)
def patch_client(body, client_id: uuid.UUID):
    """Change a client: switch its portal access or product management, rename it, choose
    the warehouse of its purchase orders. Fields not sent stay as they are."""
    client = _load(client_id)
    try:
        services.update_client(client, **_values(client, body))
    except DomainError as error:
        raise domain_problem(error) from None
    document = _answer(client)
    db.session.commit()
    return document


def user_document(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "active": user.active,
        "invited": user.last_login_at is None,
        "last_login_at": user.last_login_at,
    }


@bp.route("/<uuid:client_id>/users")
@requires(READ, tenant=True)
@bp.response(200, UserListSchema)
def list_users(client_id: uuid.UUID):
    """List the client's portal logins, by e-mail address."""
    return {"items": [user_document(u) for u in services.client_users(_load(client_id))]}


@bp.route("/<uuid:client_id>/users", methods=["POST"])
@requires(WRITE, tenant=True)
@idempotent
@bp.arguments(InviteSchema)
@bp.response(201, UserSchema)
def invite_user(body, client_id: uuid.UUID):
    """Create a portal login for the client: the person gets an e-mail with a link to
    choose a password, as when invited from the client's page."""
    client = _load(client_id)
    try:
        user = services.invite_client_user(client, body["email"], body["name"])
    except DomainError as error:
        raise domain_problem(error) from None
    send_password_link(user, "invitation")
    db.session.flush()
    return user_document(user)
