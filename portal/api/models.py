"""Integration tokens and the remembered answers to POSTs sent with an ``Idempotency-Key``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import db, utcnow
from portal.tenants.scoping import TenantOwned, tenant_relationship

if TYPE_CHECKING:
    from portal.accounts.models import User


class ApiToken(TenantOwned, db.Model):
    """A secret that lets a partner's software use the API for one tenant.

    A token belongs to a user (who made it) and is bound to that user's supplier or client;
    a token with neither is a staff or admin token. Only the SHA-256 of the secret is kept:
    the secret is 32 random bytes, so it cannot be guessed back from its hash, and a slow
    password hash would only cost time on every request.
    """

    __tablename__ = "api_tokens"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "owner_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "supplier_id"],
            ["suppliers.tenant_id", "suppliers.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "client_id"], ["clients.tenant_id", "clients.id"], ondelete="CASCADE"
        ),
        UniqueConstraint("tenant_id", "lookup_id"),
        Index(None, "tenant_id", "owner_id"),
        Index(None, "tenant_id", "supplier_id"),
        Index(None, "tenant_id", "client_id"),
    )

    name: Mapped[str] = mapped_column(String(100))
    owner_id: Mapped[uuid.UUID]
    supplier_id: Mapped[uuid.UUID | None]
    client_id: Mapped[uuid.UUID | None]
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The public part of the token (``ptk_<lookup_id>_...``): finds the row, shown in lists.
    lookup_id: Mapped[str] = mapped_column(String(16))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    owner: Mapped[User] = tenant_relationship("User", "ApiToken.owner_id")

    @property
    def prefix(self) -> str:
        """What the owner sees of the token in lists: enough to tell tokens apart."""
        return f"ptk_{self.lookup_id}"

    def is_usable(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class IdempotentRequest(TenantOwned, db.Model):
    """A POST sent with an ``Idempotency-Key``: its body's fingerprint and, once done, its
    response, replayed for a repeat of the same key by the same token."""

    __tablename__ = "api_idempotent_requests"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "token_id"], ["api_tokens.tenant_id", "api_tokens.id"], ondelete="CASCADE"
        ),
        UniqueConstraint("tenant_id", "token_id", "key"),
        Index(None, "tenant_id", "created_at"),
    )

    token_id: Mapped[uuid.UUID]
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of method, path and body: a different request under the same key is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # None while the first request still runs.
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    response_type: Mapped[str | None] = mapped_column(String(100))
