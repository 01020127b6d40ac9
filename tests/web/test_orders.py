"""Order pages: the list, creating line by line, the detail with its actions, staff actions."""

import re
import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.core.addresses.models import Address
from portal.core.orders import services
from portal.core.orders.models import Order, OrderStatus, Shipment
from portal.core.stock.models import MovementReason
from portal.testing.factories import DEFAULT_ADDRESS

STALE = "Someone else changed this in the meantime."


@pytest.fixture
def shop(tenant, create_client, create_user, create_product):
    client = create_client(tenant, name="Acme Shop")
    other = create_client(tenant, name="Other Shop")
    return SimpleNamespace(
        client=client,
        other=other,
        user=create_user(tenant, "client", client=client),
        other_user=create_user(tenant, "client", client=other),
        staff=create_user(tenant, "staff"),
        widget=create_product(tenant, client, code="WID-1", name="Widget", stock=10),
        gadget=create_product(tenant, client, code="GAD-1", name="Gadget", barcode="4006381333931"),
        foreign=create_product(tenant, other, code="FOR-1", name="Foreign thing", stock=5),
    )


def text_of(response) -> str:
    return response.get_data(as_text=True)


def load(in_tenant, tenant, order_id) -> Order:
    order_id = uuid.UUID(str(order_id))
    with in_tenant(tenant) as session:
        order = session.scalar(select(Order).where(Order.id == order_id))
        _ = [(line.product.code, line.allocated) for line in order.lines]
        return order


def count(in_tenant, tenant, model, *where) -> int:
    with in_tenant(tenant) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def lines_data(*rows):
    data = {}
    for index, (code, quantity) in enumerate(rows):
        data[f"lines-{index}-code"] = code
        data[f"lines-{index}-quantity"] = str(quantity)
    return data


def order_form(browser, *rows, action="submit", **fields):
    data = {
        "csrf_token": browser.csrf_token("/orders/new"),
        "action": action,
        **DEFAULT_ADDRESS,
        **lines_data(*rows),
    }
    data.update(fields)
    return data


def row_count(page: str) -> int:
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S).group(1)
    return len(re.findall(r"<tr>", body))


# --- the list --------------------------------------------------------------------------------


def test_a_client_sees_only_its_own_orders_with_status_badges(login_as, shop, tenant, create_order):
    mine = create_order(tenant, shop.client, [(shop.widget, 2), (shop.gadget, 1)])
    draft = create_order(tenant, shop.client, [(shop.widget, 1)], submit=False, reference="PO-9")
    theirs = create_order(tenant, shop.other, [(shop.foreign, 1)])
    page = text_of(login_as(shop.user, tenant).get("/orders/"))
    assert mine.number in page
    assert draft.number in page
    assert theirs.number not in page
    assert 'class="badge badge-backorder">Backorder<' in page
    assert 'class="badge badge-draft">Draft<' in page
    assert "PO-9" in page
    assert "Jane Receiver" in page
    assert "Amsterdam" in page
    assert 'aria-current="page">Orders<' in page


def test_staff_see_every_client_and_filter_by_client(login_as, shop, tenant, create_order):
    mine = create_order(tenant, shop.client, [(shop.widget, 1)])
    theirs = create_order(tenant, shop.other, [(shop.foreign, 1)])
    browser = login_as(shop.staff, tenant)
    page = text_of(browser.get("/orders/"))
    assert mine.number in page
    assert theirs.number in page
    assert "Other Shop" in page
    page = text_of(browser.get(f"/orders/?client={shop.other.id}"))
    assert theirs.number in page
    assert mine.number not in page


def test_search_and_filters(login_as, shop, tenant, create_order):
    first = create_order(tenant, shop.client, [(shop.widget, 1)], reference="SPRING-SALE")
    second = create_order(
        tenant,
        shop.client,
        [(shop.widget, 1)],
        submit=False,
        address={**DEFAULT_ADDRESS, "name": "Bob Builder"},
    )
    browser = login_as(shop.user, tenant)

    def numbers(query):
        page = text_of(browser.get("/orders/" + query))
        return {number for number in (first.number, second.number) if number in page}

    assert numbers("?q=spring") == {first.number}
    assert numbers("?q=bob") == {second.number}
    assert numbers(f"?q={second.number}") == {second.number}
    assert numbers("?status=draft") == {second.number}
    assert numbers("?state=open") == {first.number}
    assert numbers("?state=closed") == set()
    # LIKE wildcards are taken literally.
    assert numbers("?q=%25") == set()
    # Unknown filter values are ignored, not errors.
    assert numbers("?status=nonsense&state=nonsense&client=nonsense") == {
        first.number,
        second.number,
    }


