"""Outbox rows: effects on the outside world, written in the transaction that causes them."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import db, enum_type, utcnow
from portal.tenants.scoping import TenantOwned


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    # Gave up after the last attempt; staff can see the error and retry.
    FAILED = "failed"


class OutboxMessage(TenantOwned, db.Model):
    """One delivery to make: an e-mail now, transfers and webhooks later."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key"),
        Index(None, "tenant_id", "status", "next_attempt_at"),
    )

    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[OutboxStatus] = mapped_column(
        enum_type(OutboxStatus, length=20),
        default=OutboxStatus.PENDING,
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
