"""The OpenAPI document and a docs page that shows it, on tenant hosts only.

The page is rendered on the server from the generated document: no script, no CDN, the
portal's own style. (The Swagger UI on PyPI bundles 4.x, which cannot show OpenAPI 3.1.)
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, g, jsonify, render_template

from portal.api.blueprints import PREFIX
from portal.api.problems import all_codes

bp = Blueprint("api_docs", __name__, url_prefix=PREFIX)

METHODS = ("get", "put", "post", "patch", "delete")


def openapi_document() -> dict:
    return current_app.extensions["portal.api"].spec.to_dict()


@bp.before_request
def _tenant_hosts_only():
    if g.get("tenant") is None:
        abort(404)


@bp.route("/openapi.json")
def openapi_json():
    return jsonify(openapi_document())


@bp.route("/docs")
def docs():
    document = openapi_document()
    operations = [
        (path, method.upper(), operation)
        for path, item in document.get("paths", {}).items()
        for method, operation in item.items()
        if method in METHODS
    ]
    return render_template(
        "api/docs.html", document=document, operations=operations, codes=all_codes()
    )
