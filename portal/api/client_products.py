"""The client's products with their stock per warehouse and images, and the stock movements.

Read only: products are added and changed on the pages (by clients with product
management) and stock changes through goods receipts, shipments and corrections. Stock
changes do not change a product's ``updated_at``; poll ``/stock-movements`` for them.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from flask import Response, request, url_for
from marshmallow import fields
from sqlalchemy import and_, select

from portal.api.auth import requires
from portal.api.blueprints import resource_blueprint
from portal.api.client_sync import (
    SyncQuerySchema,
    one_or_404,
    own,
    page_schema,
    sync_page,
    text_field,
)
from portal.api.schemas import InputSchema
from portal.core.products.models import Product, ProductImage
from portal.core.products.queries import search_products
from portal.core.stock.models import StockLevel
from portal.core.warehouses.models import Warehouse
from portal.db import db

READ = "products:read"
SYNC_ORDER = [(Product.updated_at, False), (Product.id, False)]

bp = resource_blueprint(
    "api_client_products",
    __name__,
    "/products",
    "The client's products with stock per warehouse and images.",
)


class WarehouseStockSchema(InputSchema):
    warehouse = fields.String(metadata={"description": "The warehouse's code"})
    warehouse_name = fields.String()
    on_hand = fields.Integer()
    allocated = fields.Integer(metadata={"description": "Promised to orders"})
    available = fields.Integer()


class ImageSchema(InputSchema):
    id = fields.UUID()
    url = fields.String(metadata={"description": "Fetch it with the same token"})
    content_type = fields.String()
    width = fields.Integer()
    height = fields.Integer()


class ProductSchema(InputSchema):
    id = fields.UUID()
    code = fields.String()
    name = fields.String()
    barcode = fields.String(allow_none=True)
    price = fields.String(metadata={"description": "An amount as text, exact to the cent"})
    currency = fields.String()
    low_stock_threshold = fields.Integer()
    on_hand = fields.Integer()
    allocated = fields.Integer()
    available = fields.Integer()
    stock = fields.List(fields.Nested(WarehouseStockSchema))
    images = fields.List(fields.Nested(ImageSchema))
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


ProductPageSchema = page_schema("ProductPageSchema", ProductSchema)


class ProductQuerySchema(SyncQuerySchema):
    q = text_field(metadata={"description": "Search code, name or barcode"})


def _stock_by_product(product_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[dict]]:
    """Return each product's levels per warehouse, in one query."""
    if not product_ids:
        return {}
    rows = db.session.execute(
        select(StockLevel, Warehouse.code, Warehouse.name)
        .join(
            Warehouse,
            and_(
                Warehouse.tenant_id == StockLevel.tenant_id,
                Warehouse.id == StockLevel.warehouse_id,
            ),
        )
        .where(StockLevel.product_id.in_(product_ids))
        .order_by(Warehouse.code, Warehouse.id)
    )
    levels: dict[uuid.UUID, list[dict]] = defaultdict(list)
    for level, code, name in rows:
        levels[level.product_id].append(
            {
                "warehouse": code,
                "warehouse_name": name,
                "on_hand": level.on_hand,
                "allocated": level.allocated,
                "available": level.available,
            }
        )
    return levels


def _images_by_product(product_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[dict]]:
    """Return each product's images (without their data), in one query."""
    if not product_ids:
        return {}
    rows = db.session.execute(
        select(
            ProductImage.id,
            ProductImage.product_id,
            ProductImage.content_type,
            ProductImage.width,
            ProductImage.height,
        )
        .where(ProductImage.product_id.in_(product_ids))
        .order_by(ProductImage.position, ProductImage.id)
    )
    images: dict[uuid.UUID, list[dict]] = defaultdict(list)
    for image_id, product_id, content_type, width, height in rows:
        images[product_id].append(
            {
                "id": image_id,
                "url": url_for(
                    "api_client_products.get_image",
                    product_id=product_id,
                    image_id=image_id,
                    _external=True,
                ),
                "content_type": content_type,
                "width": width,
                "height": height,
            }
        )
    return images


def _documents(products: list[Product]) -> list[dict[str, Any]]:
    ids = [product.id for product in products]
    stock = _stock_by_product(ids)
    images = _images_by_product(ids)
    documents = []
    for product in products:
        levels = stock.get(product.id, [])
        documents.append(
            {
                "id": product.id,
                "code": product.code,
                "name": product.name,
                "barcode": product.barcode,
                "price": str(product.price),
                "currency": str(getattr(product.currency, "code", product.currency)),
                "low_stock_threshold": product.low_stock_threshold,
                "on_hand": sum(level["on_hand"] for level in levels),
                "allocated": sum(level["allocated"] for level in levels),
                "available": sum(level["available"] for level in levels),
                "stock": levels,
                "images": images.get(product.id, []),
                "created_at": product.created_at,
                "updated_at": product.updated_at,
            }
        )
    return documents


def _load(product_id: uuid.UUID) -> Product:
    return one_or_404(own(select(Product).where(Product.id == product_id), Product))


@bp.route("")
@requires(READ, client=True)
@bp.arguments(ProductQuerySchema, location="query")
@bp.response(200, ProductPageSchema)
def list_products(query):
    """List the client's products with stock, oldest change first."""
    statement = search_products(own(select(Product), Product), query.get("q") or "")
    page, following, server_time = sync_page(
        statement, Product.updated_at, SYNC_ORDER, query, ".list_products"
    )
    return {"items": _documents(page.items), "next": following, "server_time": server_time}


@bp.route("/<uuid:product_id>")
@requires(READ, client=True)
@bp.response(200, ProductSchema)
def get_product(product_id: uuid.UUID):
    """Return one product with its stock per warehouse and its images."""
    return _documents([_load(product_id)])[0]


@bp.route("/<uuid:product_id>/images/<uuid:image_id>")
@requires(READ, client=True)
@bp.response(
    200,
    content_type="image/*",
    description="The image as stored (WebP, PNG or JPEG)",
)
def get_image(product_id: uuid.UUID, image_id: uuid.UUID):
    """Return one image of a product."""
    product = _load(product_id)
    stored = one_or_404(
        select(ProductImage).where(
            ProductImage.product_id == product.id, ProductImage.id == image_id
        )
    )
    response = Response(stored.data, mimetype=stored.content_type)
    # Images never change under their id (as on the pages).
    response.headers["Cache-Control"] = "private, max-age=86400"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.set_etag(str(stored.id))
    return response.make_conditional(request)
