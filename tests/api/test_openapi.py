"""The OpenAPI document: valid OpenAPI 3.1, generated from the code, listing every endpoint."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def test_the_document_is_valid_openapi_3_1_and_lists_every_endpoint(app, tenant, client_for):
    response = client_for(tenant).get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"] == "3.1.0"
    validate(document)
    documented = {
        (path, method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method.upper() in METHODS
    }
    served = set()
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.split(".", 1)[0]
        if blueprint.startswith("api_") and blueprint != "api_docs":
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            served |= {(path, method) for method in rule.methods & METHODS}
    assert served
    assert documented == served
    for path, method in documented:
        operation = document["paths"][path][method.lower()]
        assert operation["security"], (method, path)
    assert document["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"


def test_the_docs_page_shows_the_endpoints(tenant, client_for):
    page = client_for(tenant).get("/api/v1/docs")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "POST /api/v1/purchase-orders/{purchase_order_id}/confirm" in text
    assert "<script" not in text.split("</header>")[-1].split("<footer")[0]


def test_every_problem_type_has_its_anchor_on_the_docs_page(tenant, client_for):
    import re
    from pathlib import Path

    from portal.api import problems

    source = "".join(p.read_text() for p in Path(problems.__file__).parent.glob("*.py"))
    raised = set(re.findall(r'Problem\(\s*\d+,\s*"([a-z_]+)"', source))
    raised |= set(re.findall(r'return Problem\(\d+, "([a-z_]+)"', source))
    assert raised <= set(problems.all_codes())
    page = client_for(tenant).get("/api/v1/docs").get_data(as_text=True)
    for code in problems.all_codes():
        assert f'id="problem-{code}"' in page
