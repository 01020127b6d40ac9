"""Reading products for lists and exports: one query with stock totals and the first image.

The list page and the exports build their statement here, so an export holds exactly the
rows the list shows with the same filters. Stock totals and the first image are correlated
subqueries: one statement however many rows, and no image data is loaded.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass

from sqlalchemy import Select, func, select

from portal.core.products.models import Product, ProductImage
from portal.core.stock.models import StockLevel
from portal.db import contains_any


class StockFilter(enum.StrEnum):
    """Which products to show by their stock."""

    LOW = "low"  # available below the product's low-stock threshold
    IN_STOCK = "in"  # something available
    OUT_OF_STOCK = "out"  # nothing available


@dataclass(frozen=True)
class ProductFilter:
    """What a product list is narrowed to: search text, client, stock."""

    q: str = ""
    client_id: uuid.UUID | None = None
    stock: StockFilter | None = None


def _level_total(expression):
    return (
        select(func.coalesce(func.sum(expression), 0))
        .where(StockLevel.tenant_id == Product.tenant_id, StockLevel.product_id == Product.id)
        .correlate(Product)
        .scalar_subquery()
    )


def on_hand_total():
    """Units of the product on hand in all warehouses (a correlated subquery)."""
    return _level_total(StockLevel.on_hand)


def available_total():
    """Units on hand and not promised to orders, in all warehouses (a correlated subquery)."""
    return _level_total(StockLevel.on_hand - StockLevel.allocated)


def first_image_id():
    """The id of the product's first image, or NULL (a correlated subquery)."""
    return (
        select(ProductImage.id)
        .where(ProductImage.tenant_id == Product.tenant_id, ProductImage.product_id == Product.id)
        .order_by(ProductImage.position, ProductImage.id)
        .limit(1)
        .correlate(Product)
        .scalar_subquery()
    )


def search_products(statement: Select, q: str) -> Select:
    """Narrow ``statement`` to products whose code, name or barcode contains ``q``."""
    q = q.strip()
    if not q:
        return statement
    return statement.where(contains_any(q, Product.code, Product.name, Product.barcode))


def filter_products(statement: Select, filters: ProductFilter, available=None) -> Select:
    """Apply search, client and stock filters to a statement over :class:`Product`."""
    statement = search_products(statement, filters.q)
    if filters.client_id is not None:
        statement = statement.where(Product.client_id == filters.client_id)
    if filters.stock is not None:
        available = available if available is not None else available_total()
        if filters.stock == StockFilter.LOW:
            statement = statement.where(available < Product.low_stock_threshold)
        elif filters.stock == StockFilter.IN_STOCK:
            statement = statement.where(available > 0)
        else:
            statement = statement.where(available <= 0)
    return statement


#: The keyset order of product lists: code, then id (codes repeat across clients).
PRODUCT_ORDER = [(Product.code, False), (Product.id, False)]


def product_rows(filters: ProductFilter) -> Select:
    """Return the product list statement: rows of ``(Product, on_hand, available, image_id,
    code, id)``; order it by :data:`PRODUCT_ORDER`."""
    available = available_total()
    statement = select(
        Product,
        on_hand_total().label("on_hand"),
        available.label("available"),
        first_image_id().label("image_id"),
        Product.code,
        Product.id,
    )
    return filter_products(statement, filters, available)
