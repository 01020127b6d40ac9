"""Orders: a client's outbound orders, fulfilled by the tenant's warehouse, and shipments."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.addresses.models import PostalAddressFields
from portal.db import Timestamped, db, enum_type, utcnow
from portal.tenants.scoping import TenantOwned, tenant_collection, tenant_relationship


class OrderStatus(enum.StrEnum):
    """Where an order is. See DOMAIN.md: draft -> processing -> (backorder) -> picking ->
    shipped (partially / fully) -> completed; cancelled only before picking."""

    DRAFT = "draft"
    PROCESSING = "processing"
    BACKORDER = "backorder"
    PICKING = "picking"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


OPEN_STATUSES = (
    OrderStatus.PROCESSING,
    OrderStatus.BACKORDER,
    OrderStatus.PICKING,
    OrderStatus.PARTIALLY_SHIPPED,
)


class Order(PostalAddressFields, TenantOwned, Timestamped, db.Model):
    """A client's order; its columns from PostalAddressFields are the delivery address."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        ForeignKeyConstraint(["tenant_id", "client_id"], ["clients.tenant_id", "clients.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "warehouse_id"], ["warehouses.tenant_id", "warehouses.id"]
        ),
        ForeignKeyConstraint(["tenant_id", "created_by_id"], ["users.tenant_id", "users.id"]),
        # The list pages: newest first, per client and per status.
        Index(None, "tenant_id", "id"),
        Index(None, "tenant_id", "client_id", "id"),
        Index(None, "tenant_id", "status", "id"),
        Index(None, "tenant_id", "client_id", "status", "id"),
        Index(None, "tenant_id", "reference"),
    )

    number: Mapped[str] = mapped_column(String(32))
    client_id: Mapped[uuid.UUID]
    warehouse_id: Mapped[uuid.UUID]
    status: Mapped[OrderStatus] = mapped_column(enum_type(OrderStatus), default=OrderStatus.DRAFT)
    reference: Mapped[str] = mapped_column(String(100), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[uuid.UUID | None]
    submitted_at: Mapped[datetime | None]
    picked_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    __mapper_args__ = {"version_id_col": version}

    client = tenant_relationship("Client", "Order.client_id")
    warehouse = tenant_relationship("Warehouse", "Order.warehouse_id")
    lines: Mapped[list[OrderLine]] = tenant_collection(
        "Order",
        "OrderLine.order_id",
        order_by="OrderLine.position",
        cascade="all, delete-orphan",
        back_populates="order",
    )
    shipments: Mapped[list[Shipment]] = tenant_collection(
        "Order", "Shipment.order_id", order_by="Shipment.shipped_at", viewonly=True
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def __repr__(self) -> str:
        return f"<Order {self.number}>"


# A line still waits for stock; the same words as the partial index below, so that the
# database can use it.
WAITING_SQL = "quantity > allocated + shipped"


class OrderLine(TenantOwned, db.Model):
    """A product and quantity on an order, with how much is promised from stock and shipped."""

    __tablename__ = "order_lines"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "order_id"], ["orders.tenant_id", "orders.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(["tenant_id", "product_id"], ["products.tenant_id", "products.id"]),
        UniqueConstraint("tenant_id", "order_id", "product_id"),
        Index(None, "tenant_id", "product_id", "id"),
        # Only the lines still waiting for stock: small, and what backorder pages read.
        Index(
            "ix_order_lines_waiting",
            "tenant_id",
            "product_id",
            postgresql_where=text(WAITING_SQL),
            sqlite_where=text(WAITING_SQL),
        ),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "allocated >= 0 AND shipped >= 0 AND allocated + shipped <= quantity",
            name="allocation_within_quantity",
        ),
    )

    order_id: Mapped[uuid.UUID]
    product_id: Mapped[uuid.UUID]
    position: Mapped[int] = mapped_column(Integer, default=0)
    quantity: Mapped[int] = mapped_column(Integer)
    # Promised from stock but not shipped yet.
    allocated: Mapped[int] = mapped_column(Integer, default=0)
    shipped: Mapped[int] = mapped_column(Integer, default=0)

    order: Mapped[Order] = tenant_relationship(
        "Order", "OrderLine.order_id", back_populates="lines", overlaps="tenant_id,lines"
    )
    product = tenant_relationship("Product", "OrderLine.product_id")

    @property
    def missing(self) -> int:
        """Units neither shipped nor promised from stock: the backorder quantity."""
        return self.quantity - self.allocated - self.shipped

    @classmethod
    def waiting(cls):
        """SQL condition: the line waits for stock (matches ix_order_lines_waiting)."""
        return cls.quantity > cls.allocated + cls.shipped


class Shipment(TenantOwned, db.Model):
    """What left the warehouse for an order: lines, carrier and tracking code."""

    __tablename__ = "shipments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        ForeignKeyConstraint(["tenant_id", "order_id"], ["orders.tenant_id", "orders.id"]),
        ForeignKeyConstraint(["tenant_id", "client_id"], ["clients.tenant_id", "clients.id"]),
        Index(None, "tenant_id", "id"),
        Index(None, "tenant_id", "client_id", "id"),
        Index(None, "tenant_id", "order_id"),
        Index(None, "tenant_id", "shipped_at"),
    )

    number: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[uuid.UUID]
    client_id: Mapped[uuid.UUID]
    carrier: Mapped[str] = mapped_column(String(40))
    tracking_code: Mapped[str] = mapped_column(String(100), default="")
    shipped_at: Mapped[datetime] = mapped_column(default=utcnow)

    order = tenant_relationship("Order", "Shipment.order_id", overlaps="shipments,tenant_id")
    client = tenant_relationship("Client", "Shipment.client_id")
    lines: Mapped[list[ShipmentLine]] = tenant_collection(
        "Shipment", "ShipmentLine.shipment_id", cascade="all, delete-orphan"
    )


class ShipmentLine(TenantOwned, db.Model):
    """Units of one order line in a shipment."""

    __tablename__ = "shipment_lines"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "shipment_id"],
            ["shipments.tenant_id", "shipments.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "order_line_id"], ["order_lines.tenant_id", "order_lines.id"]
        ),
        ForeignKeyConstraint(["tenant_id", "product_id"], ["products.tenant_id", "products.id"]),
        Index(None, "tenant_id", "shipment_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    shipment_id: Mapped[uuid.UUID]
    order_line_id: Mapped[uuid.UUID]
    product_id: Mapped[uuid.UUID]
    quantity: Mapped[int] = mapped_column(Integer)

    product = tenant_relationship("Product", "ShipmentLine.product_id")
