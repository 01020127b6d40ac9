"""Webhook endpoints: create, change, rotate the secret, switch off and on, send a test event,
replay a delivery; and the writing of deliveries for the events of a transaction.

Who sees what: an endpoint of the tenant gets every event of the tenant; a client's endpoint
only events about that client's objects; a supplier's endpoint only events of purchase
orders released to that supplier (:func:`portal.core.purchasing.responses.released_to`).
Deliveries and their outbox rows are written in the transaction of the change, so a change
that is rolled back sends nothing.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import secrets
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.audit.services import record
from portal.core.errors import DomainError
from portal.db import db, utcnow, uuid7
from portal.outbox.services import enqueue
from portal.webhooks.catalog import EVENT_TYPES, PING, allowed_event_types
from portal.webhooks.models import (
    DeliveryStatus,
    DisabledReason,
    OwnerKind,
    WebhookDelivery,
    WebhookEndpoint,
)
from portal.webhooks.payloads import object_payload

KIND = "webhook"
#: After a rotation the previous secret still signs this long (receivers switch over).
DEFAULT_GRACE = timedelta(hours=24)
MAX_GRACE = timedelta(days=7)
SECRET_BYTES = 32

URL_INVALID = _l("Please enter a web address that starts with https:// or http://.")
URL_PRIVATE = _l(
    "This address points into a private network or to this server. Webhooks are sent only "
    "to public addresses."
)
URL_UNKNOWN = _l("The host of this address cannot be found.")
URL_CREDENTIALS = _l("Please leave user name and password out of the address.")
NO_EVENTS = _l("Please choose at least one event.")
REPLAY_DISABLED = _l("This webhook is switched off. Switch it on before sending again.")
GRACE_TOO_LONG = _l("The grace period may last at most 7 days.")


@dataclass(frozen=True)
class Owner:
    """Whose endpoints: the tenant's (both ids None), a client's or a supplier's."""

    kind: OwnerKind
    client_id: uuid.UUID | None = None
    supplier_id: uuid.UUID | None = None

    @classmethod
    def of_user(cls, user) -> Owner:
        if user.supplier_id is not None:
            return cls(OwnerKind.SUPPLIER, supplier_id=user.supplier_id)
        if user.client_id is not None:
            return cls(OwnerKind.CLIENT, client_id=user.client_id)
        return cls(OwnerKind.TENANT)

    @classmethod
    def of_endpoint(cls, endpoint: WebhookEndpoint) -> Owner:
        return cls(endpoint.owner_kind, endpoint.client_id, endpoint.supplier_id)


# --- addresses -------------------------------------------------------------------------------


ALLOW_PRIVATE = "PORTAL_WEBHOOKS_ALLOW_PRIVATE"


def allow_private() -> bool:
    """Tell whether the operator lets webhooks reach private addresses (tests, intranets):
    the setting ``PORTAL_WEBHOOKS_ALLOW_PRIVATE``, from the app's config or the environment."""
    value = current_app.config.get(ALLOW_PRIVATE)
    if value is None:
        value = os.environ.get(ALLOW_PRIVATE, "")
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def is_public(address: str) -> bool:
    """Tell whether an IP address is on the public internet (not loopback, private,
    link-local, shared, reserved, multicast or unspecified; IPv4-mapped IPv6 unwrapped)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve(host: str, port: int) -> list[str]:
    """Return the addresses of ``host``; raise :class:`DomainError` when it has none."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise DomainError(URL_UNKNOWN, "url") from None
    return list(dict.fromkeys(info[4][0] for info in infos))


