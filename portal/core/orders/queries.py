"""Reading orders and shipments for lists and exports, with the same filters in both.

A list page and its export build their statement here, so the export holds exactly the rows
the list shows. Line totals are correlated subqueries: one statement however many rows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Select, and_, func, select

from portal.core.orders.models import (
    OPEN_STATUSES,
    Order,
    OrderLine,
    OrderStatus,
    Shipment,
    ShipmentLine,
)
from portal.core.products.models import Product
from portal.db import contains_any

CLOSED_STATUSES = (OrderStatus.SHIPPED, OrderStatus.COMPLETED, OrderStatus.CANCELLED)
#: The "open / closed" filter of order lists; drafts are neither (filter them by status).
ORDER_STATES = {"open": OPEN_STATUSES, "closed": CLOSED_STATUSES}


@dataclass(frozen=True)
class OrderFilter:
    """What an order or shipment list is narrowed to: search text, status, state, client."""

    q: str = ""
    status: OrderStatus | None = None
    state: str = ""  # a key of ORDER_STATES, or ""
    client_id: uuid.UUID | None = None


def _filter_status(statement: Select, filters: OrderFilter) -> Select:
    if filters.status is not None:
        statement = statement.where(Order.status == filters.status)
    if filters.state in ORDER_STATES:
        statement = statement.where(Order.status.in_(ORDER_STATES[filters.state]))
    return statement


#: The keyset order of order lists: newest first.
ORDER_LIST_ORDER = [(Order.id, True)]
#: The order of shipment lines: newest shipment first, its lines in order.
SHIPMENT_LINE_ORDER = [(Shipment.id, True), (ShipmentLine.id, False)]


def filter_orders(statement: Select, filters: OrderFilter) -> Select:
    """Narrow a statement over :class:`Order` by number, reference or recipient, status,
    state and client."""
    q = filters.q.strip()
    if q:
        statement = statement.where(contains_any(q, Order.number, Order.reference, Order.name))
    statement = _filter_status(statement, filters)
    if filters.client_id is not None:
        statement = statement.where(Order.client_id == filters.client_id)
    return statement


def _line_total(expression):
    return (
        select(func.coalesce(func.sum(expression), 0))
        .where(OrderLine.tenant_id == Order.tenant_id, OrderLine.order_id == Order.id)
        .correlate(Order)
        .scalar_subquery()
    )


def order_rows(filters: OrderFilter) -> Select:
    """Return ``(Order, line_count, quantity, shipped, id)`` rows; order by
    :data:`ORDER_LIST_ORDER`."""
    line_count = (
        select(func.count(OrderLine.id))
        .where(OrderLine.tenant_id == Order.tenant_id, OrderLine.order_id == Order.id)
        .correlate(Order)
        .scalar_subquery()
    )
    statement = select(
        Order,
        line_count.label("line_count"),
        _line_total(OrderLine.quantity).label("quantity"),
        _line_total(OrderLine.shipped).label("shipped"),
        Order.id,
    )
    return filter_orders(statement, filters)


def filter_shipments(statement: Select, filters: OrderFilter) -> Select:
    """Narrow a statement over :class:`Shipment` (joined to its :class:`Order`) by shipment
    number, tracking code or order number, and client; status and state are the order's."""
    q = filters.q.strip()
    if q:
        statement = statement.where(
            contains_any(q, Shipment.number, Shipment.tracking_code, Order.number)
        )
    statement = _filter_status(statement, filters)
    if filters.client_id is not None:
        statement = statement.where(Shipment.client_id == filters.client_id)
    return statement


def shipment_line_rows(filters: OrderFilter) -> Select:
    """Return one row per shipped line: ``(Shipment, ShipmentLine, order_number,
    order_reference, product_code, product_name)``; order by :data:`SHIPMENT_LINE_ORDER`."""
    statement = (
        select(
            Shipment,
            ShipmentLine,
            Order.number.label("order_number"),
            Order.reference.label("order_reference"),
            Product.code.label("product_code"),
            Product.name.label("product_name"),
        )
        .join(
            ShipmentLine,
            and_(
                ShipmentLine.tenant_id == Shipment.tenant_id,
                ShipmentLine.shipment_id == Shipment.id,
            ),
        )
        .join(Order, and_(Order.tenant_id == Shipment.tenant_id, Order.id == Shipment.order_id))
        .join(
            Product,
            and_(
                Product.tenant_id == ShipmentLine.tenant_id, Product.id == ShipmentLine.product_id
            ),
        )
    )
    return filter_shipments(statement, filters)
