"""Suppliers: who deliver goods against purchase orders, how they are reached, what they sell.

A supplier is reached through one supplier integration (a plugin; "manual" when the supplier
answers in the portal). Per client (store) it knows a customer number and keeps its own
registration data; per rule set it has the settings that decide which data an order must carry.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy_utils import CurrencyType

from portal.db import Timestamped, db, utcnow
from portal.plugins.secrets import EncryptedJSON
from portal.tenants.scoping import TenantOwned, tenant_collection, tenant_relationship


class Supplier(TenantOwned, Timestamped, db.Model):
    """A factory or wholesaler that delivers to the tenant or its clients."""

    __tablename__ = "suppliers"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(200))
    # Where order notifications go besides the supplier's users.
    email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    phone: Mapped[str] = mapped_column(String(40), default="", server_default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    integration_key: Mapped[str] = mapped_column(
        String(100), default="manual", server_default="manual"
    )
    integration_config: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict, server_default="{}"
    )
    integration_secrets: Mapped[dict[str, str] | None] = mapped_column(EncryptedJSON)
    # Is a confirmation with changes final, or does the store accept or reject it first?
    changes_need_approval: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # The tenant's list of situations the supplier may report, one per line; empty: free text.
    situations: Mapped[str] = mapped_column(Text, default="", server_default="")

    links: Mapped[list[SupplierClient]] = tenant_collection(
        "Supplier", "SupplierClient.supplier_id", viewonly=True
    )
    rule_sets: Mapped[list[SupplierRuleSet]] = tenant_collection(
        "Supplier", "SupplierRuleSet.supplier_id", cascade="all, delete-orphan"
    )

    @property
    def situation_choices(self) -> list[str]:
        return [line.strip() for line in self.situations.splitlines() if line.strip()]

    def __repr__(self) -> str:
        return f"<Supplier {self.name}>"


class SupplierClient(TenantOwned, Timestamped, db.Model):
    """A client (store) linked to a supplier: the customer number the supplier knows it by,
    the store's contact for the supplier, and the supplier's own registration data for it."""

    __tablename__ = "supplier_clients"
    __table_args__ = (
        UniqueConstraint("tenant_id", "supplier_id", "client_id"),
        ForeignKeyConstraint(
            ["tenant_id", "supplier_id"],
            ["suppliers.tenant_id", "suppliers.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "client_id"], ["clients.tenant_id", "clients.id"], ondelete="CASCADE"
        ),
        Index(None, "tenant_id", "client_id"),
    )

    supplier_id: Mapped[uuid.UUID]
    client_id: Mapped[uuid.UUID]
    customer_number: Mapped[str] = mapped_column(String(64), default="")
    # The store's contact for this supplier.
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    # Kept by the supplier itself.
    account_manager: Mapped[str] = mapped_column(String(200), default="")
    account_phone: Mapped[str] = mapped_column(String(40), default="")
    account_email: Mapped[str] = mapped_column(String(254), default="")
    payment_terms: Mapped[str] = mapped_column(String(200), default="")
    supplier_notes: Mapped[str] = mapped_column(Text, default="")

    supplier = tenant_relationship("Supplier", "SupplierClient.supplier_id")
    client = tenant_relationship("Client", "SupplierClient.client_id")


class SupplierRuleSet(TenantOwned, db.Model):
    """A mandatory-data rule set that applies to orders sent to a supplier, with its settings."""

    __tablename__ = "supplier_rule_sets"
    __table_args__ = (
        UniqueConstraint("tenant_id", "supplier_id", "rule_set_key"),
        ForeignKeyConstraint(
            ["tenant_id", "supplier_id"],
            ["suppliers.tenant_id", "suppliers.id"],
            ondelete="CASCADE",
        ),
    )

    supplier_id: Mapped[uuid.UUID]
    rule_set_key: Mapped[str] = mapped_column(String(100))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CatalogueItem(TenantOwned, Timestamped, db.Model):
    """A line of a supplier's product list."""

    __tablename__ = "catalogue_items"
    __table_args__ = (
        UniqueConstraint("tenant_id", "supplier_id", "supplier_code"),
        ForeignKeyConstraint(
            ["tenant_id", "supplier_id"],
            ["suppliers.tenant_id", "suppliers.id"],
            ondelete="CASCADE",
        ),
        Index(None, "tenant_id", "supplier_id", "name", "id"),
        Index(None, "tenant_id", "barcode"),
        CheckConstraint("container_amount > 0", name="container_amount_positive"),
    )

    supplier_id: Mapped[uuid.UUID]
    supplier_code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    barcode: Mapped[str] = mapped_column(String(32), default="")
    price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    currency = mapped_column(CurrencyType, nullable=False, default="EUR")
    container_amount: Mapped[int] = mapped_column(Integer, default=1)

    supplier = tenant_relationship("Supplier", "CatalogueItem.supplier_id")


class CatalogueMatch(TenantOwned, db.Model):
    """A catalogue item matched to a client's product: what the client orders it as."""

    __tablename__ = "catalogue_matches"
    __table_args__ = (
        UniqueConstraint("tenant_id", "catalogue_item_id", "client_id"),
        ForeignKeyConstraint(
            ["tenant_id", "catalogue_item_id"],
            ["catalogue_items.tenant_id", "catalogue_items.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "client_id"], ["clients.tenant_id", "clients.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "product_id"], ["products.tenant_id", "products.id"], ondelete="CASCADE"
        ),
        Index(None, "tenant_id", "product_id"),
        Index(None, "tenant_id", "client_id"),
    )

    catalogue_item_id: Mapped[uuid.UUID]
    client_id: Mapped[uuid.UUID]
    product_id: Mapped[uuid.UUID]

    item = tenant_relationship("CatalogueItem", "CatalogueMatch.catalogue_item_id")
    product = tenant_relationship("Product", "CatalogueMatch.product_id")


class CartLine(TenantOwned, Timestamped, db.Model):
    """A catalogue item a client means to order from its supplier, in containers."""

    __tablename__ = "cart_lines"
    __table_args__ = (
        UniqueConstraint("tenant_id", "client_id", "catalogue_item_id"),
        ForeignKeyConstraint(
            ["tenant_id", "client_id"], ["clients.tenant_id", "clients.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "supplier_id"],
            ["suppliers.tenant_id", "suppliers.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "catalogue_item_id"],
            ["catalogue_items.tenant_id", "catalogue_items.id"],
            ondelete="CASCADE",
        ),
        Index(None, "tenant_id", "client_id", "supplier_id"),
        CheckConstraint("containers > 0", name="containers_positive"),
    )

    client_id: Mapped[uuid.UUID]
    supplier_id: Mapped[uuid.UUID]
    catalogue_item_id: Mapped[uuid.UUID]
    containers: Mapped[int] = mapped_column(Integer)

    item = tenant_relationship("CatalogueItem", "CartLine.catalogue_item_id")


class SupplierEventReceipt(TenantOwned, db.Model):
    """An event from a supplier's system that has been applied; applied once only."""

    __tablename__ = "supplier_event_receipts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "supplier_id", "event_id"),
        ForeignKeyConstraint(
            ["tenant_id", "supplier_id"],
            ["suppliers.tenant_id", "suppliers.id"],
            ondelete="CASCADE",
        ),
    )

    supplier_id: Mapped[uuid.UUID]
    event_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    purchase_order_number: Mapped[str] = mapped_column(String(32), default="")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
