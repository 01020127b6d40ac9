"""Write audit entries. Request code sets the actor once; services just call :func:`record`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from portal.audit.models import AuditEntry
from portal.db import db


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: a user (or nobody, for anonymous requests and jobs) and from where;
    for a request of the integration API also the token it came with."""

    user_id: uuid.UUID | None = None
    ip_address: str | None = None
    api_token_id: uuid.UUID | None = None


_actor: ContextVar[Actor | None] = ContextVar("portal_actor", default=None)
_NOBODY = Actor()


def current_actor() -> Actor:
    return _actor.get() or _NOBODY


def set_actor(actor: Actor):
    """Set the actor for the rest of the request; returns a token for :func:`reset_actor`."""
    return _actor.set(actor)


def reset_actor(token) -> None:
    _actor.reset(token)


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    """Run the block with ``actor`` recorded on every audit entry."""
    token = _actor.set(actor)
    try:
        yield actor
    finally:
        _actor.reset(token)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Return ``{field: [old, new]}`` for the fields whose values differ."""
    return {
        key: [_plain(old.get(key)), _plain(new.get(key))]
        for key in new
        if _plain(old.get(key)) != _plain(new.get(key))
    }


def record(
    action: str,
    obj: Any = None,
    *,
    changes: Mapping[str, list[Any]] | None = None,
    details: Mapping[str, Any] | None = None,
    actor_id: uuid.UUID | None = None,
) -> AuditEntry:
    """Add an audit entry for ``action`` on ``obj`` to the current transaction."""
    actor = current_actor()
    # A proxy such as Flask-Login's ``current_user`` would be recorded as "LocalProxy":
    # the log names the object behind it.
    unwrap = getattr(obj, "_get_current_object", None)
    if callable(unwrap):
        obj = unwrap()
    entry = AuditEntry(
        actor_id=actor_id or actor.user_id,
        action=action,
        object_type=type(obj).__name__ if obj is not None else None,
        object_id=str(obj.id) if obj is not None else None,
        changes={k: [_plain(v) for v in pair] for k, pair in (changes or {}).items()},
        details={
            **{k: _plain(v) for k, v in (details or {}).items()},
            **({"api_token_id": str(actor.api_token_id)} if actor.api_token_id else {}),
        },
        ip_address=actor.ip_address,
    )
    db.session.add(entry)
    return entry
