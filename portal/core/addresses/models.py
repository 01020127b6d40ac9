"""Postal addresses: the client's address book and the delivery address of orders."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKeyConstraint, Index, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column
from sqlalchemy_utils import CountryType

from portal.db import Timestamped, db
from portal.tenants.scoping import TenantOwned

ADDRESS_FIELDS = (
    "name",
    "company",
    "street",
    "street2",
    "postcode",
    "city",
    "state",
    "country",
    "phone",
    "email",
)


class PostalAddressFields:
    """The columns of a postal address; orders embed them under a prefix."""

    name: Mapped[str] = mapped_column(String(200))
    company: Mapped[str] = mapped_column(String(200), default="")
    street: Mapped[str] = mapped_column(String(200))
    street2: Mapped[str] = mapped_column(String(200), default="")
    postcode: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(100), default="")

    @declared_attr
    def country(cls):
        return mapped_column(CountryType, nullable=False)

    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(254), default="")

    def address_values(self) -> dict[str, object]:
        return {field: getattr(self, field) for field in ADDRESS_FIELDS}

    def address_lines(self) -> list[str]:
        """Return the address as printed lines."""
        lines = [self.name, self.company, self.street, self.street2]
        lines.append(" ".join(part for part in (self.postcode, self.city) if part))
        if self.state:
            lines.append(self.state)
        lines.append(self.country.name if self.country else "")
        return [line for line in lines if line]


class Address(PostalAddressFields, TenantOwned, Timestamped, db.Model):
    """An entry of a client's address book."""

    __tablename__ = "addresses"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "client_id"], ["clients.tenant_id", "clients.id"], ondelete="CASCADE"
        ),
        Index(None, "tenant_id", "client_id", "name", "id"),
    )

    client_id: Mapped[uuid.UUID]
    label: Mapped[str] = mapped_column(String(100), default="")
