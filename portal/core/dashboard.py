"""The figures of the dashboard, for one client or for the whole tenant.

A fixed number of queries, whatever the amount of data: every figure is an aggregate or a
short, limited list, so the start page stays fast for a tenant with millions of rows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import selectinload

from portal.core.orders.models import OPEN_STATUSES, Order, OrderLine, OrderStatus, Shipment
from portal.core.products.models import Product
from portal.core.purchasing.models import PurchaseOrder
from portal.core.purchasing.services import RECEIVABLE
from portal.core.stock.models import StockLevel
from portal.db import db

LIST_SIZE = 10


@dataclass(frozen=True)
class LowStock:
    """A product whose available units (on hand minus promised) are below its threshold."""

    product_id: uuid.UUID
    code: str
    name: str
    available: int
    threshold: int


@dataclass
class Figures:
    """What the dashboard shows."""

    open_orders: dict[OrderStatus, int] = field(default_factory=dict)
    backorder_lines: int = 0
    backorder_units: int = 0
    shipments_today: int = 0
    low_stock: list[LowStock] = field(default_factory=list)
    low_stock_count: int = 0
    expected_purchase_orders: list[PurchaseOrder] = field(default_factory=list)
    expected_purchase_order_count: int = 0

    @property
    def open_order_count(self) -> int:
        return sum(self.open_orders.values())


def _for_client(statement, column, client_id: uuid.UUID | None):
    return statement if client_id is None else statement.where(column == client_id)


def dashboard_figures(
    client_id: uuid.UUID | None, day_start: datetime, day_end: datetime
) -> Figures:
    """Return the figures of ``client_id`` (None: the whole tenant) for the day given.

    ``day_start``/``day_end`` bound "today" in the viewer's time zone, as aware datetimes.
    """
    figures = Figures()

    by_status = select(Order.status, func.count()).where(Order.status.in_(OPEN_STATUSES))
    by_status = _for_client(by_status, Order.client_id, client_id).group_by(Order.status)
    counts = dict(db.session.execute(by_status).all())
    figures.open_orders = {status: counts[status] for status in OPEN_STATUSES if counts.get(status)}

    missing = OrderLine.quantity - OrderLine.allocated - OrderLine.shipped
    backorders = (
        select(func.count(), func.coalesce(func.sum(missing), 0))
        .select_from(OrderLine)
        .join(Order, and_(Order.tenant_id == OrderLine.tenant_id, Order.id == OrderLine.order_id))
        .where(Order.status.in_(OPEN_STATUSES), OrderLine.waiting())
    )
    lines, units = db.session.execute(_for_client(backorders, Order.client_id, client_id)).one()
    figures.backorder_lines, figures.backorder_units = int(lines), int(units)

    shipped = select(func.count()).where(
        Shipment.shipped_at >= day_start, Shipment.shipped_at < day_end
    )
    figures.shipments_today = db.session.scalar(_for_client(shipped, Shipment.client_id, client_id))

    figures.low_stock, figures.low_stock_count = _low_stock(client_id)
    figures.expected_purchase_orders, figures.expected_purchase_order_count = _expected(client_id)
    return figures


def _low_stock(client_id: uuid.UUID | None) -> tuple[list[LowStock], int]:
    available = func.coalesce(func.sum(StockLevel.on_hand - StockLevel.allocated), 0)
    statement = (
        select(
            Product.id,
            Product.code,
            Product.name,
            available.label("available"),
            Product.low_stock_threshold,
            func.count().over().label("total"),
        )
        .outerjoin(
            StockLevel,
            and_(StockLevel.tenant_id == Product.tenant_id, StockLevel.product_id == Product.id),
        )
        # Products without a threshold are never low; leaving them out early keeps it small.
        .where(Product.low_stock_threshold > 0)
        .group_by(
            Product.tenant_id, Product.id, Product.code, Product.name, Product.low_stock_threshold
        )
        .having(available < Product.low_stock_threshold)
        .order_by(available, Product.code, Product.id)
        .limit(LIST_SIZE)
    )
    rows = db.session.execute(_for_client(statement, Product.client_id, client_id)).all()
    products = [
        LowStock(row.id, row.code, row.name, int(row.available), row.low_stock_threshold)
        for row in rows
    ]
    return products, (rows[0].total if rows else 0)


def _expected(client_id: uuid.UUID | None) -> tuple[list[PurchaseOrder], int]:
    statement = (
        select(PurchaseOrder, func.count().over().label("total"))
        .where(PurchaseOrder.status.in_(RECEIVABLE))
        .order_by(
            PurchaseOrder.expected_date.is_(None),
            PurchaseOrder.expected_date,
            PurchaseOrder.id,
        )
        .limit(LIST_SIZE)
        .options(selectinload(PurchaseOrder.client), selectinload(PurchaseOrder.lines))
    )
    rows = db.session.execute(_for_client(statement, PurchaseOrder.client_id, client_id)).all()
    return [row[0] for row in rows], (rows[0].total if rows else 0)
