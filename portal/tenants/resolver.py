"""Find the tenant of a request from its Host header, once, in one place.

``<slug>.<PORTAL_BASE_DOMAIN>`` and the tenant's verified custom domains lead to the tenant;
the bare base domain serves the platform's own pages; any other host is not ours and gets 404.
"""

from __future__ import annotations

from flask import Flask, abort, current_app, g, render_template, request
from sqlalchemy import select

from portal.db import db
from portal.tenants.cache import TenantSnapshot, cached_snapshot, remember
from portal.tenants.context import (
    TenantRef,
    enter_request_tenant,
    leave_request_tenant,
)
from portal.tenants.models import DomainStatus, Tenant, TenantDomain
from portal.tenants.scoping import apply_database_tenant

PLATFORM = "platform"


def host_name(raw_host: str) -> str:
    """Return the host without port, lower-cased."""
    host = raw_host.strip().lower()
    if host.startswith("["):  # IPv6 literal
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if ":" in host else host


def resolve_tenant(host: str, base_domain: str) -> TenantSnapshot | str | None:
    """Return the tenant for ``host``, :data:`PLATFORM` for the base domain, or None."""
    if host == base_domain:
        return PLATFORM
    cached = cached_snapshot(host)
    if cached is not None:
        return cached
    suffix = "." + base_domain
    if host.endswith(suffix):
        slug = host[: -len(suffix)]
        if "." in slug or not slug:
            return None
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    else:
        # A pending domain is a claim nobody has proved yet: it is not ours to serve.
        domain = db.session.scalar(
            select(TenantDomain).where(
                TenantDomain.domain == host, TenantDomain.status == DomainStatus.VERIFIED
            )
        )
        tenant = domain.tenant if domain is not None else None
    if tenant is None:
        return None  # unknown hosts are not cached: nobody can fill the cache with them
    snapshot = TenantSnapshot.of(tenant)
    remember(host, snapshot)
    return snapshot


def init_app(app: Flask) -> None:
    """Resolve the tenant before every request and leave its context afterwards."""

    @app.before_request
    def _enter_tenant() -> None:
        if request.endpoint == "health.healthz":
            g.tenant = None
            return
        found = resolve_tenant(host_name(request.host), current_app.config["PORTAL_BASE_DOMAIN"])
        if found is None:
            abort(404)
        if found == PLATFORM:
            g.tenant = None
            g.platform = True
            return
        g.platform = False
        g.tenant = found
        g._tenant_token = enter_request_tenant(TenantRef(id=found.id, slug=found.slug))
        # The look-up above opened a transaction without a tenant; PostgreSQL must learn it.
        apply_database_tenant()
        if not found.is_active:
            return render_template("errors/suspended.html", tenant=found), 503
        return None

    @app.teardown_request
    def _leave_tenant(exc: BaseException | None) -> None:
        token = g.pop("_tenant_token", None)
        if token is not None:
            leave_request_tenant(token)

    @app.after_request
    def _vary_on_host(response):
        response.vary.add("Host")
        return response
