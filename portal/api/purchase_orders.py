"""Purchase orders for a supplier's token: list (incremental sync), read, and the supplier's
answers — acknowledge, confirm (per line: quantity, price, date), reject, its own order
number and situation, in production. Dispatch notices and documents are in
:mod:`portal.api.supplier_dispatch` and :mod:`portal.api.supplier_documents`.

Every answer goes through :mod:`portal.core.purchasing.responses` and tells the store as
:mod:`portal.web.supplier_portal` does (:mod:`portal.purchase_notifications`), so the API
keeps the pages' rules and says the same words. An order the token's supplier may not see
(another supplier's, a draft, another tenant's) is not found (404), never forbidden.
"""

from __future__ import annotations

import uuid
from datetime import UTC, timedelta
from typing import Any

from flask import url_for
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate, validates_schema
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from portal.api.auth import current_token, requires
from portal.api.blueprints import resource_blueprint
from portal.api.idempotency import idempotent
from portal.api.problems import Problem, domain_problem
from portal.api.schemas import InputSchema, messages
from portal.core.errors import DomainError
from portal.core.purchasing import responses
from portal.core.purchasing.models import PurchaseOrder, PurchaseOrderLine
from portal.core.purchasing.models import PurchaseOrderStatus as Status
from portal.core.suppliers.models import SupplierClient
from portal.db import db, utcnow
from portal.purchase_notifications import notify_store_of_answer
from portal.web.pagination import DEFAULT_SIZE, MAX_SIZE, keyset_page

READ = "purchase_orders:read"
WRITE = "purchase_orders:write"
#: What ``actions`` tells: the answers of :func:`portal.core.purchasing.responses.can`.
ACTIONS = ("acknowledge", "answer", "reference", "production", "dispatch", "documents")

#: ``server_time`` lies this far back, so that an order saved by a transaction that was
#: still running during the poll is listed by the next one (at the price of a repeat).
SYNC_OVERLAP = timedelta(seconds=5)
#: Oldest change first: a client that follows ``next`` to the end has seen every change.
SYNC_ORDER = [(PurchaseOrder.updated_at, False), (PurchaseOrder.id, False)]

bp = resource_blueprint(
    "api_purchase_orders",
    __name__,
    "/purchase-orders",
    "The purchase orders released to the token's supplier, and its answers to them.",
)

WHOLE_NUMBER = _l("Please enter a whole number.")
AMOUNT = _l("Please enter an amount, for example 12.50.")
DATE = _l("Please enter the date as YYYY-MM-DD.")
TEXT = _l("Please enter text.")
AMOUNT_TEXT = {"description": "An amount as text, exact to the cent, e.g. 12.50"}
VERSION = {"description": "The order's version you saw; a newer one refuses the change (409)."}


# --- schemas ---------------------------------------------------------------------------------


class LineSchema(InputSchema):
    id = fields.UUID(dump_only=True)
    position = fields.Integer(metadata={"description": "1 for the order's first line"})
    product_code = fields.String()
    product_name = fields.String()
    barcode = fields.String(allow_none=True)
    supplier_code = fields.String()
    container_amount = fields.Integer()
    quantity = fields.Integer()
    unit_price = fields.String(allow_none=True, metadata=AMOUNT_TEXT)
    delivery_date = fields.Date(allow_none=True)
    ordered_quantity = fields.Integer(allow_none=True)
    ordered_unit_price = fields.String(allow_none=True, metadata=AMOUNT_TEXT)
    ordered_delivery_date = fields.Date(allow_none=True)
    proposed_quantity = fields.Integer(allow_none=True)
    proposed_unit_price = fields.String(allow_none=True, metadata=AMOUNT_TEXT)
    proposed_delivery_date = fields.Date(allow_none=True)
    note = fields.String()


class DeliverySchema(InputSchema):
    method = fields.String()
    name = fields.String()
    company = fields.String()
    street = fields.String()
    street2 = fields.String()
    postcode = fields.String()
    city = fields.String()
    state = fields.String()
    country = fields.String(allow_none=True)
    phone = fields.String()
    email = fields.String()
    instructions = fields.String()


class ActionsSchema(InputSchema):
    acknowledge = fields.Boolean()
    answer = fields.Boolean(metadata={"description": "confirm or reject"})
    reference = fields.Boolean(metadata={"description": "set the supplier reference"})
    production = fields.Boolean(metadata={"description": "mark as in production"})
    dispatch = fields.Boolean(metadata={"description": "announce a dispatch"})
    documents = fields.Boolean(metadata={"description": "add a document"})


