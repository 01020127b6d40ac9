"""The tenant's side of the API: an administrator's token works all clients, their logins,
orders, shipments and products, and never reaches another tenant."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from flask_babel import force_locale
from flask_babel import gettext as translate
from sqlalchemy import func, select
from web.test_supplier_portal import text_of
from webhooks import conftest as webhook_fixtures

from portal.accounts.models import Role, User
from portal.api import tokens
from portal.api.models import ApiToken
from portal.audit.models import AuditEntry
from portal.core.clients.models import Client
from portal.core.errors import DomainError
from portal.core.orders.models import Order, OrderStatus
from portal.outbox.services import deliver_due
from portal.webhooks import services as webhooks
from portal.webhooks.models import OwnerKind

PROBLEM = "application/problem+json"
COMPILED = (Path(__file__).parents[2] / "translations/de/LC_MESSAGES/messages.mo").exists()
TENANT_SCOPES = list(tokens.SCOPES_FOR_ROLE[Role.ADMIN])
#: The webhook tests' receiver on 127.0.0.1 and the setting that lets webhooks reach it.
receiver = webhook_fixtures.receiver
allow_private = webhook_fixtures.allow_private


@pytest.fixture
def admin(create_user, tenant):
    return create_user(tenant, "admin")


@pytest.fixture
def erp(admin, tenant, issue_token, api_client):
    """The tenant's own software, with an administrator's token of every tenant scope."""
    return api_client(tenant, issue_token(admin, tenant, TENANT_SCOPES))


@pytest.fixture
def shop(tenant, create_client, create_user, create_product):
    client = create_client(tenant, name="Webshop")
    user = create_user(tenant, "client", client=client)
    boots = create_product(tenant, client, code="BOOT-1", name="Boots", stock=10)
    return client, user, boots


def poll(api, path, since=None, **args):
    """Follow ``next`` to the end; return the items and the server time to send next."""
    query = {"updated_since": since, **args} if since else args
    response = api.get(path, query_string=query)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    items, server_time = list(body["items"]), body["server_time"]
    while body["next"]:
        following = api.get(body["next"])
        assert following.status_code == 200, following.get_json()
        body = following.get_json()
        items += body["items"]
    return items, server_time


def test_an_erp_creates_a_client_switches_its_access_and_invites_a_login(
    app, tenant, admin, erp, in_tenant, mailbox
):
    key = {"Idempotency-Key": "new-client-1"}
    body = {"name": "Acme Shoes", "email": "office@acme.test", "product_management": False}
    first = erp.post("/api/v1/tenant/clients", json=body, headers=key)
    again = erp.post("/api/v1/tenant/clients", json=body, headers=key)
    assert first.status_code == again.status_code == 201, first.get_json()
    assert first.get_data() == again.get_data()
    client = first.get_json()
    assert (client["name"], client["portal_access"], client["users"]) == ("Acme Shoes", True, 0)
    path = f"/api/v1/tenant/clients/{client['id']}"

    changed = erp.patch(path, json={"product_management": True, "portal_access": False})
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["product_management"], changed.get_json()["portal_access"]) == (
        True,
        False,
    )
    assert changed.get_json()["name"] == "Acme Shoes"  # not sent, not changed
    assert erp.patch(path, json={"portal_access": True}).get_json()["portal_access"] is True

    email = f"nora@{tenant.slug}.test"
    invited = erp.post(f"{path}/users", json={"email": email, "name": "Nora New"})
    assert invited.status_code == 201, invited.get_json()
    assert invited.get_json()["email"] == email
    users = erp.get(f"{path}/users").get_json()["items"]
    assert [(u["email"], u["name"], u["invited"]) for u in users] == [(email, "Nora New", True)]
    assert erp.get(path).get_json()["users"] == 1
    with app.app_context():
        assert deliver_due() == 1
    [message] = mailbox.to(email)
    assert "/password/reset/" in message.get_body(("plain",)).get_content()

    listed, _ = poll(erp, "/api/v1/tenant/clients", q="acme")
    assert [item["id"] for item in listed] == [client["id"]]
    with in_tenant(tenant) as session:
        assert session.scalar(select(func.count()).select_from(Client)) == 1
        token_id = session.scalar(select(ApiToken.id))
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.object_id == client["id"])
        ).all()
        new_user = session.scalar(select(User).where(User.email == email))
    assert {e.action for e in entries} == {
        "client.created",
        "client.updated",
        "client.user_invited",
    }
    assert all(e.actor_id == admin.id for e in entries)
    assert all(e.details["api_token_id"] == str(token_id) for e in entries)
    assert (new_user.role, new_user.client_id) == (Role.CLIENT, uuid.UUID(client["id"]))


def test_bad_clients_and_logins_are_refused_naming_the_field_in_english_and_german(
    app, tenant, erp, shop, in_tenant
):
    client, user, _ = shop
    for language in ("en", "de"):
        headers = {"Accept-Language": language}
        taken = erp.post("/api/v1/tenant/clients", json={"name": "webshop"}, headers=headers)
        assert taken.status_code == 422
        assert taken.mimetype == PROBLEM
        error = taken.get_json()["errors"][0]
        assert error["field"] == "name"
        english = "A client with the name %(name)s already exists."
        with app.test_request_context(), force_locale(language):
            assert error["detail"] == translate(english, name="webshop")
            if COMPILED and language == "de":
                assert translate(english, name="x") != english % {"name": "x"}
        assert taken.headers["Content-Language"] == language

        flag = erp.patch(
            f"/api/v1/tenant/clients/{client.id}",
            json={"portal_access": "maybe"},
            headers=headers,
        )
        assert flag.status_code == 422
        assert flag.get_json()["errors"][0]["field"] == "portal_access"
        with app.test_request_context(), force_locale(language):
            assert flag.get_json()["errors"][0]["detail"] == translate("Please send true or false.")

    nobody = erp.post(f"/api/v1/tenant/clients/{client.id}/users", json={"email": "nobody"})
    assert nobody.status_code == 422
    assert nobody.get_json()["errors"][0]["field"] == "email"
    again = erp.post(f"/api/v1/tenant/clients/{client.id}/users", json={"email": user.email})
    assert again.status_code == 422
    assert again.get_json()["errors"][0]["field"] == "email"
    warehouse = erp.patch(
        f"/api/v1/tenant/clients/{client.id}",
        json={"purchase_order_warehouse_id": str(uuid.uuid4())},
    )
    assert warehouse.status_code == 422
    assert warehouse.get_json()["errors"][0]["field"] == "purchase_order_warehouse_id"
    unknown = erp.post("/api/v1/tenant/clients", json={"name": "New", "colour": "red"})
    assert unknown.status_code == 422
    assert unknown.get_json()["errors"][0]["field"] == "colour"
    with in_tenant(tenant) as session:
        assert session.scalar(select(func.count()).select_from(Client)) == 1
        assert session.scalar(select(func.count()).select_from(User)) == 2
        assert session.get(Client, (tenant.id, client.id)).portal_access is True


def test_a_name_with_a_non_ascii_capital_is_taken_once_on_every_database(erp):
    # SQLite's lower() leaves "Ó" alone: the exact name must still count as taken (no 500).
    for family in ("clients", "suppliers"):
        assert erp.post(f"/api/v1/tenant/{family}", json={"name": "Óscar"}).status_code == 201
        again = erp.post(f"/api/v1/tenant/{family}", json={"name": "Óscar"})
        assert again.status_code == 422, family
        assert again.get_json()["errors"][0]["field"] == "name"


def test_a_control_character_in_the_body_is_refused_before_the_database(erp, tenant, in_tenant):
    # PostgreSQL cannot store a NUL: it is refused as the pages refuse it in a form.
    for family, body in (
        ("clients", {"name": "A\u0000B"}),
        ("suppliers", {"name": "X", "situations": ["\u0000"]}),
    ):
        response = erp.post(f"/api/v1/tenant/{family}", json=body)
        assert response.status_code == 400, family
        assert response.get_json()["code"] == "forbidden_characters"
    with in_tenant(tenant) as session:
        assert session.scalar(select(func.count()).select_from(Client)) == 0


def test_the_warehouse_picks_and_ships_and_the_client_is_emailed(
    app, tenant, erp, shop, create_order, in_tenant, mailbox, issue_token, api_client
):
    client, user, boots = shop
    _, since = poll(erp, "/api/v1/tenant/orders")
    order = create_order(tenant, client, [(boots, 2)])
    changed, since = poll(erp, "/api/v1/tenant/orders", since)
    assert [(o["id"], o["client_name"], o["status"]) for o in changed] == [
        (str(order.id), "Webshop", "processing")
    ]
    path = f"/api/v1/tenant/orders/{order.id}"
    version = erp.get(path).get_json()["version"]
    picked = erp.post(f"{path}/pick", json={"version": version})
    assert picked.status_code == 200, picked.get_json()
    assert picked.get_json()["status"] == "picking"
    stale = erp.post(f"{path}/shipments", json={"carrier": "DHL", "version": version})
    assert stale.status_code == 409
    assert stale.get_json()["code"] == "stale_version"

    key = {"Idempotency-Key": "ship-1"}
    body = {"carrier": "DHL", "tracking_code": "JJD0001", "version": picked.get_json()["version"]}
    shipped = erp.post(f"{path}/shipments", json=body, headers=key)
    again = erp.post(f"{path}/shipments", json=body, headers=key)
    assert shipped.status_code == again.status_code == 201, shipped.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    shipment = shipped.get_json()
    assert (shipment["carrier"], shipment["tracking_code"], shipment["order_id"]) == (
        "DHL",
        "JJD0001",
        str(order.id),
    )
    assert "JJD0001" in shipment["tracking_url"]
    assert [(line["product_code"], line["quantity"]) for line in shipment["lines"]] == [
        ("BOOT-1", 2)
    ]
    assert erp.get(path).get_json()["status"] == "shipped"
    with app.app_context():
        assert deliver_due() == 1
    [message] = mailbox.to(user.email)
    assert order.number in message["Subject"]
    assert "JJD0001" in message.get_body(("plain",)).get_content()

    listed, _ = poll(erp, "/api/v1/tenant/shipments", client_id=str(client.id))
    assert [s["id"] for s in listed] == [shipment["id"]]
    assert erp.get(f"/api/v1/tenant/shipments/{shipment['id']}").get_json()["client_id"] == str(
        client.id
    )
    # The client's own token sees the same shipment.
    webshop = api_client(tenant, issue_token(user, tenant, ["orders:read"]))
    assert [s["id"] for s in poll(webshop, "/api/v1/shipments")[0]] == [shipment["id"]]

    completed = erp.post(f"{path}/complete", json={})
    assert completed.status_code == 200
    assert completed.get_json()["status"] == "completed"
    refused = erp.post(f"{path}/cancel", json={})
    assert refused.status_code == 409
    assert refused.get_json()["code"] == "transition_refused"
    with in_tenant(tenant) as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.object_id == str(order.id))
        ).all()
    assert {"order.picking", "order.shipped", "order.completed"} <= set(actions)


def test_a_shipment_needs_a_known_carrier_in_english_and_german(
    app, tenant, erp, shop, create_order, in_tenant
):
    client, _, boots = shop
    order = create_order(tenant, client, [(boots, 1)])
    path = f"/api/v1/tenant/orders/{order.id}"
    assert erp.post(f"{path}/pick", json={}).status_code == 200
    for language in ("en", "de"):
        response = erp.post(
            f"{path}/shipments", json={"carrier": "Pigeon"}, headers={"Accept-Language": language}
        )
        assert response.status_code == 422
        error = response.get_json()["errors"][0]
        assert error["field"] == "carrier"
        with app.test_request_context(), force_locale(language):
            assert error["detail"] == translate("Please choose one of the carriers.")
    missing = erp.post(f"{path}/shipments", json={"tracking_code": "X"})
    assert missing.get_json()["errors"][0]["field"] == "carrier"
    with in_tenant(tenant) as session:
        assert session.get(Order, (tenant.id, order.id)).status == OrderStatus.PICKING


def test_products_with_stock_of_all_clients(tenant, erp, shop, create_client, create_product):
    client, _, boots = shop
    other = create_client(tenant, name="Other shop")
    create_product(tenant, other, code="HAT-1", name="Hat", stock=3)
    products, _ = poll(erp, "/api/v1/tenant/products", size=1)
    assert sorted((p["code"], p["available"]) for p in products) == [("BOOT-1", 10), ("HAT-1", 3)]
    mine, _ = poll(erp, "/api/v1/tenant/products", client_id=str(client.id))
    assert [p["code"] for p in mine] == ["BOOT-1"]
    detail = erp.get(f"/api/v1/tenant/products/{boots.id}").get_json()
    assert detail["stock"][0]["on_hand"] == 10
    assert detail["client_id"] == str(client.id)


def test_only_admins_hold_tenant_tokens_and_scopes_are_enforced(
    tenant, admin, erp, shop, issue_token, api_client, create_user, in_tenant
):
    _, user, _ = shop
    staff = create_user(tenant, "staff")
    with pytest.raises(DomainError):
        issue_token(staff, tenant, ["orders:read"])
    with pytest.raises(DomainError):
        issue_token(user, tenant, ["clients:read"])
    webshop = api_client(tenant, issue_token(user, tenant, ["orders:read"]))
    refused = webshop.get("/api/v1/tenant/orders")
    assert refused.status_code == 403
    assert refused.get_json()["code"] == "not_a_tenant_token"
    reader = api_client(tenant, issue_token(admin, tenant, ["orders:read"]))
    assert reader.get("/api/v1/tenant/orders").status_code == 200
    assert reader.get("/api/v1/tenant/clients").get_json()["code"] == "insufficient_scope"
    assert reader.post("/api/v1/tenant/clients", json={"name": "X"}).status_code == 403
    # A tenant token is no client's token.
    assert erp.get("/api/v1/orders").get_json()["code"] == "not_a_client"
    # An admin who becomes staff loses the tenant scope at once.
    with in_tenant(tenant) as session:
        session.get(User, (tenant.id, admin.id)).role = Role.STAFF
        session.commit()
    demoted = erp.get("/api/v1/tenant/orders")
    assert demoted.status_code == 403
    assert demoted.get_json()["code"] == "not_a_tenant_token"
    with in_tenant(tenant) as session:
        assert session.scalar(select(func.count()).select_from(Client)) == 1


def test_an_admin_creates_a_tenant_token_on_the_integration_page(
    tenant, admin, login_as, in_tenant, api_client
):
    from api.test_tokens import SECRET, form_token

    browser = login_as(admin, tenant)
    page = text_of(browser.get("/integration/"))
    assert "Your tokens act for the whole portal" in page
    created = browser.post(
        "/integration/",
        data={
            "csrf_token": form_token(browser, "/integration/"),
            "name": "Our ERP",
            "clients_write": "y",
            "orders_read": "y",
        },
    )
    assert created.status_code == 200
    secret = SECRET.search(text_of(created)).group(1)
    with in_tenant(tenant) as session:
        token = session.scalar(select(ApiToken))
    assert token.scopes == ["clients:read", "clients:write", "orders:read"]
    listing = text_of(browser.get("/integration/"))
    # The shared scope is named as it applies to an administrator's token.
    assert "invite their users, Read all clients' orders and shipments</td>" in listing
    assert (token.client_id, token.supplier_id) == (None, None)
    erp = api_client(tenant, secret)
    assert erp.get("/api/v1/tenant/clients").status_code == 200
    assert erp.get("/api/v1/tenant/products").status_code == 403


def test_every_collection_reads_a_page_in_a_fixed_number_of_queries(
    tenant,
    erp,
    shop,
    in_tenant,
    create_order,
    create_client,
    create_product,
    create_shipment,
    create_user,
    count_queries,
):
    def one_of_each(client, product, number):
        create_order(tenant, client, [(product, 1)])
        create_shipment(tenant, client, [(product, 1)])
        empty = create_product(tenant, client, code=f"NONE-{number}", stock=0)
        create_order(tenant, client, [(empty, 1)])  # waits: a backorder
        create_user(tenant, "supplier")
        _purchase_order(in_tenant, tenant, client, product, 3)
        _return(in_tenant, tenant, client, product)

    client, _, boots = shop
    one_of_each(client, boots, 0)
    erp.get("/api/v1/me")  # the token's first use writes its last use: not counted here

    def counted(path):
        with count_queries() as counter:
            response = erp.get(path)
        assert response.status_code == 200
        return len(response.get_json()["items"]), len(counter.statements)

    families = ("orders", "clients", "products", "shipments", "backorders", "suppliers")
    paths = [f"/api/v1/tenant/{family}" for family in (*families, "purchase-orders", "returns")]
    few = {path: counted(path) for path in paths}
    for number in range(1, 4):
        other = create_client(tenant, name=f"Shop {number}")
        product = create_product(tenant, other, code=f"P-{number}", stock=5)
        one_of_each(other, product, number)
    for path, (items, statements) in few.items():
        more_items, more_statements = counted(path)
        assert more_items > items, path
        assert more_statements == statements, path


def test_suppliers_and_their_users(app, tenant, erp, in_tenant, mailbox):
    created = erp.post(
        "/api/v1/tenant/suppliers",
        json={"name": "Shoe Factory", "email": "orders@factory.test", "situations": ["Sewn"]},
    )
    assert created.status_code == 201, created.get_json()
    supplier = created.get_json()
    assert (supplier["active"], supplier["situations"]) == (True, ["Sewn"])
    path = f"/api/v1/tenant/suppliers/{supplier['id']}"
    changed = erp.patch(path, json={"changes_need_approval": True, "situations": ["A", "B"]})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["situations"] == ["A", "B"]
    assert changed.get_json()["changes_need_approval"] is True
    assert changed.get_json()["email"] == "orders@factory.test"
    listed, _ = poll(erp, "/api/v1/tenant/suppliers", active="true")
    assert [item["id"] for item in listed] == [supplier["id"]]
    assert erp.patch(path, json={"active": False}).get_json()["active"] is False
    assert poll(erp, "/api/v1/tenant/suppliers", active="true")[0] == []

    email = f"sam@{tenant.slug}.test"
    invited = erp.post(f"{path}/users", json={"email": email, "locale": "de"})
    assert invited.status_code == 201, invited.get_json()
    assert [u["email"] for u in erp.get(f"{path}/users").get_json()["items"]] == [email]
    with app.app_context():
        assert deliver_due() == 1
    assert len(mailbox.to(email)) == 1
    with in_tenant(tenant) as session:
        user = session.scalar(select(User).where(User.email == email))
        assert (user.role, str(user.supplier_id), user.locale) == (
            Role.SUPPLIER,
            supplier["id"],
            "de",
        )

    for language in ("en", "de"):
        refused = erp.post(
            "/api/v1/tenant/suppliers",
            json={"name": "shoe factory"},
            headers={"Accept-Language": language},
        )
        assert refused.status_code == 422
        error = refused.get_json()["errors"][0]
        assert error["field"] == "name"
        with app.test_request_context(), force_locale(language):
            english = "A supplier with the name %(name)s already exists."
            assert error["detail"] == translate(english, name="shoe factory")
    unknown = erp.post(f"{path}/users", json={"email": f"x@{tenant.slug}.test", "locale": "xx"})
    assert unknown.status_code == 422
    assert unknown.get_json()["errors"][0]["field"] == "locale"
    with in_tenant(tenant) as session:
        assert session.scalar(select(func.count()).select_from(User)) == 2  # admin and Sam


def _purchase_order(in_tenant, tenant, client, product, quantity):
    from portal.core.orders.services import LineInput
    from portal.core.purchasing.services import create_purchase_order

    with in_tenant(tenant) as session:
        client = session.get(Client, (tenant.id, client.id))
        po = create_purchase_order(client, [LineInput(product.id, quantity)], supplier_name="Mill")
        session.commit()
        return po.id, po.lines[0].id


def test_goods_are_received_and_waiting_orders_are_served(
    app, tenant, erp, shop, create_order, create_product, in_tenant
):
    client, _, _ = shop
    hats = create_product(tenant, client, code="HAT-1", name="Hats", stock=0)
    order = create_order(tenant, client, [(hats, 2)])
    waiting, _ = poll(erp, "/api/v1/tenant/backorders", client_id=str(client.id))
    assert [(b["order_id"], b["product_code"], b["missing"]) for b in waiting] == [
        (str(order.id), "HAT-1", 2)
    ]
    po_id, line_id = _purchase_order(in_tenant, tenant, client, hats, 5)
    listed, _ = poll(erp, "/api/v1/tenant/purchase-orders", client_id=str(client.id))
    assert [item["id"] for item in listed] == [str(po_id)]
    path = f"/api/v1/tenant/purchase-orders/{po_id}"

    too_many = erp.post(
        f"{path}/receipts",
        json={"lines": [{"purchase_order_line_id": str(line_id), "quantity": 9}]},
    )
    assert too_many.status_code == 422
    assert too_many.get_json()["code"] == "invalid_lines"
    assert too_many.get_json()["errors"][0]["field"] == "lines[0]"
    stranger = erp.post(
        f"{path}/receipts",
        json={"lines": [{"purchase_order_line_id": str(uuid.uuid4()), "quantity": 1}]},
    )
    assert stranger.status_code == 422
    assert stranger.get_json()["errors"][0]["field"] == "lines[0].purchase_order_line_id"
    negative = erp.post(
        f"{path}/receipts",
        json={"lines": [{"purchase_order_line_id": str(line_id), "quantity": -1}]},
    )
    assert negative.get_json()["errors"][0]["field"] == "lines[0].quantity"

    key = {"Idempotency-Key": "pallet-1"}
    body = {"lines": [{"purchase_order_line_id": str(line_id), "quantity": 3}], "note": "Pallet"}
    first = erp.post(f"{path}/receipts", json=body, headers=key)
    again = erp.post(f"{path}/receipts", json=body, headers=key)
    assert first.status_code == again.status_code == 201, first.get_json()
    assert first.get_json()["note"] == "Pallet"
    assert first.get_json()["lines"] == [
        {"purchase_order_line_id": str(line_id), "product_code": "HAT-1", "quantity": 3}
    ]
    detail = erp.get(path).get_json()
    assert detail["status"] == "partially_received"
    assert (detail["lines"][0]["received"], detail["lines"][0]["outstanding"]) == (3, 2)
    assert len(detail["receipts"]) == 1  # the repeat counted nothing
    # The waiting order got its hats; one is left over in stock.
    assert poll(erp, "/api/v1/tenant/backorders")[0] == []
    assert erp.get(f"/api/v1/tenant/orders/{order.id}").get_json()["status"] == "processing"
    product = erp.get(f"/api/v1/tenant/products/{hats.id}").get_json()
    assert (product["on_hand"], product["available"]) == (3, 1)
    refused = erp.post(f"{path}/cancel", json={})
    assert refused.status_code == 409
    with in_tenant(tenant) as session:
        entry = session.scalar(
            select(AuditEntry).where(
                AuditEntry.object_id == str(po_id), AuditEntry.action.like("%receiv%")
            )
        )
    assert entry is not None
    assert entry.details["api_token_id"]


def test_stock_is_corrected_with_a_reason(app, tenant, erp, shop, in_tenant):
    from portal.core.warehouses.models import Warehouse

    _, _, boots = shop
    with in_tenant(tenant) as session:
        warehouse_id = session.scalar(select(Warehouse.id))
    path = f"/api/v1/tenant/products/{boots.id}/stock-corrections"
    body = {"warehouse_id": str(warehouse_id), "quantity": -3, "note": "Damaged"}
    corrected = erp.post(path, json=body, headers={"Idempotency-Key": "count-1"})
    assert corrected.status_code == 201, corrected.get_json()
    assert corrected.get_json()["on_hand"] == 7
    again = erp.post(path, json=body, headers={"Idempotency-Key": "count-1"})
    assert again.get_json()["on_hand"] == 7  # replayed, not corrected twice
    assert erp.get(f"/api/v1/tenant/products/{boots.id}").get_json()["on_hand"] == 7
    for language in ("en", "de"):
        zero = erp.post(path, json={**body, "quantity": 0}, headers={"Accept-Language": language})
        assert zero.status_code == 422
        assert zero.get_json()["errors"][0]["field"] == "quantity"
        with app.test_request_context(), force_locale(language):
            assert zero.get_json()["errors"][0]["detail"] == translate(
                "The quantity must not be zero."
            )
    reasonless = erp.post(path, json={**body, "note": "  "})
    assert reasonless.status_code == 422
    assert reasonless.get_json()["errors"][0]["field"] == "note"
    nowhere = erp.post(path, json={**body, "warehouse_id": str(uuid.uuid4())})
    assert nowhere.status_code == 422
    assert nowhere.get_json()["errors"][0]["field"] == "warehouse_id"
    too_many = erp.post(path, json={**body, "quantity": -100})
    assert too_many.status_code == 422
    assert erp.get(f"/api/v1/tenant/products/{boots.id}").get_json()["on_hand"] == 7


def _return(in_tenant, tenant, client, product):
    from portal.core.returns.services import ReturnLineInput, register_return

    with in_tenant(tenant) as session:
        client = session.get(Client, (tenant.id, client.id))
        ret = register_return(client, [ReturnLineInput(product.id, 1)], reason="Too small")
        session.commit()
        return ret.id


def test_returns_are_received_or_cancelled(tenant, erp, shop, in_tenant):
    client, _, boots = shop
    first = _return(in_tenant, tenant, client, boots)
    second = _return(in_tenant, tenant, client, boots)
    listed, _ = poll(erp, "/api/v1/tenant/returns", status="registered")
    assert sorted(item["id"] for item in listed) == sorted([str(first), str(second)])
    received = erp.post(f"/api/v1/tenant/returns/{first}/receive", json={"note": "Arrived"})
    assert received.status_code == 200, received.get_json()
    body = received.get_json()
    assert body["status"] == "received"
    assert [(h["status"], h["note"]) for h in body["history"]][-1] == ("received", "Arrived")
    assert body["client_id"] == str(client.id)
    assert erp.post(f"/api/v1/tenant/returns/{first}/cancel", json={}).status_code == 409
    cancelled = erp.post(f"/api/v1/tenant/returns/{second}/cancel")
    assert cancelled.status_code == 200, cancelled.get_json()
    assert cancelled.get_json()["status"] == "cancelled"


def test_an_order_is_created_for_a_client(
    app, tenant, erp, shop, create_client, create_address, in_tenant
):
    client, _, _ = shop
    other = create_client(tenant, name="Other shop")
    theirs = create_address(tenant, other)
    mine = create_address(tenant, client, label="Berlin", city="Berlin")
    body = {
        "client_id": str(client.id),
        "reference": "ERP-1",
        "lines": [{"product_code": "BOOT-1", "quantity": 3}],
        "address_id": str(mine.id),
    }
    key = {"Idempotency-Key": "erp-order-1"}
    first = erp.post("/api/v1/tenant/orders", json=body, headers=key)
    again = erp.post("/api/v1/tenant/orders", json=body, headers=key)
    assert first.status_code == again.status_code == 201, first.get_json()
    order = first.get_json()
    assert (order["client_id"], order["status"], order["address"]["city"]) == (
        str(client.id),
        "processing",
        "Berlin",
    )
    assert order["lines"][0]["allocated"] == 3
    foreign_address = erp.post("/api/v1/tenant/orders", json={**body, "address_id": str(theirs.id)})
    assert foreign_address.status_code == 422
    assert foreign_address.get_json()["errors"][0]["field"] == "address_id"
    unknown_client = erp.post(
        "/api/v1/tenant/orders", json={**body, "client_id": str(uuid.uuid4())}
    )
    assert unknown_client.get_json()["errors"][0]["field"] == "client_id"
    # The other client has no BOOT-1: a client's order names its own products only.
    wrong = erp.post(
        "/api/v1/tenant/orders",
        json={**body, "client_id": str(other.id), "address_id": str(theirs.id)},
    )
    assert wrong.status_code == 422
    assert wrong.get_json()["code"] == "invalid_lines"
    assert wrong.get_json()["errors"][0]["field"] == "lines[0]"
    for language in ("en", "de"):
        nameless = erp.post(
            "/api/v1/tenant/orders",
            json={
                "client_id": str(client.id),
                "lines": [{"product_code": "BOOT-1", "quantity": 1}],
                "address": {
                    "name": "",
                    "street": "A 1",
                    "postcode": "1",
                    "city": "B",
                    "country": "DE",
                },
            },
            headers={"Accept-Language": language},
        )
        assert nameless.status_code == 422
        error = nameless.get_json()["errors"][0]
        assert error["field"] == "address.name"
        with app.test_request_context(), force_locale(language):
            assert error["detail"] == translate("Please enter the recipient's name.")
    with in_tenant(tenant) as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 1
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "order.created"))
        assert entry.details["api_token_id"]


def test_a_return_is_registered_received_and_processed(
    app, tenant, erp, shop, create_order, create_client, in_tenant
):
    client, _, boots = shop
    order = create_order(tenant, client, [(boots, 2)])
    body = {
        "client_id": str(client.id),
        "order_id": str(order.id),
        "reason": "Too small",
        "lines": [{"product_code": "BOOT-1", "quantity": 2}],
    }
    created = erp.post("/api/v1/tenant/returns", json=body, headers={"Idempotency-Key": "r-1"})
    assert created.status_code == 201, created.get_json()
    ret = created.get_json()
    assert (ret["status"], ret["order_number"], ret["reason"]) == (
        "registered",
        order.number,
        "Too small",
    )
    bad = erp.post(
        "/api/v1/tenant/returns",
        json={**body, "order_id": None, "lines": [{"product_code": "NOPE", "quantity": 1}]},
    )
    assert bad.status_code == 422
    unknown = erp.post(
        "/api/v1/tenant/returns",
        json={
            "client_id": str(client.id),
            "lines": [
                {"product_code": "BOOT-1", "quantity": 1},
                {"product_code": "NOPE", "quantity": 1},
            ],
        },
    )
    assert unknown.status_code == 422
    assert unknown.get_json()["code"] == "invalid_lines"
    assert unknown.get_json()["errors"][0]["field"] == "lines[1]"
    other = create_client(tenant, name="Other shop")
    theirs = erp.post("/api/v1/tenant/returns", json={**body, "client_id": str(other.id)})
    assert theirs.status_code == 422  # the order belongs to another client
    assert theirs.get_json()["errors"][0]["field"] == "order_id"
    path = f"/api/v1/tenant/returns/{ret['id']}"
    too_early = erp.post(
        f"{path}/process",
        json={"lines": [{"return_line_id": ret["lines"][0]["id"], "disposition": "restock"}]},
    )
    assert too_early.status_code == 409
    assert erp.post(f"{path}/receive", json={}).status_code == 200
    missing = erp.post(f"{path}/process", json={"lines": []})
    assert missing.status_code == 422
    assert missing.get_json()["errors"][0]["field"] == "lines"
    stranger = erp.post(
        f"{path}/process",
        json={"lines": [{"return_line_id": str(uuid.uuid4()), "disposition": "scrap"}]},
    )
    assert stranger.get_json()["errors"][0]["field"] == "lines[0].return_line_id"
    processed = erp.post(
        f"{path}/process",
        json={
            "lines": [{"return_line_id": ret["lines"][0]["id"], "disposition": "restock"}],
            "note": "As new",
        },
    )
    assert processed.status_code == 200, processed.get_json()
    assert processed.get_json()["status"] == "completed"
    assert processed.get_json()["lines"][0]["disposition"] == "restock"
    # 10 boots, 2 promised to the order, 2 back in stock.
    assert erp.get(f"/api/v1/tenant/products/{boots.id}").get_json()["on_hand"] == 12


def test_the_tenants_webhook_gets_a_signed_event_of_an_order_made_through_the_api(
    app, tenant, erp, shop, receiver, allow_private, in_tenant
):
    from standardwebhooks import Webhook

    client, _, _ = shop
    body = {"url": receiver.url, "event_types": ["order.created"], "description": "ERP"}
    created = erp.post("/api/v1/tenant/webhooks", json=body, headers={"Idempotency-Key": "h-1"})
    assert created.status_code == 201, created.get_json()
    secret = created.get_json()["secret"]
    path = f"/api/v1/tenant/webhooks/{created.get_json()['id']}"
    assert [w["id"] for w in erp.get("/api/v1/tenant/webhooks").get_json()["items"]] == [
        created.get_json()["id"]
    ]
    order = erp.post(
        "/api/v1/tenant/orders",
        json={
            "client_id": str(client.id),
            "lines": [{"product_code": "BOOT-1", "quantity": 1}],
            "address": {
                "name": "Erika",
                "street": "Hauptstraße 5",
                "postcode": "10115",
                "city": "Berlin",
                "country": "DE",
            },
        },
    )
    assert order.status_code == 201, order.get_json()
    with app.app_context():
        deliver_due()
    headers, payload = receiver.requests[-1]
    event = Webhook(secret).verify(payload, headers)
    assert event["type"] == "order.created"
    assert order.get_json()["id"] in payload.decode()
    [delivery] = erp.get(f"{path}/deliveries").get_json()["items"]
    assert delivery["status"] == "succeeded"
    assert erp.post(f"{path}/deliveries/{delivery['id']}/replay").status_code == 202
    assert erp.patch(path, json={"enabled": False}).get_json()["enabled"] is False
    rotated = erp.post(f"{path}/rotate", json={"grace_hours": 1})
    assert rotated.get_json()["secret"] != secret
    assert erp.post(f"{path}/test").get_json()["event_type"] == "webhook.ping"
    # A client's own webhooks are not the tenant's.
    with in_tenant(tenant) as session:
        theirs, _ = webhooks.create_endpoint(
            webhooks.Owner(OwnerKind.CLIENT, client_id=client.id), receiver.url, ["order.created"]
        )
        session.commit()
    assert erp.get(f"/api/v1/tenant/webhooks/{theirs.id}").status_code == 404
    assert erp.delete(path).status_code == 204
    assert erp.get(path).status_code == 404


# --- isolation -------------------------------------------------------------------------------


def _objects_of(
    tenant, in_tenant, create_client, create_user, create_product, create_order, create_shipment
):
    """One object of each kind that a tenant route takes an id of, all in ``tenant``."""
    client = create_client(tenant, name="Abroad")
    product = create_product(tenant, client, code="ABR-1", stock=5)
    order = create_order(tenant, client, [(product, 1)])
    shipment = create_shipment(tenant, client, [(product, 1)])
    supplier = create_user(tenant, "supplier").supplier_id
    purchase_order, _ = _purchase_order(in_tenant, tenant, client, product, 2)
    return {
        "client_id": client.id,
        "product_id": product.id,
        "order_id": order.id,
        "shipment_id": shipment.id,
        "supplier_id": supplier,
        "purchase_order_id": purchase_order,
        "return_id": _return(in_tenant, tenant, client, product),
        **_webhook(in_tenant, tenant),
    }


def _webhook(in_tenant, tenant) -> dict:
    with in_tenant(tenant) as session:
        endpoint, _ = webhooks.create_endpoint(
            webhooks.Owner(OwnerKind.TENANT), "http://127.0.0.1:9/hook", ["order.created"]
        )
        delivery = webhooks.send_test_event(endpoint)
        session.commit()
        return {"webhook_id": endpoint.id, "delivery_id": delivery.id}


def tenant_routes(app):
    """Every route of the tenant scope that takes an id, from the URL map."""
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api_tenant_") and rule.arguments
    ]


BODIES = {
    "api_tenant_orders.ship": {"carrier": "DHL"},
    "api_tenant_clients.invite_user": {"email": "someone@example.test"},
    "api_tenant_clients.patch_client": {"portal_access": False},
    "api_tenant_suppliers.invite_user": {"email": "someone@example.test"},
    "api_tenant_suppliers.patch_supplier": {"active": False},
    "api_tenant_purchase_orders.post_receipt": {"lines": []},
    "api_tenant_returns.process": {"lines": []},
    "api_tenant_webhooks.update_webhook": {"enabled": False},
    "api_tenant_products.post_correction": {
        "warehouse_id": str(uuid.UUID(int=1)),
        "quantity": 1,
        "note": "x",
    },
}


def test_another_tenants_ids_are_not_found_on_every_route(
    allow_private,
    app,
    in_tenant,
    tenant,
    other_tenant,
    erp,
    create_client,
    create_user,
    create_product,
    create_order,
    create_shipment,
):
    foreign = _objects_of(
        other_tenant,
        in_tenant,
        create_client,
        create_user,
        create_product,
        create_order,
        create_shipment,
    )
    rules = tenant_routes(app)
    assert {argument for rule in rules for argument in rule.arguments} == set(foreign)
    assert len(rules) >= 8
    checked = 0
    for rule in rules:
        path = rule.rule
        for argument in rule.arguments:
            path = path.replace(f"<uuid:{argument}>", str(foreign[argument]))
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            body = BODIES.get(rule.endpoint, {}) if method != "GET" else None
            response = erp.open(path, method=method, json=body)
            assert response.status_code == 404, (method, path, response.get_json())
            assert response.mimetype == PROBLEM
            checked += 1
    assert checked >= len(rules)
    with in_tenant(other_tenant) as session:
        assert session.get(Client, (other_tenant.id, foreign["client_id"])).portal_access is True
        assert session.scalar(select(func.count()).select_from(User)) == 1  # the supplier's
        order = session.get(Order, (other_tenant.id, foreign["order_id"]))
        assert order.status != OrderStatus.CANCELLED
    # And the collections list nothing of the other tenant.
    families = ("clients", "suppliers", "orders", "shipments", "backorders", "products")
    for family in (*families, "purchase-orders", "returns"):
        assert poll(erp, f"/api/v1/tenant/{family}")[0] == [], family
