"""Products: the tenant's articles for a client."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import (
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy_utils import CurrencyType

from portal.db import Timestamped, db
from portal.tenants.scoping import TenantOwned, tenant_collection, tenant_relationship


class Product(TenantOwned, Timestamped, db.Model):
    """An article of one client. Its code never changes after creation."""

    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("tenant_id", "client_id", "code"),
        ForeignKeyConstraint(["tenant_id", "client_id"], ["clients.tenant_id", "clients.id"]),
        Index(None, "tenant_id", "client_id", "code", "id"),
        Index(None, "tenant_id", "code", "id"),
        Index(None, "tenant_id", "barcode"),
        Index(None, "tenant_id", "name"),
    )

    client_id: Mapped[uuid.UUID]
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    barcode: Mapped[str | None] = mapped_column(String(14))
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0.00"))
    currency = mapped_column(CurrencyType, nullable=False, default="EUR")
    # Below this many units available, the product shows as low on stock.
    low_stock_threshold: Mapped[int] = mapped_column(Integer, default=0)
    # Raised on every change; a save based on an older version is refused (optimistic lock).
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    __mapper_args__ = {"version_id_col": version}

    client = tenant_relationship("Client", "Product.client_id")
    images: Mapped[list[ProductImage]] = tenant_collection(
        "Product",
        "ProductImage.product_id",
        order_by="ProductImage.position",
        cascade="all, delete-orphan",
    )

    def __repr__(self) -> str:
        return f"<Product {self.code}>"


class ProductImage(TenantOwned, db.Model):
    """An image of a product, decoded and re-encoded on upload."""

    __tablename__ = "product_images"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "product_id"], ["products.tenant_id", "products.id"], ondelete="CASCADE"
        ),
        Index(None, "tenant_id", "product_id", "position"),
    )

    product_id: Mapped[uuid.UUID]
    position: Mapped[int] = mapped_column(Integer, default=0)
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
