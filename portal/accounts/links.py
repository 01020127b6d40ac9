"""Links that leave the portal (in e-mails): built from the tenant's canonical address.

A link in an e-mail must never follow the request that caused the e-mail: its Host header
(and port) is whatever the sender typed or a proxy passed on. Every such link is built here,
from settings: ``PORTAL_PUBLIC_SCHEME``, ``<slug>.<PORTAL_BASE_DOMAIN>`` and
``PORTAL_PUBLIC_PORT``. It works the same inside a request and in a worker.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from portal.tenants.context import require_tenant

DEFAULT_PORTS = {"http": 80, "https": 443}


def public_host(tenant=None) -> str:
    """Return ``host[:port]`` under which ``tenant`` (default: the one in context) is
    reached from outside."""
    tenant = tenant or require_tenant()
    config = current_app.config
    host = f"{tenant.slug}.{config['PORTAL_BASE_DOMAIN']}"
    port = config["PORTAL_PUBLIC_PORT"]
    if port and port != DEFAULT_PORTS[config["PORTAL_PUBLIC_SCHEME"]]:
        host = f"{host}:{port}"
    return host


def public_base_url(tenant=None) -> str:
    """Return ``scheme://host[:port]/`` of ``tenant`` (default: the one in context)."""
    return f"{current_app.config['PORTAL_PUBLIC_SCHEME']}://{public_host(tenant)}/"


def public_url(endpoint: str, *, tenant=None, **values: Any) -> str:
    """Return the absolute address of ``endpoint`` on the tenant's canonical host, for
    e-mails and anything else read outside the portal."""
    adapter = current_app.url_map.bind(
        public_host(tenant), url_scheme=current_app.config["PORTAL_PUBLIC_SCHEME"]
    )
    return adapter.build(endpoint, values, force_external=True)
