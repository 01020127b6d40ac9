"""Queue effects on the outside world and deliver them with retries.

:func:`enqueue` adds a row to the caller's transaction, so the effect happens if and only if
the change that causes it is committed. :func:`deliver_due` is the worker's body: it claims due
rows, runs the handler for each inside the row's tenant context, and on failure schedules a
retry with exponential backoff and jitter. Each row carries an idempotency key that handlers
pass on (as Message-ID, header or file name), so a repeated delivery is harmless.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from portal.db import db, utcnow
from portal.outbox.models import OutboxMessage, OutboxStatus
from portal.tenants.context import tenant_context
from portal.tenants.platform import due_outbox_messages

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=6)

Handler = Callable[[dict[str, Any], str], None]


class GiveUp(Exception):
    """Raised by a handler when retrying is useless: the row fails at once, for staff to see."""


_handlers: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that delivers outbox rows of ``kind``."""

    def register(func: Handler) -> Handler:
        _handlers[kind] = func
        return func

    return register


def enqueue(kind: str, payload: dict[str, Any], *, key: str | None = None) -> OutboxMessage:
    """Add a delivery of ``kind`` to the current transaction and return its row."""
    if kind not in _handlers:
        raise LookupError(f"no outbox handler for {kind!r}")
    message = OutboxMessage(
        kind=kind,
        payload=payload,
        idempotency_key=key or f"{kind}:{uuid.uuid4()}",
    )
    db.session.add(message)
    return message


def retry_delay(attempts: int) -> timedelta:
    """Return the wait after ``attempts`` failures: exponential, capped, with full jitter."""
    ceiling = min(BASE_DELAY * (2 ** max(attempts - 1, 0)), MAX_DELAY)
    return timedelta(seconds=random.uniform(ceiling.total_seconds() / 2, ceiling.total_seconds()))


def _claim_due(limit: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
    # Only ids cross tenants; each row is then read and delivered in its tenant's context.
    rows = due_outbox_messages(utcnow(), limit)
    db.session.commit()
    return rows


def deliver_due(limit: int = 50) -> int:
    """Deliver up to ``limit`` due rows; return how many were delivered successfully."""
    return _deliver_batch(limit)[0]


def drain(limit: int = 50, rounds: int = 20) -> int:
    """Deliver due rows batch after batch until none is left (at most ``rounds`` batches);
    return how many were delivered successfully."""
    delivered = 0
    for _round in range(rounds):
        done, handled = _deliver_batch(limit)
        delivered += done
        if handled == 0:
            break
    return delivered


def _deliver_batch(limit: int) -> tuple[int, int]:
    """Return how many rows were delivered and how many this worker handled at all."""
    from portal.tenants.models import Tenant

    delivered = handled = 0
    for tenant_id, message_id in _claim_due(limit):
        tenant = db.session.get(Tenant, tenant_id)
        with tenant_context(tenant):
            query = select(OutboxMessage).where(
                OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.PENDING
            )
            if db.engine.dialect.name == "postgresql":
                # Another worker may hold the row; skip it rather than wait or deliver twice.
                query = query.with_for_update(skip_locked=True)
            message = db.session.scalar(query)
            if message is None:
                db.session.rollback()
                continue
            handled += 1
            message.attempts += 1
            try:
                _handlers[message.kind](message.payload, message.idempotency_key)
            except Exception as error:
                log.warning(
                    "outbox %s %s attempt %d failed: %s",
                    message.kind,
                    message.id,
                    message.attempts,
                    error,
                )
                # What the handler recorded about the failure is committed with the row.
                message.last_error = f"{type(error).__name__}: {error}"[:2000]
                if isinstance(error, GiveUp) or message.attempts >= MAX_ATTEMPTS:
                    message.status = OutboxStatus.FAILED
                else:
                    delay = retry_delay(message.attempts)
                    # A handler may know the earliest sensible moment (Retry-After).
                    retry_after = getattr(error, "retry_after", None)
                    if retry_after:
                        delay = max(delay, timedelta(seconds=float(retry_after)))
                    message.next_attempt_at = utcnow() + delay
            else:
                message.status = OutboxStatus.SENT
                message.sent_at = utcnow()
                message.last_error = None
                delivered += 1
            db.session.commit()
    return delivered, handled


def retry(message: OutboxMessage) -> None:
    """Put a failed or waiting row back in the queue for immediate delivery."""
    message.status = OutboxStatus.PENDING
    message.next_attempt_at = utcnow()
