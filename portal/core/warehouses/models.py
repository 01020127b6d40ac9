"""Warehouses: where the tenant keeps stock and receives purchase orders."""

from __future__ import annotations

from sqlalchemy import Boolean, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy_utils import CountryType

from portal.db import Timestamped, db
from portal.tenants.scoping import TenantOwned


class Warehouse(TenantOwned, Timestamped, db.Model):
    """A warehouse of the tenant. One is the default for purchase orders."""

    __tablename__ = "warehouses"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    # The delivery address printed on purchase orders to suppliers.
    street: Mapped[str] = mapped_column(String(200), default="", server_default="")
    postcode: Mapped[str] = mapped_column(String(20), default="", server_default="")
    city: Mapped[str] = mapped_column(String(100), default="", server_default="")
    state: Mapped[str] = mapped_column(String(100), default="", server_default="")
    country = mapped_column(CountryType, nullable=True)
    phone: Mapped[str] = mapped_column(String(40), default="", server_default="")

    def __repr__(self) -> str:
        return f"<Warehouse {self.code}>"
