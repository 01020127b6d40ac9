"""The client's orders: list (incremental sync), read with lines, line status and shipments,
create (lines by product code, the address typed or from the address book), submit, cancel,
change the address, duplicate.

Every change goes through :mod:`portal.core.orders.services`, as on the order pages
(:mod:`portal.web.orders`): the same rules, the same refusals, the same audit entries (the
token's owner as actor). A webshop that sends an order twice with the same
``Idempotency-Key`` gets one order and the same answer twice.
"""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate, validates_schema
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.api.auth import requires
from portal.api.blueprints import resource_blueprint
from portal.api.client_sync import (
    AN_ID,
    TEXT,
    WHOLE_NUMBER,
    AddressSchema,
    SyncQuerySchema,
    address_document,
    address_problem_path,
    client_id,
    one_or_404,
    own,
    page_schema,
    status_field,
    sync_page,
    text_field,
)
from portal.api.idempotency import idempotent
from portal.api.problems import Problem, domain_problem
from portal.api.schemas import InputSchema, messages
from portal.core.addresses.models import ADDRESS_FIELDS, Address
from portal.core.clients.models import Client
from portal.core.errors import DomainError, LineErrors, too_long
from portal.core.orders import services
from portal.core.orders.carriers import tracking_url
from portal.core.orders.models import Order, OrderLine, OrderStatus, Shipment
from portal.db import db
from portal.web.lines import order_lines_from_rows

READ = "orders:read"
WRITE = "orders:write"
SYNC_ORDER = [(Order.updated_at, False), (Order.id, False)]
#: What a line's ``status`` says, from the order's status and the line's quantities.
LINE_STATUSES = ("draft", "cancelled", "backorder", "allocated", "partially_shipped", "shipped")

VERSION = {"description": "The order's version you saw; a newer one refuses the change (409)."}
CHOOSE_ADDRESS = _l("Please send the address, or the id of an address of your address book.")
NOT_IN_BOOK = _l("This address is not in your address book.")

bp = resource_blueprint(
    "api_client_orders",
    __name__,
    "/orders",
    "The client's orders: create, follow to shipment, cancel, change the address, duplicate.",
)


# --- schemas ---------------------------------------------------------------------------------


class OrderLineSchema(InputSchema):
    id = fields.UUID()
    position = fields.Integer(metadata={"description": "1 for the order's first line"})
    product_id = fields.UUID()
    product_code = fields.String()
    product_name = fields.String()
    quantity = fields.Integer()
    allocated = fields.Integer(metadata={"description": "Promised from stock, not shipped yet"})
    shipped = fields.Integer()
    missing = fields.Integer(metadata={"description": "Waiting for stock (backorder)"})
    status = fields.String(metadata={"enum": list(LINE_STATUSES)})


class OrderShipmentSchema(InputSchema):
    id = fields.UUID()
    number = fields.String()
    carrier = fields.String()
    tracking_code = fields.String()
    tracking_url = fields.String(allow_none=True)
    shipped_at = fields.AwareDateTime()


class OrderActionsSchema(InputSchema):
    submit = fields.Boolean()
    cancel = fields.Boolean()
    change_address = fields.Boolean()
    duplicate = fields.Boolean()


class OrderSchema(InputSchema):
    id = fields.UUID()
    number = fields.String()
    status = fields.String(metadata={"enum": [status.value for status in OrderStatus]})
    version = fields.Integer()
    reference = fields.String()
    notes = fields.String()
    address = fields.Nested(AddressSchema)
    lines = fields.List(fields.Nested(OrderLineSchema))
    shipments = fields.List(fields.Nested(OrderShipmentSchema))
    actions = fields.Nested(OrderActionsSchema, metadata={"description": "What may be done now"})
    submitted_at = fields.AwareDateTime(allow_none=True)
    cancelled_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


OrderPageSchema = page_schema("OrderPageSchema", OrderSchema)


class OrderQuerySchema(SyncQuerySchema):
    status = status_field([status.value for status in OrderStatus])
    reference = text_field(metadata={"description": "Only orders with this reference"})


