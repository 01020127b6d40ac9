"""Backorders of all clients: the lines of open orders that still wait for stock. They are
served when stock arrives (a goods receipt, a correction, a return) or with
``POST /tenant/orders/{id}/allocate``."""

from __future__ import annotations

from marshmallow import fields

from portal.api.auth import requires
from portal.api.client_backorders import BackorderSchema, backorder_document, waiting_lines
from portal.api.client_sync import page_schema, sync_page
from portal.api.tenant_sync import ClientSyncQuerySchema, tenant_blueprint
from portal.core.orders.models import Order, OrderLine
from portal.core.products.models import Product

READ = "orders:read"
SYNC_ORDER = [(Order.updated_at, False), (OrderLine.id, False)]

bp = tenant_blueprint(
    "api_tenant_backorders",
    __name__,
    "/backorders",
    "The lines of all clients' open orders that wait for stock.",
)


class TenantBackorderSchema(BackorderSchema):
    client_id = fields.UUID()


TenantBackorderPageSchema = page_schema("TenantBackorderPageSchema", TenantBackorderSchema)


class TenantBackorderQuerySchema(ClientSyncQuerySchema):
    product_code = fields.String(metadata={"description": "Only the lines of this product"})


@bp.route("")
@requires(READ, tenant=True)
@bp.arguments(TenantBackorderQuerySchema, location="query")
@bp.response(200, TenantBackorderPageSchema)
def list_backorders(query):
    """List the waiting lines, by when their order last changed."""
    statement = waiting_lines()
    if "client_id" in query:
        statement = statement.where(Order.client_id == query["client_id"])
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
