"""Tenants and their domains: platform tables, read before any tenant context exists."""

from __future__ import annotations

import enum
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy_utils import LocaleType

from portal.db import Timestamped, db, enum_type, uuid7


class TenantStatus(enum.StrEnum):
    """Whether a tenant's portal is open."""

    ACTIVE = "active"
    SUSPENDED = "suspended"


class SecondFactorPolicy(enum.StrEnum):
    """Who in a tenant's portal must log in with a second factor (a one-time code or a
    passkey) besides the password."""

    OPTIONAL = "optional"
    STAFF = "staff"  # administrators and staff
    EVERYONE = "everyone"


class Tenant(Timestamped, db.Model):
    """A business that runs a branded portal: a fulfilment company, a factory, a wholesaler."""

    __tablename__ = "tenants"
    __table_args__ = {"info": {"platform": True}}

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[TenantStatus] = mapped_column(
        enum_type(TenantStatus, length=20),
        default=TenantStatus.ACTIVE,
    )
    default_locale = mapped_column(LocaleType, nullable=False, default="en")
    enabled_locales: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["en", "de"])
    # IANA time zone in which the tenant's people read dates and times ("Europe/Berlin").
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Placeholder for the white-label settings (logo, colours, texts per language, link);
    # the branding feature gives it a schema of its own.
    theme_settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Set by the tenant's admins (portal.accounts.second_factor).
    second_factor_policy: Mapped[SecondFactorPolicy] = mapped_column(
        enum_type(SecondFactorPolicy, length=20), default=SecondFactorPolicy.OPTIONAL
    )

    domains: Mapped[list[TenantDomain]] = relationship(
        back_populates="tenant", cascade="all, delete-orphan", order_by="TenantDomain.domain"
    )

    @property
    def is_active(self) -> bool:
        return self.status == TenantStatus.ACTIVE

    def theme_text(self, key: str, locale: str) -> str | None:
        """Return the tenant's text ``key`` in ``locale``, else in its default language."""
        texts = (self.theme_settings or {}).get("texts", {})
        for candidate in (locale, str(self.default_locale)):
            value = texts.get(candidate, {}).get(key)
            if value:
                return value
        return None

    def __repr__(self) -> str:
        return f"<Tenant {self.slug}>"


class TenantDomain(db.Model):
    """A custom domain under which a tenant's portal is also served."""

    __tablename__ = "tenant_domains"
    __table_args__ = {"info": {"platform": True}}

    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    tenant: Mapped[Tenant] = relationship(back_populates="domains")
