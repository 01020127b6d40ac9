"""schemathesis against the live OpenAPI document, with a supplier's, a client's and an
administrator's (tenant) token: no server error, no response that breaks the document."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy import select
from web.test_supplier_portal import order_from

from portal.testing.fixtures import tenant_host
from portal.web.limits import API_SETTING

CLIENT_SCOPES = [
    "orders:read",
    "orders:write",
    "products:read",
    "addresses:read",
    "addresses:write",
    "purchase_orders:read",
    "returns:read",
]


@pytest.fixture(params=["supplier", "client", "tenant"])
def fuzzed(
    request,
    app,
    monkeypatch,
    in_tenant,
    trade,
    issue_token,
    create_order,
    create_address,
    create_user,
    create_product,
    create_shipment,
):
    """The document as a tenant's host serves it, and the headers of a supplier's, a
    client's or an administrator's token."""
    # Hundreds of requests a minute: the fuzzer is to reach the views, not the rate limit.
    monkeypatch.setitem(app.config, API_SETTING, "1000000 per minute")
    order_from(app, in_tenant, trade)
    order_from(app, in_tenant, trade, {"socks": 4})
    host = tenant_host(trade.tenant)
    if request.param == "supplier":
        secret = issue_token(trade.supplier_user, trade.tenant)
    elif request.param == "tenant":
        from portal.accounts.models import Role
        from portal.api.tokens import SCOPES_FOR_ROLE

        product = create_product(trade.tenant, trade.client, code="FUZZ-1", stock=5)
        create_shipment(trade.tenant, trade.client, [(product, 1)])
        create_order(trade.tenant, trade.client, [(product, 1)])
        admin = create_user(trade.tenant, "admin")
        secret = issue_token(admin, trade.tenant, list(SCOPES_FOR_ROLE[Role.ADMIN]))
    else:
        with in_tenant(trade.tenant) as session:
            from portal.core.products.models import Product

            products = session.scalars(
                select(Product).where(Product.client_id == trade.client.id)
            ).all()
        create_order(trade.tenant, trade.client, [(products[0], 1)])
        create_address(trade.tenant, trade.client)
        secret = issue_token(trade.store_user, trade.tenant, CLIENT_SCOPES)
    headers = {"Host": host, "Authorization": f"Bearer {secret}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers={"Host": host})
    return schema, headers


# schemathesis' own pytest plugin does not run under pytest 9 yet; each operation's
# strategy is driven by Hypothesis here instead.
def _check(operation, headers):
    @given(case=operation.as_strategy())
    @settings(
        max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def check(case):
        # An opaque cursor cannot be described by a schema: a made-up one is rightly refused.
        case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

    check()


def test_the_api_keeps_its_document(fuzzed):
    schema, headers = fuzzed
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    for operation in operations:
        _check(operation, headers)
