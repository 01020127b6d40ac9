"""Clients: the tenant's customers (fulfilment clients at a 3PL, stores at a factory)."""

from __future__ import annotations

from sqlalchemy import Boolean, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Timestamped, db
from portal.tenants.scoping import TenantOwned


class Client(TenantOwned, Timestamped, db.Model):
    """A customer of the tenant whose people log in to see their goods and orders."""

    __tablename__ = "clients"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(200))
    portal_access: Mapped[bool] = mapped_column(Boolean, default=True)

    def __repr__(self) -> str:
        return f"<Client {self.name}>"
