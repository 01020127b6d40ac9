"""All clients' shipments, with carrier, tracking code and tracking page. Shipments are
created by shipping an order (``POST /tenant/orders/{id}/shipments``)."""

from __future__ import annotations

import uuid

from marshmallow import fields
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.api.auth import requires
from portal.api.client_shipments import ShipmentSchema
from portal.api.client_shipments import _document as shipment_document
from portal.api.client_sync import one_or_404, page_schema, sync_page
from portal.api.tenant_sync import ClientSyncQuerySchema, tenant_blueprint
from portal.core.orders.models import Shipment, ShipmentLine

READ = "orders:read"
SYNC_ORDER = [(Shipment.shipped_at, False), (Shipment.id, False)]

bp = tenant_blueprint(
    "api_tenant_shipments",
    __name__,
    "/shipments",
    "What left the warehouse for all clients' orders, with carrier and tracking.",
)


class TenantShipmentSchema(ShipmentSchema):
    client_id = fields.UUID()


TenantShipmentPageSchema = page_schema("TenantShipmentPageSchema", TenantShipmentSchema)


class TenantShipmentQuerySchema(ClientSyncQuerySchema):
    order_id = fields.UUID(metadata={"description": "Only the shipments of this order"})


def _with_details(statement):
    return statement.options(
        selectinload(Shipment.order),
        selectinload(Shipment.lines).selectinload(ShipmentLine.product),
    )


def _document(shipment: Shipment) -> dict:
    return {**shipment_document(shipment), "client_id": shipment.client_id}


@bp.route("")
@requires(READ, tenant=True)
@bp.arguments(TenantShipmentQuerySchema, location="query")
@bp.response(200, TenantShipmentPageSchema)
def list_shipments(query):
    """List all shipments, oldest first (``updated_since``: the time they left)."""
    statement = _with_details(select(Shipment))
    if "client_id" in query:
        statement = statement.where(Shipment.client_id == query["client_id"])
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
@requires(READ, tenant=True)
@bp.response(200, TenantShipmentSchema)
def get_shipment(shipment_id: uuid.UUID):
    """Return one shipment with its lines."""
    return _document(one_or_404(_with_details(select(Shipment).where(Shipment.id == shipment_id))))
