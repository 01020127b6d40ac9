"""The shipments of the client's orders, with carrier, tracking code and tracking page."""

from __future__ import annotations

import uuid
from typing import Any

from marshmallow import fields
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.api.auth import requires
from portal.api.blueprints import resource_blueprint
from portal.api.client_orders import OrderShipmentSchema, shipment_summary
from portal.api.client_sync import SyncQuerySchema, one_or_404, own, page_schema, sync_page
from portal.api.schemas import InputSchema
from portal.core.orders.models import Shipment, ShipmentLine

READ = "orders:read"
SYNC_ORDER = [(Shipment.shipped_at, False), (Shipment.id, False)]

bp = resource_blueprint(
    "api_client_shipments",
    __name__,
    "/shipments",
    "What left the warehouse for the client's orders, with carrier and tracking.",
)


class ShipmentLineSchema(InputSchema):
    order_line_id = fields.UUID()
    product_id = fields.UUID()
    product_code = fields.String()
    product_name = fields.String()
    quantity = fields.Integer()


class ShipmentSchema(OrderShipmentSchema):
    order_id = fields.UUID()
    order_number = fields.String()
    order_reference = fields.String()
    lines = fields.List(fields.Nested(ShipmentLineSchema))


ShipmentPageSchema = page_schema("ShipmentPageSchema", ShipmentSchema)


class ShipmentQuerySchema(SyncQuerySchema):
    order_id = fields.UUID(metadata={"description": "Only the shipments of this order"})


def _with_details(statement):
    return statement.options(
        selectinload(Shipment.order),
        selectinload(Shipment.lines).selectinload(ShipmentLine.product),
    )


def _document(shipment: Shipment) -> dict[str, Any]:
    return {
        **shipment_summary(shipment),
        "order_id": shipment.order_id,
        "order_number": shipment.order.number,
        "order_reference": shipment.order.reference,
        "lines": [
            {
                "order_line_id": line.order_line_id,
                "product_id": line.product_id,
                "product_code": line.product.code,
                "product_name": line.product.name,
                "quantity": line.quantity,
            }
            for line in shipment.lines
        ],
    }


@bp.route("")
@requires(READ, client=True)
@bp.arguments(ShipmentQuerySchema, location="query")
@bp.response(200, ShipmentPageSchema)
def list_shipments(query):
    """List the client's shipments, oldest first (``updated_since``: the time they left)."""
    statement = _with_details(own(select(Shipment), Shipment))
    if "order_id" in query:
        statement = statement.where(Shipment.order_id == query["order_id"])
    page, following, server_time = sync_page(
        statement, Shipment.shipped_at, SYNC_ORDER, query, ".list_shipments"
    )
    return {
        "items": [_document(shipment) for shipment in page.items],
        "next": following,
        "server_time": server_time,
    }


@bp.route("/<uuid:shipment_id>")
@requires(READ, client=True)
@bp.response(200, ShipmentSchema)
def get_shipment(shipment_id: uuid.UUID):
    """Return one shipment with its lines."""
    statement = own(select(Shipment).where(Shipment.id == shipment_id), Shipment)
    return _document(one_or_404(_with_details(statement)))
