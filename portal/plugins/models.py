"""Which plugins a tenant has enabled."""

from __future__ import annotations

from sqlalchemy import Boolean, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Timestamped, db
from portal.tenants.scoping import TenantOwned


class PluginActivation(TenantOwned, Timestamped, db.Model):
    """A plugin (by its entry-point name) switched on or off for the tenant."""

    __tablename__ = "plugin_activations"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
