"""Tenants and users of a portal served to a browser test, as the test knows them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SiteTenant:
    """A tenant committed to a served portal's database, with the address of its portal."""

    id: uuid.UUID
    slug: str
    name: str
    base_url: str
    theme_settings: dict[str, Any] = field(default_factory=dict)

    def url(self, path: str = "/") -> str:
        return self.base_url + path


@dataclass(frozen=True)
class SiteUser:
    """A user committed to a served portal's database, with the password to type."""

    email: str
    password: str
    display_name: str
    tenant: SiteTenant
