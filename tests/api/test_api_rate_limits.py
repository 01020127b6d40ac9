"""Rate limits of the API: per token, with RateLimit headers, 429 with Retry-After as a
problem document; another token (of another tenant or the same one) is not slowed."""

from __future__ import annotations

import pytest

from portal.web.limits import API_DEFAULT, API_SETTING

PROBLEM = "application/problem+json"


@pytest.fixture
def three_a_minute(app, monkeypatch):
    monkeypatch.setitem(app.config, API_SETTING, "3 per minute")


def test_the_default_is_600_a_minute(app, trade, issue_token, api_client):
    assert API_DEFAULT == "600 per minute"
    response = api_client(trade.tenant, issue_token(trade.supplier_user, trade.tenant)).get(
        "/api/v1/me"
    )
    assert response.status_code == 200
    assert response.headers["RateLimit-Policy"] == '"token";q=600;w=60'
    assert response.headers["RateLimit"].startswith('"token";r=599;t=')


def test_a_token_beyond_its_limit_waits_and_others_do_not(
    app, three_a_minute, trade, other_tenant, create_user, issue_token, api_client
):
    flood = api_client(trade.tenant, issue_token(trade.supplier_user, trade.tenant))
    calm = api_client(trade.tenant, issue_token(trade.supplier_user, trade.tenant, name="Calm"))
    supplier_abroad = create_user(other_tenant, "supplier")
    abroad = api_client(other_tenant, issue_token(supplier_abroad, other_tenant))
    remaining = []
    for _ in range(3):
        response = flood.get("/api/v1/me")
        assert response.status_code == 200
        remaining.append(response.headers["RateLimit"].split(";")[1])
    assert remaining == ["r=2", "r=1", "r=0"]

    refused = flood.get("/api/v1/purchase-orders", headers={"Accept-Language": "de"})
    assert refused.status_code == 429
    assert refused.mimetype == PROBLEM
    assert refused.get_json()["code"] == "too_many_requests"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["RateLimit-Policy"] == '"token";q=3;w=60'
    assert refused.headers["Content-Language"] == "de"
    assert str(refused.headers["Retry-After"]) in refused.get_json()["detail"]
    # Every write is refused the same way, before anything is done.
    path = "/api/v1/purchase-orders/01234567-89ab-7def-8123-456789abcdef/acknowledge"
    assert flood.post(path, json={}).status_code == 429

    assert calm.get("/api/v1/me").status_code == 200
    assert abroad.get("/api/v1/me").status_code == 200


def test_a_request_without_a_valid_token_is_not_counted_for_any_token(
    app, three_a_minute, trade, issue_token, api_client, client_for
):
    for _ in range(5):
        assert client_for(trade.tenant).get("/api/v1/me").status_code == 401
    erp = api_client(trade.tenant, issue_token(trade.supplier_user, trade.tenant))
    assert erp.get("/api/v1/me").status_code == 200