class NewLineSchema(InputSchema):
    product_code = fields.String(
        required=True,
        validate=validate.Length(min=1, max=64, error=_l("Please send a product code.")),
        error_messages=messages(TEXT),
    )
    quantity = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=1, error=_l("Please enter a positive whole number.")),
        error_messages=messages(WHOLE_NUMBER),
    )


class AddressChoiceSchema(InputSchema):
    """The delivery address: typed (``address``) or from the address book (``address_id``)."""

    address = fields.Nested(AddressSchema)
    address_id = fields.UUID(error_messages=messages(AN_ID))

    @validates_schema
    def _one_address(self, data, **kwargs):
        if ("address" in data) == ("address_id" in data):
            raise ValidationError(CHOOSE_ADDRESS, field_name="address")


class NewOrderSchema(AddressChoiceSchema):
    reference = fields.String(
        load_default="",
        validate=validate.Length(max=100, error=too_long(100)),
        error_messages=messages(TEXT),
        metadata={"description": "Your own order number"},
    )
    notes = fields.String(
        load_default="",
        validate=validate.Length(max=2000, error=too_long(2000)),
        error_messages=messages(TEXT),
        metadata={"description": "Notes for the warehouse"},
    )
    lines = fields.List(
        fields.Nested(NewLineSchema),
        required=True,
        error_messages=messages(_l("Please send a list of lines.")),
    )
    submit = fields.Boolean(
        load_default=True,
        error_messages=messages(_l("Please send true or false.")),
        metadata={"description": "Hand the order to the warehouse now (default); false: a draft"},
    )


class OrderVersionSchema(InputSchema):
    version = fields.Integer(
        allow_none=True, error_messages=messages(WHOLE_NUMBER), metadata=VERSION
    )


class ChangeAddressSchema(AddressChoiceSchema, OrderVersionSchema):
    pass


# --- reading ---------------------------------------------------------------------------------


def _with_details(statement):
    return statement.options(
        selectinload(Order.lines).selectinload(OrderLine.product),
        selectinload(Order.shipments),
    )


def _load(order_id: uuid.UUID) -> Order:
    return one_or_404(_with_details(own(select(Order).where(Order.id == order_id), Order)))


def line_status(order: Order, line: OrderLine) -> str:
    if order.status == OrderStatus.CANCELLED:
        return "cancelled"
    if order.status == OrderStatus.DRAFT:
        return "draft"
    if line.shipped >= line.quantity:
        return "shipped"
    if line.missing > 0:
        return "backorder"
    if line.shipped > 0:
        return "partially_shipped"
    return "allocated"


def shipment_summary(shipment: Shipment) -> dict[str, Any]:
    return {
        "id": shipment.id,
        "number": shipment.number,
        "carrier": shipment.carrier,
        "tracking_code": shipment.tracking_code,
        "tracking_url": tracking_url(shipment.carrier, shipment.tracking_code),
        "shipped_at": shipment.shipped_at,
    }


def _document(order: Order) -> dict[str, Any]:
    allowed = services.ALLOWED_FROM
    return {
        "id": order.id,
        "number": order.number,
        "status": order.status.value,
        "version": order.version,
        "reference": order.reference,
        "notes": order.notes,
        "address": address_document(order),
        "lines": [
            {
                "id": line.id,
                "position": position,
                "product_id": line.product_id,
                "product_code": line.product.code,
                "product_name": line.product.name,
                "quantity": line.quantity,
                "allocated": line.allocated,
                "shipped": line.shipped,
                "missing": line.missing,
                "status": line_status(order, line),
            }
            for position, line in enumerate(order.lines, start=1)
        ],
        "shipments": [shipment_summary(shipment) for shipment in order.shipments],
        "actions": {
            "submit": order.status in allowed["submit"],
            "cancel": order.status in allowed["cancel"],
            "change_address": order.status in allowed["change_address"],
            "duplicate": True,
        },
        "submitted_at": order.submitted_at,
        "cancelled_at": order.cancelled_at,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
    }


def _answer(order: Order) -> dict[str, Any]:
    """The order as it is now, read back after the change."""
    order_id = order.id
    db.session.flush()
    db.session.expire_all()
    return _document(_load(order_id))


