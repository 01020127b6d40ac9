"""All clients' products with their stock per warehouse (what the staff's product and stock
pages show), and the staff's stock correction (count difference, damage, found goods), through
:func:`portal.core.stock.services.correct_stock` as on the product page
(:mod:`portal.web.stock`)."""

from __future__ import annotations

import uuid
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate
from sqlalchemy import func, select

from portal.api.auth import requires
from portal.api.client_products import WarehouseStockSchema, _stock_by_product
from portal.api.client_sync import (
    AN_ID,
    TEXT,
    WHOLE_NUMBER,
    one_or_404,
    page_schema,
    sync_page,
    text_field,
)
from portal.api.idempotency import idempotent
from portal.api.problems import Problem, domain_problem
from portal.api.schemas import InputSchema, messages
from portal.api.tenant_sync import ClientSyncQuerySchema, tenant_blueprint
from portal.core.errors import DomainError, too_long
from portal.core.products.models import Product
from portal.core.products.queries import search_products
from portal.core.stock.services import correct_stock
from portal.core.warehouses.models import Warehouse
from portal.db import db
from portal.web.stock import MAX_CORRECTION

READ = "products:read"
CORRECT = "stock:write"
UNKNOWN_WAREHOUSE = _l("Please choose one of the warehouses.")
SYNC_ORDER = [(Product.updated_at, False), (Product.id, False)]

bp = tenant_blueprint(
    "api_tenant_products",
    __name__,
    "/products",
    "All clients' products with stock per warehouse.",
)


class TenantProductSchema(InputSchema):
    id = fields.UUID()
    client_id = fields.UUID()
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
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


TenantProductPageSchema = page_schema("TenantProductPageSchema", TenantProductSchema)


class TenantProductQuerySchema(ClientSyncQuerySchema):
    q = text_field(metadata={"description": "Search code, name or barcode"})


def _not_zero(value: int) -> None:
    if value == 0:
        raise ValidationError(str(_l("The quantity must not be zero.")))


class CorrectionSchema(InputSchema):
    warehouse_id = fields.UUID(required=True, error_messages=messages(AN_ID))
    quantity = fields.Integer(
        required=True,
        strict=True,
        validate=[
            _not_zero,
            validate.Range(
                min=-MAX_CORRECTION,
                max=MAX_CORRECTION,
                error=_l("Please enter a number from -1000000 to 1000000."),
            ),
        ],
        error_messages=messages(WHOLE_NUMBER),
        metadata={"description": "Units to add (positive) or to take off (negative)"},
    )
    note = fields.String(
        required=True,
        validate=validate.Length(max=500, error=too_long(500)),
        error_messages=messages(TEXT),
        metadata={"description": "The reason, kept in the stock history"},
    )


def _documents(products: list[Product]) -> list[dict[str, Any]]:
    stock = _stock_by_product([product.id for product in products])
    documents = []
    for product in products:
        levels = stock.get(product.id, [])
        documents.append(
            {
                "id": product.id,
                "client_id": product.client_id,
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
                "created_at": product.created_at,
                "updated_at": product.updated_at,
            }
        )
    return documents


@bp.route("")
@requires(READ, tenant=True)
@bp.arguments(TenantProductQuerySchema, location="query")
@bp.response(200, TenantProductPageSchema)
def list_products(query):
    """List all clients' products with stock, oldest change first."""
    statement = select(Product)
    if "client_id" in query:
        statement = statement.where(Product.client_id == query["client_id"])
    statement = search_products(statement, query.get("q") or "")
    page, following, server_time = sync_page(
        statement, Product.updated_at, SYNC_ORDER, query, ".list_products"
    )
    return {"items": _documents(page.items), "next": following, "server_time": server_time}


@bp.route("/<uuid:product_id>")
@requires(READ, tenant=True)
@bp.response(200, TenantProductSchema)
def get_product(product_id: uuid.UUID):
    """Return one product with its stock per warehouse."""
    return _documents([one_or_404(select(Product).where(Product.id == product_id))])[0]


@bp.route("/<uuid:product_id>/stock-corrections", methods=["POST"])
@requires(CORRECT, tenant=True)
@idempotent
@bp.arguments(CorrectionSchema())
@bp.response(201, TenantProductSchema)
def post_correction(body, product_id: uuid.UUID):
    """Correct the stock of a product in one warehouse, with a reason; waiting order lines
    are served when stock grows. Send an ``Idempotency-Key``: a repeat corrects nothing twice."""
    product = one_or_404(select(Product).where(Product.id == product_id))
    known = db.session.scalar(select(func.count()).where(Warehouse.id == body["warehouse_id"]))
    if not known:
        raise Problem(
            422,
            "validation_failed",
            errors=[{"field": "warehouse_id", "in": "body", "detail": str(UNKNOWN_WAREHOUSE)}],
        )
    try:
        correct_stock(product, body["warehouse_id"], body["quantity"], body["note"])
    except DomainError as error:
        raise domain_problem(error) from None
    db.session.flush()
    db.session.expire_all()
    return _documents([one_or_404(select(Product).where(Product.id == product_id))])[0]
