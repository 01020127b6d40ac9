"""Proof that a tenant controls a custom domain, checked by the worker.

A domain that a tenant admin adds is *pending*: it does not serve the portal (the resolver
answers 404 as for any unknown host) until the tenant has published its domain's token in
one of two ways, which the worker looks for in this order:

- a DNS TXT record ``_supplyport-challenge.<domain>`` holding
  ``supplyport-verification=<token>``, read with dnspython from the nameservers of
  ``PORTAL_DNS_NAMESERVERS`` (else the system's);
- a file at ``http(s)://<domain>/.well-known/supplyport-verification/<token>`` whose content
  is the token: a short timeout, redirects only within the domain, a small read, and no
  private or local addresses unless ``PORTAL_DOMAIN_CHECK_PRIVATE_ADDRESSES`` is on.

A pending domain is checked after :data:`FIRST_DELAY`, then with a doubling delay (at most
:data:`MAX_DELAY`) until it is verified or ``PORTAL_DOMAIN_CHECK_DAYS`` have passed; it is
then *failed*, and "check now" on the branding page starts a new period. Every check is safe
to repeat: the outcome is written only while the domain is still pending with the same token,
so two workers (or a repeated task) verify it once and write one audit entry.

The network part (:func:`look_for_proof`) holds no transaction and no lock; only the outcome
is written, in the tenant's context, with its audit entry.
"""

from __future__ import annotations

import http.client
import ipaddress
import logging
import secrets
import socket
import ssl
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import dns.exception
import dns.nameserver
import dns.rdatatype
import dns.resolver
from flask import Flask, current_app
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _ln
from sqlalchemy import func, select

from portal.db import db, utcnow
from portal.tenants.models import DomainStatus, Tenant, TenantDomain

log = logging.getLogger(__name__)

CHALLENGE_LABEL = "_supplyport-challenge"
TXT_PREFIX = "supplyport-verification="
WELL_KNOWN_PATH = "/.well-known/supplyport-verification/"
#: The Celery task that checks the due domains (registered in portal.worker.celery).
CHECK_DOMAINS_TASK = "portal.check_domains"

FIRST_DELAY = timedelta(minutes=1)
MAX_DELAY = timedelta(hours=6)
#: Bytes of the well-known file that are read; a token is 32 characters.
MAX_FILE_BYTES = 1024
MAX_REDIRECTS = 3
#: Domains checked by one round of the worker; the rest wait for the next round.
BATCH = 20

# The messages of what a check found instead of the proof; ``params`` fill them in.
FINDINGS = {
    "dns_no_record": _l("DNS: there is no TXT record %(name)s."),
    "dns_wrong_value": _l("DNS: the TXT record %(name)s does not hold this domain's value."),
    "dns_unreachable": _l("DNS: the nameservers did not answer for %(name)s."),
    "http_no_address": _l("File: %(domain)s has no address to connect to."),
    "http_private_address": _l(
        "File: %(domain)s points to a private or local address (%(address)s), which is not checked."
    ),
    "http_unreachable": _l("File: %(url)s could not be reached."),
    "http_status": _l("File: %(url)s answered with status %(status)s."),
    "http_redirect": _l("File: %(url)s redirects to another host, which is not followed."),
    "http_wrong_content": _l("File: %(url)s does not contain this domain's token."),
}


def finding_message(finding: dict[str, Any]) -> str:
    """Return the translated sentence for one stored finding of a check."""
    code = finding.get("code")
    if code == "expired":
        return str(
            _ln(
                "No proof was found within %(num)d day; press “Check now” to try again.",
                "No proof was found within %(num)d days; press “Check now” to try again.",
                int(finding.get("days") or 0),
            )
        )
    message = FINDINGS.get(code)
    if message is None:
        return str(_l("The check found no proof."))
    params = {key: str(value) for key, value in finding.items() if key != "code"}
    try:
        return str(message) % params
    except (KeyError, ValueError, TypeError):
        return str(_l("The check found no proof."))


def challenge_name(domain: str) -> str:
    """Return the DNS name of the TXT record that proves control of ``domain``."""
    return f"{CHALLENGE_LABEL}.{domain}"


def challenge_value(token: str) -> str:
    """Return the value of the TXT record for ``token``."""
    return TXT_PREFIX + token


