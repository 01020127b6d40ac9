"""All purchase orders of the tenant (its own and its clients' announced deliveries) with
lines and goods receipts: list, read, cancel, and count goods in (a goods receipt).

Receiving goes through :func:`portal.core.purchasing.services.receive_goods`, as the staff's
receiving page (:mod:`portal.web.purchase_orders`): stock grows, waiting order lines are
released, the same refusals per line. The supplier's side is :mod:`portal.api.purchase_orders`.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate
from sqlalchemy import select

from portal.api.auth import requires
from portal.api.client_orders import OrderVersionSchema
from portal.api.client_purchase_orders import (
    ClientPurchaseOrderSchema,
    ReceiptSchema,
    _with_details,
)
from portal.api.client_purchase_orders import _document as purchase_order_document
from portal.api.client_sync import (
    AN_ID,
    TEXT,
    WHOLE_NUMBER,
    one_or_404,
    page_schema,
    status_field,
    sync_page,
)
from portal.api.idempotency import idempotent
from portal.api.problems import Problem, domain_problem
from portal.api.schemas import InputSchema, messages
from portal.api.tenant_sync import ClientSyncQuerySchema, tenant_blueprint
from portal.core.errors import DomainError, too_long
from portal.core.purchasing import services
from portal.core.purchasing.models import GoodsReceipt, PurchaseOrder, PurchaseOrderStatus
from portal.db import db

READ = "purchase_orders:read"
WRITE = "purchase_orders:write"
SYNC_ORDER = [(PurchaseOrder.updated_at, False), (PurchaseOrder.id, False)]
NOT_A_LINE = _l("This is not a line of this purchase order.")
TWICE = _l("This line is listed twice.")

bp = tenant_blueprint(
    "api_tenant_purchase_orders",
    __name__,
    "/purchase-orders",
    "All purchase orders of the tenant with lines and goods receipts; count goods in.",
)


class TenantPurchaseOrderSchema(ClientPurchaseOrderSchema):
    client_id = fields.UUID(allow_none=True)
    supplier_id = fields.UUID(allow_none=True)
    version = fields.Integer()


TenantPurchaseOrderPageSchema = page_schema(
    "TenantPurchaseOrderPageSchema", TenantPurchaseOrderSchema
)


class TenantPurchaseOrderQuerySchema(ClientSyncQuerySchema):
    status = status_field([status.value for status in PurchaseOrderStatus])
    supplier_id = fields.UUID(metadata={"description": "Only this supplier's purchase orders"})


class ReceivedLineSchema(InputSchema):
    purchase_order_line_id = fields.UUID(required=True, error_messages=messages(AN_ID))
    quantity = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=0, error=_l("Please enter a whole number of zero or more.")),
        error_messages=messages(WHOLE_NUMBER),
    )


class ReceiveSchema(OrderVersionSchema):
    lines = fields.List(
        fields.Nested(ReceivedLineSchema),
        required=True,
        error_messages=messages(_l("Please send a list of lines.")),
    )
    note = fields.String(
        load_default="",
        validate=validate.Length(max=2000, error=too_long(2000)),
        error_messages=messages(TEXT),
    )


def _document(po: PurchaseOrder) -> dict[str, Any]:
    return {
        **purchase_order_document(po),
        "client_id": po.client_id,
        "supplier_id": po.supplier_id,
        "version": po.version,
    }


def _load(purchase_order_id: uuid.UUID) -> PurchaseOrder:
    return one_or_404(
        _with_details(select(PurchaseOrder).where(PurchaseOrder.id == purchase_order_id))
    )


def _answer(purchase_order_id: uuid.UUID) -> PurchaseOrder:
    db.session.flush()
    db.session.expire_all()
    return _load(purchase_order_id)


@bp.route("")
@requires(READ, tenant=True)
@bp.arguments(TenantPurchaseOrderQuerySchema, location="query")
@bp.response(200, TenantPurchaseOrderPageSchema)
def list_purchase_orders(query):
    """List all purchase orders, oldest change first."""
    statement = _with_details(select(PurchaseOrder))
    if "client_id" in query:
        statement = statement.where(PurchaseOrder.client_id == query["client_id"])
    if "supplier_id" in query:
        statement = statement.where(PurchaseOrder.supplier_id == query["supplier_id"])
    if "status" in query:
        statement = statement.where(PurchaseOrder.status == PurchaseOrderStatus(query["status"]))
    page, following, server_time = sync_page(
        statement, PurchaseOrder.updated_at, SYNC_ORDER, query, ".list_purchase_orders"
    )
    return {
        "items": [_document(po) for po in page.items],
        "next": following,
        "server_time": server_time,
    }


@bp.route("/<uuid:purchase_order_id>")
@requires(READ, tenant=True)
@bp.response(200, TenantPurchaseOrderSchema)
def get_purchase_order(purchase_order_id: uuid.UUID):
    """Return one purchase order with its lines and goods receipts."""
    return _document(_load(purchase_order_id))


@bp.route("/<uuid:purchase_order_id>/cancel", methods=["POST"])
@requires(WRITE, tenant=True)
@idempotent
@bp.arguments(OrderVersionSchema(), required=False)
@bp.response(200, TenantPurchaseOrderSchema)
def cancel(body, purchase_order_id: uuid.UUID):
    """Cancel a purchase order before it is confirmed and before goods arrived."""
    po = _load(purchase_order_id)
    try:
        services.cancel_purchase_order(po, body.get("version"))
    except DomainError as error:
        raise domain_problem(error) from None
    return _document(_answer(purchase_order_id))


def _quantities(po: PurchaseOrder, lines: list[dict]) -> tuple[dict, dict[int, str]]:
    """The quantity per line id, and each line's position mapped to its path in the request."""
    positions = {line.id: position for position, line in enumerate(po.lines, start=1)}
    quantities: dict[uuid.UUID, int] = {}
    paths: dict[int, str] = {}
    errors = []
    for index, line in enumerate(lines):
        line_id = line["purchase_order_line_id"]
        field = f"lines[{index}].purchase_order_line_id"
        if line_id not in positions:
            errors.append({"field": field, "in": "body", "detail": str(NOT_A_LINE)})
        elif line_id in quantities:
            errors.append({"field": field, "in": "body", "detail": str(TWICE)})
        else:
            quantities[line_id] = line["quantity"]
            paths[positions[line_id]] = f"lines[{index}]"
    if errors:
        raise Problem(422, "validation_failed", errors=errors)
    return quantities, paths


@bp.route("/<uuid:purchase_order_id>/receipts", methods=["POST"])
@requires(WRITE, tenant=True)
@idempotent
@bp.arguments(ReceiveSchema())
@bp.response(201, ReceiptSchema)
def post_receipt(body, purchase_order_id: uuid.UUID):
    """Count goods in against the purchase order: stock grows and waiting order lines are
    served. Lines not sent count as 0. Send an ``Idempotency-Key``: a repeat counts nothing
    twice."""
    po = _load(purchase_order_id)
    quantities, paths = _quantities(po, body["lines"])
    try:
        receipt = services.receive_goods(po, quantities, body["note"], body.get("version"))
    except DomainError as error:
        raise domain_problem(error, paths) from None
    receipt_id = receipt.id
    document = _document(_answer(purchase_order_id))
    found = [r for r in document["receipts"] if r["id"] == receipt_id]
    if not found:  # a receipt of zeros lists no lines, but it exists
        stored = db.session.get(GoodsReceipt, (po.tenant_id, receipt_id))
        return {
            "id": stored.id,
            "received_at": stored.received_at,
            "note": stored.note,
            "lines": [],
        }
    return found[0]
