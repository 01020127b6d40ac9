"""The audit log: who changed what, when, with old and new values. Append-only."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKeyConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import db, utcnow
from portal.tenants.scoping import TenantOwned


class AuditEntry(TenantOwned, db.Model):
    """One change or security event in a tenant's portal."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        # Users are deactivated, never deleted, so the actor of an entry always exists.
        ForeignKeyConstraint(["tenant_id", "actor_id"], ["users.tenant_id", "users.id"]),
        Index(None, "tenant_id", "created_at"),
        Index(None, "tenant_id", "action", "created_at"),
        Index(None, "tenant_id", "object_type", "object_id"),
        # The audit log's filters by who and by action, newest first (keyset by id).
        Index(None, "tenant_id", "actor_id", "id"),
        Index(None, "tenant_id", "action", "id"),
    )

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    # {field: [old, new]}; secrets never appear here, only the fact that they changed.
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Free-form facts about the event (the e-mail tried at a failed login, the reason).
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip_address: Mapped[str | None] = mapped_column(String(45))