def test_pages_follow_the_cursor_without_repeats(login_as, shop, tenant, create_order):
    orders = [create_order(tenant, shop.client, [(shop.widget, 1)]) for _ in range(5)]
    browser = login_as(shop.user, tenant)
    seen = []
    url = "/orders/?size=2"
    while url:
        page = text_of(browser.get(url))
        seen += re.findall(r">(O-\d{4}-\d{6})</a>", page)
        found = re.search(r'<p class="pager"><a href="([^"]+)"', page)
        url = found.group(1).replace("&amp;", "&") if found else None
    # Newest (highest time-ordered id) first, each exactly once.
    assert seen == [o.number for o in sorted(orders, key=lambda o: o.id, reverse=True)]


@pytest.mark.parametrize("who", ["user", "staff"])
def test_the_list_costs_the_same_queries_for_3_and_30_orders(
    login_as, shop, tenant, create_order, count_queries, who
):
    browser = login_as(getattr(shop, who), tenant)

    def measure():
        with count_queries() as counter:
            response = browser.get("/orders/?size=50")
        assert response.status_code == 200
        return counter.count, row_count(text_of(response))

    for _ in range(3):
        create_order(tenant, shop.client, [(shop.widget, 1), (shop.gadget, 1)])
    few, rows = measure()
    assert rows == 3
    for _ in range(27):
        create_order(tenant, shop.client, [(shop.widget, 1)], submit=False)
    many, rows = measure()
    assert rows == 30
    assert few == many


def test_export_links_carry_the_filters_when_exports_exist(app, login_as, shop, tenant):
    page = text_of(login_as(shop.user, tenant).get("/orders/?status=draft&q=x"))
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    if "/exports/orders.csv" in rules:
        assert "/exports/orders.csv?" in page
        assert "status=draft" in page
    else:
        assert "/exports/orders" not in page


# --- the product picker ----------------------------------------------------------------------


def test_the_picker_finds_the_clients_products_with_free_stock(login_as, shop, tenant):
    browser = login_as(shop.user, tenant)
    found = browser.get("/orders/products.json?q=wid").get_json()
    assert found == {"products": [{"code": "WID-1", "name": "Widget", "available": 10}]}
    by_name = browser.get("/orders/products.json?q=adge").get_json()["products"]
    assert [p["code"] for p in by_name] == ["GAD-1"]
    by_barcode = browser.get("/orders/products.json?q=4006381333931").get_json()["products"]
    assert [p["code"] for p in by_barcode] == ["GAD-1"]
    # Another client's products are never offered, even when named.
    assert browser.get("/orders/products.json?q=FOR").get_json() == {"products": []}
    assert browser.get(f"/orders/products.json?q=FOR&client={shop.other.id}").get_json() == {
        "products": []
    }
    assert browser.get("/orders/products.json?q=%25").get_json() == {"products": []}


def test_staff_pick_products_of_the_chosen_client(login_as, shop, tenant):
    browser = login_as(shop.staff, tenant)
    assert browser.get("/orders/products.json?q=FOR").get_json() == {"products": []}
    found = browser.get(f"/orders/products.json?q=FOR&client={shop.other.id}").get_json()
    assert [p["code"] for p in found["products"]] == ["FOR-1"]


def test_the_order_form_loads_its_script_from_static_files(login_as, shop, tenant):
    page = text_of(login_as(shop.user, tenant).get("/orders/new"))
    assert "/static/js/orders.js" in page
    assert "<script>" not in page
    assert " style=" not in page
    assert 'data-products-url="/orders/products.json"' in page
    assert 'list="product-suggestions"' in page


# --- creating an order -----------------------------------------------------------------------