@bp.route("")
@requires(READ, client=True)
@bp.arguments(OrderQuerySchema, location="query")
@bp.response(200, OrderPageSchema)
def list_orders(query):
    """List the client's orders with their lines and shipments, oldest change first.

    Poll with ``updated_since`` set to the ``server_time`` of the previous poll and follow
    ``next`` until it is null: every order changed since then is listed (some twice).
    """
    statement = _with_details(own(select(Order), Order))
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
@requires(READ, client=True)
@bp.response(200, OrderSchema)
def get_order(order_id: uuid.UUID):
    """Return one order with its lines (and each line's status) and its shipments."""
    return _document(_load(order_id))


# --- changing --------------------------------------------------------------------------------


def _address(body: dict, prefix: str = "address") -> dict:
    """The address the request asks for: typed, or an entry of the client's address book."""
    if "address_id" in body:
        entry = db.session.scalar(
            own(select(Address).where(Address.id == body["address_id"]), Address)
        )
        if entry is None:
            raise Problem(
                422,
                "validation_failed",
                errors=[{"field": "address_id", "in": "body", "detail": str(NOT_IN_BOOK)}],
            )
        return entry.address_values()
    return {field: body["address"].get(field, "") for field in ADDRESS_FIELDS}


def _lines(body: dict):
    rows = [
        SimpleNamespace(data={"code": line["product_code"], "quantity": str(line["quantity"])})
        for line in body["lines"]
    ]
    return order_lines_from_rows(client_id(), rows)


def _refused(error: DomainError) -> Problem:
    if isinstance(error, LineErrors):
        return domain_problem(error)
    if error.field in ADDRESS_FIELDS:
        return address_problem_path("address", error)
    return domain_problem(error)


@bp.route("", methods=["POST"])
@requires(WRITE, client=True)
@idempotent
@bp.arguments(NewOrderSchema)
@bp.response(201, OrderSchema)
def post_order(body):
    """Create an order; with ``submit`` (the default) it goes to the warehouse at once.

    Name the products by their codes. Send an ``Idempotency-Key``: a repeat with the same key
    and body returns the first answer and creates no second order.
    """
    client = db.session.scalar(select(Client).where(Client.id == client_id()))
    try:
        address = _address(body)
        order = services.create_order(
            client,
            _lines(body),
            address,
            reference=body["reference"],
            notes=body["notes"],
            submit=body["submit"],
        )
    except DomainError as error:
        raise _refused(error) from None
    return _answer(order)


def _step(order_id: uuid.UUID, run) -> dict[str, Any]:
    order = _load(order_id)
    try:
        run(order)
    except DomainError as error:
        raise _refused(error) from None
    return _answer(order)


@bp.route("/<uuid:order_id>/submit", methods=["POST"])
@requires(WRITE, client=True)
@idempotent
@bp.arguments(OrderVersionSchema(), required=False)
@bp.response(200, OrderSchema)
def submit(body, order_id: uuid.UUID):
    """Hand a draft to the warehouse: stock is promised to it, the rest is backordered."""
    return _step(order_id, lambda order: services.submit_order(order, body.get("version")))


@bp.route("/<uuid:order_id>/cancel", methods=["POST"])
@requires(WRITE, client=True)
@idempotent
@bp.arguments(OrderVersionSchema(), required=False)
@bp.response(200, OrderSchema)
def cancel(body, order_id: uuid.UUID):
    """Cancel an order that is not being picked yet; its promised stock becomes free."""
    return _step(order_id, lambda order: services.cancel_order(order, body.get("version")))


@bp.route("/<uuid:order_id>/address", methods=["PUT"])
@requires(WRITE, client=True)
@bp.arguments(ChangeAddressSchema())
@bp.response(200, OrderSchema)
def put_address(body, order_id: uuid.UUID):
    """Change the delivery address, until the order is being picked."""
    order = _load(order_id)
    try:
        services.change_address(order, _address(body), body.get("version"))
    except DomainError as error:
        raise _refused(error) from None
    document = _answer(order)
    db.session.commit()
    return document


@bp.route("/<uuid:order_id>/duplicate", methods=["POST"])
@requires(WRITE, client=True)
@idempotent
@bp.response(201, OrderSchema)
def duplicate(order_id: uuid.UUID):
    """Copy the order's lines and address into a new draft; submit it to send it."""
    copy = services.duplicate_order(_load(order_id))
    return _answer(copy)
