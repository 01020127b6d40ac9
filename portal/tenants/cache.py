"""Tenant look-ups by host, cached; any committed change to a tenant drops its entries.

Every request needs its tenant (name, status, languages, branding) before anything else;
reading it from the database each time would cost a query per request. The cache holds a
plain snapshot per host. It lives in the process by default; with ``PORTAL_REDIS_URL`` it
lives in Redis, shared by all processes, so a change saved by one process is seen by all
others at once. Invalidation is automatic: a commit that changed a tenant or its domains
deletes that tenant's entries (see :func:`_forget_changed_tenants`).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.base import NO_VALUE

from portal.tenants.models import Tenant, TenantDomain, TenantStatus

TTL_SECONDS = 300
# After the installation's prefix (PORTAL_REDIS_PREFIX): one Redis database may hold the
# caches of several installations, each with tenants of the same slugs.
KEY = "tenant-host:"


@dataclass(frozen=True)
class TenantSnapshot:
    """What a request needs to know about its tenant; safe to share between requests."""

    id: uuid.UUID
    slug: str
    name: str
    status: str
    default_locale: str
    timezone: str = "UTC"
    enabled_locales: list[str] = field(default_factory=list)
    theme_settings: dict[str, Any] = field(default_factory=dict)
    domains: list[str] = field(default_factory=list)
    second_factor_policy: str = "optional"

    @classmethod
    def of(cls, tenant: Tenant) -> TenantSnapshot:
        return cls(
            id=tenant.id,
            slug=tenant.slug,
            name=tenant.name,
            status=tenant.status.value,
            default_locale=str(tenant.default_locale),
            timezone=tenant.timezone or "UTC",
            enabled_locales=list(tenant.enabled_locales or []),
            theme_settings=dict(tenant.theme_settings or {}),
            # Only verified domains serve the tenant (a pending one is anybody's claim).
            domains=[d.domain for d in tenant.domains if d.is_verified],
            second_factor_policy=str(tenant.second_factor_policy or "optional"),
        )

    @property
    def is_active(self) -> bool:
        return self.status == TenantStatus.ACTIVE.value

    def theme_text(self, key: str, locale: str) -> str | None:
        return Tenant.theme_text(self, key, locale)

    def to_json(self) -> str:
        data = asdict(self)
        data["id"] = str(self.id)
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> TenantSnapshot:
        data = json.loads(text)
        data["id"] = uuid.UUID(data["id"])
        return cls(**data)


class MemoryStore:
    """The embedded store: one process, entries expire after a while as a safety net."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] < time.monotonic():
                self._entries.pop(key, None)
                return None
            return entry[1]

    def set(self, key: str, value: str) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic() + TTL_SECONDS, value)

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._entries.pop(key, None)


class RedisStore:
    """The scale-out store: shared by every process, so invalidation reaches all of them."""

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2)

    def get(self, key: str) -> str | None:
        value = self._redis.get(key)
        return value.decode() if value is not None else None

    def set(self, key: str, value: str) -> None:
        self._redis.set(key, value, ex=TTL_SECONDS)

    def delete(self, *keys: str) -> None:
        if keys:
            self._redis.delete(*keys)


def store():
    """Return the application's tenant cache store."""
    app = current_app
    found = app.extensions.get("portal.tenant_cache")
    if found is None:
        url = app.config.get("PORTAL_REDIS_URL")
        found = RedisStore(url) if url else MemoryStore()
        app.extensions["portal.tenant_cache"] = found
    return found


def _key(host: str) -> str:
    return current_app.config["PORTAL_REDIS_PREFIX"] + KEY + host


def cached_snapshot(host: str) -> TenantSnapshot | None:
    text = store().get(_key(host))
    return TenantSnapshot.from_json(text) if text else None


def remember(host: str, snapshot: TenantSnapshot) -> None:
    store().set(_key(host), snapshot.to_json())


@event.listens_for(Session, "after_flush")
def _collect_changed_tenants(session: Session, flush_context) -> None:
    # Only attributes already loaded are read: a load inside a flush event is not allowed.
    changed = session.info.setdefault("portal.changed_hosts", set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Tenant):
            changed.add(("slug", obj.slug))
            loaded = inspect(obj).attrs.domains.loaded_value
            if loaded is not NO_VALUE:
                changed.update(("domain", domain.domain) for domain in loaded)
        elif isinstance(obj, TenantDomain):
            changed.add(("domain", obj.domain))
            owner = inspect(obj).attrs.tenant.loaded_value
            slug = owner.__dict__.get("slug") if owner not in (NO_VALUE, None) else None
            if slug:
                changed.add(("slug", slug))  # the tenant's snapshot lists its domains


def forget_after_commit(session: Session, slug: str, *domains: str) -> None:
    """Drop the cached snapshots of the tenant ``slug`` and of ``domains`` when ``session``
    commits: for changes the flush does not see (a domain verified by the worker)."""
    changed = session.info.setdefault("portal.changed_hosts", set())
    changed.add(("slug", slug))
    changed.update(("domain", domain) for domain in domains)


@event.listens_for(Session, "after_commit")
def _forget_changed_tenants(session: Session) -> None:
    changed = session.info.pop("portal.changed_hosts", set())
    if not changed or not has_app_context():
        return
    base = current_app.config["PORTAL_BASE_DOMAIN"]
    store().delete(*(_key(f"{name}.{base}" if kind == "slug" else name) for kind, name in changed))


@event.listens_for(Session, "after_rollback")
def _drop_collected(session: Session) -> None:
    session.info.pop("portal.changed_hosts", None)