def test_a_client_submits_an_order_typed_line_by_line(login_as, shop, tenant, in_tenant):
    browser = login_as(shop.user, tenant)
    response = browser.post(
        "/orders/new",
        data=order_form(browser, ("WID-1", 3), ("", ""), ("GAD-1", 2), reference="MY-REF"),
    )
    assert response.status_code == 302
    order_id = response.headers["Location"].rsplit("/", 1)[-1]
    order = load(in_tenant, tenant, order_id)
    assert order.status == OrderStatus.BACKORDER  # no gadgets in stock
    assert order.reference == "MY-REF"
    assert [(line.product.code, line.quantity, line.allocated) for line in order.lines] == [
        ("WID-1", 3, 3),
        ("GAD-1", 2, 0),
    ]
    assert (order.name, order.city, order.country.code) == ("Jane Receiver", "Amsterdam", "NL")
    page = text_of(browser.get(response.headers["Location"]))
    assert f"Order {order.number} was submitted. Some products are not in stock yet" in page


def test_save_as_draft_and_save_the_address_to_the_book(login_as, shop, tenant, in_tenant):
    browser = login_as(shop.user, tenant)
    response = browser.post(
        "/orders/new",
        data=order_form(browser, ("WID-1", 1), action="draft", save_address="y"),
    )
    assert response.status_code == 302
    order = load(in_tenant, tenant, response.headers["Location"].rsplit("/", 1)[-1])
    assert order.status == OrderStatus.DRAFT
    assert order.lines[0].allocated == 0
    with in_tenant(tenant) as session:
        saved = session.scalars(select(Address).where(Address.client_id == shop.client.id)).all()
        assert [(a.name, a.city) for a in saved] == [("Jane Receiver", "Amsterdam")]


def test_every_bad_line_and_address_field_is_named_and_nothing_is_written(
    login_as, shop, tenant, in_tenant
):
    browser = login_as(shop.user, tenant)
    data = order_form(
        browser,
        ("WID-1", 1),
        ("NOPE", 1),
        ("GAD-1", "two"),
        ("FOR-1", 1),
        ("WID-1", 2),
        save_address="y",
    )
    data.update(name="", city="")
    response = browser.post("/orders/new", data=data)
    assert response.status_code == 200
    page = text_of(response)
    assert "Line 2: there is no product with the code NOPE." in page
    assert "Line 3: the quantity must be a positive whole number." in page
    assert "Line 4: there is no product with the code FOR-1." in page
    assert "Line 5: WID-1 is already on line 1." in page
    assert "Please enter the recipient&#39;s name." in page
    assert "Please enter the city." in page
    assert 'id="name-errors"' in page
    assert 'id="city-errors"' in page
    assert 'id="line-2-errors"' in page
    # What was typed is kept.
    assert 'value="NOPE"' in page
    assert 'value="two"' in page
    assert count(in_tenant, tenant, Order) == 0
    assert count(in_tenant, tenant, Address) == 0


def test_an_empty_order_is_refused(login_as, shop, tenant, in_tenant):
    browser = login_as(shop.user, tenant)
    response = browser.post("/orders/new", data=order_form(browser))
    assert "Please enter at least one line." in text_of(response)
    assert count(in_tenant, tenant, Order) == 0


def test_more_lines_adds_rows_without_saving(login_as, shop, tenant, in_tenant):
    browser = login_as(shop.user, tenant)
    before = text_of(browser.get("/orders/new")).count("data-line-row")
    response = browser.post(
        "/orders/new", data=order_form(browser, ("WID-1", 1), action="more_lines")
    )
    page = text_of(response)
    assert page.count("data-line-row") > before
    assert 'value="WID-1"' in page
    assert "is not valid" not in page
    assert count(in_tenant, tenant, Order) == 0


