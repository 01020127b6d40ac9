"""All clients' orders, as the warehouse works them: list (incremental sync), read, create for
a client, allocate again, pick, ship with carrier and tracking (the client is e-mailed, as from
the page), complete, cancel.

Every step goes through :mod:`portal.core.orders.services`, as the staff buttons of the
order page (:mod:`portal.web.orders`): the same rules, refusals and audit entries, with the
token's owner as the actor.
"""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.api.auth import requires
from portal.api.client_orders import NewOrderSchema, OrderSchema, OrderVersionSchema
from portal.api.client_orders import _document as order_document
from portal.api.client_orders import _refused as order_refused
from portal.api.client_shipments import ShipmentSchema
from portal.api.client_shipments import _document as shipment_document
from portal.api.client_sync import (
    AN_ID,
    TEXT,
    one_or_404,
    page_schema,
    status_field,
    sync_page,
    text_field,
)
from portal.api.idempotency import idempotent
from portal.api.problems import Problem, domain_problem
from portal.api.schemas import messages
from portal.api.tenant_sync import ClientSyncQuerySchema, tenant_blueprint
from portal.core.addresses.models import ADDRESS_FIELDS, Address
from portal.core.clients.models import Client
from portal.core.errors import DomainError
from portal.core.orders import services
from portal.core.orders.carriers import CARRIERS
from portal.core.orders.models import Order, OrderLine, OrderStatus, Shipment, ShipmentLine
from portal.core.versioning import check_version
from portal.db import db
from portal.notifications import notify_order_shipped
from portal.web.lines import order_lines_from_rows

NOT_A_CLIENT = _l("There is no client with this id.")
NOT_IN_BOOK = _l("This address is not in the client's address book.")
READ = "orders:read"
WRITE = "orders:write"
SYNC_ORDER = [(Order.updated_at, False), (Order.id, False)]

bp = tenant_blueprint(
    "api_tenant_orders",
    __name__,
    "/orders",
    "All clients' orders, worked by the warehouse: allocate, pick, ship, complete, cancel.",
)


class TenantOrderSchema(OrderSchema):
    client_id = fields.UUID()
    client_name = fields.String()


TenantOrderPageSchema = page_schema("TenantOrderPageSchema", TenantOrderSchema)


class TenantOrderQuerySchema(ClientSyncQuerySchema):
    status = status_field([status.value for status in OrderStatus])
    reference = text_field(metadata={"description": "Only orders with this reference"})


class TenantNewOrderSchema(NewOrderSchema):
    client_id = fields.UUID(
        required=True,
        error_messages=messages(AN_ID),
        metadata={"description": "The client the order is for"},
    )


class ShipSchema(OrderVersionSchema):
    carrier = fields.String(
        required=True,
        validate=validate.OneOf(CARRIERS, error=_l("Please choose one of the carriers.")),
        error_messages=messages(TEXT),
        metadata={"enum": list(CARRIERS)},
    )
    tracking_code = fields.String(
        load_default="",
        validate=validate.Length(max=100, error=_l("The tracking code is too long.")),
        error_messages=messages(TEXT),
    )


def _with_details(statement):
    return statement.options(
        selectinload(Order.lines).selectinload(OrderLine.product),
        selectinload(Order.shipments),
        selectinload(Order.client),
    )


def _load(order_id: uuid.UUID) -> Order:
    return one_or_404(_with_details(select(Order).where(Order.id == order_id)))


def _document(order: Order) -> dict[str, Any]:
    return {
        **order_document(order),
        "client_id": order.client_id,
        "client_name": order.client.name,
    }


def _answer(order_id: uuid.UUID) -> dict[str, Any]:
    db.session.flush()
    db.session.expire_all()
    return _document(_load(order_id))


@bp.route("")
@requires(READ, tenant=True)
@bp.arguments(TenantOrderQuerySchema, location="query")
@bp.response(200, TenantOrderPageSchema)
def list_orders(query):
    """List all clients' orders with lines and shipments, oldest change first."""
    statement = _with_details(select(Order))
    if "client_id" in query:
        statement = statement.where(Order.client_id == query["client_id"])
    if "status" in query:
        statement = statement.where(Order.status == OrderStatus(query["status"]))
    if "reference" in query:
        statement = statement.where(Order.reference == query["reference"])
    page, following, server_time = sync_page(
        statement, Order.updated_at, SYNC_ORDER, query, ".list_orders"
    )
    return {
        "items": [_document(order) for order in page.items],
        "next": following,
        "server_time": server_time,
    }


@bp.route("/<uuid:order_id>")
@requires(READ, tenant=True)
@bp.response(200, TenantOrderSchema)
def get_order(order_id: uuid.UUID):
    """Return one order with its lines and shipments."""
    return _document(_load(order_id))


