"""The client's purchase orders (its announced deliveries), with lines and goods receipts.

Read only here: clients announce and change them on the pages, the warehouse counts them in.
The supplier's side of purchase orders is :mod:`portal.api.purchase_orders`, under its own
address; this one lists what the token's client sees on its purchase order pages.
"""

from __future__ import annotations

import uuid
from typing import Any

from marshmallow import fields
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.api.auth import requires
from portal.api.blueprints import resource_blueprint
from portal.api.client_sync import (
    SyncQuerySchema,
    one_or_404,
    own,
    page_schema,
    status_field,
    sync_page,
)
from portal.api.schemas import InputSchema
from portal.core.purchasing.models import (
    GoodsReceipt,
    GoodsReceiptLine,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
)

READ = "purchase_orders:read"
SYNC_ORDER = [(PurchaseOrder.updated_at, False), (PurchaseOrder.id, False)]
AMOUNT_TEXT = {"description": "An amount as text, exact to the cent, e.g. 12.50"}

bp = resource_blueprint(
    "api_client_purchase_orders",
    __name__,
    "/client-purchase-orders",
    "The client's purchase orders (announced deliveries) with their lines and receipts.",
)


class ClientPurchaseOrderLineSchema(InputSchema):
    id = fields.UUID()
    position = fields.Integer()
    product_id = fields.UUID()
    product_code = fields.String()
    product_name = fields.String()
    quantity = fields.Integer()
    received = fields.Integer()
    outstanding = fields.Integer()
    unit_price = fields.String(allow_none=True, metadata=AMOUNT_TEXT)
    delivery_date = fields.Date(allow_none=True)


class ReceiptLineSchema(InputSchema):
    purchase_order_line_id = fields.UUID()
    product_code = fields.String()
    quantity = fields.Integer()


class ReceiptSchema(InputSchema):
    id = fields.UUID()
    received_at = fields.AwareDateTime()
    note = fields.String()
    lines = fields.List(fields.Nested(ReceiptLineSchema))


class ClientPurchaseOrderSchema(InputSchema):
    id = fields.UUID()
    number = fields.String()
    status = fields.String(metadata={"enum": [status.value for status in PurchaseOrderStatus]})
    supplier = fields.String()
    reference = fields.String()
    expected_date = fields.Date(allow_none=True)
    notes = fields.String()
    warehouse = fields.String(metadata={"description": "The warehouse's code"})
    lines = fields.List(fields.Nested(ClientPurchaseOrderLineSchema))
    receipts = fields.List(fields.Nested(ReceiptSchema))
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


ClientPurchaseOrderPageSchema = page_schema(
    "ClientPurchaseOrderPageSchema", ClientPurchaseOrderSchema
)


class ClientPurchaseOrderQuerySchema(SyncQuerySchema):
    status = status_field([status.value for status in PurchaseOrderStatus])


def _with_details(statement):
    return statement.options(
        selectinload(PurchaseOrder.lines).selectinload(PurchaseOrderLine.product),
        selectinload(PurchaseOrder.receipts).selectinload(GoodsReceipt.lines),
        selectinload(PurchaseOrder.supplier),
        selectinload(PurchaseOrder.warehouse),
    )


def _amount(value) -> str | None:
    return None if value is None else str(value)


def _document(po: PurchaseOrder) -> dict[str, Any]:
    codes = {line.id: line.product.code for line in po.lines}
    return {
        "id": po.id,
        "number": po.number,
        "status": po.status.value,
        "supplier": po.supplier_label,
        "reference": po.reference,
        "expected_date": po.expected_date,
        "notes": po.notes,
        "warehouse": po.warehouse.code,
        "lines": [
            {
                "id": line.id,
                "position": position,
                "product_id": line.product_id,
                "product_code": line.product.code,
                "product_name": line.product.name,
                "quantity": line.quantity,
                "received": line.received,
                "outstanding": line.outstanding,
                "unit_price": _amount(line.unit_price),
                "delivery_date": line.delivery_date,
            }
            for position, line in enumerate(po.lines, start=1)
        ],
        "receipts": [
            {
                "id": receipt.id,
                "received_at": receipt.received_at,
                "note": receipt.note,
                "lines": [_receipt_line(line, codes) for line in receipt.lines if line.quantity],
            }
            for receipt in po.receipts
        ],
        "created_at": po.created_at,
        "updated_at": po.updated_at,
    }


def _receipt_line(line: GoodsReceiptLine, codes: dict) -> dict[str, Any]:
    return {
        "purchase_order_line_id": line.purchase_order_line_id,
        "product_code": codes.get(line.purchase_order_line_id, ""),
        "quantity": line.quantity,
    }


@bp.route("")
@requires(READ, client=True)
@bp.arguments(ClientPurchaseOrderQuerySchema, location="query")
@bp.response(200, ClientPurchaseOrderPageSchema)
def list_client_purchase_orders(query):
    """List the client's purchase orders, oldest change first."""
    statement = _with_details(own(select(PurchaseOrder), PurchaseOrder))
    if "status" in query:
        statement = statement.where(PurchaseOrder.status == PurchaseOrderStatus(query["status"]))
    page, following, server_time = sync_page(
        statement, PurchaseOrder.updated_at, SYNC_ORDER, query, ".list_client_purchase_orders"
    )
    return {
        "items": [_document(po) for po in page.items],
        "next": following,
        "server_time": server_time,
    }


@bp.route("/<uuid:purchase_order_id>")
@requires(READ, client=True)
@bp.response(200, ClientPurchaseOrderSchema)
def get_client_purchase_order(purchase_order_id: uuid.UUID):
    """Return one purchase order with its lines and goods receipts."""
    statement = own(
        select(PurchaseOrder).where(PurchaseOrder.id == purchase_order_id), PurchaseOrder
    )
    return _document(one_or_404(_with_details(statement)))