def test_an_address_from_the_book_is_used_when_the_fields_are_empty(
    login_as, shop, tenant, in_tenant, create_address
):
    entry = create_address(
        tenant, shop.client, name="Berlin Shop", city="Berlin", country="DE", label="Shop"
    )
    browser = login_as(shop.user, tenant)
    form = text_of(browser.get("/orders/new"))
    assert f'<option value="{entry.id}">Shop, Berlin Shop' in form
    assert 'data-city="Berlin"' in form
    data = order_form(browser, ("WID-1", 1), address_choice=str(entry.id))
    data.update(dict.fromkeys(DEFAULT_ADDRESS, ""))
    response = browser.post("/orders/new", data=data)
    assert response.status_code == 302
    order = load(in_tenant, tenant, response.headers["Location"].rsplit("/", 1)[-1])
    assert (order.name, order.city, order.country.code) == ("Berlin Shop", "Berlin", "DE")
    # Typed fields win over the choice (the script fills them from the choice).
    data = order_form(browser, ("WID-1", 1), address_choice=str(entry.id), city="Potsdam")
    response = browser.post("/orders/new", data=data)
    order = load(in_tenant, tenant, response.headers["Location"].rsplit("/", 1)[-1])
    assert order.city == "Potsdam"


def test_another_clients_address_cannot_be_chosen(
    login_as, shop, tenant, in_tenant, create_address
):
    create_address(tenant, shop.client, name="Own Place")
    theirs = create_address(tenant, shop.other, name="Secret Place")
    browser = login_as(shop.user, tenant)
    assert "Secret Place" not in text_of(browser.get("/orders/new"))
    data = order_form(browser, ("WID-1", 1), address_choice=str(theirs.id))
    data.update(dict.fromkeys(DEFAULT_ADDRESS, ""))
    response = browser.post("/orders/new", data=data)
    assert "Please choose an address from the list." in text_of(response)
    assert count(in_tenant, tenant, Order) == 0


def test_staff_create_an_order_for_a_chosen_client(login_as, shop, tenant, in_tenant):
    browser = login_as(shop.staff, tenant)
    form = text_of(browser.get("/orders/new"))
    assert "Other Shop" in form
    assert "address book" not in form.lower()
    response = browser.post("/orders/new", data=order_form(browser, ("FOR-1", 2)))
    assert "Please choose the client the order is for." in text_of(response)
    response = browser.post(
        "/orders/new", data=order_form(browser, ("FOR-1", 2), client=str(shop.other.id))
    )
    assert response.status_code == 302
    order = load(in_tenant, tenant, response.headers["Location"].rsplit("/", 1)[-1])
    assert order.client_id == shop.other.id
    assert order.created_by_id == shop.staff.id
    assert order.status == OrderStatus.PROCESSING


def test_a_client_without_portal_access_is_refused(login_as, create_user, create_client, tenant):
    blocked = create_client(tenant, portal_access=False)
    user = create_user(tenant, "client", client=blocked)
    browser = login_as(user, tenant)
    assert browser.get("/orders/").status_code == 403
    assert browser.get("/orders/new").status_code == 403


# --- the detail page -------------------------------------------------------------------------


def test_the_detail_shows_lines_timestamps_shipments_and_history(
    login_as, shop, tenant, create_shipment, in_tenant
):
    shipment = create_shipment(
        tenant, shop.client, [(shop.widget, 4), (shop.gadget, 2)], tracking_code="JD 01/2"
    )
    page = text_of(login_as(shop.user, tenant).get(f"/orders/{shipment.order_id}"))
    order = load(in_tenant, tenant, shipment.order_id)
    assert f"Order {order.number}" in page
    assert 'class="badge badge-partially-shipped">Partially shipped<' in page
    # Lines: quantity, allocated, shipped, missing.
    assert re.search(r"WID-1</td>\s*<td>Widget</td>\s*<td class=\"number\">4</td>", page)
    assert re.search(
        r"GAD-1</td>\s*<td>Gadget</td>\s*<td class=\"number\">2</td>\s*"
        r"<td class=\"number\">0</td>\s*<td class=\"number\">0</td>\s*"
        r"<td class=\"number\"><strong class=\"missing\">2</strong>",
        page,
    )
    assert "Submitted</dt><dd>" in page
    assert "Picked</dt><dd>" in page
    # The shipment with its tracking link, the code encoded as one URL component.
    assert shipment.number in page
    assert (
        "https://www.dhl.com/global-en/home/tracking/tracking-parcel.html?submit=1&amp;tracking-id=JD%2001%2F2"
        in page
    )
    # The history from the audit log, in words.
    for words in (
        "Order created",
        "Submitted",
        "Waiting for stock (backorder)",
        "Picking started",
        "Shipped",
        "Status: Backorder → Picking",
        f"Shipment {shipment.number} with DHL",
    ):
        assert words in page, words
    # Client users see the tenant's name for what its staff (or nobody) did, never staff names.
    assert shop.staff.email not in page