class PurchaseOrderSchema(InputSchema):
    id = fields.UUID()
    number = fields.String()
    status = fields.String(metadata={"enum": [s.value for s in responses.RELEASED]})
    version = fields.Integer()
    store = fields.String(metadata={"description": "The client that orders"})
    customer_number = fields.String(allow_none=True)
    reference = fields.String()
    currency = fields.String()
    notes = fields.String()
    supplier_order_number = fields.String()
    supplier_situation = fields.String()
    rejection_reason = fields.String()
    delivery = fields.Nested(DeliverySchema)
    lines = fields.List(fields.Nested(LineSchema))
    actions = fields.Nested(ActionsSchema, metadata={"description": "What the token may do now"})
    sent_at = fields.AwareDateTime(allow_none=True)
    answered_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class PurchaseOrderPageSchema(InputSchema):
    items = fields.List(fields.Nested(PurchaseOrderSchema))
    next = fields.String(
        allow_none=True, metadata={"description": "The next page; null on the last one"}
    )
    server_time = fields.AwareDateTime(
        metadata={"description": "Send it as updated_since in the next poll"}
    )


class ListQuerySchema(InputSchema):
    status = fields.String(
        validate=validate.OneOf(
            [s.value for s in responses.RELEASED], error=_l("This status is not known.")
        ),
        error_messages=messages(TEXT),
    )
    updated_since = fields.AwareDateTime(
        default_timezone=UTC,
        error_messages=messages(_l("Please enter a date and time in ISO 8601.")),
        metadata={"description": "Only orders changed at or after this time"},
    )
    after = fields.String(
        validate=validate.Length(max=500), metadata={"description": "Cursor of the next page"}
    )
    size = fields.Integer(
        validate=validate.Range(
            min=1, max=MAX_SIZE, error=_l("Please enter a number from 1 to 200.")
        ),
        error_messages=messages(WHOLE_NUMBER),
        metadata={"description": f"Orders per page, default {DEFAULT_SIZE}"},
    )


class VersionSchema(InputSchema):
    version = fields.Integer(
        allow_none=True, error_messages=messages(WHOLE_NUMBER), metadata=VERSION
    )


class LineAnswerSchema(InputSchema):
    id = fields.UUID(error_messages=messages(_l("Please send the line's id.")))
    position = fields.Integer(error_messages=messages(WHOLE_NUMBER))
    quantity = fields.Integer(allow_none=True, strict=True, error_messages=messages(WHOLE_NUMBER))
    unit_price = fields.Decimal(allow_none=True, error_messages=messages(AMOUNT))
    delivery_date = fields.Date(allow_none=True, error_messages=messages(DATE))

    @validates_schema
    def _one_line(self, data, **kwargs):
        if ("id" in data) == ("position" in data):
            raise ValidationError(
                _l("Please name the line by its id or its position."), field_name="id"
            )


class ConfirmSchema(VersionSchema):
    lines = fields.List(
        fields.Nested(LineAnswerSchema),
        load_default=list,
        metadata={"description": "Only the lines that change; leave out what stays as ordered"},
    )


class RejectSchema(VersionSchema):
    reason = fields.String(
        required=True, validate=validate.Length(max=2000), error_messages=messages(TEXT)
    )


class ReferenceSchema(VersionSchema):
    order_number = fields.String(validate=validate.Length(max=64), error_messages=messages(TEXT))
    situation = fields.String(validate=validate.Length(max=200), error_messages=messages(TEXT))


# --- reading ---------------------------------------------------------------------------------


def _with_details(statement: Select) -> Select:
    return statement.options(
        selectinload(PurchaseOrder.lines).selectinload(PurchaseOrderLine.product),
        selectinload(PurchaseOrder.client),
        selectinload(PurchaseOrder.supplier),
    )


def _load(purchase_order_id: uuid.UUID) -> PurchaseOrder:
    po = db.session.scalar(
        _with_details(responses.released_to(current_token().supplier_id)).where(
            PurchaseOrder.id == purchase_order_id
        )
    )
    if po is None:
        raise Problem(404, "purchase_order_not_found")
    return po


def _customer_numbers(orders: list[PurchaseOrder]) -> dict[uuid.UUID, str]:
    client_ids = {po.client_id for po in orders if po.client_id is not None}
    if not client_ids:
        return {}
    links = db.session.execute(
        select(SupplierClient.client_id, SupplierClient.customer_number).where(
            SupplierClient.supplier_id == current_token().supplier_id,
            SupplierClient.client_id.in_(client_ids),
        )
    )
    return dict(links.all())


