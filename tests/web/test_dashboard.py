"""The dashboard: each role sees its figures at a glance, in a fixed number of queries."""

import re

import pytest
from sqlalchemy import select

from portal.core.orders import services as orders
from portal.core.orders.models import Order
from portal.core.orders.services import LineInput
from portal.core.purchasing.services import create_purchase_order


@pytest.fixture
def world(tenant, create_client, create_user, create_product, create_order, in_tenant):
    """Two clients, each with open orders, a backorder, a shipment, low stock and a PO."""
    made = {}
    for name in ("Alpha", "Beta"):
        client = create_client(tenant, name=f"{name} Ltd")
        stocked = create_product(tenant, client, code=f"{name}-IN", stock=20, low_stock_threshold=2)
        low = create_product(tenant, client, code=f"{name}-LOW", stock=1, low_stock_threshold=5)
        create_order(tenant, client, [(stocked, 1)])  # processing
        create_order(tenant, client, [(low, 4)])  # backorder: 3 units missing
        shipped = create_order(tenant, client, [(stocked, 2)])
        with in_tenant(tenant) as session:
            order = session.scalar(select(Order).where(Order.id == shipped.id))
            orders.pick_order(order)
            orders.ship_order(order, "DHL", "TRACK1")
            po = create_purchase_order(session.merge(client), [LineInput(low.id, 10)])
            session.commit()
        made[name] = {
            "client": client,
            "user": create_user(tenant, "client", client=client),
            "low": low,
            "po": po,
        }
    return made


def text_of(response) -> str:
    return response.get_data(as_text=True)


def tile(page: str, title: str) -> str:
    match = re.search(rf"<h3 id=\"[^\"]+\">{title}</h3>(.*?)</section>", page, re.S)
    assert match, title
    return match.group(1)


def figure(page: str, title: str) -> str:
    return re.sub(
        r"<[^>]+>", "", re.search(r'class="figure">(.*?)</p>', tile(page, title)).group(1)
    )


def test_a_client_user_sees_the_own_clients_figures(login_as, world, tenant):
    page = text_of(login_as(world["Alpha"]["user"], tenant).get("/dashboard"))
    assert "Alpha Ltd" in page
    assert figure(page, "Open orders") == "2"
    assert "Processing" in tile(page, "Open orders")
    assert "Backorder" in tile(page, "Open orders")
    assert figure(page, "Backorders") == "3"
    assert "1 order line" in tile(page, "Backorders")
    assert figure(page, "Shipments today") == "1"
    assert figure(page, "Expected deliveries") == "1"
    assert "Alpha-LOW" in page
    assert f'href="/products/{world["Alpha"]["low"].id}"' in page
    assert world["Alpha"]["po"].number in page
    assert "Beta-LOW" not in page
    assert world["Beta"]["po"].number not in page


def test_staff_see_the_tenants_figures(login_as, create_user, world, tenant, other_tenant):
    page = text_of(login_as(create_user(tenant, "staff"), tenant).get("/dashboard"))
    assert figure(page, "Open orders") == "4"
    assert figure(page, "Backorders") == "6"
    assert figure(page, "Shipments today") == "2"
    assert figure(page, "Expected deliveries") == "2"
    assert "Alpha-LOW" in page
    assert "Beta-LOW" in page
    assert "Alpha-IN" not in page  # enough stock
    assert "Staff" in page
    # Another tenant's staff sees none of it.
    foreign = text_of(login_as(create_user(other_tenant, "staff"), other_tenant).get("/dashboard"))
    assert figure(foreign, "Open orders") == "0"
    assert "Alpha-LOW" not in foreign
    assert "No deliveries are expected." in foreign


def test_the_links_lead_to_the_lists(login_as, world, tenant):
    browser = login_as(world["Alpha"]["user"], tenant)
    page = text_of(browser.get("/dashboard"))
    links = set(
        re.findall(r'href="(/(?:orders|backorders|shipments|purchase-orders|products)[^"]*)"', page)
    )
    assert {"/orders/?state=open", "/backorders/", "/shipments/", "/purchase-orders/"} <= links
    for link in links:
        assert browser.get(link.replace("&amp;", "&")).status_code == 200, link


def test_a_client_without_portal_access_is_told_so(login_as, world, tenant, in_tenant):
    browser = login_as(world["Alpha"]["user"], tenant)
    with in_tenant(tenant) as session:
        session.merge(world["Alpha"]["client"]).portal_access = False
        session.commit()
    response = browser.get("/dashboard")
    assert response.status_code == 200
    page = text_of(response)
    assert "access to the portal is switched off" in page
    assert "Open orders" not in page
    assert "Alpha-LOW" not in page


def test_suppliers_see_what_waits_for_them(
    login_as, create_user, tenant, in_tenant, supplier_world
):
    from portal.core.purchasing import ordering
    from portal.core.suppliers.models import Supplier
    from portal.testing.suppliers import act, draft, sent

    world = supplier_world
    sent(in_tenant, world)  # waits for an answer
    act(in_tenant, world, draft(in_tenant, world), ordering.book)  # not released: not counted
    with in_tenant(tenant) as session:
        supplier = session.get(Supplier, (tenant.id, world.supplier_id))
    page = text_of(
        login_as(create_user(tenant, "supplier", supplier=supplier), tenant).get("/dashboard")
    )
    assert "1 purchase order waits for your answer." in page
    assert "0 confirmed purchase orders are still to be dispatched." in page
    assert "/supplier/" in page
    assert "Open orders" not in page
    # Another supplier of the tenant sees none of it.
    page = text_of(login_as(create_user(tenant, "supplier"), tenant).get("/dashboard"))
    assert "0 purchase orders wait for your answer." in page


def test_the_dashboard_is_translated(login_as, world, tenant):
    page = text_of(
        login_as(world["Alpha"]["user"], tenant).get(
            "/dashboard", headers={"Accept-Language": "de"}
        )
    )
    assert 'lang="de"' in page


@pytest.mark.parametrize("role", ["staff", "client"])
def test_the_number_of_queries_does_not_grow_with_the_data(
    login_as,
    create_user,
    create_client,
    create_product,
    create_order,
    tenant,
    in_tenant,
    count_queries,
    role,
):
    client = create_client(tenant)
    user = create_user(tenant, role, **({"client": client} if role == "client" else {}))
    browser = login_as(user, tenant)

    def add(count):
        for number in range(count):
            product = create_product(tenant, client, stock=1, low_stock_threshold=3)
            create_order(tenant, client, [(product, 2)])
            with in_tenant(tenant) as session:
                create_purchase_order(
                    session.merge(client), [LineInput(product.id, 5)], reference=str(number)
                )
                session.commit()

    def queries() -> int:
        browser.get("/dashboard")
        with count_queries() as counter:
            assert browser.get("/dashboard").status_code == 200
        return counter.count

    add(2)
    few = queries()
    add(20)
    assert queries() == few


def test_the_dashboard_shows_the_previous_login_not_the_current_one(
    client_for, create_user, tenant
):
    user = create_user(tenant, "staff")
    first = client_for(tenant)
    assert first.login(user.email).status_code == 302
    assert "This is your first login." in text_of(first.get("/dashboard"))

    second = client_for(tenant)
    assert second.login(user.email).status_code == 302
    page = text_of(second.get("/dashboard"))
    assert "This is your first login." not in page
    facts = re.search(r"Previous login</dt>\s*<dd>(.*?)</dd>", page, re.S).group(1)
    assert re.search(r"\d", facts), facts