def test_the_history_names_who_acted(login_as, shop, tenant, create_order, in_tenant):
    browser = login_as(shop.user, tenant)
    response = browser.post("/orders/new", data=order_form(browser, ("WID-1", 1)))
    order_id = response.headers["Location"].rsplit("/", 1)[-1]
    staff_browser = login_as(shop.staff, tenant)
    page = text_of(staff_browser.get(f"/orders/{order_id}"))
    assert shop.user.email in page
    with in_tenant(tenant) as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.object_id == order_id)
        ).all()
    assert "order.created" in actions
    assert "order.submitted" in actions


def test_another_clients_order_is_not_found(login_as, shop, tenant, create_order):
    theirs = create_order(tenant, shop.other, [(shop.foreign, 1)])
    browser = login_as(shop.user, tenant)
    token = browser.csrf_token("/orders/new")
    for path in ("", "/address", "/cancel", "/lines"):
        assert browser.get(f"/orders/{theirs.id}{path}").status_code == 404, path
    for path in ("/cancel", "/submit", "/duplicate", "/address", "/lines"):
        response = browser.post(f"/orders/{theirs.id}{path}", data={"csrf_token": token})
        assert response.status_code == 404, path


# --- changing the address --------------------------------------------------------------------


def address_form(browser, order, version, **fields):
    return {
        "csrf_token": browser.csrf_token(f"/orders/{order.id}/address"),
        "version": str(version),
        **DEFAULT_ADDRESS,
        **fields,
    }


def test_the_delivery_address_changes_until_picking(
    login_as, shop, tenant, create_order, in_tenant
):
    order = create_order(tenant, shop.client, [(shop.widget, 1)])
    browser = login_as(shop.user, tenant)
    form = text_of(browser.get(f"/orders/{order.id}/address"))
    assert 'value="Jane Receiver"' in form
    assert f'name="version" type="hidden" value="{order.version}"' in form
    response = browser.post(
        f"/orders/{order.id}/address",
        data=address_form(browser, order, order.version, city="Utrecht"),
    )
    assert response.status_code == 302
    assert load(in_tenant, tenant, order.id).city == "Utrecht"
    page = text_of(browser.get(f"/orders/{order.id}"))
    assert "Delivery address changed" in page
    assert "City: Amsterdam → Utrecht" in page


def test_a_bad_address_names_the_field(login_as, shop, tenant, create_order, in_tenant):
    order = create_order(tenant, shop.client, [(shop.widget, 1)])
    browser = login_as(shop.user, tenant)
    response = browser.post(
        f"/orders/{order.id}/address",
        data=address_form(browser, order, order.version, street="", country="QQ"),
    )
    page = text_of(response)
    assert 'id="street-errors"' in page
    assert "Please enter the street and house number." in page
    assert 'id="country-errors"' in page
    assert "QQ is not a country code." in page
    assert load(in_tenant, tenant, order.id).street == DEFAULT_ADDRESS["street"]


def test_a_stale_address_change_is_refused_with_a_reload_offer(
    login_as, shop, tenant, create_order, create_user, in_tenant
):
    order = create_order(tenant, shop.client, [(shop.widget, 1)])
    colleague = create_user(tenant, "client", client=shop.client)
    first = login_as(shop.user, tenant)
    second = login_as(colleague, tenant)
    seen = order.version
    first_data = address_form(first, order, seen, city="Utrecht")
    second_data = address_form(second, order, seen, city="Rotterdam")
    assert first.post(f"/orders/{order.id}/address", data=first_data).status_code == 302
    response = second.post(f"/orders/{order.id}/address", data=second_data)
    page = text_of(response)
    assert STALE in page
    assert "Reload the order" in page
    assert load(in_tenant, tenant, order.id).city == "Utrecht"