def split_url(url: str) -> tuple[str, str, int]:
    """Return scheme, host and port of a webhook URL, or raise a :class:`DomainError`."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise DomainError(URL_INVALID, "url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DomainError(URL_INVALID, "url")
    if parts.username or parts.password:
        raise DomainError(URL_CREDENTIALS, "url")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def checked_addresses(url: str) -> list[str]:
    """Resolve the URL's host and return its addresses when every one of them may be
    reached; raise a :class:`DomainError` otherwise. Called when an endpoint is saved and
    again right before each delivery, so a name that later resolves inward is refused too."""
    _scheme, host, port = split_url(url)
    addresses = resolve(host, port)
    if not allow_private() and not all(is_public(address) for address in addresses):
        raise DomainError(URL_PRIVATE, "url")
    return addresses


def clean_url(url: str) -> str:
    url = (url or "").strip()
    if len(url) > 2000:
        raise DomainError(URL_INVALID, "url")
    checked_addresses(url)
    return url


def clean_event_types(owner: Owner, names: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(names or []))
    if not chosen:
        raise DomainError(NO_EVENTS, "event_types")
    allowed = allowed_event_types(owner.kind)
    for name in chosen:
        if name not in allowed:
            raise DomainError(_l("This event is not known: %(name)s.", name=name), "event_types")
    return [name for name in EVENT_TYPES if name in chosen]


# --- endpoints -------------------------------------------------------------------------------


def new_secret() -> str:
    """Return a Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def endpoints_of(owner: Owner) -> list[WebhookEndpoint]:
    return list(db.session.scalars(_owned(owner).order_by(WebhookEndpoint.created_at)))


def _owned(owner: Owner):
    return select(WebhookEndpoint).where(
        WebhookEndpoint.owner_kind == owner.kind,
        WebhookEndpoint.client_id.is_(None)
        if owner.client_id is None
        else WebhookEndpoint.client_id == owner.client_id,
        WebhookEndpoint.supplier_id.is_(None)
        if owner.supplier_id is None
        else WebhookEndpoint.supplier_id == owner.supplier_id,
    )


def find_endpoint(owner: Owner, endpoint_id: uuid.UUID) -> WebhookEndpoint | None:
    """Return the owner's endpoint ``endpoint_id``, or None (another owner's is not found)."""
    return db.session.scalar(_owned(owner).where(WebhookEndpoint.id == endpoint_id))


def find_delivery(endpoint: WebhookEndpoint, delivery_id: uuid.UUID) -> WebhookDelivery | None:
    return db.session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.id == delivery_id
        )
    )


def deliveries_of(endpoint: WebhookEndpoint, limit: int = 50) -> list[WebhookDelivery]:
    return list(
        db.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint.id)
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
            .limit(limit)
        )
    )


def create_endpoint(
    owner: Owner, url: str, event_types: Iterable[str], description: str = ""
) -> tuple[WebhookEndpoint, str]:
    """Create an endpoint; return it and its secret (shown once)."""
    secret = new_secret()
    endpoint = WebhookEndpoint(
        owner_kind=owner.kind,
        client_id=owner.client_id,
        supplier_id=owner.supplier_id,
        url=clean_url(url),
        description=(description or "").strip()[:200],
        event_types=clean_event_types(owner, event_types),
        secrets={"current": secret},
        enabled=True,
    )
    db.session.add(endpoint)
    db.session.flush()
    record("webhook.created", endpoint, details={"url": endpoint.url})
    return endpoint, secret


def update_endpoint(endpoint: WebhookEndpoint, **values) -> dict:
    """Change URL, description, events, and switch it on or off; return the changes."""
    owner = Owner.of_endpoint(endpoint)
    changes: dict = {}
    if "url" in values and values["url"] is not None:
        url = clean_url(values["url"])
        if url != endpoint.url:
            changes["url"] = [endpoint.url, url]
            endpoint.url = url
    if "description" in values and values["description"] is not None:
        description = values["description"].strip()[:200]
        if description != endpoint.description:
            changes["description"] = [endpoint.description, description]
            endpoint.description = description
    if "event_types" in values and values["event_types"] is not None:
        chosen = clean_event_types(owner, values["event_types"])
        if chosen != endpoint.event_types:
            changes["event_types"] = [endpoint.event_types, chosen]
            endpoint.event_types = chosen
    if "enabled" in values and values["enabled"] is not None:
        if values["enabled"] and not endpoint.enabled:
            enable(endpoint)
            changes["enabled"] = [False, True]
        elif not values["enabled"] and endpoint.enabled:
            disable(endpoint, DisabledReason.MANUAL)
            changes["enabled"] = [True, False]
    if changes:
        endpoint.updated_at = utcnow()
        record("webhook.updated", endpoint, changes=changes)
    return changes


