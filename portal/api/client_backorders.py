"""Backorders: the lines of the client's open orders that still wait for stock.

They are released automatically when stock arrives (``release_backorders`` in the core); a
line that no longer waits leaves this list, and its order's ``updated_at`` moves on.
"""

from __future__ import annotations

from marshmallow import fields
from sqlalchemy import and_, select

from portal.api.auth import requires
from portal.api.blueprints import resource_blueprint
from portal.api.client_sync import SyncQuerySchema, own, page_schema, sync_page
from portal.api.schemas import InputSchema
from portal.core.orders.models import OPEN_STATUSES, Order, OrderLine
from portal.core.products.models import Product

READ = "orders:read"
SYNC_ORDER = [(Order.updated_at, False), (OrderLine.id, False)]

bp = resource_blueprint(
    "api_client_backorders",
    __name__,
    "/backorders",
    "The lines of the client's open orders that wait for stock.",
)


class BackorderSchema(InputSchema):
    order_line_id = fields.UUID()
    order_id = fields.UUID()
    order_number = fields.String()
    order_reference = fields.String()
    order_status = fields.String()
    submitted_at = fields.AwareDateTime(allow_none=True)
    product_id = fields.UUID()
    product_code = fields.String()
    product_name = fields.String()
    quantity = fields.Integer()
    allocated = fields.Integer()
    shipped = fields.Integer()
    missing = fields.Integer(metadata={"description": "Units still waiting for stock"})
    updated_at = fields.AwareDateTime(metadata={"description": "When the order last changed"})


BackorderPageSchema = page_schema("BackorderPageSchema", BackorderSchema)


class BackorderQuerySchema(SyncQuerySchema):
    product_code = fields.String(metadata={"description": "Only the lines of this product"})


def waiting_lines():
    """The statement of the waiting lines with their order and product (sync columns last)."""
    return (
        select(OrderLine, Order, Product, Order.updated_at, OrderLine.id)
        .join(Order, and_(Order.tenant_id == OrderLine.tenant_id, Order.id == OrderLine.order_id))
        .join(
            Product,
            and_(Product.tenant_id == OrderLine.tenant_id, Product.id == OrderLine.product_id),
        )
        .where(Order.status.in_(OPEN_STATUSES), OrderLine.waiting())
    )


def backorder_document(line: OrderLine, order: Order, product: Product) -> dict:
    return {
        "order_line_id": line.id,
        "order_id": order.id,
        "order_number": order.number,
        "order_reference": order.reference,
        "order_status": order.status.value,
        "submitted_at": order.submitted_at,
        "client_id": order.client_id,
        "product_id": product.id,
        "product_code": product.code,
        "product_name": product.name,
        "quantity": line.quantity,
        "allocated": line.allocated,
        "shipped": line.shipped,
        "missing": line.missing,
        "updated_at": order.updated_at,
    }


@bp.route("")
@requires(READ, client=True)
@bp.arguments(BackorderQuerySchema, location="query")
@bp.response(200, BackorderPageSchema)
def list_backorders(query):
    """List the waiting lines, by when their order last changed."""
    statement = own(waiting_lines(), Order)
    if "product_code" in query:
        statement = statement.where(Product.code == query["product_code"])
    page, following, server_time = sync_page(
        statement, Order.updated_at, SYNC_ORDER, query, ".list_backorders", scalars=False
    )
    return {
        "items": [backorder_document(*row[:3]) for row in page.items],
        "next": following,
        "server_time": server_time,
    }
