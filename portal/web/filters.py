"""The status and client filters that the purchase-order and return lists share."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field

from flask import abort, request
from sqlalchemy import Select, select

from portal.core.clients.models import Client
from portal.db import db
from portal.web.access import is_staff, visible


def client_choices() -> list[tuple[str, str]]:
    """Return ``(id, name)`` of the tenant's clients, by name, for a select."""
    rows = db.session.execute(select(Client.id, Client.name).order_by(Client.name, Client.id))
    return [(str(client_id), name) for client_id, name in rows]


@dataclass
class ListFilters:
    """A list's statement narrowed by the query string, and what the filter form shows."""

    statement: Select
    status: str = ""
    client_id: str = ""
    clients: list[tuple[str, str]] = field(default_factory=list)

    @property
    def args(self) -> dict[str, str]:
        """The query-string arguments that keep these filters on the next page."""
        return {
            key: value
            for key, value in (("status", self.status), ("client", self.client_id))
            if value
        }


def status_and_client_filters(model, statuses: type[enum.Enum]) -> ListFilters:
    """Return ``model``'s rows the current user may see, narrowed by ``?status=`` and (for
    staff) ``?client=``; an unknown status or a malformed client id is a bad request."""
    filters = ListFilters(visible(select(model), model))
    status = request.args.get("status", "")
    if status:
        try:
            filters.statement = filters.statement.where(model.status == statuses(status))
        except ValueError:
            abort(400)
        filters.status = status
    if is_staff():
        filters.clients = client_choices()
        if request.args.get("client"):
            try:
                client_id = uuid.UUID(request.args["client"])
            except ValueError:
                abort(400)
            filters.statement = filters.statement.where(model.client_id == client_id)
            filters.client_id = str(client_id)
    return filters