def _amount(value) -> str | None:
    return None if value is None else str(value)


def _line(position: int, line: PurchaseOrderLine) -> dict[str, Any]:
    return {
        "id": line.id,
        "position": position,
        "product_code": line.product.code,
        "product_name": line.product.name,
        "barcode": line.product.barcode,
        "supplier_code": line.supplier_code,
        "container_amount": line.container_amount,
        "quantity": line.quantity,
        "unit_price": _amount(line.unit_price),
        "delivery_date": line.delivery_date,
        "ordered_quantity": line.ordered_quantity,
        "ordered_unit_price": _amount(line.ordered_unit_price),
        "ordered_delivery_date": line.ordered_delivery_date,
        "proposed_quantity": line.proposed_quantity,
        "proposed_unit_price": _amount(line.proposed_unit_price),
        "proposed_delivery_date": line.proposed_delivery_date,
        "note": line.note,
    }


def _document(po: PurchaseOrder, customer_number: str | None) -> dict[str, Any]:
    allowed = responses.can(po)
    country = getattr(po, "delivery_country", None)
    return {
        "id": po.id,
        "number": po.number,
        "status": po.status.value,
        "version": po.version,
        "store": po.client.name if po.client is not None else "",
        "customer_number": customer_number,
        "reference": po.reference,
        "currency": str(getattr(po.currency, "code", po.currency) or ""),
        "notes": po.notes,
        "supplier_order_number": po.supplier_order_number,
        "supplier_situation": po.supplier_situation,
        "rejection_reason": po.rejection_reason,
        "delivery": {
            "method": po.delivery_method,
            "name": po.delivery_name,
            "company": po.delivery_company,
            "street": po.delivery_street,
            "street2": po.delivery_street2,
            "postcode": po.delivery_postcode,
            "city": po.delivery_city,
            "state": po.delivery_state,
            "country": str(getattr(country, "code", country)) if country else None,
            "phone": po.delivery_phone,
            "email": po.delivery_email,
            "instructions": po.delivery_instructions,
        },
        "lines": [_line(position, line) for position, line in enumerate(po.lines, start=1)],
        "actions": {key: allowed[key] for key in ACTIONS},
        "sent_at": po.sent_at,
        "answered_at": po.answered_at,
        "created_at": po.created_at,
        "updated_at": po.updated_at,
    }


def _answer(po: PurchaseOrder) -> dict[str, Any]:
    db.session.flush()
    return _document(po, _customer_numbers([po]).get(po.client_id))


@bp.route("")
@requires(READ, supplier=True)
@bp.arguments(ListQuerySchema, location="query")
@bp.response(200, PurchaseOrderPageSchema)
def list_purchase_orders(query):
    """List the purchase orders released to the token's supplier, oldest change first.

    Poll with ``updated_since`` set to the ``server_time`` of the previous poll and follow
    ``next`` until it is null: every order changed since then is listed (some twice).
    """
    server_time = utcnow() - SYNC_OVERLAP
    statement = _with_details(responses.released_to(current_token().supplier_id))
    if "status" in query:
        statement = statement.where(PurchaseOrder.status == Status(query["status"]))
    if "updated_since" in query:
        statement = statement.where(PurchaseOrder.updated_at >= query["updated_since"])
    page = keyset_page(statement, SYNC_ORDER, cursor=query.get("after"), size=query.get("size"))
    numbers = _customer_numbers(page.items)
    following = None
    if page.next_cursor:
        args = {k: v for k, v in query.items() if k != "after"}
        if "updated_since" in args:
            args["updated_since"] = args["updated_since"].isoformat()
        following = url_for(".list_purchase_orders", after=page.next_cursor, _external=True, **args)
    return {
        "items": [_document(po, numbers.get(po.client_id)) for po in page.items],
        "next": following,
        "server_time": server_time,
    }


@bp.route("/<uuid:purchase_order_id>")
@requires(READ, supplier=True)
@bp.response(200, PurchaseOrderSchema)
def get_purchase_order(purchase_order_id: uuid.UUID):
    """Return one purchase order with its lines."""
    return _answer(_load(purchase_order_id))


# --- answering -------------------------------------------------------------------------------


@bp.route("/<uuid:purchase_order_id>/acknowledge", methods=["POST"])
@requires(WRITE, supplier=True)
@idempotent
@bp.arguments(VersionSchema(), required=False)
@bp.response(200, PurchaseOrderSchema)
def acknowledge(body, purchase_order_id: uuid.UUID):
    """Acknowledge receipt: the order has arrived; the answer follows (UBL "AB")."""
    po = _load(purchase_order_id)
    responses.acknowledge(po, body.get("version"))
    return _answer(po)


