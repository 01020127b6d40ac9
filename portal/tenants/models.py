"""Tenants and their domains: platform tables, read before any tenant context exists."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy_utils import LocaleType

from portal.db import Timestamped, db, enum_type, utcnow, uuid7


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


class DomainStatus(enum.StrEnum):
    """Whether a custom domain serves the tenant's portal: only once its owner has proved,
    through DNS or a file on the domain, that the tenant controls it."""

    PENDING = "pending"  # waiting for the proof; rechecked by the worker
    VERIFIED = "verified"  # the proof was found (or an operator added it): served
    FAILED = "failed"  # no proof within the checking period; "check now" starts again


class TenantDomain(db.Model):
    """A custom domain under which a tenant's portal is also served, once verified."""

    __tablename__ = "tenant_domains"
    __table_args__ = {"info": {"platform": True}}

    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[DomainStatus] = mapped_column(
        enum_type(DomainStatus, length=20), default=DomainStatus.PENDING
    )
    # The secret the tenant publishes (DNS TXT record or well-known file) to prove control.
    verification_token: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Start of the current checking period; "check now" on a failed domain restarts it.
    pending_since: Mapped[datetime] = mapped_column(default=utcnow)
    verified_at: Mapped[datetime | None] = mapped_column(default=None)
    checked_at: Mapped[datetime | None] = mapped_column(default=None)
    # When the worker checks next; NULL once verified or failed.
    next_check_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    check_count: Mapped[int] = mapped_column(default=0)
    # What the last check found instead of the proof: ``[{"code": ..., **params}]``, each
    # shown with its translated message (portal.tenants.domains.finding_message).
    findings: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=None)
    tenant: Mapped[Tenant] = relationship(back_populates="domains")

    @property
    def is_verified(self) -> bool:
        return self.status == DomainStatus.VERIFIED
