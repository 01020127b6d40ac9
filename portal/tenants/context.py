"""Which tenant the current code works for.

Request handling enters the tenant resolved from the Host header; jobs and CLI commands enter
one explicitly with :func:`tenant_context`. Queries on tenant-owned models outside any tenant
context fail with :class:`TenantContextMissing` instead of returning every tenant's rows.

There is no "all tenants" context: platform code that must look across tenants asks
:mod:`portal.tenants.platform` for ids or counts and then works on each row inside that row's
tenant context.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


class TenantContextMissing(RuntimeError):
    """Raised when tenant-owned data is touched with no tenant context entered."""


@dataclass(frozen=True, slots=True)
class TenantRef:
    """The id and slug of the tenant in context: enough for scoping, cheap to pass around."""

    id: uuid.UUID
    slug: str


_current: ContextVar[TenantRef | None] = ContextVar("portal_tenant", default=None)


def current_tenant() -> TenantRef | None:
    """Return the tenant in context, or None."""
    return _current.get()


def require_tenant() -> TenantRef:
    """Return the tenant in context, or raise :class:`TenantContextMissing`."""
    tenant = _current.get()
    if tenant is None:
        raise TenantContextMissing(
            "tenant-owned data needs a tenant context: use tenant_context(tenant)"
        )
    return tenant


def _apply_to_open_transaction() -> None:
    # Imported late: scoping imports this module.
    from portal.tenants.scoping import apply_database_tenant

    apply_database_tenant()


@contextmanager
def tenant_context(tenant) -> Iterator[TenantRef]:
    """Run the block for ``tenant`` (a Tenant or TenantRef): queries are scoped to it."""
    ref = TenantRef(id=tenant.id, slug=tenant.slug)
    token = _current.set(ref)
    _apply_to_open_transaction()
    try:
        yield ref
    finally:
        _current.reset(token)
        _apply_to_open_transaction()


def enter_request_tenant(ref: TenantRef | None):
    """Set the tenant for a request; returns the token for :func:`leave_request_tenant`."""
    return _current.set(ref)


def leave_request_tenant(token) -> None:
    """Undo :func:`enter_request_tenant`."""
    _current.reset(token)