def _line_answers(po: PurchaseOrder, lines: list[dict]):
    """Map the request's lines to the order's; return the answers and each line's path."""
    by_id = {line.id: line for line in po.lines}
    by_position = dict(enumerate(po.lines, start=1))
    answers: dict[uuid.UUID, responses.LineAnswer] = {}
    paths: dict[int, str] = {}
    position_of = {line.id: position for position, line in by_position.items()}
    errors = []
    for index, entry in enumerate(lines):
        line = by_id.get(entry["id"]) if "id" in entry else by_position.get(entry["position"])
        if line is None or line.id in answers:
            detail = _l("This line is not on the purchase order, or is named twice.")
            key = "id" if "id" in entry else "position"
            errors.append({"field": f"lines[{index}].{key}", "in": "body", "detail": str(detail)})
            continue
        answers[line.id] = responses.LineAnswer(
            quantity=entry.get("quantity"),
            unit_price=entry.get("unit_price"),
            delivery_date=entry.get("delivery_date"),
        )
        paths[position_of[line.id]] = f"lines[{index}]"
    if errors:
        raise Problem(422, "validation_failed", errors=errors)
    return answers, paths


@bp.route("/<uuid:purchase_order_id>/confirm", methods=["POST"])
@requires(WRITE, supplier=True)
@idempotent
@bp.arguments(ConfirmSchema(), required=False)
@bp.response(200, PurchaseOrderSchema)
def confirm(body, purchase_order_id: uuid.UUID):
    """Confirm the order, with other quantities, prices or dates where a line changes.

    With changes the order is confirmed with them, or, when this store approves a
    supplier's changes first, its status becomes ``changes_proposed``.
    """
    po = _load(purchase_order_id)
    answers, paths = _line_answers(po, body.get("lines") or [])
    try:
        responses.confirm(po, answers, expected_version=body.get("version"))
    except DomainError as error:
        raise domain_problem(error, paths) from None
    notify_store_of_answer(po)
    return _answer(po)


@bp.route("/<uuid:purchase_order_id>/reject", methods=["POST"])
@requires(WRITE, supplier=True)
@idempotent
@bp.arguments(RejectSchema())
@bp.response(200, PurchaseOrderSchema)
def reject(body, purchase_order_id: uuid.UUID):
    """Reject the order with a reason that the store sees (UBL "RE")."""
    po = _load(purchase_order_id)
    responses.reject(po, body["reason"], body.get("version"))
    notify_store_of_answer(po)
    return _answer(po)


@bp.route("/<uuid:purchase_order_id>/production", methods=["POST"])
@requires(WRITE, supplier=True)
@idempotent
@bp.arguments(VersionSchema(), required=False)
@bp.response(200, PurchaseOrderSchema)
def production(body, purchase_order_id: uuid.UUID):
    """Mark a confirmed order as in production (as the supplier portal's button does)."""
    po = _load(purchase_order_id)
    responses.start_production(po, body.get("version"))
    return _answer(po)


def _set_reference(body, purchase_order_id: uuid.UUID, *, replace: bool):
    po = _load(purchase_order_id)
    default_number = "" if replace else po.supplier_order_number
    default_situation = "" if replace else po.supplier_situation
    responses.set_reference(
        po,
        body.get("order_number", default_number),
        body.get("situation", default_situation),
        body.get("version"),
    )
    response = _answer(po)
    db.session.commit()
    return response


@bp.route("/<uuid:purchase_order_id>/supplier-reference", methods=["PUT"])
@requires(WRITE, supplier=True)
@bp.arguments(ReferenceSchema())
@bp.response(200, PurchaseOrderSchema)
def put_supplier_reference(body, purchase_order_id: uuid.UUID):
    """Set your own order number and situation (a field left out is cleared).

    From the moment the order number is set, a sent order counts as acknowledged.
    """
    return _set_reference(body, purchase_order_id, replace=True)


@bp.route("/<uuid:purchase_order_id>/supplier-reference", methods=["PATCH"])
@requires(WRITE, supplier=True)
@bp.arguments(ReferenceSchema())
@bp.response(200, PurchaseOrderSchema)
def patch_supplier_reference(body, purchase_order_id: uuid.UUID):
    """Change your own order number or situation (a field left out stays as it is)."""
    return _set_reference(body, purchase_order_id, replace=False)
