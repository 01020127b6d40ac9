"""Deliver one webhook: sign it (Standard Webhooks), POST it, record the attempt, decide.

The outbox (kind ``webhook``) calls :func:`deliver` for each due row. One attempt is
:func:`attempt`, which tests drive directly with ``now`` to move the clock:

- 2xx: done; the endpoint counts as healthy again.
- 410 Gone: the receiver does not want it any more: the endpoint is switched off.
- anything else (other status, redirect, timeout, refused address): retried after
  :data:`RETRY_SCHEDULE` (with jitter, or later when the receiver sends ``Retry-After``)
  until :data:`RETRY_FOR` has passed since the event; then the delivery failed. When an
  endpoint's deliveries have failed for :data:`DISABLE_AFTER` without one success, the
  endpoint is switched off and its owner told by e-mail.

Each attempt resolves the host again and connects to the checked address itself, so a name
that resolves to a private address at delivery time is refused like one at save time.
"""

from __future__ import annotations

import http.client
import logging
import random
import socket
import ssl
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from standardwebhooks import Webhook

from portal.core.errors import DomainError
from portal.db import db, utcnow
from portal.outbox.services import MAX_ATTEMPTS, GiveUp, handler
from portal.webhooks import services
from portal.webhooks.models import DeliveryStatus, DisabledReason, WebhookDelivery

log = logging.getLogger(__name__)

#: Waits after the 1st, 2nd, ... failed attempt: about 3 days in all.
RETRY_SCHEDULE = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=20),
)
RETRY_FOR = timedelta(days=3)
DISABLE_AFTER = timedelta(days=5)
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
RESPONSE_EXCERPT = 1000
#: A receiver may ask for a later retry, but not beyond this.
MAX_RETRY_AFTER = timedelta(hours=24)
USER_AGENT = "Portal-Webhooks/1"

# Each outbox attempt is one automatic attempt here; the outbox must allow them all.
assert len(RETRY_SCHEDULE) + 1 <= MAX_ATTEMPTS


class RetryLater(Exception):
    """Tells the outbox to try again, not before ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Response:
    status: int
    body: str
    retry_after: str | None


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address that was checked, not to whatever the name resolves to now."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), CONNECT_TIMEOUT)
        self.sock.settimeout(self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), CONNECT_TIMEOUT)
        sock.settimeout(self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str]) -> Response:
    """POST ``body`` to ``url`` after checking its addresses; redirects are not followed."""
    scheme, host, port = services.split_url(url)
    address = services.checked_addresses(url)[0]
    cls = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    connection = cls(host, port, address, READ_TIMEOUT)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", path, body=body, headers=headers)
        answer = connection.getresponse()
        excerpt = answer.read(RESPONSE_EXCERPT * 4).decode("utf-8", "replace")[:RESPONSE_EXCERPT]
        return Response(answer.status, excerpt, answer.getheader("Retry-After"))
    finally:
        connection.close()


def sign(delivery: WebhookDelivery, secrets: list[str], sent_at: datetime) -> dict[str, str]:
    """Return the Standard Webhooks headers; one signature per secret, space-separated."""
    body = delivery.body.encode()
    signatures = " ".join(
        Webhook(secret).sign(delivery.event_id, sent_at, body) for secret in secrets
    )
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": delivery.event_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signatures,
    }


def _retry_after(value: str | None, now: datetime) -> timedelta | None:
    if not value:
        return None
    value = value.strip()
    try:
        wait = timedelta(seconds=max(0, int(value)))
    except ValueError:
        try:
            wait = parsedate_to_datetime(value) - now
        except (TypeError, ValueError):
            return None
    return min(max(wait, timedelta(0)), MAX_RETRY_AFTER)


def _jitter(delay: timedelta) -> timedelta:
    return delay * random.uniform(0.9, 1.1)


def attempt(delivery: WebhookDelivery, now: datetime | None = None, *, manual: bool = False) -> str:
    """Send the delivery once and record it; return the outcome: ``succeeded``, ``retry``,
    ``failed`` or ``skipped`` (its endpoint is switched off). ``now`` is the clock of the
    schedule (tests move it); the signature's timestamp is always the real time."""
    now = now or utcnow()
    endpoint = delivery.endpoint
    if not endpoint.enabled:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
        return "skipped"
    sent_at = utcnow()
    headers = sign(delivery, endpoint.signing_secrets(now), sent_at)
    entry: dict[str, Any] = {"at": now.isoformat(), "manual": manual, "status_code": None}
    started = time.monotonic()
    response = None
    try:
        response = post(endpoint.url, delivery.body.encode(), headers)
    except DomainError as error:
        entry["error"] = str(error)
    except (OSError, http.client.HTTPException, ValueError) as error:
        entry["error"] = f"{type(error).__name__}: {error}"[:500]
    entry["duration_ms"] = round((time.monotonic() - started) * 1000)
    if response is not None:
        entry["status_code"] = response.status
        entry["response"] = response.body
        if 300 <= response.status < 400:
            entry["error"] = "redirects are not followed"
    delivery.attempts = [*(delivery.attempts or []), entry]
    delivery.attempt_count = len(delivery.attempts)
    delivery.last_attempt_at = now

    if response is not None and 200 <= response.status < 300:
        delivery.status = DeliveryStatus.SUCCEEDED
        delivery.succeeded_at = now
        delivery.next_attempt_at = None
        endpoint.failing_since = None
        return "succeeded"
    if response is not None and response.status == 410:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
        services.disable(endpoint, DisabledReason.GONE, now)
        services.tell_owner_disabled(endpoint)
        return "failed"
    if endpoint.failing_since is None:
        endpoint.failing_since = now
    if now - endpoint.failing_since >= DISABLE_AFTER:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
        services.disable(endpoint, DisabledReason.FAILING, now)
        services.tell_owner_disabled(endpoint)
        return "failed"
    if manual:
        # A replay by hand is one attempt; an automatic retry that waits still comes.
        if delivery.status != DeliveryStatus.PENDING or delivery.next_attempt_at is None:
            delivery.status = DeliveryStatus.FAILED
        return "failed"
    automatic = sum(1 for entry in delivery.attempts if not entry.get("manual"))
    if automatic > len(RETRY_SCHEDULE):
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
        return "failed"
    wait = _jitter(RETRY_SCHEDULE[automatic - 1])
    asked = _retry_after(response.retry_after if response else None, now)
    if asked is not None:
        wait = max(wait, asked)
    if now + wait > delivery.created_at + RETRY_FOR:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
        return "failed"
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = now + wait
    return "retry"


def describe(delivery: WebhookDelivery) -> str:
    last = (delivery.attempts or [{}])[-1]
    if last.get("error"):
        return last["error"]
    return f"HTTP {last.get('status_code')}"


@handler(services.KIND)
def deliver(payload: dict[str, Any], idempotency_key: str) -> None:
    """The outbox's delivery of one webhook (kind ``webhook``)."""
    delivery = db.session.scalar(
        select(WebhookDelivery).where(WebhookDelivery.id == uuid.UUID(payload["delivery_id"]))
    )
    manual = bool(payload.get("manual"))
    if delivery is None or (delivery.status != DeliveryStatus.PENDING and not manual):
        return  # deleted with its endpoint, or already settled by another row
    outcome = attempt(delivery, manual=manual)
    if outcome in ("succeeded", "skipped"):
        return
    if outcome == "retry":
        wait = (delivery.next_attempt_at - utcnow()).total_seconds()
        raise RetryLater(describe(delivery), retry_after=max(wait, 0))
    raise GiveUp(describe(delivery))