def well_known_urls(domain: str, token: str) -> list[str]:
    """Return the addresses at which the file with ``token`` may be served."""
    return [f"{scheme}://{domain}{WELL_KNOWN_PATH}{token}" for scheme in ("https", "http")]


def new_domain(tenant: Tenant, domain: str, *, verified: bool) -> TenantDomain:
    """Return a new domain row of ``tenant``: pending with a fresh token, or verified."""
    now = utcnow()
    return TenantDomain(
        domain=domain,
        tenant=tenant,
        status=DomainStatus.VERIFIED if verified else DomainStatus.PENDING,
        # 128 random bits, for this domain of this tenant only.
        verification_token=secrets.token_hex(16),
        added_at=now,
        pending_since=now,
        verified_at=now if verified else None,
        next_check_at=None if verified else now + FIRST_DELAY,
        check_count=0,
    )


def deadline(entry: TenantDomain) -> datetime:
    """Return when a pending domain's checking period ends."""
    return entry.pending_since + timedelta(days=_days())


def _days(app: Flask | None = None) -> int:
    return int((app or current_app).config.get("PORTAL_DOMAIN_CHECK_DAYS") or 7)


def next_delay(check_count: int) -> timedelta:
    """Return the wait after the ``check_count``-th check: doubling, at most MAX_DELAY."""
    return min(FIRST_DELAY * (2 ** min(check_count, 20)), MAX_DELAY)


# --- the network part ------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckSettings:
    """How a check reaches the outside world (the PORTAL_DNS_* and PORTAL_DOMAIN_CHECK_*
    settings)."""

    nameservers: tuple[tuple[str, int], ...] = ()
    http_schemes: tuple[str, ...] = ("https", "http")
    http_port: int | None = None
    timeout: float = 5.0
    private_addresses: bool = False

    @classmethod
    def of(cls, app: Flask) -> CheckSettings:
        config = app.config
        return cls(
            nameservers=tuple(config.get("PORTAL_DNS_NAMESERVERS") or ()),
            http_schemes=tuple(config.get("PORTAL_DOMAIN_CHECK_HTTP_SCHEMES") or ("https", "http")),
            http_port=config.get("PORTAL_DOMAIN_CHECK_HTTP_PORT") or None,
            timeout=float(config.get("PORTAL_DOMAIN_CHECK_TIMEOUT") or 5),
            private_addresses=bool(config.get("PORTAL_DOMAIN_CHECK_PRIVATE_ADDRESSES")),
        )


@dataclass
class Proof:
    """What one check found: the method that proved control (None: no proof) and findings."""

    method: str | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)


def _resolver(settings: CheckSettings) -> dns.resolver.Resolver:
    if settings.nameservers:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [
            dns.nameserver.Do53Nameserver(address, port) for address, port in settings.nameservers
        ]
    else:
        resolver = dns.resolver.Resolver()
    resolver.timeout = settings.timeout
    resolver.lifetime = settings.timeout
    resolver.cache = None  # a record the tenant just set must be seen at the next check
    return resolver