def _field_problem(field: str, detail) -> Problem:
    return Problem(
        422, "validation_failed", errors=[{"field": field, "in": "body", "detail": str(detail)}]
    )


def _address(client: Client, body: dict) -> dict:
    """The address typed in, or an entry of the client's address book."""
    if "address_id" in body:
        entry = db.session.scalar(
            select(Address).where(Address.id == body["address_id"], Address.client_id == client.id)
        )
        if entry is None:
            raise _field_problem("address_id", NOT_IN_BOOK)
        return entry.address_values()
    return {field: body["address"].get(field, "") for field in ADDRESS_FIELDS}


@bp.route("", methods=["POST"])
@requires(WRITE, tenant=True)
@idempotent
@bp.arguments(TenantNewOrderSchema)
@bp.response(201, TenantOrderSchema)
def post_order(body):
    """Create an order for a client, as the staff's order form does; with ``submit`` (the
    default) it goes to the warehouse at once. Name the products by the client's codes."""
    client = db.session.scalar(select(Client).where(Client.id == body["client_id"]))
    if client is None:
        raise _field_problem("client_id", NOT_A_CLIENT)
    rows = [
        SimpleNamespace(data={"code": line["product_code"], "quantity": str(line["quantity"])})
        for line in body["lines"]
    ]
    try:
        order = services.create_order(
            client,
            order_lines_from_rows(client.id, rows),
            _address(client, body),
            reference=body["reference"],
            notes=body["notes"],
            submit=body["submit"],
        )
    except DomainError as error:
        raise order_refused(error) from None
    return _answer(order.id)


def _step(order_id: uuid.UUID, run) -> dict[str, Any]:
    order = _load(order_id)
    try:
        run(order)
    except DomainError as error:
        raise domain_problem(error) from None
    return _answer(order_id)


def _complete(order: Order, version: int | None) -> None:
    check_version(order, version)
    services.complete_order(order)


@bp.route("/<uuid:order_id>/allocate", methods=["POST"])
@requires(WRITE, tenant=True)
@idempotent
@bp.arguments(OrderVersionSchema(), required=False)
@bp.response(200, TenantOrderSchema)
def allocate(body, order_id: uuid.UUID):
    """Promise stock that has become free to the order's missing units."""
    return _step(order_id, lambda order: services.allocate_again(order, body.get("version")))


@bp.route("/<uuid:order_id>/pick", methods=["POST"])
@requires(WRITE, tenant=True)
@idempotent
@bp.arguments(OrderVersionSchema(), required=False)
@bp.response(200, TenantOrderSchema)
def pick(body, order_id: uuid.UUID):
    """Start picking the promised units; the order can no longer be cancelled."""
    return _step(order_id, lambda order: services.pick_order(order, body.get("version")))


@bp.route("/<uuid:order_id>/complete", methods=["POST"])
@requires(WRITE, tenant=True)
@idempotent
@bp.arguments(OrderVersionSchema(), required=False)
@bp.response(200, TenantOrderSchema)
def complete(body, order_id: uuid.UUID):
    """Close a shipped order."""
    return _step(order_id, lambda order: _complete(order, body.get("version")))


@bp.route("/<uuid:order_id>/cancel", methods=["POST"])
@requires(WRITE, tenant=True)
@idempotent
@bp.arguments(OrderVersionSchema(), required=False)
@bp.response(200, TenantOrderSchema)
def cancel(body, order_id: uuid.UUID):
    """Cancel an order that is not being picked yet; its promised stock becomes free."""
    return _step(order_id, lambda order: services.cancel_order(order, body.get("version")))


@bp.route("/<uuid:order_id>/shipments", methods=["POST"])
@requires(WRITE, tenant=True)
@idempotent
@bp.arguments(ShipSchema())
@bp.response(201, ShipmentSchema)
def ship(body, order_id: uuid.UUID):
    """Ship the picked units with a carrier and a tracking code: stock leaves the warehouse
    and the client's users who want it get the shipment e-mail, as from the order page."""
    order = _load(order_id)
    try:
        shipment = services.ship_order(
            order, body["carrier"], body["tracking_code"], body.get("version")
        )
    except DomainError as error:
        raise domain_problem(error) from None
    notify_order_shipped(order, shipment)
    shipment_id = shipment.id
    db.session.flush()
    db.session.expire_all()
    return shipment_document(
        one_or_404(
            select(Shipment)
            .where(Shipment.id == shipment_id)
            .options(
                selectinload(Shipment.order),
                selectinload(Shipment.lines).selectinload(ShipmentLine.product),
            )
        )
    )