def enable(endpoint: WebhookEndpoint) -> None:
    endpoint.enabled = True
    endpoint.disabled_reason = None
    endpoint.disabled_at = None
    endpoint.failing_since = None


def disable(endpoint: WebhookEndpoint, reason: DisabledReason, now: datetime | None = None) -> None:
    """Switch the endpoint off; its waiting deliveries are not sent any more."""
    endpoint.enabled = False
    endpoint.disabled_reason = reason
    endpoint.disabled_at = now or utcnow()
    record("webhook.disabled", endpoint, details={"reason": reason.value})


def delete_endpoint(endpoint: WebhookEndpoint) -> None:
    record("webhook.deleted", endpoint, details={"url": endpoint.url})
    db.session.delete(endpoint)


def rotate_secret(
    endpoint: WebhookEndpoint, grace: timedelta = DEFAULT_GRACE, now: datetime | None = None
) -> str:
    """Give the endpoint a new secret; the old one keeps signing for ``grace`` (both
    signatures are sent meanwhile). Return the new secret (shown once)."""
    if grace > MAX_GRACE or grace < timedelta(0):
        raise DomainError(GRACE_TOO_LONG, "grace_hours")
    now = now or utcnow()
    secret = new_secret()
    previous = (endpoint.secrets or {}).get("current")
    endpoint.secrets = {"current": secret, **({"previous": previous} if previous and grace else {})}
    endpoint.previous_secret_until = now + grace if previous and grace else None
    endpoint.updated_at = now
    record(
        "webhook.secret_rotated", endpoint, details={"grace_hours": grace.total_seconds() / 3600}
    )
    return secret


# --- events and deliveries -------------------------------------------------------------------


def new_event_id() -> str:
    return f"msg_{uuid7().hex}"


def event_body(event_id: str, event_type: str, data: dict, now: datetime) -> str:
    """Return the exact JSON that is signed and sent (kept, so a replay sends the same)."""
    envelope = {"id": event_id, "type": event_type, "timestamp": now.isoformat(), "data": data}
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False, default=str)


def _queue(endpoint: WebhookEndpoint, event_id: str, event_type: str, body: str, now) -> None:
    delivery = WebhookDelivery(
        endpoint_id=endpoint.id,
        event_id=event_id,
        event_type=event_type,
        body=body,
        status=DeliveryStatus.PENDING,
        attempts=[],
        created_at=now,
        next_attempt_at=now,
    )
    db.session.add(delivery)
    enqueue(KIND, {"delivery_id": str(delivery.id)}, key=f"webhook:{delivery.id}")


