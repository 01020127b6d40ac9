"""The main menu: each feature's views module adds its entries; the base template shows
those the current user's role may open."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, request
from flask_login import current_user

from portal.accounts.models import Role

EVERYONE = frozenset(Role)
STAFF = frozenset({Role.ADMIN, Role.STAFF})
CLIENT_AND_STAFF = frozenset({Role.ADMIN, Role.STAFF, Role.CLIENT})


@dataclass(frozen=True)
class NavItem:
    """A menu entry: the endpoint it opens, its (lazy) label, who sees it, and its place."""

    endpoint: str
    label: object
    roles: frozenset[Role]
    position: int
    # Endpoints that start with this prefix mark the entry as the current page.
    section: str | None = None

    def is_current(self) -> bool:
        endpoint = request.endpoint or ""
        return endpoint == self.endpoint or bool(self.section and endpoint.startswith(self.section))


_items: dict[str, NavItem] = {}


def add_nav_item(item: NavItem) -> None:
    """Add (or replace) the menu entry for ``item.endpoint``."""
    _items[item.endpoint] = item


def nav_items() -> list[NavItem]:
    """Return the entries the current user may see, in menu order."""
    if not current_user.is_authenticated:
        return []
    return sorted(
        (item for item in _items.values() if current_user.role in item.roles),
        key=lambda item: item.position,
    )


def init_app(app: Flask) -> None:
    app.jinja_env.globals["nav_items"] = nav_items
