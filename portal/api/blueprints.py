"""What every blueprint of the API shares: tenant hosts only, no CSRF (a token is no cookie),
problem documents for every failure, the token's actor reset after the request."""

from __future__ import annotations

from flask import g
from flask_smorest import Blueprint

from portal.api import auth
from portal.api.problems import Problem, register_handlers

PREFIX = "/api/v1"


def resource_blueprint(name: str, import_name: str, path: str, description: str) -> Blueprint:
    """Return the blueprint of one resource family, mounted at ``/api/v1<path>``."""
    blp = Blueprint(name, import_name, url_prefix=PREFIX + path, description=description)
    register_handlers(blp)

    @blp.before_request
    def _tenant_hosts_only():
        # The platform's base domain has no tenant, hence no API (as for every tenant page).
        if g.get("tenant") is None:
            raise Problem(404)

    blp.teardown_request(auth.leave)
    return blp
