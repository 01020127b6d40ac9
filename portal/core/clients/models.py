"""Clients: the tenant's customers (fulfilment clients at a 3PL, stores at a factory)."""

from __future__ import annotations

import uuid

from sqlalchemy import Boolean, ForeignKeyConstraint, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Timestamped, db
from portal.tenants.scoping import TenantOwned, tenant_relationship


class Client(TenantOwned, Timestamped, db.Model):
    """A customer of the tenant whose people log in to see their goods and orders."""

    __tablename__ = "clients"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        ForeignKeyConstraint(
            ["tenant_id", "purchase_order_warehouse_id"], ["warehouses.tenant_id", "warehouses.id"]
        ),
    )

    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    # May the client's users log in at all?
    portal_access: Mapped[bool] = mapped_column(Boolean, default=True)
    # May the client's users add and edit products?
    product_management: Mapped[bool] = mapped_column(Boolean, default=False)
    # Where this client's purchase orders are delivered; None means the tenant's default.
    purchase_order_warehouse_id: Mapped[uuid.UUID | None]

    purchase_order_warehouse = tenant_relationship(
        "Warehouse", "Client.purchase_order_warehouse_id"
    )

    def __repr__(self) -> str:
        return f"<Client {self.name}>"
