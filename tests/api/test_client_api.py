"""The client's side of the API: a webshop's or ERP's orders, address book, products and
stock, shipments, backorders, purchase orders and returns, bound to its client."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from portal.accounts.models import User
from portal.api.models import ApiToken
from portal.audit.models import AuditEntry
from portal.core.orders import services as orders
from portal.core.orders.models import Order, OrderStatus

PROBLEM = "application/problem+json"
COMPILED = (Path(__file__).parents[2] / "translations/de/LC_MESSAGES/messages.mo").exists()
ALL = [
    "orders:read",
    "orders:write",
    "products:read",
    "addresses:read",
    "addresses:write",
    "purchase_orders:read",
    "returns:read",
]
ADDRESS = {
    "name": "Erika Mustermann",
    "street": "Hauptstraße 5",
    "postcode": "10115",
    "city": "Berlin",
    "country": "DE",
}


@dataclass
class Shop:
    """A fulfilment client with a login, two products in stock and an address book entry."""

    tenant: object
    client: object
    user: object
    boots: object
    socks: object
    address: object


def png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def make_shop(app, in_tenant, create_client, create_user, create_product, create_address):
    def make(tenant, name: str = "Webshop") -> Shop:
        client = create_client(tenant, name=name)
        user = create_user(tenant, "client", client=client)
        boots = create_product(tenant, client, code="BOOT-1", name="Boots", stock=10)
        socks = create_product(tenant, client, code="SOCK-1", name="Socks", stock=1)
        address = create_address(tenant, client, label="Shop Berlin", **ADDRESS)
        return Shop(tenant, client, user, boots, socks, address)

    return make


@pytest.fixture
def shop(make_shop, tenant):
    return make_shop(tenant)


@pytest.fixture
def webshop(shop, issue_token, api_client):
    return api_client(shop.tenant, issue_token(shop.user, shop.tenant, ALL))


def new_order(**overrides):
    return {
        "reference": "WEB-1001",
        "lines": [
            {"product_code": "BOOT-1", "quantity": 2},
            {"product_code": "SOCK-1", "quantity": 3},
        ],
        "address": ADDRESS,
        **overrides,
    }


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


def test_a_webshop_sends_an_order_twice_and_follows_it_to_its_shipment(
    app, in_tenant, shop, webshop
):
    _, since = poll(webshop, "/api/v1/orders")
    key = {"Idempotency-Key": "webshop-order-1001"}
    first = webshop.post("/api/v1/orders", json=new_order(), headers=key)
    again = webshop.post("/api/v1/orders", json=new_order(), headers=key)
    assert first.status_code == again.status_code == 201, first.get_json()
    assert first.get_data() == again.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    order = first.get_json()
    # Socks: 1 in stock, 3 ordered: the line waits for stock.
    assert order["status"] == "backorder"
    assert [(line["product_code"], line["status"]) for line in order["lines"]] == [
        ("BOOT-1", "allocated"),
        ("SOCK-1", "backorder"),
    ]
    assert order["lines"][1]["missing"] == 2
    assert order["address"]["country"] == "DE"
    other_body = webshop.post("/api/v1/orders", json=new_order(reference="X"), headers=key)
    assert other_body.status_code == 422
    assert other_body.get_json()["code"] == "idempotency_key_reused"
    with in_tenant(shop.tenant) as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 1
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "order.created"))
        token_id = session.scalar(select(ApiToken.id))
    assert entry.actor_id == shop.user.id
    assert entry.details["api_token_id"] == str(token_id)

    backorders = webshop.get("/api/v1/backorders").get_json()["items"]
    assert [(b["product_code"], b["missing"]) for b in backorders] == [("SOCK-1", 2)]

    # The warehouse picks and ships what is there, through the same service as its page.
    with in_tenant(shop.tenant) as session:
        placed = session.get(Order, (shop.tenant.id, uuid.UUID(order["id"])))
        orders.pick_order(placed)
        orders.ship_order(placed, "DHL", "JJD0001")
        session.commit()

    changed, since = poll(webshop, "/api/v1/orders", since)
    assert [(o["id"], o["status"]) for o in changed] == [(order["id"], "partially_shipped")]
    shipped = webshop.get(f"/api/v1/orders/{order['id']}").get_json()
    assert [line["status"] for line in shipped["lines"]] == ["shipped", "backorder"]
    assert shipped["shipments"][0]["tracking_code"] == "JJD0001"
    assert "JJD0001" in shipped["shipments"][0]["tracking_url"]
    shipments, _ = poll(webshop, "/api/v1/shipments")
    assert [(s["order_number"], s["carrier"], s["tracking_code"]) for s in shipments] == [
        (order["number"], "DHL", "JJD0001")
    ]
    detail = webshop.get(f"/api/v1/shipments/{shipments[0]['id']}").get_json()
    assert [(line["product_code"], line["quantity"]) for line in detail["lines"]] == [
        ("BOOT-1", 2),
        ("SOCK-1", 1),
    ]
    assert webshop.get("/api/v1/orders", query_string={"status": "draft"}).get_json()["items"] == []


def test_orders_from_the_address_book_cancel_change_address_duplicate(shop, webshop, in_tenant):
    response = webshop.post(
        "/api/v1/orders",
        json={
            "lines": [{"product_code": "BOOT-1", "quantity": 1}],
            "address_id": str(shop.address.id),
        },
    )
    assert response.status_code == 201, response.get_json()
    order = response.get_json()
    assert order["address"]["city"] == "Berlin"
    changed = webshop.put(
        f"/api/v1/orders/{order['id']}/address",
        json={"address": {**ADDRESS, "city": "Potsdam"}, "version": order["version"]},
    )
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["address"]["city"] == "Potsdam"
    stale = webshop.put(
        f"/api/v1/orders/{order['id']}/address",
        json={"address": ADDRESS, "version": order["version"]},
    )
    assert stale.status_code == 409
    assert stale.get_json()["code"] == "stale_version"
    copy = webshop.post(f"/api/v1/orders/{order['id']}/duplicate", json={})
    assert copy.status_code == 201
    assert copy.get_json()["status"] == "draft"
    assert copy.get_json()["address"]["city"] == "Potsdam"
    submitted = webshop.post(f"/api/v1/orders/{copy.get_json()['id']}/submit", json={})
    assert submitted.status_code == 200
    assert submitted.get_json()["status"] == "processing"
    cancelled = webshop.post(f"/api/v1/orders/{order['id']}/cancel", json={})
    assert cancelled.status_code == 200
    assert cancelled.get_json()["status"] == "cancelled"
    again = webshop.post(f"/api/v1/orders/{order['id']}/cancel", json={})
    assert again.status_code == 409
    assert again.get_json()["code"] == "transition_refused"
    with in_tenant(shop.tenant) as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.object_id == order["id"])
        ).all()
    assert {"order.created", "order.address_changed", "order.cancelled"} <= set(actions)


def test_bad_orders_are_refused_naming_the_field_in_english_and_german(app, shop, webshop):
    from flask_babel import gettext

    from portal.api.client_sync import WHOLE_NUMBER

    body = new_order(lines=[{"product_code": "BOOT-1", "quantity": "many"}])
    for language in ("en", "de"):
        response = webshop.post("/api/v1/orders", json=body, headers={"Accept-Language": language})
        assert response.status_code == 422
        assert response.mimetype == PROBLEM
        problem = response.get_json()
        assert problem["code"] == "validation_failed"
        assert problem["errors"][0]["field"] == "lines[0].quantity"
        with app.test_request_context(), force_locale(language):
            assert problem["errors"][0]["detail"] == str(WHOLE_NUMBER)
        assert response.headers["Content-Language"] == language

    unknown = webshop.post(
        "/api/v1/orders",
        json=new_order(
            lines=[
                {"product_code": "BOOT-1", "quantity": 1},
                {"product_code": "NOPE", "quantity": 1},
            ]
        ),
    )
    assert unknown.status_code == 422
    problem = unknown.get_json()
    assert problem["code"] == "invalid_lines"
    assert problem["errors"][0]["field"] == "lines[1]"
    assert "NOPE" in problem["errors"][0]["detail"]

    nameless = webshop.post(
        "/api/v1/orders",
        json=new_order(address={**ADDRESS, "name": ""}),
        headers={"Accept-Language": "de"},
    )
    assert nameless.status_code == 422
    error = nameless.get_json()["errors"][0]
    assert error["field"] == "address.name"
    required = "Please enter the recipient's name."
    with app.test_request_context(), force_locale("de"):
        german = gettext(required)
    if COMPILED:  # `make test` compiles the catalogs first
        assert german != required
    assert error["detail"] == german
    assert nameless.headers["Content-Language"] == "de"

    both = webshop.post("/api/v1/orders", json=new_order(address_id=str(shop.address.id)))
    assert both.status_code == 422
    assert both.get_json()["errors"][0]["field"] == "address"
    assert webshop.get("/api/v1/orders").get_json()["items"] == []


def test_the_address_book(shop, webshop):
    items, since = poll(webshop, "/api/v1/addresses")
    assert [item["label"] for item in items] == ["Shop Berlin"]
    created = webshop.post(
        "/api/v1/addresses", json={**ADDRESS, "label": "Warehouse", "city": "Hamburg"}
    )
    assert created.status_code == 201, created.get_json()
    entry = created.get_json()
    path = f"/api/v1/addresses/{entry['id']}"
    assert webshop.get(path).get_json()["city"] == "Hamburg"
    replaced = webshop.put(path, json={**ADDRESS, "label": "Lager"})
    assert replaced.status_code == 200
    assert replaced.get_json()["label"] == "Lager"
    # The server time lies a few seconds back: what changed just before may come again.
    changed, _ = poll(webshop, "/api/v1/addresses", since)
    assert changed[-1]["id"] == entry["id"]
    assert changed[-1]["label"] == "Lager"
    assert [i["label"] for i in poll(webshop, "/api/v1/addresses", q="lager")[0]] == ["Lager"]
    refused = webshop.put(path, json={**ADDRESS, "country": "XX"})
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["field"] == "country"
    assert webshop.delete(path).status_code == 204
    assert webshop.get(path).status_code == 404


def test_products_with_stock_images_and_stock_movements(app, in_tenant, shop, webshop):
    from portal.core.products.models import Product
    from portal.core.products.services import add_image

    with in_tenant(shop.tenant) as session:
        add_image(session.get(Product, (shop.tenant.id, shop.boots.id)), png())
        session.commit()
    products, _ = poll(webshop, "/api/v1/products", size=1)
    boots = next(p for p in products if p["code"] == "BOOT-1")
    assert boots["available"] == 10
    assert boots["stock"][0]["on_hand"] == 10
    image = webshop.get(boots["images"][0]["url"])
    assert image.status_code == 200
    assert image.mimetype.startswith("image/")
    assert [p["code"] for p in poll(webshop, "/api/v1/products", q="sock")[0]] == ["SOCK-1"]
    movements, since = poll(webshop, "/api/v1/stock-movements")
    assert sorted((m["product_code"], m["quantity"]) for m in movements) == [
        ("BOOT-1", 10),
        ("SOCK-1", 1),
    ]
    webshop.post("/api/v1/orders", json=new_order())
    with in_tenant(shop.tenant) as session:
        placed = session.scalar(select(Order))
        orders.pick_order(placed)
        orders.ship_order(placed, "UPS", "1Z999")
        session.commit()
    movements, _ = poll(webshop, "/api/v1/stock-movements", since)
    shipped = [m for m in movements if m["reason"] == "shipment"]
    assert sorted((m["product_code"], m["quantity"], m["reason"]) for m in shipped) == [
        ("BOOT-1", -2, "shipment"),
        ("SOCK-1", -1, "shipment"),
    ]


def test_purchase_orders_and_returns_of_the_client(app, in_tenant, shop, webshop):
    from portal.core.returns.services import ReturnLineInput, receive_return, register_return

    with in_tenant(shop.tenant) as session:
        from portal.core.clients.models import Client

        client = session.get(Client, (shop.tenant.id, shop.client.id))
        ret = register_return(client, [ReturnLineInput(shop.boots.id, 1)], reason="Too small")
        receive_return(ret, "Arrived")
        session.commit()
        return_id = ret.id
    returns, _ = poll(webshop, "/api/v1/returns")
    assert [r["id"] for r in returns] == [str(return_id)]
    detail = webshop.get(f"/api/v1/returns/{return_id}").get_json()
    assert [step["status"] for step in detail["history"]] == ["registered", "received"]
    assert detail["lines"][0]["product_code"] == "BOOT-1"
    from portal.core.orders.services import LineInput
    from portal.core.purchasing.services import create_purchase_order, receive_goods

    with in_tenant(shop.tenant) as session:
        client = session.get(type(shop.client), (shop.tenant.id, shop.client.id))
        po = create_purchase_order(client, [LineInput(shop.socks.id, 5)], supplier_name="Mill")
        receive_goods(po, {po.lines[0].id: 3}, "First pallet")
        session.commit()
        po_id = po.id
    listed, _ = poll(webshop, "/api/v1/client-purchase-orders")
    assert [item["id"] for item in listed] == [str(po_id)]
    detail = webshop.get(f"/api/v1/client-purchase-orders/{po_id}").get_json()
    assert detail["status"] == "partially_received"
    assert detail["supplier"] == "Mill"
    line = detail["lines"][0]
    assert (line["product_code"], line["quantity"], line["received"], line["outstanding"]) == (
        "SOCK-1",
        5,
        3,
        2,
    )
    assert detail["receipts"][0]["note"] == "First pallet"
    assert detail["receipts"][0]["lines"] == [
        {"purchase_order_line_id": line["id"], "product_code": "SOCK-1", "quantity": 3}
    ]
    # The received socks went to the waiting order lines? None wait here: stock grew.
    socks = webshop.get(f"/api/v1/products/{shop.socks.id}").get_json()
    assert socks["on_hand"] == 4


def test_me_describes_a_client_token(shop, webshop):
    body = webshop.get("/api/v1/me").get_json()
    assert body["client"]["name"] == "Webshop"
    assert body["supplier"] is None
    assert body["scopes"] == sorted(ALL)


def test_scopes_and_the_kind_of_token_are_enforced(shop, issue_token, api_client, trade, in_tenant):
    reader = api_client(shop.tenant, issue_token(shop.user, shop.tenant, ["orders:read"]))
    assert reader.get("/api/v1/orders").status_code == 200
    refused = reader.post("/api/v1/orders", json=new_order())
    assert refused.status_code == 403
    assert refused.get_json()["code"] == "insufficient_scope"
    assert reader.get("/api/v1/products").status_code == 403
    assert reader.post("/api/v1/addresses", json=ADDRESS).status_code == 403
    with in_tenant(shop.tenant) as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 0
    supplier = api_client(trade.tenant, issue_token(trade.supplier_user, trade.tenant))
    response = supplier.get("/api/v1/orders")
    assert response.status_code == 403
    assert response.get_json()["code"] in {"insufficient_scope", "not_a_client"}
    client = api_client(shop.tenant, issue_token(shop.user, shop.tenant, ["purchase_orders:read"]))
    response = client.get("/api/v1/purchase-orders")
    assert response.status_code == 403
    assert response.get_json()["code"] == "not_a_supplier"


def test_a_client_without_portal_access_has_no_api(shop, webshop, in_tenant):
    from portal.core.clients.models import Client

    with in_tenant(shop.tenant) as session:
        session.get(Client, (shop.tenant.id, shop.client.id)).portal_access = False
        session.commit()
    assert webshop.get("/api/v1/me").status_code == 401


def test_the_order_list_reads_a_page_in_a_fixed_number_of_queries(
    app, shop, webshop, count_queries
):
    webshop.post("/api/v1/orders", json=new_order())
    with count_queries() as one:
        assert len(webshop.get("/api/v1/orders").get_json()["items"]) == 1
    for number in range(4):
        webshop.post("/api/v1/orders", json=new_order(reference=f"R{number}"))
    with count_queries() as five:
        assert len(webshop.get("/api/v1/orders").get_json()["items"]) == 5
    assert len(five.statements) == len(one.statements)


def _objects_of(app, in_tenant, shop, create_shipment, create_order) -> dict[str, uuid.UUID]:
    """One object of each kind that a client route takes an id of, all belonging to ``shop``."""
    from portal.core.orders.services import LineInput
    from portal.core.products.models import Product
    from portal.core.products.services import add_image
    from portal.core.purchasing.models import PurchaseOrder
    from portal.core.purchasing.services import create_purchase_order
    from portal.core.returns.services import ReturnLineInput, register_return

    shipment = create_shipment(shop.tenant, shop.client, [(shop.boots, 1)])
    order = create_order(shop.tenant, shop.client, [(shop.boots, 1)])
    with in_tenant(shop.tenant) as session:
        image = add_image(session.get(Product, (shop.tenant.id, shop.boots.id)), png())
        client = session.get(type(shop.client), (shop.tenant.id, shop.client.id))
        ret = register_return(client, [ReturnLineInput(shop.boots.id, 1)])
        po = create_purchase_order(client, [LineInput(shop.boots.id, 5)], supplier_name="Mill")
        session.commit()
        assert session.get(PurchaseOrder, (shop.tenant.id, po.id)) is not None
        return {
            "address_id": shop.address.id,
            "product_id": shop.boots.id,
            "image_id": image.id,
            "order_id": order.id,
            "shipment_id": shipment.id,
            "purchase_order_id": po.id,
            "return_id": ret.id,
        }


def client_routes(app):
    """Every route of the client scope that takes an id, from the URL map."""
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api_client_") and rule.arguments
    ]


BODIES = {
    "post_order": new_order(),
    "put_address": {"address": ADDRESS},
    "api_client_addresses.put_address": {**ADDRESS},
}


def test_another_clients_and_another_tenants_ids_are_not_found_on_every_route(
    app, in_tenant, shop, make_shop, other_tenant, webshop, create_shipment, create_order
):
    neighbour = make_shop(shop.tenant, name="Neighbour")
    abroad = make_shop(other_tenant, name="Abroad")
    theirs = _objects_of(app, in_tenant, neighbour, create_shipment, create_order)
    foreign = _objects_of(app, in_tenant, abroad, create_shipment, create_order)
    rules = client_routes(app)
    assert {argument for rule in rules for argument in rule.arguments} == set(theirs)
    assert len(rules) >= 12
    checked = 0
    for ids in (theirs, foreign):
        for rule in rules:
            path = rule.rule
            for argument in rule.arguments:
                path = path.replace(f"<uuid:{argument}>", str(ids[argument]))
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                body = BODIES.get(rule.endpoint) or BODIES.get(rule.endpoint.rsplit(".", 1)[-1])
                response = webshop.open(
                    path, method=method, json=body or {} if method != "GET" else None
                )
                assert response.status_code == 404, (method, path, response.get_json())
                assert response.mimetype == PROBLEM
                checked += 1
    assert checked >= 2 * len(rules)
    # The neighbour's order is untouched.
    with in_tenant(shop.tenant) as session:
        order = session.get(Order, (shop.tenant.id, theirs["order_id"]))
        assert order.status != OrderStatus.CANCELLED
        assert session.get(User, (shop.tenant.id, neighbour.user.id)) is not None


def test_product_and_shipment_pages_read_in_a_fixed_number_of_queries(
    app, shop, webshop, count_queries, create_product, create_shipment
):
    def counted(path):
        with count_queries() as counter:
            response = webshop.get(path)
        assert response.status_code == 200
        return len(response.get_json()["items"]), len(counter.statements)

    create_shipment(shop.tenant, shop.client, [(shop.boots, 1)])
    webshop.get("/api/v1/me")  # the token's first use writes its last use: not counted here
    few = {path: counted(path) for path in ("/api/v1/products", "/api/v1/shipments")}
    for number in range(4):
        product = create_product(shop.tenant, shop.client, code=f"MORE-{number}", stock=3)
        create_shipment(shop.tenant, shop.client, [(product, 1), (shop.boots, 1)])
    for path, (items, statements) in few.items():
        more_items, more_statements = counted(path)
        assert more_items > items
        assert more_statements == statements, path


def test_a_control_character_in_a_json_body_is_refused_on_every_scope(webshop):
    # As in the tenant scope and the pages' forms: PostgreSQL cannot store a NUL byte.
    response = webshop.post("/api/v1/addresses", json={**ADDRESS, "label": "A\u0000B"})
    assert response.status_code == 400
    assert response.get_json()["code"] == "forbidden_characters"
    assert response.headers["Content-Type"].startswith("application/problem+json")
