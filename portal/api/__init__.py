"""The integration API at ``/api/v1/``: JSON, integration tokens, problem documents, an
OpenAPI 3.1 document generated from the schemas at ``/api/v1/openapi.json``.

One module per resource family (:mod:`portal.api.purchase_orders`, :mod:`portal.api.me`),
each calling the same core services as the pages. The portal's app is a plain Flask app, so
the API uses flask-smorest, which documents blueprints of any Flask app (APIFlask generates
its document only for an ``APIFlask`` application; see docs/api.md).
"""

from __future__ import annotations

from importlib import import_module

from flask import Flask
from flask_smorest import Api

from portal.api.problems import MEDIA_TYPE
from portal.api.schemas import ProblemSchema

#: The resource families, each a module with a ``bp`` blueprint.
RESOURCE_MODULES = (
    "portal.api.me",
    "portal.api.purchase_orders",
    "portal.api.client_addresses",
    "portal.api.client_products",
    "portal.api.client_stock_movements",
    "portal.api.client_orders",
    "portal.api.client_shipments",
    "portal.api.client_backorders",
    "portal.api.client_purchase_orders",
    "portal.api.client_returns",
    "portal.api.webhooks",
    *(
        f"portal.api.tenant_{name}"
        for name in (
            "clients",
            "suppliers",
            "orders",
            "shipments",
            "backorders",
            "products",
            "purchase_orders",
            "returns",
            "webhooks",
        )
    ),
    *(f"portal.api.supplier_{name}" for name in ("dispatch", "documents", "catalogue", "stores")),
)
#: Plain pages and documents around the API: openapi.json, the docs page, Integration settings.
PAGE_MODULES = ("portal.api.docs", "portal.api.views")

SETTINGS = {
    "API_TITLE": "Portal integration API",
    "API_VERSION": "1",
    "OPENAPI_VERSION": "3.1.0",
    # The document is served by portal.api.docs on tenant hosts only, not by flask-smorest.
    "OPENAPI_URL_PREFIX": None,
}


class PortalApi(Api):
    """flask-smorest's Api, with problem documents and without app-wide error handlers.

    flask-smorest would answer every HTTP error of the whole app with JSON; the pages keep
    their own error pages, and the API's blueprints answer with problem documents
    (:func:`portal.api.problems.register_handlers`).
    """

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self):
        pass

    def _register_responses(self):
        from flask_smorest.utils import prepare_response

        response = {"description": "A problem document (RFC 9457)", "schema": ProblemSchema}
        prepare_response(response, self.spec, MEDIA_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)
        for status in (400, 401, 403, 404, 409, 422):
            problem = {"description": "A problem document (RFC 9457)", "schema": ProblemSchema}
            prepare_response(problem, self.spec, MEDIA_TYPE)
            self.spec.components.response(_status_name(status), problem, lazy=True)


def _status_name(status: int) -> str:
    from http import HTTPStatus

    return HTTPStatus(status).name


def init_app(app: Flask) -> None:
    """Mount the API on the app: its blueprints, the OpenAPI document and the pages."""
    from portal.security import csrf

    for key, value in SETTINGS.items():
        app.config.setdefault(key, value)
    api = PortalApi(
        app,
        spec_kwargs={
            "info": {
                "description": "Work a tenant's purchase orders from your own software. "
                "Authenticate with an integration token: Authorization: Bearer <token>."
            }
        },
    )
    api.spec.components.security_scheme(
        "bearerToken", {"type": "http", "scheme": "bearer", "bearerFormat": "ptk_..."}
    )
    for name in RESOURCE_MODULES:
        blueprint = import_module(name).bp
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint)
    for name in PAGE_MODULES:
        app.register_blueprint(import_module(name).bp)
    app.extensions["portal.api"] = api
