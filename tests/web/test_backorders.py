"""Backorders: missing units of open orders per product, released oldest first by arrivals."""

import re
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from portal.core.orders import services
from portal.core.orders.models import Order
from portal.core.stock.models import MovementReason
from portal.core.stock.services import record_movement
from portal.core.warehouses.services import default_warehouse


@pytest.fixture
def shop(tenant, create_client, create_user, create_product):
    client = create_client(tenant, name="Acme Shop")
    other = create_client(tenant, name="Other Shop")
    return SimpleNamespace(
        client=client,
        other=other,
        user=create_user(tenant, "client", client=client),
        staff=create_user(tenant, "staff"),
        widget=create_product(tenant, client, code="WID-1", name="Widget"),
        gadget=create_product(tenant, client, code="GAD-1", name="Gadget", stock=1),
        stocked=create_product(tenant, client, code="STK-1", name="Stocked", stock=100),
        foreign=create_product(tenant, other, code="FOR-1", name="Foreign"),
    )


def text_of(response) -> str:
    return response.get_data(as_text=True)


def receive(in_tenant, tenant, product, quantity):
    with in_tenant(tenant) as session:
        record_movement(product, default_warehouse().id, quantity, MovementReason.GOODS_RECEIPT)
        session.commit()


def waiting_orders(page: str, code: str) -> list[str]:
    section = re.search(rf"<h2[^>]*>{code} ·.*?</section>", page, re.S)
    return re.findall(r">(O-\d{4}-\d{6})</a>", section.group(0)) if section else []


def test_backorders_per_product_oldest_first_released_by_goods_receipts(
    login_as, shop, tenant, create_order, in_tenant
):
    first = create_order(tenant, shop.client, [(shop.widget, 3), (shop.stocked, 1)])
    second = create_order(tenant, shop.client, [(shop.widget, 3), (shop.gadget, 2)])
    create_order(tenant, shop.client, [(shop.widget, 5)], submit=False)  # drafts wait for nothing
    browser = login_as(shop.user, tenant)
    page = text_of(browser.get("/backorders/"))
    assert 'aria-current="page">Backorders<' in page
    assert "Missing in total: 6" in page  # widgets
    assert "Missing in total: 1" in page  # gadgets: one in stock, two ordered
    assert waiting_orders(page, "WID-1") == [first.number, second.number]
    assert waiting_orders(page, "GAD-1") == [second.number]
    assert "STK-1" not in page

    # Four widgets arrive: the oldest order gets its three, the next one the fourth.
    receive(in_tenant, tenant, shop.widget, 4)
    page = text_of(browser.get("/backorders/"))
    assert waiting_orders(page, "WID-1") == [second.number]
    assert "Missing in total: 2" in page

    receive(in_tenant, tenant, shop.widget, 2)
    receive(in_tenant, tenant, shop.gadget, 1)
    page = text_of(browser.get("/backorders/"))
    assert "WID-1" not in page
    assert "GAD-1" not in page
    assert "No backorders" in page


def test_cancelled_orders_wait_for_nothing(login_as, shop, tenant, create_order, in_tenant):
    order = create_order(tenant, shop.client, [(shop.widget, 3)])
    with in_tenant(tenant) as session:
        services.cancel_order(session.scalar(select(Order).where(Order.id == order.id)))
        session.commit()
    assert "WID-1" not in text_of(login_as(shop.user, tenant).get("/backorders/"))


def test_a_client_sees_only_its_own_backorders_and_staff_see_all(
    login_as, shop, tenant, create_order
):
    create_order(tenant, shop.client, [(shop.widget, 1)])
    theirs = create_order(tenant, shop.other, [(shop.foreign, 4)])
    page = text_of(login_as(shop.user, tenant).get("/backorders/"))
    assert "WID-1" in page
    assert "FOR-1" not in page
    assert theirs.number not in page
    staff = login_as(shop.staff, tenant)
    page = text_of(staff.get("/backorders/"))
    assert "WID-1" in page
    assert "FOR-1" in page
    assert "Other Shop" in page
    page = text_of(staff.get(f"/backorders/?client={shop.other.id}"))
    assert "FOR-1" in page
    assert "WID-1" not in page
    page = text_of(staff.get("/backorders/?q=foreign"))
    assert "FOR-1" in page
    assert "WID-1" not in page


def test_the_page_costs_the_same_queries_for_few_and_many(
    login_as, shop, tenant, create_order, create_product, count_queries
):
    browser = login_as(shop.user, tenant)

    def measure():
        with count_queries() as counter:
            response = browser.get("/backorders/?size=50")
        assert response.status_code == 200
        return counter.count, text_of(response).count('class="card backorder"')

    for index in range(3):
        product = create_product(tenant, shop.client, code=f"A-{index:02d}")
        create_order(tenant, shop.client, [(product, 1)])
    few, products = measure()
    assert products == 3
    for index in range(27):
        product = create_product(tenant, shop.client, code=f"B-{index:02d}")
        create_order(tenant, shop.client, [(product, 2), (shop.widget, 1)])
    many, products = measure()
    assert products == 31
    assert few == many


def test_pages_by_product(login_as, shop, tenant, create_order, create_product):
    for index in range(5):
        product = create_product(tenant, shop.client, code=f"P-{index}")
        create_order(tenant, shop.client, [(product, 1)])
    browser = login_as(shop.user, tenant)
    page = text_of(browser.get("/backorders/?size=3"))
    assert re.findall(r">(P-\d) ·", page) == ["P-0", "P-1", "P-2"]
    next_url = re.search(r'<p class="pager"><a href="([^"]+)"', page).group(1)
    page = text_of(browser.get(next_url.replace("&amp;", "&")))
    assert re.findall(r">(P-\d) ·", page) == ["P-3", "P-4"]
