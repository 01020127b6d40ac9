"""Find audit entries: the audit log's filters, read from a query string and turned into one
statement that the page (keyset by id, newest first) and its export share."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import Select, or_, select

from portal.audit.models import AuditEntry
from portal.audit.presenting import (
    ACTION_GROUPS,
    ACTION_LABELS,
    GROUP_OF_PREFIX,
    OBJECT_KINDS,
    TYPE_OF_PREFIX,
    find_object_ids,
)
from portal.db import db
from portal.i18n import start_of_day

MAX_SEARCH = 100
# The order of the log: newest first. Ids are UUIDv7, so they follow the time of writing.
ORDER = [(AuditEntry.id, True)]
# What an object search may match at most; a search that broad needs narrowing anyway.
MAX_OBJECTS = 500


@dataclass
class AuditFilter:
    """The audit log's filters; empty values filter nothing."""

    who: str = ""
    action: str = ""
    object_type: str = ""
    object_text: str = ""
    date_from: date | None = None
    date_to: date | None = None
    errors: dict[str, str] = field(default_factory=dict)

    def args(self) -> dict[str, str]:
        """Return the filters as query parameters, for links that keep them."""
        values = {
            "who": self.who,
            "action": self.action,
            "type": self.object_type,
            "object": self.object_text,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
        }
        return {key: value for key, value in values.items() if value}

    @property
    def active(self) -> bool:
        return bool(self.args())


def _parse_who(value: str) -> str:
    if value == "system":
        return value
    kind, _sep, raw = value.partition(":")
    if kind in ("user", "token"):
        try:
            return f"{kind}:{uuid.UUID(raw)}"
        except ValueError:
            return ""
    return ""


def _parse_action(value: str) -> str:
    if value in ACTION_LABELS:
        return value
    if value.startswith("group:") and value[6:] in ACTION_GROUPS:
        return value
    return ""


def _parse_date(value: str, label: str, errors: dict[str, str], key: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        day = date.fromisoformat(value[:10]) if len(value) == 10 else None
    except ValueError:
        day = None
    if day is None or not (1900 <= day.year <= 9998):
        errors[key] = _(
            "%(field)s: please enter a date such as 2026-12-31.",
            field=label,
        )
    return day if key not in errors else None


def filter_from_args(args: Mapping[str, str]) -> AuditFilter:
    """Read the filters from a query string. Unknown choices are ignored; a date that cannot
    be read is left out with an error naming its field."""
    errors: dict[str, str] = {}
    object_type = args.get("type", "")
    return AuditFilter(
        who=_parse_who(args.get("who", "")[:64]),
        action=_parse_action(args.get("action", "")[:80]),
        object_type=object_type if object_type in OBJECT_KINDS else "",
        object_text=args.get("object", "").strip()[:MAX_SEARCH],
        date_from=_parse_date(args.get("from", ""), _("From"), errors, "from"),
        date_to=_parse_date(args.get("to", ""), _("To"), errors, "to"),
        errors=errors,
    )


def _prefixes_of_group(group: str) -> list[str]:
    prefixes = {group} | {prefix for prefix, owner in GROUP_OF_PREFIX.items() if owner == group}
    return sorted(prefixes)


def audit_statement(filters: AuditFilter) -> Select:
    """Return the statement of the entries that pass ``filters`` (in no order yet)."""
    statement = select(AuditEntry)
    if filters.who == "system":
        statement = statement.where(AuditEntry.actor_id.is_(None))
    elif filters.who.startswith("user:"):
        statement = statement.where(AuditEntry.actor_id == uuid.UUID(filters.who[5:]))
    elif filters.who.startswith("token:"):
        statement = statement.where(
            AuditEntry.details["api_token_id"].as_string() == filters.who[6:]
        )
    if filters.action.startswith("group:"):
        conditions = []
        for prefix in _prefixes_of_group(filters.action[6:]):
            conditions.append(AuditEntry.action == prefix)
            conditions.append(AuditEntry.action.startswith(prefix + ".", autoescape=True))
        statement = statement.where(or_(*conditions))
    elif filters.action:
        statement = statement.where(AuditEntry.action == filters.action)
    if filters.object_type:
        # Entries written before the "LocalProxy" fix carry that name; their action tells
        # the type.
        prefixes = [p for p, t in TYPE_OF_PREFIX.items() if t == filters.object_type]
        statement = statement.where(
            or_(
                AuditEntry.object_type == filters.object_type,
                (AuditEntry.object_type == "LocalProxy")
                & or_(
                    *[AuditEntry.action.startswith(p + ".", autoescape=True) for p in prefixes],
                    AuditEntry.action.in_(prefixes),
                ),
            )
        )
    if filters.object_text:
        ids = find_object_ids(filters.object_type or None, filters.object_text, MAX_OBJECTS)
        statement = (
            statement.where(AuditEntry.object_id.in_(ids))
            if ids
            else statement.where(AuditEntry.id.is_(None))
        )
    if filters.date_from:
        statement = statement.where(AuditEntry.created_at >= start_of_day(filters.date_from))
    if filters.date_to:
        end = start_of_day(filters.date_to + timedelta(days=1))
        statement = statement.where(AuditEntry.created_at < end)
    return statement


def page_of_entries(
    filters: AuditFilter, before: uuid.UUID | None, size: int
) -> tuple[list[AuditEntry], uuid.UUID | None]:
    """Return up to ``size`` entries older than ``before`` and the cursor of the next page."""
    statement = audit_statement(filters).order_by(AuditEntry.id.desc()).limit(size + 1)
    if before is not None:
        statement = statement.where(AuditEntry.id < before)
    entries = list(db.session.scalars(statement))
    more = len(entries) > size
    entries = entries[:size]
    return entries, (entries[-1].id if more and entries else None)