def test_address_change_and_cancel_are_refused_after_picking(
    login_as, shop, tenant, create_order, in_tenant
):
    order = create_order(tenant, shop.client, [(shop.widget, 1)])
    with in_tenant(tenant) as session:
        services.pick_order(session.scalar(select(Order).where(Order.id == order.id)))
        session.commit()
    picked = load(in_tenant, tenant, order.id)
    browser = login_as(shop.user, tenant)
    refusal_address = "The delivery address can no longer be changed"
    refusal_cancel = "The order can no longer be cancelled"
    assert refusal_address in text_of(browser.get(f"/orders/{order.id}/address"))
    assert refusal_cancel in text_of(browser.get(f"/orders/{order.id}/cancel"))
    response = browser.post(
        f"/orders/{order.id}/address",
        data=address_form(browser, order, picked.version, city="Utrecht"),
    )
    assert refusal_address in text_of(response)
    token = browser.csrf_token("/orders/new")
    response = browser.post(
        f"/orders/{order.id}/cancel",
        data={"csrf_token": token, "version": picked.version},
        follow_redirects=True,
    )
    assert refusal_cancel in text_of(response)
    after = load(in_tenant, tenant, order.id)
    assert (after.status, after.city) == (OrderStatus.PICKING, "Amsterdam")
    # The detail page offers neither action any more.
    page = text_of(browser.get(f"/orders/{order.id}"))
    assert f"/orders/{order.id}/cancel" not in page
    assert f"/orders/{order.id}/address" not in page


# --- cancel, duplicate, submit, edit lines ---------------------------------------------------


def test_cancel_after_confirming(login_as, shop, tenant, create_order, in_tenant):
    order = create_order(tenant, shop.client, [(shop.widget, 4)])
    browser = login_as(shop.user, tenant)
    page = text_of(browser.get(f"/orders/{order.id}/cancel"))
    assert "Do you want to cancel this order?" in page
    token = browser.csrf_token(f"/orders/{order.id}/cancel")
    response = browser.post(
        f"/orders/{order.id}/cancel", data={"csrf_token": token, "version": order.version}
    )
    assert response.status_code == 302
    after = load(in_tenant, tenant, order.id)
    assert after.status == OrderStatus.CANCELLED
    assert after.lines[0].allocated == 0
    page = text_of(browser.get(f"/orders/{order.id}"))
    assert f"Order {order.number} was cancelled." in page
    assert 'class="badge badge-cancelled">Cancelled<' in page


def test_a_stale_cancel_is_refused(login_as, shop, tenant, create_order, in_tenant):
    order = create_order(tenant, shop.client, [(shop.widget, 1)])
    browser = login_as(shop.user, tenant)
    token = browser.csrf_token(f"/orders/{order.id}/cancel")
    browser.post(
        f"/orders/{order.id}/address",
        data=address_form(browser, order, order.version, city="Utrecht"),
    )
    response = browser.post(
        f"/orders/{order.id}/cancel",
        data={"csrf_token": token, "version": order.version},
        follow_redirects=True,
    )
    assert STALE in text_of(response)
    assert load(in_tenant, tenant, order.id).status == OrderStatus.PROCESSING


def test_duplicate_into_a_new_draft(login_as, shop, tenant, create_order, in_tenant):
    order = create_order(tenant, shop.client, [(shop.widget, 2), (shop.gadget, 1)])
    browser = login_as(shop.user, tenant)
    token = browser.csrf_token(f"/orders/{order.id}/cancel")
    response = browser.post(
        f"/orders/{order.id}/duplicate", data={"csrf_token": token, "version": order.version}
    )
    assert response.status_code == 302
    copy = load(in_tenant, tenant, response.headers["Location"].rsplit("/", 1)[-1])
    assert copy.id != order.id
    assert copy.status == OrderStatus.DRAFT
    assert [(line.product.code, line.quantity) for line in copy.lines] == [
        ("WID-1", 2),
        ("GAD-1", 1),
    ]
    page = text_of(browser.get(response.headers["Location"]))
    assert f"was copied into the new draft {copy.number}" in page


