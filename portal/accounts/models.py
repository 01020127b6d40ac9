"""Users of a tenant's portal, their login sessions and their second factors."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.clients.models import Client
from portal.core.suppliers.models import Supplier
from portal.db import Timestamped, db, enum_type, utcnow
from portal.plugins.secrets import EncryptedJSON
from portal.tenants.scoping import TenantOwned, tenant_relationship


class Role(enum.StrEnum):
    """What a user is in the tenant's portal."""

    ADMIN = "admin"
    STAFF = "staff"
    CLIENT = "client"
    SUPPLIER = "supplier"


class User(TenantOwned, Timestamped, db.Model):
    """A person who logs in to one tenant's portal. E-mail addresses are unique per tenant."""

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("tenant_id", "email"),
        ForeignKeyConstraint(["tenant_id", "client_id"], ["clients.tenant_id", "clients.id"]),
        ForeignKeyConstraint(["tenant_id", "supplier_id"], ["suppliers.tenant_id", "suppliers.id"]),
        CheckConstraint(
            "(role = 'client') = (client_id IS NOT NULL)", name="client_role_has_client"
        ),
        CheckConstraint(
            "(role = 'supplier') = (supplier_id IS NOT NULL)", name="supplier_role_has_supplier"
        ),
        Index(None, "tenant_id", "client_id"),
        Index(None, "tenant_id", "supplier_id"),
    )

    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_type(Role, length=20))
    client_id: Mapped[uuid.UUID | None]
    supplier_id: Mapped[uuid.UUID | None]
    # The user's own language; None means "follow the browser, then the tenant".
    locale: Mapped[str | None] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Whether the user wants e-mails about their company's orders (shipments, for now).
    email_notifications: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None]

    client: Mapped[Client | None] = tenant_relationship("Client", "User.client_id")
    supplier: Mapped[Supplier | None] = tenant_relationship("Supplier", "User.supplier_id")

    # Set when the user is loaded for a login session; Flask-Login stores it in the cookie.
    session_id = None

    # Flask-Login's user protocol.
    is_anonymous = False

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str | None:
        return str(self.session_id) if self.session_id else None

    @property
    def display_name(self) -> str:
        return self.name or self.email

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class UserSession(TenantOwned, db.Model):
    """One login: the cookie carries its id, so logging out elsewhere can end it."""

    __tablename__ = "user_sessions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
        Index(None, "tenant_id", "user_id", "ended_at"),
    )

    user_id: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))

    user: Mapped[User] = tenant_relationship("User", "UserSession.user_id")


class LoginAttempt(TenantOwned, db.Model):
    """A try at logging in, kept to throttle guessing per account and per address."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index(None, "tenant_id", "email", "created_at"),
        Index(None, "tenant_id", "ip_address", "created_at"),
    )

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    email: Mapped[str] = mapped_column(String(254))
    ip_address: Mapped[str | None] = mapped_column(String(45))
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)


class TotpAuthenticator(TenantOwned, db.Model):
    """A user's authenticator app: the shared secret of its one-time codes (RFC 6238).

    The secret is encrypted at rest like plugin secrets. Until ``confirmed_at`` is set (the
    user typed a first code) it is only being set up and does not count as a second factor.
    ``last_used_step`` is the time step of the last code accepted: a code is refused unless
    its step is later, so a code seen over someone's shoulder cannot be used again.
    """

    __tablename__ = "totp_authenticators"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id"),
        ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
    )

    user_id: Mapped[uuid.UUID]
    secret: Mapped[dict | None] = mapped_column(EncryptedJSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)

    user: Mapped[User] = tenant_relationship("User", "TotpAuthenticator.user_id")


class PasskeyCredential(TenantOwned, db.Model):
    """A security key or passkey (WebAuthn) a user registered as a second factor."""

    __tablename__ = "passkey_credentials"
    __table_args__ = (
        UniqueConstraint("tenant_id", "credential_id"),
        ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
        Index(None, "tenant_id", "user_id"),
    )

    user_id: Mapped[uuid.UUID]
    # base64url of the authenticator's credential id (at most 1023 bytes).
    credential_id: Mapped[str] = mapped_column(String(1400))
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    name: Mapped[str] = mapped_column(String(100))
    transports: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = tenant_relationship("User", "PasskeyCredential.user_id")


class RecoveryCode(TenantOwned, db.Model):
    """One of a user's one-time recovery codes; only its SHA-256 hash is stored."""

    __tablename__ = "recovery_codes"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id", "code_hash"),
        ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
    )

    user_id: Mapped[uuid.UUID]
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]
