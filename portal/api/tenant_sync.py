"""What the tenant scope shares: an administrator's token acts for the whole tenant.

A tenant token is bound to no client or supplier, so its statements are not narrowed to a
partner; the tenant scoping of the session still hides every other tenant's rows, so another
tenant's id is simply not found (404), as on the staff pages. The collections page and sync
exactly like the client scope's (:mod:`portal.api.client_sync`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import request
from flask_smorest import Blueprint
from marshmallow import fields

from portal.api.blueprints import resource_blueprint
from portal.api.client_sync import SyncQuerySchema
from portal.web.input_guard import ForbiddenCharacters, has_forbidden_characters

#: The part of the path under ``/api/v1`` where the tenant scope lives.
PREFIX = "/tenant"


def path(resource: str) -> str:
    return f"{PREFIX}{resource}"


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def tenant_blueprint(name: str, import_name: str, resource: str, description: str) -> Blueprint:
    """Return the blueprint of a tenant resource family, at ``/api/v1/tenant<resource>``.

    A control character (a NUL byte) in the JSON body is refused (400
    ``forbidden_characters``) as the pages refuse it in a form: PostgreSQL cannot store it.
    """
    blp = resource_blueprint(name, import_name, path(resource), description)

    @blp.before_request
    def _refuse_control_characters():
        if request.is_json and request.content_length:
            body = request.get_json(silent=True)
            if any(has_forbidden_characters(text) for text in _texts(body)):
                raise ForbiddenCharacters()

    return blp


class ClientSyncQuerySchema(SyncQuerySchema):
    """A tenant collection that can be narrowed to one client."""

    client_id = fields.UUID(metadata={"description": "Only what belongs to this client"})
