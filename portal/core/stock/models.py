"""Stock: an append-only ledger of movements and the levels it adds up to."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKeyConstraint, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import db, enum_type, utcnow
from portal.tenants.scoping import TenantOwned, tenant_relationship


class MovementReason(enum.StrEnum):
    """Why stock changed."""

    GOODS_RECEIPT = "goods_receipt"
    SHIPMENT = "shipment"
    CORRECTION = "correction"
    RETURN = "return"
    INITIAL = "initial"


class StockLevel(TenantOwned, db.Model):
    """Units of a product in a warehouse: on hand, and how many are promised to orders.

    Only :mod:`portal.core.stock.services` changes it, always with a movement in the same
    transaction and an atomic UPDATE, so the level equals the sum of the ledger.
    """

    __tablename__ = "stock_levels"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "product_id"], ["products.tenant_id", "products.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "warehouse_id"], ["warehouses.tenant_id", "warehouses.id"]
        ),
        Index(None, "tenant_id", "product_id", "warehouse_id", unique=True),
        CheckConstraint("allocated >= 0", name="allocated_not_negative"),
        CheckConstraint("allocated <= on_hand", name="allocated_within_on_hand"),
    )

    product_id: Mapped[uuid.UUID]
    warehouse_id: Mapped[uuid.UUID]
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    allocated: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def available(self) -> int:
        return self.on_hand - self.allocated


class StockMovement(TenantOwned, db.Model):
    """One signed change of stock with its reason and reference. Never updated or deleted."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "product_id"], ["products.tenant_id", "products.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "warehouse_id"], ["warehouses.tenant_id", "warehouses.id"]
        ),
        ForeignKeyConstraint(["tenant_id", "created_by_id"], ["users.tenant_id", "users.id"]),
        Index(None, "tenant_id", "product_id", "id"),
        CheckConstraint("quantity <> 0", name="quantity_not_zero"),
    )

    product_id: Mapped[uuid.UUID]
    warehouse_id: Mapped[uuid.UUID]
    quantity: Mapped[int] = mapped_column(Integer)
    reason: Mapped[MovementReason] = mapped_column(enum_type(MovementReason))
    reference: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(String(500), default="")
    # On hand in this warehouse right after the movement: the running balance.
    balance_after: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[uuid.UUID | None]

    product = tenant_relationship("Product", "StockMovement.product_id", viewonly=True)
    warehouse = tenant_relationship("Warehouse", "StockMovement.warehouse_id", viewonly=True)