def test_edit_the_lines_of_a_draft_then_submit_it(login_as, shop, tenant, create_order, in_tenant):
    draft = create_order(tenant, shop.client, [(shop.widget, 1)], submit=False)
    browser = login_as(shop.user, tenant)
    form = text_of(browser.get(f"/orders/{draft.id}/lines"))
    assert 'value="WID-1"' in form
    token = browser.csrf_token(f"/orders/{draft.id}/lines")
    bad = browser.post(
        f"/orders/{draft.id}/lines",
        data={"csrf_token": token, "version": draft.version, **lines_data(("WID-1", 0))},
    )
    assert "Line 1: the quantity must be a positive whole number." in text_of(bad)
    response = browser.post(
        f"/orders/{draft.id}/lines",
        data={
            "csrf_token": token,
            "version": draft.version,
            **lines_data(("WID-1", 5), ("GAD-1", 1)),
        },
    )
    assert response.status_code == 302
    edited = load(in_tenant, tenant, draft.id)
    assert [(line.product.code, line.quantity) for line in edited.lines] == [
        ("WID-1", 5),
        ("GAD-1", 1),
    ]
    response = browser.post(
        f"/orders/{draft.id}/submit", data={"csrf_token": token, "version": edited.version}
    )
    assert response.status_code == 302
    submitted = load(in_tenant, tenant, draft.id)
    assert submitted.status == OrderStatus.BACKORDER
    assert submitted.submitted_at is not None


def test_the_lines_of_a_submitted_order_cannot_change(
    login_as, shop, tenant, create_order, in_tenant
):
    order = create_order(tenant, shop.client, [(shop.widget, 1)])
    browser = login_as(shop.user, tenant)
    page = text_of(browser.get(f"/orders/{order.id}/lines"))
    assert "The lines can only be changed while the order is a draft." in page
    token = browser.csrf_token("/orders/new")
    response = browser.post(
        f"/orders/{order.id}/lines",
        data={"csrf_token": token, "version": order.version, **lines_data(("WID-1", 9))},
    )
    assert "The lines can only be changed while the order is a draft." in text_of(response)
    assert load(in_tenant, tenant, order.id).lines[0].quantity == 1


# --- staff actions ---------------------------------------------------------------------------


def post_action(browser, order_id, action, **data):
    order_token = browser.csrf_token("/orders/new")
    return browser.post(f"/orders/{order_id}/{action}", data={"csrf_token": order_token, **data})


def test_clients_cannot_use_the_warehouse_actions(login_as, shop, tenant, create_order):
    order = create_order(tenant, shop.client, [(shop.widget, 1)])
    browser = login_as(shop.user, tenant)
    for action in ("allocate", "pick", "ship", "complete"):
        response = post_action(browser, order.id, action, version=order.version)
        assert response.status_code == 403, action
    assert browser.get(f"/orders/{order.id}/picklist").status_code == 403
    page = text_of(browser.get(f"/orders/{order.id}"))
    assert "Start picking" not in page
    assert "Picklist" not in page


def test_staff_allocate_again_when_stock_became_free(
    login_as, shop, tenant, create_order, in_tenant
):
    first = create_order(tenant, shop.client, [(shop.widget, 10)])
    waiting = create_order(tenant, shop.client, [(shop.widget, 4)])
    assert load(in_tenant, tenant, waiting.id).status == OrderStatus.BACKORDER
    with in_tenant(tenant) as session:
        services.cancel_order(session.scalar(select(Order).where(Order.id == first.id)))
        session.commit()
    browser = login_as(shop.staff, tenant)
    version = load(in_tenant, tenant, waiting.id).version
    response = post_action(browser, waiting.id, "allocate", version=version)
    assert response.status_code == 302
    after = load(in_tenant, tenant, waiting.id)
    assert (after.status, after.lines[0].allocated) == (OrderStatus.PROCESSING, 4)
    page = text_of(browser.get(f"/orders/{waiting.id}"))
    assert "4 more units of order" in page
    assert "Stock allocated again" in page
    assert "WID-1: 4 more allocated" in page


