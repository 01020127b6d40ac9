"""Create and change tenants: the platform operator's work."""

from __future__ import annotations

import ipaddress
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _ln
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
# Custom domains a tenant admin may register: each pending one costs the worker look-ups.
MAX_DOMAINS = 20


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
    """Return ``domain`` as stored: trimmed, lower-case, without a trailing dot."""
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
        add_domain(tenant, domain, verified=True)  # the operator's word is the proof
    db.session.flush()
    with tenant_context(tenant):
        create_default_warehouse()
    return tenant


def domain_refusal(domain: str, base_domain: str):
    """Return why ``domain`` (normalised) cannot be a custom domain, or None.

    Refused: what is not a domain name, a single label, an IP address, and the base domain
    and every name under it (those are the platform's: ``<slug>.<base>`` is a tenant's).
    """
    base = normalise_domain(base_domain)
    if domain == base or domain.endswith("." + base):
        return _l(
            "%(domain)s belongs to this platform (%(base)s); please enter a domain of your own.",
            domain=domain,
            base=base,
        )
    try:
        ipaddress.ip_address(domain.strip("[]"))
    except ValueError:
        pass
    else:
        return _l("%(domain)s is an IP address; please enter a domain name.", domain=domain)
    if not DOMAIN.match(domain):
        if SLUG.match(domain):  # one label, such as "intranet"
            return _l(
                "%(domain)s is not a complete domain name: enter one such as portal.example.com.",
                domain=domain,
            )
        return _l("%(domain)s is not a domain name.", domain=domain)
    if domain.rsplit(".", 1)[-1].isdigit():
        # "127.1" or "10.0.1": no top-level domain is numeric, and resolvers read these as
        # IP addresses.
        return _l("%(domain)s is an IP address; please enter a domain name.", domain=domain)
    return None


def add_domain(
    tenant: Tenant, domain: str, *, verified: bool = False, base_domain: str | None = None
) -> TenantDomain:
    """Register ``domain`` as a custom domain of ``tenant``; the caller commits.

    A domain starts pending: it serves the portal once the tenant has proved that it
    controls it (:mod:`portal.tenants.domains`). ``verified`` is for the platform operator,
    who is trusted (``portal tenant create --domain``).
    """
    from portal.tenants.domains import new_domain

    domain = normalise_domain(domain)
    if base_domain is None:
        base_domain = current_app.config["PORTAL_BASE_DOMAIN"]
    refusal = domain_refusal(domain, base_domain)
    if refusal is not None:
        raise TenantError(refusal)
    # Whose it is stays unsaid: that a domain is taken is all another tenant may learn.
    if db.session.get(TenantDomain, domain) is not None:
        raise TenantError(_l("The domain %(domain)s is already in use.", domain=domain))
    if not verified and len(tenant.domains) >= MAX_DOMAINS:
        raise TenantError(
            _ln(
                "A portal can have at most %(num)d custom domain.",
                "A portal can have at most %(num)d custom domains.",
                MAX_DOMAINS,
            )
        )
    entry = new_domain(tenant, domain, verified=verified)
    db.session.add(entry)
    return entry


def set_tenant_status(tenant: Tenant, status: TenantStatus) -> None:
    """Open or suspend a tenant's portal."""
    tenant.status = status
