"""The ledger of the client's stock: every movement with its reason, for incremental sync."""

from __future__ import annotations

from marshmallow import fields
from sqlalchemy import and_, select

from portal.api.auth import requires
from portal.api.blueprints import resource_blueprint
from portal.api.client_sync import (
    AN_ID,
    SyncQuerySchema,
    own,
    page_schema,
    status_field,
    sync_page,
)
from portal.api.schemas import InputSchema, messages
from portal.core.products.models import Product
from portal.core.stock.models import MovementReason, StockMovement
from portal.core.warehouses.models import Warehouse

READ = "products:read"
MOVEMENT_ORDER = [(StockMovement.created_at, False), (StockMovement.id, False)]

bp = resource_blueprint(
    "api_client_stock_movements",
    __name__,
    "/stock-movements",
    "The ledger of the client's stock: every change with its reason.",
)


class MovementSchema(InputSchema):
    id = fields.UUID()
    product_id = fields.UUID()
    product_code = fields.String()
    warehouse = fields.String()
    quantity = fields.Integer(metadata={"description": "Signed: negative units left"})
    reason = fields.String(metadata={"enum": [reason.value for reason in MovementReason]})
    reference = fields.String()
    note = fields.String()
    balance_after = fields.Integer(metadata={"description": "On hand in the warehouse after it"})
    created_at = fields.AwareDateTime()


MovementPageSchema = page_schema("MovementPageSchema", MovementSchema)


class MovementQuerySchema(SyncQuerySchema):
    product_id = fields.UUID(error_messages=messages(AN_ID))
    reason = status_field([reason.value for reason in MovementReason])


@bp.route("")
@requires(READ, client=True)
@bp.arguments(MovementQuerySchema, location="query")
@bp.response(200, MovementPageSchema)
def list_stock_movements(query):
    """List the movements of the client's stock, oldest first (poll with ``updated_since``:
    movements never change, so it is the time they were made)."""
    statement = (
        select(
            StockMovement,
            Product.code.label("product_code"),
            Warehouse.code.label("warehouse_code"),
            StockMovement.created_at,
            StockMovement.id,
        )
        .join(
            Product,
            and_(
                Product.tenant_id == StockMovement.tenant_id,
                Product.id == StockMovement.product_id,
            ),
        )
        .join(
            Warehouse,
            and_(
                Warehouse.tenant_id == StockMovement.tenant_id,
                Warehouse.id == StockMovement.warehouse_id,
            ),
        )
    )
    statement = own(statement, Product)
    if "product_id" in query:
        statement = statement.where(StockMovement.product_id == query["product_id"])
    if "reason" in query:
        statement = statement.where(StockMovement.reason == MovementReason(query["reason"]))
    page, following, server_time = sync_page(
        statement,
        StockMovement.created_at,
        MOVEMENT_ORDER,
        query,
        ".list_stock_movements",
        scalars=False,
    )
    return {
        "items": [
            {
                "id": movement.id,
                "product_id": movement.product_id,
                "product_code": product_code,
                "warehouse": warehouse_code,
                "quantity": movement.quantity,
                "reason": movement.reason.value,
                "reference": movement.reference,
                "note": movement.note,
                "balance_after": movement.balance_after,
                "created_at": movement.created_at,
            }
            for movement, product_code, warehouse_code, _at, _id in page.items
        ],
        "next": following,
        "server_time": server_time,
    }
