"""Purchase orders: inbound orders, announced by a client or sent to a supplier."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Timestamped, db, enum_type, utcnow
from portal.tenants.scoping import TenantOwned, tenant_collection, tenant_relationship


class PurchaseOrderStatus(enum.StrEnum):
    """The states of DOMAIN.md. Clients' announced deliveries use draft, booked and the
    receiving states; sending to suppliers adds the others."""

    DRAFT = "draft"
    BOOKED = "booked"
    SENT = "sent"
    TRANSFERRED = "transferred"
    ACKNOWLEDGED = "acknowledged"
    CONFIRMED = "confirmed"
    CHANGES_PROPOSED = "changes_proposed"
    IN_PRODUCTION = "in_production"
    DISPATCHED = "dispatched"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class PurchaseOrder(TenantOwned, Timestamped, db.Model):
    """An inbound order for a client (or the tenant), delivered to a warehouse."""

    __tablename__ = "purchase_orders"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        ForeignKeyConstraint(["tenant_id", "client_id"], ["clients.tenant_id", "clients.id"]),
        ForeignKeyConstraint(["tenant_id", "supplier_id"], ["suppliers.tenant_id", "suppliers.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "warehouse_id"], ["warehouses.tenant_id", "warehouses.id"]
        ),
        ForeignKeyConstraint(["tenant_id", "created_by_id"], ["users.tenant_id", "users.id"]),
        Index(None, "tenant_id", "id"),
        Index(None, "tenant_id", "client_id", "id"),
        Index(None, "tenant_id", "status", "id"),
        Index(None, "tenant_id", "supplier_id", "id"),
    )

    number: Mapped[str] = mapped_column(String(32))
    client_id: Mapped[uuid.UUID | None]
    supplier_id: Mapped[uuid.UUID | None]
    # Who delivers, when no supplier of the tenant is chosen (a client's own supplier).
    supplier_name: Mapped[str] = mapped_column(String(200), default="")
    warehouse_id: Mapped[uuid.UUID]
    status: Mapped[PurchaseOrderStatus] = mapped_column(
        enum_type(PurchaseOrderStatus), default=PurchaseOrderStatus.DRAFT
    )
    reference: Mapped[str] = mapped_column(String(100), default="")
    expected_date: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[uuid.UUID | None]
    cancelled_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    __mapper_args__ = {"version_id_col": version}

    client = tenant_relationship("Client", "PurchaseOrder.client_id")
    supplier = tenant_relationship("Supplier", "PurchaseOrder.supplier_id")
    warehouse = tenant_relationship("Warehouse", "PurchaseOrder.warehouse_id")
    lines: Mapped[list[PurchaseOrderLine]] = tenant_collection(
        "PurchaseOrder",
        "PurchaseOrderLine.purchase_order_id",
        order_by="PurchaseOrderLine.position",
        cascade="all, delete-orphan",
    )
    receipts: Mapped[list[GoodsReceipt]] = tenant_collection(
        "PurchaseOrder",
        "GoodsReceipt.purchase_order_id",
        order_by="GoodsReceipt.received_at",
        viewonly=True,
    )

    @property
    def supplier_label(self) -> str:
        # Checking the id first spares a query for purchase orders without a supplier.
        if self.supplier_id is not None and self.supplier is not None:
            return self.supplier.name
        return self.supplier_name

    def __repr__(self) -> str:
        return f"<PurchaseOrder {self.number}>"


class PurchaseOrderLine(TenantOwned, db.Model):
    """A product and quantity (in units) on a purchase order, and how much has arrived."""

    __tablename__ = "purchase_order_lines"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "purchase_order_id"],
            ["purchase_orders.tenant_id", "purchase_orders.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(["tenant_id", "product_id"], ["products.tenant_id", "products.id"]),
        UniqueConstraint("tenant_id", "purchase_order_id", "product_id"),
        Index(None, "tenant_id", "product_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("received >= 0", name="received_not_negative"),
    )

    purchase_order_id: Mapped[uuid.UUID]
    product_id: Mapped[uuid.UUID]
    position: Mapped[int] = mapped_column(Integer, default=0)
    quantity: Mapped[int] = mapped_column(Integer)
    received: Mapped[int] = mapped_column(Integer, default=0)
    unit_price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))

    product = tenant_relationship("Product", "PurchaseOrderLine.product_id")

    @property
    def outstanding(self) -> int:
        return max(self.quantity - self.received, 0)


class GoodsReceipt(TenantOwned, db.Model):
    """What the warehouse counted in against a purchase order; adds stock."""

    __tablename__ = "goods_receipts"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "purchase_order_id"], ["purchase_orders.tenant_id", "purchase_orders.id"]
        ),
        ForeignKeyConstraint(["tenant_id", "received_by_id"], ["users.tenant_id", "users.id"]),
        Index(None, "tenant_id", "purchase_order_id"),
    )

    purchase_order_id: Mapped[uuid.UUID]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    received_by_id: Mapped[uuid.UUID | None]
    note: Mapped[str] = mapped_column(String(500), default="")

    lines: Mapped[list[GoodsReceiptLine]] = tenant_collection(
        "GoodsReceipt", "GoodsReceiptLine.goods_receipt_id", cascade="all, delete-orphan"
    )


class GoodsReceiptLine(TenantOwned, db.Model):
    __tablename__ = "goods_receipt_lines"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "goods_receipt_id"],
            ["goods_receipts.tenant_id", "goods_receipts.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "purchase_order_line_id"],
            ["purchase_order_lines.tenant_id", "purchase_order_lines.id"],
        ),
        Index(None, "tenant_id", "goods_receipt_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    goods_receipt_id: Mapped[uuid.UUID]
    purchase_order_line_id: Mapped[uuid.UUID]
    quantity: Mapped[int] = mapped_column(Integer)

    purchase_order_line = tenant_relationship(
        "PurchaseOrderLine", "GoodsReceiptLine.purchase_order_line_id"
    )