def _txt_proof(domain: str, token: str, settings: CheckSettings) -> dict[str, Any] | None:
    """Return None when the TXT record holds the token, else the finding."""
    name = challenge_name(domain)
    try:
        answer = _resolver(settings).resolve(name, "TXT", search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return {"code": "dns_no_record", "name": name}
    except (dns.exception.DNSException, OSError):
        return {"code": "dns_unreachable", "name": name}
    wanted = challenge_value(token)
    for record in answer:
        # A long TXT value arrives as several strings of at most 255 bytes: one value.
        value = b"".join(record.strings).decode("utf-8", "replace").strip()
        if secrets.compare_digest(value.encode(), wanted.encode()):
            return None
    return {"code": "dns_wrong_value", "name": name}


def _addresses(domain: str, port: int, settings: CheckSettings) -> list[str]:
    """Return the addresses of ``domain``: from the configured nameservers when there are,
    else from the system (which also reads /etc/hosts)."""
    if settings.nameservers:
        found = []
        resolver = _resolver(settings)
        for kind in ("A", "AAAA"):
            try:
                found += [record.address for record in resolver.resolve(domain, kind, search=False)]
            except (dns.exception.DNSException, OSError):
                continue
        return found
    try:
        infos = socket.getaddrinfo(domain, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return list(dict.fromkeys(info[4][0] for info in infos))


def _private(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return not ip.is_global or ip.is_multicast


def _fetch(url: str, address: str, domain: str, settings: CheckSettings):
    """GET ``url`` from ``address`` with ``domain`` as Host and SNI name; return
    ``(status, location, body)``."""
    parts = urlsplit(url)
    port = settings.http_port or parts.port or (443 if parts.scheme == "https" else 80)
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            domain, port, timeout=settings.timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(domain, port, timeout=settings.timeout)
    # Connect to the address checked above, never to what a second look-up might answer;
    # Host header and certificate check still use the domain.
    connection._create_connection = lambda _where, timeout, source: socket.create_connection(
        (address, port), timeout, source
    )
    try:
        connection.request(
            "GET",
            parts.path,
            headers={"Host": domain, "User-Agent": "supplyport-domain-check", "Accept": "*/*"},
        )
        response = connection.getresponse()
        body = response.read(MAX_FILE_BYTES + 1)
        return response.status, response.getheader("Location"), body
    finally:
        connection.close()


def _file_proof(domain: str, token: str, settings: CheckSettings) -> list[dict[str, Any]]:
    """Return [] when the well-known file holds the token, else the findings."""
    default_port = settings.http_port or 443
    addresses = _addresses(domain, default_port, settings)
    if not addresses:
        return [{"code": "http_no_address", "domain": domain}]
    if not settings.private_addresses:
        refused = [address for address in addresses if _private(address)]
        if refused:
            # All of them or none: a domain that points anywhere private is not fetched.
            return [{"code": "http_private_address", "domain": domain, "address": refused[0]}]
    findings = []
    for scheme in settings.http_schemes:
        url = f"{scheme}://{domain}{WELL_KNOWN_PATH}{token}"
        finding = _fetch_proof(url, addresses[0], domain, token, settings)
        if finding is None:
            return []
        findings.append(finding)
    return findings


def _fetch_proof(
    url: str, address: str, domain: str, token: str, settings: CheckSettings
) -> dict[str, Any] | None:
    first = url
    for _hop in range(MAX_REDIRECTS + 1):
        try:
            status, location, body = _fetch(url, address, domain, settings)
        except (OSError, http.client.HTTPException, ssl.SSLError, ValueError):
            return {"code": "http_unreachable", "url": first}
        if status in (301, 302, 303, 307, 308) and location:
            target = urljoin(url, location)
            parts = urlsplit(target)
            if (parts.hostname or "").lower().rstrip(".") != domain or parts.scheme not in (
                "http",
                "https",
            ):
                return {"code": "http_redirect", "url": first}
            url = target
            continue
        if status != 200:
            return {"code": "http_status", "url": first, "status": status}
        # The content is the token and nothing else: a server that echoes the requested
        # address in every page must not pass.
        if len(body) > MAX_FILE_BYTES or not secrets.compare_digest(body.strip(), token.encode()):
            return {"code": "http_wrong_content", "url": first}
        return None
    return {"code": "http_redirect", "url": first}


def look_for_proof(domain: str, token: str, settings: CheckSettings) -> Proof:
    """Look for the proof that whoever holds ``token`` controls ``domain``: DNS, then the
    well-known file. Holds no database transaction."""
    finding = _txt_proof(domain, token, settings)
    if finding is None:
        return Proof("dns")
    findings = [finding]
    file_findings = _file_proof(domain, token, settings)
    if not file_findings:
        return Proof("file")
    return Proof(None, findings + file_findings)


# --- recording the outcome -------------------------------------------------------------------


def due_domains(now: datetime | None = None, limit: int = BATCH) -> list[tuple[str, str]]:
    """Return ``(domain, token)`` of the pending domains whose check is due (all tenants:
    a platform table)."""
    rows = db.session.execute(
        select(TenantDomain.domain, TenantDomain.verification_token)
        .where(
            TenantDomain.status == DomainStatus.PENDING,
            TenantDomain.next_check_at <= (now or utcnow()),
        )
        .order_by(TenantDomain.next_check_at)
        .limit(limit)
    ).all()
    return [(domain, token) for domain, token in rows]


def any_due() -> bool:
    """Tell whether a domain's check is due; commits (the worker's sweep asks)."""
    found = db.session.scalar(
        select(func.count())
        .select_from(TenantDomain)
        .where(TenantDomain.status == DomainStatus.PENDING, TenantDomain.next_check_at <= utcnow())
    )
    db.session.commit()
    return bool(found)


def record_outcome(domain: str, token: str, proof: Proof) -> DomainStatus | None:
    """Write what a check of ``domain`` found, with the audit entry of a change; commit.

    Returns the new status, or None when the domain was no longer pending with ``token``
    (removed, re-added, or settled by another check meanwhile): nothing is written then.
    """
    from portal.audit.services import record
    from portal.tenants.cache import forget_after_commit
    from portal.tenants.context import tenant_context

    tenant_id = db.session.scalar(
        select(TenantDomain.tenant_id).where(TenantDomain.domain == domain)
    )
    tenant = db.session.get(Tenant, tenant_id) if tenant_id is not None else None
    if tenant is None:
        db.session.commit()
        return None
    with tenant_context(tenant):
        entry = db.session.scalar(
            select(TenantDomain)
            .where(
                TenantDomain.domain == domain,
                TenantDomain.verification_token == token,
                TenantDomain.status == DomainStatus.PENDING,
            )
            .with_for_update()
        )
        if entry is None:
            db.session.commit()
            return None
        now = utcnow()
        entry.checked_at = now
        entry.check_count += 1
        if proof.method is not None:
            entry.status = DomainStatus.VERIFIED
            entry.verified_at = now
            entry.next_check_at = None
            entry.findings = None
            record(
                "tenant.domain_verified",
                tenant,
                changes={"status": ["pending", "verified"]},
                details={"domain": domain, "method": proof.method},
            )
            forget_after_commit(db.session, tenant.slug, domain)
        elif now >= deadline(entry):
            entry.status = DomainStatus.FAILED
            entry.next_check_at = None
            entry.findings = [*proof.findings, {"code": "expired", "days": _days()}]
            record(
                "tenant.domain_failed",
                tenant,
                changes={"status": ["pending", "failed"]},
                details={"domain": domain, "checks": entry.check_count},
            )
        else:
            entry.findings = proof.findings
            entry.next_check_at = now + next_delay(entry.check_count)
        status = entry.status
        db.session.commit()
    return status


def check_due_domains(app: Flask | None = None, *, limit: int = BATCH) -> int:
    """Check the pending domains that are due, one after the other; return how many were
    checked. The worker's task; safe to run twice at once."""
    app = app or current_app._get_current_object()
    settings = CheckSettings.of(app)
    due = due_domains(limit=limit)
    db.session.commit()  # no transaction stays open while the network is asked
    for domain, token in due:
        try:
            proof = look_for_proof(domain, token, settings)
        except Exception:  # one broken check must not stop the others
            log.exception("checking the domain %s failed", domain)
            proof = Proof(None, [{"code": "error"}])
        record_outcome(domain, token, proof)
    return len(due)


# --- handing checks over to the worker -------------------------------------------------------

_embedded_round = threading.Lock()


def _embedded_check(app: Flask) -> None:
    if not _embedded_round.acquire(blocking=False):
        return  # a round runs already; it takes up what is due
    try:
        with app.app_context():
            try:
                check_due_domains(app)
            except Exception:
                log.exception("the domain checks failed")
                db.session.rollback()
            finally:
                db.session.remove()
    finally:
        _embedded_round.release()


def queue_domain_checks(app: Flask) -> None:
    """Have the due domains checked by whatever runs work here (after a commit).

    Eager (tests): at once in the caller. Celery: a task. Embedded: a thread of this
    process, so neither the request nor the outbox deliveries wait for the network.
    """
    from portal.worker.dispatch import publish
    from portal.worker.services import mode

    if app.config.get("PORTAL_JOBS_EAGER"):
        check_due_domains(app)
    elif mode(app) == "celery":
        publish(app, CHECK_DOMAINS_TASK)
    else:
        threading.Thread(
            target=_embedded_check, args=(app,), name="portal-domain-check", daemon=True
        ).start()


def sweep(app: Flask) -> None:
    """Hand over the due domain checks: the worker's periodic round calls this."""
    if any_due():
        queue_domain_checks(app)
