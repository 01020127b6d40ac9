"""Suppliers: who deliver goods against purchase orders."""

from __future__ import annotations

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Timestamped, db
from portal.tenants.scoping import TenantOwned


class Supplier(TenantOwned, Timestamped, db.Model):
    """A factory or wholesaler that delivers to the tenant or its clients."""

    __tablename__ = "suppliers"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(200))

    def __repr__(self) -> str:
        return f"<Supplier {self.name}>"