def test_staff_pick_print_the_picklist_ship_and_complete(
    login_as, shop, tenant, create_product, create_order, in_tenant
):
    scanner = create_product(
        tenant, shop.client, code="SCN-1", name="Scanner", barcode="5901234123457", stock=3
    )
    order = create_order(tenant, shop.client, [(shop.widget, 2), (scanner, 1)])
    browser = login_as(shop.staff, tenant)
    assert "Start picking" in text_of(browser.get(f"/orders/{order.id}"))
    response = post_action(browser, order.id, "pick", version=order.version)
    assert response.headers["Location"].endswith(f"/orders/{order.id}/picklist")
    picklist = text_of(browser.get(response.headers["Location"]))
    assert f"Picklist {order.number}" in picklist
    assert re.search(
        r"SCN-1</td>\s*<td>Scanner</td>\s*<td class=\"code\">5901234123457</td>\s*<td class=\"number\">1</td>",
        picklist,
    )
    assert re.search(
        r"WID-1</td>\s*<td>Widget</td>\s*<td class=\"code\">—</td>\s*<td class=\"number\">2</td>",
        picklist,
    )
    assert "Jane Receiver" in picklist
    picked = load(in_tenant, tenant, order.id)
    assert picked.status == OrderStatus.PICKING

    missing = post_action(browser, order.id, "ship", version=picked.version, carrier="")
    assert "Please choose a carrier" in text_of(missing) or "Not a valid choice" in text_of(missing)
    response = post_action(
        browser, order.id, "ship", version=picked.version, carrier="UPS", tracking_code="1Z999"
    )
    assert response.status_code == 302
    shipped = load(in_tenant, tenant, order.id)
    assert shipped.status == OrderStatus.SHIPPED
    with in_tenant(tenant) as session:
        shipment = session.scalar(select(Shipment).where(Shipment.order_id == order.id))
        assert (shipment.carrier, shipment.tracking_code) == ("UPS", "1Z999")
    page = text_of(browser.get(f"/orders/{order.id}"))
    assert "https://www.ups.com/track?tracknum=1Z999" in page
    response = post_action(browser, order.id, "complete", version=shipped.version)
    assert response.status_code == 302
    assert load(in_tenant, tenant, order.id).status == OrderStatus.COMPLETED


def test_shipping_an_order_that_is_not_picked_is_refused(
    login_as, shop, tenant, create_order, in_tenant
):
    order = create_order(tenant, shop.client, [(shop.widget, 1)])
    browser = login_as(shop.staff, tenant)
    response = post_action(
        browser, order.id, "ship", version=order.version, carrier="DHL", follow_redirects=True
    )
    assert response.status_code == 302
    page = text_of(browser.get(f"/orders/{order.id}"))
    assert "Only a picked order can be shipped." in page
    assert load(in_tenant, tenant, order.id).status == OrderStatus.PROCESSING


def test_a_goods_receipt_moves_a_backorder_on(login_as, shop, tenant, create_order, in_tenant):
    from portal.core.stock.services import record_movement
    from portal.core.warehouses.services import default_warehouse

    order = create_order(tenant, shop.client, [(shop.gadget, 2)])
    with in_tenant(tenant) as session:
        record_movement(shop.gadget, default_warehouse().id, 2, MovementReason.GOODS_RECEIPT)
        session.commit()
    page = text_of(login_as(shop.user, tenant).get(f"/orders/{order.id}"))
    assert "All products allocated from stock" in page


def test_phone_numbers_read_left_to_right_on_an_arabic_page(
    login_as, shop, tenant, create_order, in_tenant
):
    with in_tenant(tenant) as session:
        session.merge(tenant).enabled_locales = ["en", "ar"]
        session.commit()
    order = create_order(tenant, shop.client, [(shop.widget, 1)])
    browser = login_as(shop.user, tenant)
    html = text_of(browser.get(f"/orders/{order.id}", headers={"Accept-Language": "ar"}))
    assert 'dir="rtl"' in html
    # Stored in E.164, shown written internationally.
    assert order.phone == "+31201234567"
    assert '<bdi dir="ltr" class="phone">+31 20 123 4567</bdi>' in html


def test_codes_and_numbers_of_the_order_list_stay_on_one_line(login_as, shop, tenant, create_order):
    order = create_order(tenant, shop.client, [(shop.widget, 1)])
    html = text_of(login_as(shop.user, tenant).get("/orders/"))
    assert f'<td class="code"><a href="/orders/{order.id}">{order.number}</a></td>' in html
    assert '<div class="table-wrap" role="region" aria-label="Orders" tabindex="0">' in html
