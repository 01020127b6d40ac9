"""The supplier's side of the API: a factory's ERP works its purchase orders."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from flask_babel import force_locale
from sqlalchemy import func, select
from web.test_supplier_portal import load, make_trade, order_from, text_of

from portal.api.models import ApiToken
from portal.audit.models import AuditEntry
from portal.core.purchasing import responses
from portal.core.purchasing.models import PurchaseOrderStatus as Status

PROBLEM = "application/problem+json"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def poll(erp, since: str | None = None, **args):
    """Follow ``next`` to the end; return the orders and the server time to send next."""
    query = {"updated_since": since, **args} if since else args
    response = erp.get("/api/v1/purchase-orders", query_string=query)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    items, server_time = list(body["items"]), body["server_time"]
    while body["next"]:
        following = erp.get(body["next"])
        assert following.status_code == 200, (body["next"], following.get_json())
        body = following.get_json()
        items += body["items"]
    return items, server_time


def test_a_factory_erp_works_its_orders_through_the_api(
    app, in_tenant, trade, issue_token, api_client, login_as
):
    erp = api_client(trade.tenant, issue_token(trade.supplier_user, trade.tenant))
    items, since = poll(erp)
    assert items == []
    first = order_from(app, in_tenant, trade, reference="REF-1")
    second = order_from(app, in_tenant, trade, {"socks": 2})
    draft = order_from(app, in_tenant, trade, send=False)

    items, since = poll(erp, since, size=1)  # one per page: the cursor carries the rest
    assert {item["id"] for item in items} == {str(first), str(second)}
    assert str(draft) not in {item["id"] for item in items}
    listed = next(item for item in items if item["id"] == str(first))
    assert listed["status"] == "transferred"
    assert listed["customer_number"] == "C-4711"
    assert listed["reference"] == "REF-1"
    assert [line["product_code"] for line in listed["lines"]] == ["BOOT-1", "SOCK-1"]
    assert listed["actions"] == {
        "acknowledge": True,
        "answer": True,
        "reference": True,
        "production": False,
        "dispatch": False,
        "documents": True,
    }

    response = erp.post(f"/api/v1/purchase-orders/{first}/acknowledge", json={})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "acknowledged"
    version = response.get_json()["version"]
    boots = listed["lines"][0]
    response = erp.post(
        f"/api/v1/purchase-orders/{first}/confirm",
        json={"version": version, "lines": [{"id": boots["id"], "unit_price": "13.75"}]},
    )
    assert response.status_code == 200, response.get_json()
    confirmed = response.get_json()
    assert confirmed["status"] == "confirmed"
    assert confirmed["lines"][0]["unit_price"] == "13.75"
    response = erp.post(
        f"/api/v1/purchase-orders/{second}/reject", json={"reason": "Out of socks until May"}
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "rejected"
    response = erp.put(
        f"/api/v1/purchase-orders/{first}/supplier-reference",
        json={"order_number": "F-9001", "situation": "Planned"},
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["supplier_order_number"] == "F-9001"

    changed, _ = poll(erp, since)
    assert {item["id"]: item["status"] for item in changed} == {
        str(first): "confirmed",
        str(second): "rejected",
    }

    # The goods leave in two parts: first the boots, then the rest; a delivery note follows.
    notices = f"/api/v1/purchase-orders/{first}/dispatch-notices"
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    response = erp.post(
        notices,
        json={
            "carrier": "DHL",
            "tracking_code": "JD0001",
            "expected_date": tomorrow,
            "lines": [{"id": boots["id"], "quantity": 12}],
        },
        headers={"Idempotency-Key": "asn-1"},
    )
    assert response.status_code == 201, response.get_json()
    notice = response.get_json()
    assert [(line["product_code"], line["quantity"]) for line in notice["lines"]] == [
        ("BOOT-1", 12)
    ]
    assert "JD0001" in notice["tracking_url"]
    assert erp.get(f"/api/v1/purchase-orders/{first}").get_json()["status"] == (
        "partially_dispatched"
    )
    response = erp.post(notices, json={"carrier": "UPS", "tracking_code": "1Z999"})
    assert response.status_code == 201, response.get_json()
    assert [line["product_code"] for line in response.get_json()["lines"]] == ["SOCK-1"]
    listing = erp.get(notices).get_json()
    assert [item["tracking_code"] for item in listing["items"]] == ["JD0001", "1Z999"]
    assert [line["open"] for line in listing["lines"]] == [0, 0]
    assert listing["status"] == "dispatched"
    response = erp.post(
        f"/api/v1/purchase-orders/{first}/documents",
        data={
            "file": (io.BytesIO(b"%PDF-1.4\n%delivery note\n%%EOF\n"), "lieferschein.pdf"),
            "description": "Delivery note",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    document = response.get_json()
    assert (document["filename"], document["content_type"]) == (
        "lieferschein.pdf",
        "application/pdf",
    )
    download = erp.get(document["download"])
    assert download.status_code == 200
    assert download.data.startswith(b"%PDF-")
    assert erp.get(f"/api/v1/purchase-orders/{first}").get_json()["supplier_situation"] == (
        "Planned"
    )

    # The store sees both answers on its pages.
    store = login_as(trade.store_user, trade.tenant)
    page = text_of(store.get(f"/purchase-orders/{first}"))
    assert "Confirmed" in page
    assert "13.75" in page
    assert "F-9001" in page
    assert "Dispatched" in page
    assert "JD0001" in page
    assert "1Z999" in page
    assert "lieferschein.pdf" in page
    assert "Delivery note" in page
    page = text_of(store.get(f"/purchase-orders/{second}"))
    assert "Rejected" in page
    assert "Out of socks until May" in page
    with in_tenant(trade.tenant) as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "purchase_order.rejected")
        ).all()
        token_id = session.scalar(select(ApiToken.id))
    assert [entry.actor_id for entry in entries] == [trade.supplier_user.id]
    assert entries[0].details["api_token_id"] == str(token_id)


def test_the_api_refuses_what_the_page_refuses_with_the_same_words(
    app, in_tenant, trade, issue_token, api_client
):
    po_id = order_from(app, in_tenant, trade)
    erp = api_client(trade.tenant, issue_token(trade.supplier_user, trade.tenant))
    lines = erp.get(f"/api/v1/purchase-orders/{po_id}").get_json()["lines"]
    past = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
    response = erp.post(
        f"/api/v1/purchase-orders/{po_id}/confirm",
        json={
            "lines": [
                {"position": 2, "quantity": "many"},
                {"id": lines[0]["id"], "delivery_date": "soon"},
            ]
        },
    )
    assert response.status_code == 422
    assert response.mimetype == PROBLEM
    problem = response.get_json()
    assert problem["code"] == "validation_failed"
    assert {error["field"] for error in problem["errors"]} == {
        "lines[0].quantity",
        "lines[1].delivery_date",
    }
    response = erp.post(
        f"/api/v1/purchase-orders/{po_id}/confirm",
        json={"lines": [{"position": 2, "delivery_date": past}]},
    )
    problem = response.get_json()
    assert response.status_code == 422
    assert problem["code"] == "invalid_lines"
    assert problem["errors"][0]["field"] == "lines[0]"
    assert "the delivery date cannot lie in the past" in problem["errors"][0]["detail"]
    assert load(in_tenant, trade.tenant, po_id).status == Status.TRANSFERRED

    assert (
        erp.post(f"/api/v1/purchase-orders/{po_id}/reject", json={"reason": "No"}).status_code
        == 200
    )
    response = erp.post(
        f"/api/v1/purchase-orders/{po_id}/confirm", json={}, headers={"Accept-Language": "de"}
    )
    assert response.status_code == 409
    problem = response.get_json()
    assert problem["code"] == "transition_refused"
    with app.test_request_context(), force_locale("de"):
        german = str(responses.ANSWER_REFUSED)
    with app.test_request_context():
        assert german != str(responses.ANSWER_REFUSED)
    assert problem["detail"] == german
    assert response.headers["Content-Language"] == "de"
    response = erp.post(
        f"/api/v1/purchase-orders/{po_id}/reject", json={}, headers={"Accept-Language": "de"}
    )
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "reason"


def test_a_stale_version_is_a_conflict(app, in_tenant, trade, issue_token, api_client):
    po_id = order_from(app, in_tenant, trade)
    erp = api_client(trade.tenant, issue_token(trade.supplier_user, trade.tenant))
    version = erp.get(f"/api/v1/purchase-orders/{po_id}").get_json()["version"]
    erp.patch(f"/api/v1/purchase-orders/{po_id}/supplier-reference", json={"situation": "x"})
    response = erp.post(f"/api/v1/purchase-orders/{po_id}/acknowledge", json={"version": version})
    assert response.status_code == 409
    assert response.get_json()["code"] == "stale_version"


def test_idempotency_keys(app, in_tenant, trade, issue_token, api_client):
    po_id = order_from(app, in_tenant, trade)
    erp = api_client(trade.tenant, issue_token(trade.supplier_user, trade.tenant))
    path = f"/api/v1/purchase-orders/{po_id}/acknowledge"
    first = erp.post(path, json={}, headers={"Idempotency-Key": "ack-1"})
    again = erp.post(path, json={}, headers={"Idempotency-Key": "ack-1"})
    assert first.status_code == again.status_code == 200
    assert first.get_data() == again.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    with in_tenant(trade.tenant) as session:
        count = session.scalar(
            select(func.count()).where(AuditEntry.action == "purchase_order.acknowledged")
        )
    assert count == 1
    different = erp.post(path, json={"version": 1}, headers={"Idempotency-Key": "ack-1"})
    assert different.status_code == 422
    assert different.get_json()["code"] == "idempotency_key_reused"
    # Without a key a repeat is simply refused by the domain: it was acknowledged already.
    assert erp.post(path, json={}).status_code == 409
    # A refused request keeps nothing: the corrected one may use the same key.
    reject = f"/api/v1/purchase-orders/{po_id}/reject"
    assert erp.post(reject, json={}, headers={"Idempotency-Key": "rej"}).status_code == 422
    response = erp.post(reject, json={"reason": "No"}, headers={"Idempotency-Key": "rej"})
    assert response.status_code == 200


def test_another_suppliers_and_another_tenants_orders_are_not_found(
    app,
    in_tenant,
    trade,
    tenant,
    other_tenant,
    create_client,
    create_user,
    create_product,
    issue_token,
    api_client,
):
    other = make_trade(
        app,
        in_tenant,
        tenant,
        create_client,
        create_user,
        create_product,
        store="Other Store",
        name="Other Mill",
    )
    theirs = order_from(app, in_tenant, other)
    foreign = make_trade(app, in_tenant, other_tenant, create_client, create_user, create_product)
    abroad = order_from(app, in_tenant, foreign)
    erp = api_client(trade.tenant, issue_token(trade.supplier_user, trade.tenant))
    rules = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api_purchase_orders.")
        and "purchase_order_id" in rule.arguments
    ]
    assert len(rules) >= 5
    bodies = {"reject": {"reason": "x"}}
    for po_id in (theirs, abroad):
        for rule in rules:
            path = rule.rule.replace("<uuid:purchase_order_id>", str(po_id))
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                body = bodies.get(rule.endpoint.rsplit(".", 1)[-1], {})
                response = erp.open(path, method=method, json=body if method != "GET" else None)
                assert response.status_code == 404, (method, path, response.get_json())
                assert response.mimetype == PROBLEM
    assert load(in_tenant, tenant, theirs).status == Status.TRANSFERRED


def test_tokens_are_bound_to_their_tenant_and_refused_in_the_address(
    app, trade, other_tenant, issue_token, api_client, client_for
):
    secret = issue_token(trade.supplier_user, trade.tenant)
    assert api_client(trade.tenant, secret).get("/api/v1/me").status_code == 200
    elsewhere = api_client(other_tenant, secret).get("/api/v1/me")
    assert elsewhere.status_code == 401
    assert elsewhere.mimetype == PROBLEM
    assert elsewhere.headers["WWW-Authenticate"].startswith("Bearer")
    in_url = client_for(trade.tenant).get("/api/v1/me", query_string={"access_token": secret})
    assert in_url.status_code == 400
    assert in_url.get_json()["code"] == "token_in_query"
    hidden = api_client(trade.tenant, secret).get(f"/api/v1/purchase-orders?after={secret}")
    assert hidden.status_code == 400
    assert client_for(trade.tenant).get("/api/v1/me").status_code == 401
    assert client_for("localhost").get("/api/v1/me").status_code == 404
    assert client_for("localhost").get("/api/v1/openapi.json").status_code == 404


def test_scopes_are_enforced(app, in_tenant, trade, issue_token, api_client):
    po_id = order_from(app, in_tenant, trade)
    reader = api_client(
        trade.tenant, issue_token(trade.supplier_user, trade.tenant, ["purchase_orders:read"])
    )
    assert reader.get(f"/api/v1/purchase-orders/{po_id}").status_code == 200
    response = reader.post(f"/api/v1/purchase-orders/{po_id}/acknowledge", json={})
    assert response.status_code == 403
    assert response.get_json()["code"] == "insufficient_scope"
    assert (
        reader.patch(f"/api/v1/purchase-orders/{po_id}/supplier-reference", json={}).status_code
        == 403
    )
    assert load(in_tenant, trade.tenant, po_id).status == Status.TRANSFERRED


def test_me_describes_the_token(trade, issue_token, api_client):
    body = (
        api_client(trade.tenant, issue_token(trade.supplier_user, trade.tenant))
        .get("/api/v1/me")
        .get_json()
    )
    assert body["token"].startswith("ptk_")
    assert body["supplier"]["name"] == "Shoe Factory"
    assert body["scopes"] == ["purchase_orders:read", "purchase_orders:write"]
    assert body["tenant"] == trade.tenant.slug


def test_a_repeat_while_the_first_request_runs_is_a_conflict(
    app, in_tenant, trade, issue_token, api_client
):
    from portal.api import idempotency
    from portal.api.models import ApiToken, IdempotentRequest

    po_id = order_from(app, in_tenant, trade)
    erp = api_client(trade.tenant, issue_token(trade.supplier_user, trade.tenant))
    path = f"/api/v1/purchase-orders/{po_id}/acknowledge"
    with app.test_request_context(path, method="POST", data=b"{}"):
        fingerprint = idempotency._fingerprint()
    with in_tenant(trade.tenant) as session:
        token = session.scalar(select(ApiToken))
        # What the first request leaves while it runs: the key claimed, no response yet.
        session.add(IdempotentRequest(token_id=token.id, key="busy", fingerprint=fingerprint))
        session.commit()
    response = erp.post(
        path, data=b"{}", content_type="application/json", headers={"Idempotency-Key": "busy"}
    )
    assert response.status_code == 409
    assert response.get_json()["code"] == "idempotency_in_progress"
    assert load(in_tenant, trade.tenant, po_id).status == Status.TRANSFERRED


def test_a_line_ordered_in_containers_is_confirmed_in_whole_containers(
    app, in_tenant, trade, issue_token, api_client
):
    po_id = order_from(app, in_tenant, trade)  # boots 2 x 6, socks 1 x 10
    erp = api_client(trade.tenant, issue_token(trade.supplier_user, trade.tenant))
    lines = erp.get(f"/api/v1/purchase-orders/{po_id}").get_json()["lines"]
    assert [(line["quantity"], line["container_amount"]) for line in lines] == [(12, 6), (10, 10)]
    response = erp.post(
        f"/api/v1/purchase-orders/{po_id}/confirm",
        json={"lines": [{"position": 2, "quantity": 15}, {"id": lines[0]["id"], "quantity": 7}]},
    )
    assert response.status_code == 422
    assert response.mimetype == PROBLEM
    problem = response.get_json()
    assert problem["code"] == "invalid_lines"
    assert {error["field"]: error["detail"] for error in problem["errors"]} == {
        "lines[1]": "Line 1 (BOOT-1): this line is ordered in containers of 6 units; please "
        "confirm a multiple of 6, for example 6.",
        "lines[0]": "Line 2 (SOCK-1): this line is ordered in containers of 10 units; please "
        "confirm a multiple of 10, for example 20.",
    }
    assert load(in_tenant, trade.tenant, po_id).status == Status.TRANSFERRED
    response = erp.post(
        f"/api/v1/purchase-orders/{po_id}/confirm",
        json={"lines": [{"position": 1, "quantity": 18}]},
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["lines"][0]["quantity"] == 18


def test_a_partially_dispatched_order_is_listed_and_filtered_as_such(
    app, in_tenant, trade, issue_token, api_client, client_for
):
    po_id = order_from(app, in_tenant, trade)
    other = order_from(app, in_tenant, trade, {"socks": 1})
    with in_tenant(trade.tenant) as session:
        from portal.core.purchasing.models import PurchaseOrder

        po = session.get(PurchaseOrder, (trade.tenant.id, po_id))
        responses.confirm(po)
        responses.dispatch(po, quantities={po.lines[0].id: 6})
        session.commit()
    erp = api_client(trade.tenant, issue_token(trade.supplier_user, trade.tenant))
    assert erp.get(f"/api/v1/purchase-orders/{po_id}").get_json()["status"] == (
        "partially_dispatched"
    )
    items, _ = poll(erp, status="partially_dispatched")
    assert [item["id"] for item in items] == [str(po_id)]
    assert str(other) not in {item["id"] for item in items}
    response = erp.get("/api/v1/purchase-orders", query_string={"status": "half_sent"})
    assert response.status_code == 422
    document = client_for(trade.tenant).get("/api/v1/openapi.json").get_json()
    schema = document["components"]["schemas"]["PurchaseOrder"]
    assert "partially_dispatched" in schema["properties"]["status"]["enum"]
