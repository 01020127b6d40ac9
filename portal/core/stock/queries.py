"""Reading stock: levels per warehouse, the history of a product, the stock list, ledger checks.

The running balance of the history is the ``balance_after`` written on each movement: the
warehouse's on-hand right after it, taken from the atomic update of the level. Reading it
costs nothing per page, however long the history grows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import Select, and_, func, select

from portal.core.products.models import Product
from portal.core.products.queries import ProductFilter, filter_products
from portal.core.stock.models import StockLevel, StockMovement
from portal.core.warehouses.models import Warehouse
from portal.db import db

#: The keyset order of a stock history: newest movement first.
HISTORY_ORDER = [(StockMovement.id, True)]
#: The stock list's tie-breaker: the level's id, or the product's for a product without one.
#: A product has at most one row without a level, so the pair is unique.
STOCK_ROW_KEY = func.coalesce(StockLevel.id, Product.id).label("row_key")
#: The keyset order of the stock list: product code, product, then the level.
STOCK_ORDER = [(Product.code, False), (Product.id, False), (STOCK_ROW_KEY, False)]


def product_levels(product_id: uuid.UUID) -> list[tuple[StockLevel, Warehouse]]:
    """Return the product's stock level in each warehouse that has one, by warehouse code."""
    return list(
        db.session.execute(
            select(StockLevel, Warehouse)
            .join(
                Warehouse,
                and_(
                    Warehouse.tenant_id == StockLevel.tenant_id,
                    Warehouse.id == StockLevel.warehouse_id,
                ),
            )
            .where(StockLevel.product_id == product_id)
            .order_by(Warehouse.code, Warehouse.id)
        )
    )


def history_statement(product_id: uuid.UUID, warehouse_id: uuid.UUID | None = None) -> Select:
    """Return the statement of a product's movements; order it by :data:`HISTORY_ORDER`."""
    statement = select(StockMovement).where(StockMovement.product_id == product_id)
    if warehouse_id is not None:
        statement = statement.where(StockMovement.warehouse_id == warehouse_id)
    return statement


def stock_rows(filters: ProductFilter, warehouse_id: uuid.UUID | None = None) -> Select:
    """Return the stock list statement: one row per product and warehouse, with every product.

    A product that never had stock has no level; it is listed once, with 0 units and no
    warehouse, so the list agrees with the product list's "out of stock". With
    ``warehouse_id`` every product is listed once, with its level in that warehouse or 0.
    Rows are ``(id, code, name, client_id, price, currency, warehouse_code,
    warehouse_name, on_hand, allocated, available, row_key)``; the product filters are those
    of the product list. Order it by :data:`STOCK_ORDER`.
    """
    on_hand = func.coalesce(StockLevel.on_hand, 0)
    allocated = func.coalesce(StockLevel.allocated, 0)
    level_of_product = and_(
        StockLevel.tenant_id == Product.tenant_id, StockLevel.product_id == Product.id
    )
    if warehouse_id is not None:
        level_of_product = and_(level_of_product, StockLevel.warehouse_id == warehouse_id)
    statement = (
        select(
            Product.id,
            Product.code,
            Product.name,
            Product.client_id,
            Product.price,
            Product.currency,
            Warehouse.code.label("warehouse_code"),
            Warehouse.name.label("warehouse_name"),
            on_hand.label("on_hand"),
            allocated.label("allocated"),
            (on_hand - allocated).label("available"),
            STOCK_ROW_KEY,
        )
        .select_from(Product)
        .outerjoin(StockLevel, level_of_product)
        .outerjoin(
            Warehouse,
            and_(
                Warehouse.tenant_id == StockLevel.tenant_id,
                Warehouse.id == StockLevel.warehouse_id,
            ),
        )
    )
    return filter_products(statement, filters)


@dataclass
class LedgerCheck:
    """How a stock level compares with its ledger."""

    on_hand: int
    ledger_total: int
    # Ids of movements whose balance is not the previous balance plus their quantity.
    breaks: list[uuid.UUID] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        return self.on_hand == self.ledger_total and not self.breaks


def check_ledger(product_id: uuid.UUID, warehouse_id: uuid.UUID) -> LedgerCheck:
    """Compare a level with its movements: the total, and the running balance step by step."""
    on_hand = db.session.scalar(
        select(StockLevel.on_hand).where(
            StockLevel.product_id == product_id, StockLevel.warehouse_id == warehouse_id
        )
    )
    total = db.session.scalar(
        select(func.coalesce(func.sum(StockMovement.quantity), 0)).where(
            StockMovement.product_id == product_id, StockMovement.warehouse_id == warehouse_id
        )
    )
    check = LedgerCheck(on_hand=int(on_hand or 0), ledger_total=int(total or 0))
    balance = 0
    movements = db.session.execute(
        select(StockMovement.id, StockMovement.quantity, StockMovement.balance_after)
        .where(StockMovement.product_id == product_id, StockMovement.warehouse_id == warehouse_id)
        .order_by(StockMovement.id)
        .execution_options(yield_per=1000)
    )
    for movement_id, quantity, balance_after in movements:
        if balance_after != balance + quantity:
            check.breaks.append(movement_id)
        balance = balance_after
    return check
