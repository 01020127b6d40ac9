"""What the tenant scope shares: an administrator's token acts for the whole tenant.

A tenant token is bound to no client or supplier, so its statements are not narrowed to a
partner; the tenant scoping of the session still hides every other tenant's rows, so another
tenant's id is simply not found (404), as on the staff pages. The collections page and sync
exactly like the client scope's (:mod:`portal.api.client_sync`).
"""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import fields

from portal.api.blueprints import resource_blueprint
from portal.api.client_sync import SyncQuerySchema

#: The part of the path under ``/api/v1`` where the tenant scope lives.
PREFIX = "/tenant"


def path(resource: str) -> str:
    return f"{PREFIX}{resource}"


def tenant_blueprint(name: str, import_name: str, resource: str, description: str) -> Blueprint:
    """Return the blueprint of a tenant resource family, at ``/api/v1/tenant<resource>``.

    (A control character in a JSON body is refused for every endpoint by
    :mod:`portal.web.input_guard`.)
    """
    return resource_blueprint(name, import_name, path(resource), description)


class ClientSyncQuerySchema(SyncQuerySchema):
    """A tenant collection that can be narrowed to one client."""

    client_id = fields.UUID(metadata={"description": "Only what belongs to this client"})
