"""Webhook endpoints (who wants which events where) and their deliveries (one event each)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Timestamped, db, enum_type, utcnow
from portal.plugins.secrets import EncryptedJSON
from portal.tenants.scoping import TenantOwned, tenant_relationship


class OwnerKind(enum.StrEnum):
    TENANT = "tenant"
    CLIENT = "client"
    SUPPLIER = "supplier"


class DisabledReason(enum.StrEnum):
    #: Switched off by its owner.
    MANUAL = "manual"
    #: The receiver answered 410 Gone.
    GONE = "gone"
    #: Every delivery failed for too long (:data:`portal.webhooks.delivery.DISABLE_AFTER`).
    FAILING = "failing"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class WebhookEndpoint(TenantOwned, Timestamped, db.Model):
    """A receiver's URL and the events it wants, owned by the tenant, a client or a supplier.

    The signing secrets are encrypted at rest like plugin secrets: ``{"current": ...}`` and,
    for a grace period after a rotation, ``"previous"`` (both sign while it lasts).
    """

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "client_id"], ["clients.tenant_id", "clients.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "supplier_id"],
            ["suppliers.tenant_id", "suppliers.id"],
            ondelete="CASCADE",
        ),
        Index(None, "tenant_id", "owner_kind", "enabled"),
        Index(None, "tenant_id", "client_id"),
        Index(None, "tenant_id", "supplier_id"),
    )

    owner_kind: Mapped[OwnerKind] = mapped_column(enum_type(OwnerKind, length=20))
    client_id: Mapped[uuid.UUID | None]
    supplier_id: Mapped[uuid.UUID | None]
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    secrets: Mapped[dict[str, str] | None] = mapped_column(EncryptedJSON)
    previous_secret_until: Mapped[datetime | None]
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[DisabledReason | None] = mapped_column(
        enum_type(DisabledReason, length=20)
    )
    disabled_at: Mapped[datetime | None]
    # The first failure since the last success; None while deliveries succeed.
    failing_since: Mapped[datetime | None]

    client = tenant_relationship("Client", "WebhookEndpoint.client_id")
    supplier = tenant_relationship("Supplier", "WebhookEndpoint.supplier_id")

    def signing_secrets(self, now: datetime) -> list[str]:
        """Return the secrets that sign now: the current one, and the previous one in its
        grace period."""
        stored = self.secrets or {}
        found = [stored["current"]] if stored.get("current") else []
        previous = stored.get("previous")
        if previous and self.previous_secret_until and self.previous_secret_until > now:
            found.append(previous)
        return found


class WebhookDelivery(TenantOwned, db.Model):
    """One event for one endpoint: the exact body that is signed and every attempt to send it.

    ``attempts`` lists ``{"at", "duration_ms", "status_code", "response", "error",
    "manual"}``, oldest first; the response is cut to
    :data:`portal.webhooks.delivery.RESPONSE_EXCERPT` characters.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "endpoint_id"],
            ["webhook_endpoints.tenant_id", "webhook_endpoints.id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("tenant_id", "endpoint_id", "event_id"),
        Index(None, "tenant_id", "endpoint_id", "created_at"),
    )

    endpoint_id: Mapped[uuid.UUID]
    # The webhook-id header: the same for every attempt and replay (receivers deduplicate).
    event_id: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_type(DeliveryStatus, length=20), default=DeliveryStatus.PENDING
    )
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    succeeded_at: Mapped[datetime | None]

    endpoint = tenant_relationship("WebhookEndpoint", "WebhookDelivery.endpoint_id")
