"""Returns: goods coming back, with replacement products and a status history."""

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
)
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Timestamped, db, enum_type, utcnow
from portal.tenants.scoping import TenantOwned, tenant_collection, tenant_relationship


class ReturnStatus(enum.StrEnum):
    REGISTERED = "registered"
    RECEIVED = "received"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Disposition(enum.StrEnum):
    """What happens to returned units once inspected."""

    PENDING = "pending"
    RESTOCK = "restock"
    SCRAP = "scrap"


class Return(TenantOwned, Timestamped, db.Model):
    """Goods a client's customer sends back."""

    __tablename__ = "returns"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        ForeignKeyConstraint(["tenant_id", "client_id"], ["clients.tenant_id", "clients.id"]),
        ForeignKeyConstraint(["tenant_id", "order_id"], ["orders.tenant_id", "orders.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "warehouse_id"], ["warehouses.tenant_id", "warehouses.id"]
        ),
        Index(None, "tenant_id", "id"),
        Index(None, "tenant_id", "client_id", "id"),
        Index(None, "tenant_id", "status", "id"),
    )

    number: Mapped[str] = mapped_column(String(32))
    client_id: Mapped[uuid.UUID]
    order_id: Mapped[uuid.UUID | None]
    warehouse_id: Mapped[uuid.UUID]
    status: Mapped[ReturnStatus] = mapped_column(
        enum_type(ReturnStatus), default=ReturnStatus.REGISTERED
    )
    reason: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime | None]

    client = tenant_relationship("Client", "Return.client_id")
    order = tenant_relationship("Order", "Return.order_id")
    lines: Mapped[list[ReturnLine]] = tenant_collection(
        "Return",
        "ReturnLine.return_id",
        order_by="ReturnLine.position",
        cascade="all, delete-orphan",
    )
    history: Mapped[list[ReturnStatusChange]] = tenant_collection(
        "Return",
        "ReturnStatusChange.return_id",
        order_by="ReturnStatusChange.id",
        cascade="all, delete-orphan",
    )


class ReturnLine(TenantOwned, db.Model):
    __tablename__ = "return_lines"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "return_id"], ["returns.tenant_id", "returns.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(["tenant_id", "product_id"], ["products.tenant_id", "products.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "replacement_product_id"], ["products.tenant_id", "products.id"]
        ),
        Index(None, "tenant_id", "return_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("replacement_quantity >= 0", name="replacement_not_negative"),
    )

    return_id: Mapped[uuid.UUID]
    product_id: Mapped[uuid.UUID]
    position: Mapped[int] = mapped_column(Integer, default=0)
    quantity: Mapped[int] = mapped_column(Integer)
    disposition: Mapped[Disposition] = mapped_column(
        enum_type(Disposition), default=Disposition.PENDING
    )
    replacement_product_id: Mapped[uuid.UUID | None]
    replacement_quantity: Mapped[int] = mapped_column(Integer, default=0)

    product = tenant_relationship("Product", "ReturnLine.product_id")
    replacement_product = tenant_relationship("Product", "ReturnLine.replacement_product_id")


class ReturnStatusChange(TenantOwned, db.Model):
    """One step of a return's history, shown to the client."""

    __tablename__ = "return_status_changes"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "return_id"], ["returns.tenant_id", "returns.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(["tenant_id", "changed_by_id"], ["users.tenant_id", "users.id"]),
        Index(None, "tenant_id", "return_id", "id"),
    )

    return_id: Mapped[uuid.UUID]
    status: Mapped[ReturnStatus] = mapped_column(enum_type(ReturnStatus))
    note: Mapped[str] = mapped_column(String(500), default="")
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_by_id: Mapped[uuid.UUID | None]
