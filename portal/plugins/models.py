"""Which plugins a tenant has enabled, and the inbound messages their integrations applied."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKeyConstraint, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Timestamped, db, utcnow
from portal.tenants.scoping import TenantOwned


class PluginActivation(TenantOwned, Timestamped, db.Model):
    """A plugin (by its entry-point name) switched on or off for the tenant."""

    __tablename__ = "plugin_activations"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class InboundMessage(TenantOwned, db.Model):
    """An inbound call from a supplier's system (by its message id) that has been applied.

    Written in the same transaction as the message's effect, so a message is applied once per
    tenant and source (the supplier and its integration), however often it is delivered."""

    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint("tenant_id", "supplier_id", "source", "message_id"),
        ForeignKeyConstraint(
            ["tenant_id", "supplier_id"],
            ["suppliers.tenant_id", "suppliers.id"],
            ondelete="CASCADE",
        ),
    )

    supplier_id: Mapped[uuid.UUID]
    source: Mapped[str] = mapped_column(String(100))
    message_id: Mapped[str] = mapped_column(String(200))
    purchase_order_number: Mapped[str] = mapped_column(String(32), default="")
    kinds: Mapped[str] = mapped_column(String(200), default="")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