def send_test_event(endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Queue a ``webhook.ping`` event to this endpoint alone, whatever it subscribed to."""
    now = utcnow()
    event_id = new_event_id()
    data = {"object": "webhook", "id": str(endpoint.id), "url": endpoint.url}
    _queue(endpoint, event_id, PING, event_body(event_id, PING, data, now), now)
    db.session.flush()
    return find_delivery_by_event(endpoint, event_id)


def find_delivery_by_event(endpoint: WebhookEndpoint, event_id: str) -> WebhookDelivery:
    return db.session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.event_id == event_id
        )
    )


def replay(delivery: WebhookDelivery) -> None:
    """Send the delivery once more, now, with the same webhook-id and body."""
    if not delivery.endpoint.enabled:
        raise DomainError(REPLAY_DISABLED)
    # The status stays: a waiting automatic retry still comes unless this attempt succeeds.
    enqueue(
        KIND,
        {"delivery_id": str(delivery.id), "manual": True},
        key=f"webhook:{delivery.id}:replay:{uuid.uuid4().hex}",
    )
    record("webhook.replayed", delivery.endpoint, details={"event_id": delivery.event_id})


def _sees(endpoint: WebhookEndpoint, obj) -> bool:
    from portal.core.purchasing.models import PurchaseOrder
    from portal.core.purchasing.responses import released_to

    if endpoint.owner_kind == OwnerKind.TENANT:
        return True
    if endpoint.owner_kind == OwnerKind.CLIENT:
        return getattr(obj, "client_id", None) == endpoint.client_id
    if not isinstance(obj, PurchaseOrder) or obj.supplier_id != endpoint.supplier_id:
        return False
    released = released_to(endpoint.supplier_id).where(PurchaseOrder.id == obj.id)
    return db.session.scalar(released.with_only_columns(PurchaseOrder.id)) is not None


def write_deliveries(events: list[tuple[str, object]]) -> int:
    """Write a delivery (and its outbox row) per event and endpoint that wants and may see
    it, in the current transaction; return how many. Called just before the commit."""
    endpoints = list(db.session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.enabled)))
    if not endpoints:
        return 0
    now = utcnow()
    written = 0
    for event_type, obj in events:
        audience = [e for e in endpoints if event_type in (e.event_types or []) and _sees(e, obj)]
        if not audience:
            continue
        event_id = new_event_id()
        body = event_body(event_id, event_type, object_payload(obj), now)
        for endpoint in audience:
            _queue(endpoint, event_id, event_type, body, now)
            written += 1
    return written


# --- telling the owner -----------------------------------------------------------------------


def owner_recipients(endpoint: WebhookEndpoint) -> list:
    """Return the active users who own the endpoint: the supplier's or client's users, or
    the tenant's admins."""
    from portal.accounts.models import Role, User

    query = select(User).where(User.active.is_(True))
    if endpoint.owner_kind == OwnerKind.SUPPLIER:
        query = query.where(User.role == Role.SUPPLIER, User.supplier_id == endpoint.supplier_id)
    elif endpoint.owner_kind == OwnerKind.CLIENT:
        query = query.where(User.role == Role.CLIENT, User.client_id == endpoint.client_id)
    else:
        query = query.where(User.role == Role.ADMIN)
    return list(db.session.scalars(query.order_by(User.email)))


def tell_owner_disabled(endpoint: WebhookEndpoint) -> int:
    """Queue an e-mail to each owner, in their language: the endpoint was switched off.
    Return how many were queued."""
    from flask import render_template
    from flask_babel import force_locale
    from flask_babel import gettext as _

    from portal.accounts.links import public_url

    # The e-mail layout needs the tenant and a request on its address, also in the worker.
    from portal.accounts.mails import _mail_context
    from portal.mail import queue_email
    from portal.tenants.models import Tenant

    tenant = db.session.get(Tenant, endpoint.tenant_id)
    users = owner_recipients(endpoint)
    link = public_url("webhooks.detail", tenant=tenant, endpoint_id=endpoint.id)
    moment = (endpoint.disabled_at or utcnow()).isoformat()
    with _mail_context(tenant):
        for user in users:
            with force_locale(user.locale or str(tenant.default_locale)):
                context = {
                    "user": user,
                    "tenant": tenant,
                    "endpoint": endpoint,
                    "gone": endpoint.disabled_reason == DisabledReason.GONE,
                    "link": link,
                }
                queue_email(
                    user.email,
                    _("Your webhook to %(url)s was switched off", url=endpoint.url),
                    render_template("webhooks/email_disabled.txt", **context),
                    render_template("webhooks/email_disabled.html", **context),
                    sender_name=tenant.name,
                    key=f"webhook-disabled:{endpoint.id}:{moment}:{user.id}",
                )
    return len(users)
