"""Fixtures of the API tests: a store trading with a factory, tokens, a client that speaks
the API on a tenant's host."""

from __future__ import annotations

import pytest
from web.test_supplier_portal import make_trade

from portal.accounts.models import User
from portal.api import tokens

ALL = ["purchase_orders:read", "purchase_orders:write"]


@pytest.fixture
def trade(app, in_tenant, tenant, create_client, create_user, create_product):
    return make_trade(app, in_tenant, tenant, create_client, create_user, create_product)


@pytest.fixture
def issue_token(in_tenant):
    """Return ``issue_token(user, tenant, scopes=ALL)``: the secret of a new token."""

    def issue(user, tenant, scopes=ALL, **overrides) -> str:
        with in_tenant(tenant) as session:
            owner = session.get(User, (tenant.id, user.id))
            issued = tokens.create_token(owner, overrides.pop("name", "ERP"), scopes, **overrides)
            session.commit()
            return issued.secret

    return issue


@pytest.fixture
def api_client(client_for):
    """Return ``api_client(tenant, secret)``: a test client sending the token as Bearer."""

    def make(tenant, secret: str | None = None, **headers):
        client = client_for(tenant)
        if secret:
            client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
        for name, value in headers.items():
            client.environ_base["HTTP_" + name.upper()] = value
        return client

    return make
