"""The webhook pages of admins and suppliers and the supplier's API: manage, rotate, test,
deliveries, send again; another tenant's or another partner's id is not found."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from web.test_supplier_portal import make_trade

from portal.outbox.services import deliver_due
from portal.webhooks import services
from portal.webhooks.models import OwnerKind, WebhookDelivery, WebhookEndpoint

PROBLEM = "application/problem+json"


def post(browser, path, **data):
    return browser.post(path, data={"csrf_token": browser.csrf_token("/webhooks/"), **data})


def endpoint_with_delivery(app, in_tenant, tenant, owner, url):
    with in_tenant(tenant) as session:
        endpoint, _secret = services.create_endpoint(owner, url, ["purchase_order.sent"])
        delivery = services.send_test_event(endpoint)
        session.commit()
        return endpoint.id, delivery.id


def id_routes(endpoint_id, delivery_id):
    return [
        ("get", f"/webhooks/{endpoint_id}"),
        ("post", f"/webhooks/{endpoint_id}"),
        ("get", f"/webhooks/{endpoint_id}/rotate"),
        ("post", f"/webhooks/{endpoint_id}/rotate"),
        ("post", f"/webhooks/{endpoint_id}/test"),
        ("get", f"/webhooks/{endpoint_id}/delete"),
        ("post", f"/webhooks/{endpoint_id}/delete"),
        ("get", f"/webhooks/{endpoint_id}/deliveries/{delivery_id}"),
        ("post", f"/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay"),
    ]


def test_every_webhook_page_with_an_id_refuses_other_tenants_and_partners(
    app,
    in_tenant,
    tenant,
    other_tenant,
    create_client,
    create_user,
    create_product,
    login_as,
    receiver,
    allow_private,
):
    mine = make_trade(app, in_tenant, tenant, create_client, create_user, create_product)
    theirs = make_trade(
        app,
        in_tenant,
        tenant,
        create_client,
        create_user,
        create_product,
        store="Other Store",
        name="Other Factory",
    )
    foreign = make_trade(app, in_tenant, other_tenant, create_client, create_user, create_product)
    supplier = lambda trade: services.Owner(OwnerKind.SUPPLIER, supplier_id=trade.supplier.id)  # noqa: E731
    other_partner = endpoint_with_delivery(app, in_tenant, tenant, supplier(theirs), receiver.url)
    tenant_owned = endpoint_with_delivery(
        app, in_tenant, tenant, services.Owner(OwnerKind.TENANT), receiver.url
    )
    other_tenant_owned = endpoint_with_delivery(
        app, in_tenant, other_tenant, supplier(foreign), receiver.url
    )
    own = endpoint_with_delivery(app, in_tenant, tenant, supplier(mine), receiver.url)
    factory = login_as(mine.supplier_user, tenant)
    admin = login_as(create_user(tenant, "admin"), tenant)
    token = factory.csrf_token("/webhooks/")
    admin_token = admin.csrf_token("/webhooks/")
    for endpoint_id, delivery_id in (other_partner, tenant_owned, other_tenant_owned):
        for method, path in id_routes(endpoint_id, delivery_id):
            response = getattr(factory, method)(path, data={"csrf_token": token})
            assert response.status_code == 404, (method, path, response.status_code)
    # An admin manages the tenant's endpoints, not a supplier's nor another tenant's.
    for endpoint_id, delivery_id in (own, other_partner, other_tenant_owned):
        for method, path in id_routes(endpoint_id, delivery_id):
            response = getattr(admin, method)(path, data={"csrf_token": admin_token})
            assert response.status_code == 404, (method, path, response.status_code)
    for method, path in id_routes(*own):
        if method == "get":
            assert factory.get(path).status_code == 200, path
    for method, path in id_routes(*tenant_owned):
        if method == "get":
            assert admin.get(path).status_code == 200, path
    # A client user and staff have no webhook pages.
    assert login_as(mine.store_user, tenant).get("/webhooks/").status_code == 403
    assert login_as(create_user(tenant, "staff"), tenant).get("/webhooks/").status_code == 403


def test_a_supplier_adds_a_webhook_tests_it_rotates_and_sends_again(
    app,
    in_tenant,
    tenant,
    create_client,
    create_user,
    create_product,
    login_as,
    receiver,
    allow_private,
):
    trade = make_trade(app, in_tenant, tenant, create_client, create_user, create_product)
    browser = login_as(trade.supplier_user, tenant)
    page = browser.get("/webhooks/")
    assert page.status_code == 200
    assert "Purchase order confirmed" in page.get_data(as_text=True)
    assert "Order created" not in page.get_data(as_text=True)  # not a supplier's event

    refused = post(browser, "/webhooks/", url="http://127.0.0.1:1/x", event_types=[])
    assert refused.status_code == 200
    assert "Please choose at least one event." in refused.get_data(as_text=True)
    refused = post(browser, "/webhooks/", url="ftp://x", event_types=["purchase_order.sent"])
    assert "Please enter a web address" in refused.get_data(as_text=True)

    answer = post(
        browser,
        "/webhooks/",
        url=receiver.url,
        description="ERP",
        event_types=["purchase_order.sent", "purchase_order.confirmed"],
    )
    assert answer.status_code == 200
    secret = re.search(r'value="(whsec_[^"]+)"', answer.get_data(as_text=True)).group(1)
    with in_tenant(tenant) as session:
        endpoint = session.scalar(select(WebhookEndpoint))
        assert endpoint.supplier_id == trade.supplier.id
        assert endpoint.secrets["current"] == secret
        endpoint_id = endpoint.id

    detail = f"/webhooks/{endpoint_id}"
    assert post(browser, f"{detail}/test").status_code == 302
    with app.app_context():
        deliver_due()
    headers, _body = receiver.requests[-1]
    from standardwebhooks import Webhook

    assert Webhook(secret).verify(receiver.requests[-1][1], headers)["type"] == "webhook.ping"
    page = browser.get(detail).get_data(as_text=True)
    assert "webhook.ping" in page
    assert "Delivered" in page

    rotated = post(browser, f"{detail}/rotate", grace_hours="2")
    new_secret = re.search(r'value="(whsec_[^"]+)"', rotated.get_data(as_text=True)).group(1)
    assert new_secret != secret
    refused = post(browser, f"{detail}/rotate", grace_hours="500")
    assert "from 0 to 168" in refused.get_data(as_text=True)

    with in_tenant(tenant) as session:
        delivery_id = session.scalar(select(WebhookDelivery.id))
    shown = browser.get(f"{detail}/deliveries/{delivery_id}").get_data(as_text=True)
    assert "answer 200" in shown
    assert post(browser, f"{detail}/deliveries/{delivery_id}/replay").status_code == 302
    with app.app_context():
        deliver_due()
    assert len(receiver.requests) == 2
    assert receiver.requests[0][0]["webhook-id"] == receiver.requests[1][0]["webhook-id"]

    saved = post(
        browser,
        detail,
        url=receiver.url,
        description="ERP 2",
        event_types=["purchase_order.sent"],
    )
    assert saved.status_code == 302
    with in_tenant(tenant) as session:
        endpoint = session.get(WebhookEndpoint, (tenant.id, endpoint_id))
        assert endpoint.description == "ERP 2"
        assert endpoint.enabled is False  # the box was not ticked: switched off
    assert post(browser, f"{detail}/delete").status_code == 302
    with in_tenant(tenant) as session:
        assert session.scalar(select(WebhookEndpoint)) is None


@pytest.fixture
def erp(
    app, in_tenant, tenant, create_client, create_user, create_product, issue_token, api_client
):
    trade = make_trade(app, in_tenant, tenant, create_client, create_user, create_product)
    return trade, api_client(tenant, issue_token(trade.supplier_user, tenant))


def test_the_supplier_api_manages_webhooks(
    app,
    in_tenant,
    tenant,
    other_tenant,
    create_client,
    create_user,
    create_product,
    erp,
    issue_token,
    api_client,
    receiver,
    allow_private,
):
    _trade, client = erp
    body = {"url": receiver.url, "event_types": ["purchase_order.sent"], "description": "ERP"}
    first = client.post("/api/v1/webhooks", json=body, headers={"Idempotency-Key": "hook-1"})
    assert first.status_code == 201, first.get_json()
    again = client.post("/api/v1/webhooks", json=body, headers={"Idempotency-Key": "hook-1"})
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    created = first.get_json()
    assert created["secret"].startswith("whsec_")
    webhook = f"/api/v1/webhooks/{created['id']}"
    assert [w["id"] for w in client.get("/api/v1/webhooks").get_json()["items"]] == [created["id"]]
    assert "secret" not in client.get(webhook).get_json()

    refused = client.post(
        "/api/v1/webhooks", json={"url": "ftp://10.0.0.1/", "event_types": ["purchase_order.sent"]}
    )
    assert refused.status_code == 422
    assert refused.mimetype == PROBLEM
    assert refused.get_json()["errors"][0]["field"] == "url"
    refused = client.post(
        "/api/v1/webhooks", json={"url": receiver.url, "event_types": ["order.created"]}
    )
    assert refused.status_code == 422  # not a supplier's event
    assert refused.get_json()["errors"][0]["field"] == "event_types"

    changed = client.patch(webhook, json={"description": "ERP 2", "enabled": False})
    assert changed.status_code == 200
    assert changed.get_json()["enabled"] is False
    assert client.patch(webhook, json={"enabled": True}).get_json()["enabled"] is True
    rotated = client.post(f"{webhook}/rotate", json={"grace_hours": 1})
    assert rotated.status_code == 200
    assert rotated.get_json()["secret"] != created["secret"]
    assert rotated.get_json()["previous_secret_until"]
    tested = client.post(f"{webhook}/test")
    assert tested.status_code == 202
    assert tested.get_json()["event_type"] == "webhook.ping"
    with app.app_context():
        deliver_due()
    [listed] = client.get(f"{webhook}/deliveries").get_json()["items"]
    assert listed["status"] == "succeeded"
    assert listed["attempts"][0]["status_code"] == 200
    replayed = client.post(f"{webhook}/deliveries/{listed['id']}/replay")
    assert replayed.status_code == 202

    # Another supplier of the tenant and another tenant's supplier do not find it.
    other = make_trade(
        app,
        in_tenant,
        tenant,
        create_client,
        create_user,
        create_product,
        store="Other Store",
        name="Other Factory",
    )
    stranger = api_client(tenant, issue_token(other.supplier_user, tenant))
    foreign_trade = make_trade(
        app, in_tenant, other_tenant, create_client, create_user, create_product
    )
    foreigner = api_client(other_tenant, issue_token(foreign_trade.supplier_user, other_tenant))
    for outsider in (stranger, foreigner):
        assert outsider.get("/api/v1/webhooks").get_json()["items"] == []
        for method, path in [
            ("get", webhook),
            ("patch", webhook),
            ("delete", webhook),
            ("post", f"{webhook}/rotate"),
            ("post", f"{webhook}/test"),
            ("get", f"{webhook}/deliveries"),
            ("post", f"{webhook}/deliveries/{listed['id']}/replay"),
        ]:
            response = getattr(outsider, method)(path, json={})
            assert response.status_code == 404, (method, path, response.status_code)
            assert response.mimetype == PROBLEM
    assert client.delete(webhook).status_code == 204
    assert client.get(webhook).status_code == 404


def test_webhooks_are_in_the_openapi_document(client_for, tenant):
    document = client_for(tenant).get("/api/v1/openapi.json").get_json()
    assert "/api/v1/webhooks" in document["paths"]
    assert "/api/v1/webhooks/{webhook_id}/rotate" in document["paths"]
