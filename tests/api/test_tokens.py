"""Integration tokens: the Integration page, regenerate and revoke, what is stored."""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import select
from web.test_supplier_portal import text_of

from portal.api.models import ApiToken
from portal.audit.models import AuditEntry

SECRET = re.compile(r'value="(ptk_[a-z0-9]{8}_[A-Za-z0-9_-]{43})"')


def form_token(browser, path):
    page = text_of(browser.get(path))
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_a_supplier_creates_regenerates_and_revokes_a_token(trade, in_tenant, login_as, api_client):
    browser = login_as(trade.supplier_user, trade.tenant)
    page = browser.get("/integration/")
    assert page.status_code == 200
    assert "You have no integration tokens yet." in text_of(page)
    created = browser.post(
        "/integration/",
        data={"csrf_token": form_token(browser, "/integration/"), "name": "Our ERP", "read": "y"},
    )
    assert created.status_code == 200
    secret = SECRET.search(text_of(created)).group(1)
    assert "shown only this once" in text_of(created)
    with in_tenant(trade.tenant) as session:
        token = session.scalar(select(ApiToken))
        assert token.scopes == ["purchase_orders:read"]
        assert token.supplier_id == trade.supplier.id
        # Only the fingerprint is kept.
        assert token.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in repr(session.scalars(select(AuditEntry.details)).all())
        token_id = token.id
    erp = api_client(trade.tenant, secret)
    assert erp.get("/api/v1/me").status_code == 200
    with in_tenant(trade.tenant) as session:
        assert session.get(ApiToken, (trade.tenant.id, token_id)).last_used_at is not None
    listing = text_of(browser.get("/integration/"))
    assert "Our ERP" in listing
    assert secret not in listing

    warning = text_of(browser.get(f"/integration/{token_id}/regenerate"))
    assert "stops working the moment you regenerate it" in warning
    regenerated = browser.post(
        f"/integration/{token_id}/regenerate",
        data={"csrf_token": form_token(browser, f"/integration/{token_id}/regenerate")},
    )
    new_secret = SECRET.search(text_of(regenerated)).group(1)
    assert new_secret != secret
    assert "has stopped working" in text_of(regenerated)
    assert erp.get("/api/v1/me").status_code == 401  # at once
    fresh = api_client(trade.tenant, new_secret)
    assert fresh.get("/api/v1/me").status_code == 200

    browser.post(
        f"/integration/{token_id}/revoke",
        data={"csrf_token": form_token(browser, f"/integration/{token_id}/revoke")},
    )
    assert fresh.get("/api/v1/me").status_code == 401
    with in_tenant(trade.tenant) as session:
        actions = session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.action.like("api_token.%"))
            .order_by(AuditEntry.id)
        ).all()
    assert actions == ["api_token.created", "api_token.regenerated", "api_token.revoked"]


def test_tokens_need_a_name_and_a_permission(trade, login_as):
    browser = login_as(trade.supplier_user, trade.tenant)
    response = browser.post(
        "/integration/", data={"csrf_token": form_token(browser, "/integration/"), "name": ""}
    )
    assert response.status_code == 200
    assert "Please give the token a name." in text_of(response)
    assert not SECRET.search(text_of(response))


def test_only_suppliers_clients_and_admins_see_the_integration_page(
    trade, login_as, create_user, in_tenant
):
    from portal.core.clients.models import Client

    staff = create_user(trade.tenant, "staff")
    assert login_as(staff, trade.tenant).get("/integration/").status_code == 403
    admin = create_user(trade.tenant, "admin")
    assert login_as(admin, trade.tenant).get("/integration/").status_code == 200
    store = login_as(trade.store_user, trade.tenant)
    assert store.get("/integration/").status_code == 200
    with in_tenant(trade.tenant) as session:
        session.get(Client, (trade.tenant.id, trade.client.id)).portal_access = False
        session.commit()
    assert store.get("/integration/").status_code in (302, 403)


def test_a_client_creates_a_token_for_its_webshop(trade, in_tenant, login_as, api_client):
    browser = login_as(trade.store_user, trade.tenant)
    page = text_of(browser.get("/integration/"))
    assert "Create, change and cancel orders (includes reading them)" in page
    assert "Answer purchase orders" not in page
    created = browser.post(
        "/integration/",
        data={
            "csrf_token": form_token(browser, "/integration/"),
            "name": "Webshop",
            "orders_write": "y",
            "products_read": "y",
            # A box of another role's form is no permission of this one.
            "write": "y",
        },
    )
    assert created.status_code == 200
    secret = SECRET.search(text_of(created)).group(1)
    with in_tenant(trade.tenant) as session:
        token = session.scalar(select(ApiToken))
        assert token.scopes == ["orders:read", "orders:write", "products:read"]
        assert token.client_id == trade.client.id
        assert token.supplier_id is None
    webshop = api_client(trade.tenant, secret)
    assert webshop.get("/api/v1/me").get_json()["client"]["name"] == trade.client.name
    assert webshop.get("/api/v1/orders").status_code == 200
    assert webshop.get("/api/v1/addresses").status_code == 403
    assert webshop.get("/api/v1/purchase-orders").status_code == 403


def test_an_expired_token_is_refused(trade, issue_token, api_client, in_tenant):
    from datetime import timedelta

    from portal.db import utcnow

    secret = issue_token(trade.supplier_user, trade.tenant, expires_at=utcnow() + timedelta(days=1))
    assert api_client(trade.tenant, secret).get("/api/v1/me").status_code == 200
    with in_tenant(trade.tenant) as session:
        token = session.scalar(select(ApiToken))
        token.expires_at = utcnow() - timedelta(seconds=1)
        session.commit()
    assert api_client(trade.tenant, secret).get("/api/v1/me").status_code == 401


def test_an_unknown_api_address_answers_with_a_problem_document(trade, issue_token, api_client):
    secret = issue_token(trade.supplier_user, trade.tenant)
    client = api_client(trade.tenant, secret, ACCEPT_LANGUAGE="de")

    response = client.get("/api/v1/no-such-resource")

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 404
    assert response.headers["Content-Language"] == "de"
    assert client.delete("/api/v1/me").mimetype == "application/problem+json"
