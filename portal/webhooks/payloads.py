"""The object inside an event: what the API returns for it.

Purchase orders use the API's own schema (:mod:`portal.api.purchase_orders`). Orders,
shipments, products and returns have no API schema yet; they get the small
:class:`ObjectSchema` (id, number, status, updated_at, links) until the client scope's
schemas exist, which can then take its place here without changing the envelope.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from portal.accounts.links import public_url


class ObjectSchema(Schema):
    """A reference to the changed object; fetch the object itself from the API or the page."""

    object = fields.String(metadata={"description": "order, shipment, product or return"})
    id = fields.UUID()
    number = fields.String(metadata={"description": "The number people see (code of a product)"})
    status = fields.String(allow_none=True)
    updated_at = fields.AwareDateTime(allow_none=True)
    links = fields.Dict(keys=fields.String(), values=fields.String())


class EventSchema(Schema):
    """The body of every webhook request (the Standard Webhooks envelope)."""

    id = fields.String(metadata={"description": "Also the webhook-id header; deduplicate by it"})
    type = fields.String()
    timestamp = fields.AwareDateTime()
    data = fields.Dict(metadata={"description": "The object, as the API returns it"})


def _page(endpoint: str, **values) -> dict[str, str]:
    return {"page": public_url(endpoint, **values)}


def _reference(kind: str, obj, number: str, status, updated_at, links) -> dict[str, Any]:
    return ObjectSchema().dump(
        {
            "object": kind,
            "id": obj.id,
            "number": number,
            "status": getattr(status, "value", status),
            "updated_at": updated_at,
            "links": links,
        }
    )


def purchase_order_payload(po) -> dict[str, Any]:
    from sqlalchemy import select

    # The API's own document and schema: a receiver reads the same object as a poll returns.
    from portal.api.purchase_orders import PurchaseOrderSchema, _document
    from portal.core.suppliers.models import SupplierClient
    from portal.db import db

    number = None
    if po.client_id is not None and po.supplier_id is not None:
        number = db.session.scalar(
            select(SupplierClient.customer_number).where(
                SupplierClient.supplier_id == po.supplier_id,
                SupplierClient.client_id == po.client_id,
            )
        )
    return PurchaseOrderSchema().dump(_document(po, number))


def object_payload(obj) -> dict[str, Any]:
    """Return the event's ``data`` for ``obj`` (an order, shipment, product, return or PO)."""
    from portal.core.orders.models import Order, Shipment
    from portal.core.products.models import Product
    from portal.core.purchasing.models import PurchaseOrder
    from portal.core.returns.models import Return

    if isinstance(obj, PurchaseOrder):
        return purchase_order_payload(obj)
    if isinstance(obj, Order):
        links = _page("orders.detail", order_id=obj.id)
        return _reference("order", obj, obj.number, obj.status, obj.updated_at, links)
    if isinstance(obj, Shipment):
        links = _page("shipments.detail", shipment_id=obj.id)
        return _reference("shipment", obj, obj.number, "shipped", obj.shipped_at, links)
    if isinstance(obj, Product):
        links = _page("products.detail", product_id=obj.id)
        return _reference("product", obj, obj.code, None, obj.updated_at, links)
    if isinstance(obj, Return):
        links = _page("returns.detail", return_id=obj.id)
        return _reference("return", obj, obj.number, obj.status, obj.updated_at, links)
    raise TypeError(f"no webhook payload for {type(obj).__name__}")
