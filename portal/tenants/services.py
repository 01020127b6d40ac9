"""Create and change tenants: the platform operator's work."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.core.warehouses.services import create_default_warehouse
from portal.db import db
from portal.tenants.context import tenant_context
from portal.tenants.models import Tenant, TenantDomain, TenantStatus

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
DOMAIN = re.compile(
    r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$"
)
# Subdomains the platform keeps for itself.
RESERVED_SLUGS = frozenset({"www", "api", "admin", "static", "mail", "platform", "status"})
SUPPORTED_LOCALES = ("en", "de")


class TenantError(ValueError):
    """A tenant cannot be created or changed as asked; the message says why."""


def valid_timezone(name: str) -> bool:
    """Tell whether ``name`` is an IANA time zone ("Europe/Amsterdam")."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def normalise_domain(domain: str) -> str:
    return domain.strip().lower().rstrip(".")


def create_tenant(
    slug: str,
    name: str,
    *,
    domains: list[str] | tuple[str, ...] = (),
    default_locale: str = "en",
    enabled_locales: list[str] | None = None,
    theme_settings: dict | None = None,
    timezone: str = "UTC",
) -> Tenant:
    """Create a tenant with its custom domains; the caller commits."""
    slug = slug.strip().lower()
    if not SLUG.match(slug):
        raise TenantError(
            _l(
                "The slug %(slug)s is not valid: use lower-case letters, digits and hyphens.",
                slug=slug,
            )
        )
    if slug in RESERVED_SLUGS:
        raise TenantError(_l("The slug %(slug)s is reserved.", slug=slug))
    if not name.strip():
        raise TenantError(_l("A tenant needs a name."))
    if db.session.scalar(select(func.count()).where(Tenant.slug == slug)):
        raise TenantError(_l("A tenant with the slug %(slug)s already exists.", slug=slug))
    enabled = list(enabled_locales or SUPPORTED_LOCALES)
    if default_locale not in enabled:
        raise TenantError(
            _l("The default language %(locale)s is not enabled.", locale=default_locale)
        )
    if not valid_timezone(timezone):
        raise TenantError(_l("%(zone)s is not a time zone.", zone=timezone))
    tenant = Tenant(
        timezone=timezone,
        slug=slug,
        name=name.strip(),
        status=TenantStatus.ACTIVE,
        default_locale=default_locale,
        enabled_locales=enabled,
        theme_settings=theme_settings or {},
    )
    db.session.add(tenant)
    for domain in domains:
        add_domain(tenant, domain)
    db.session.flush()
    with tenant_context(tenant):
        create_default_warehouse()
    return tenant


def add_domain(tenant: Tenant, domain: str) -> TenantDomain:
    """Register ``domain`` as a custom domain of ``tenant``."""
    domain = normalise_domain(domain)
    if not DOMAIN.match(domain):
        raise TenantError(_l("%(domain)s is not a domain name.", domain=domain))
    if db.session.get(TenantDomain, domain) is not None:
        raise TenantError(_l("The domain %(domain)s is already in use.", domain=domain))
    entry = TenantDomain(domain=domain, tenant=tenant)
    db.session.add(entry)
    return entry


def set_tenant_status(tenant: Tenant, status: TenantStatus) -> None:
    """Open or suspend a tenant's portal."""
    tenant.status = status
