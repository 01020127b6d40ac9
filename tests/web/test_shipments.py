"""Shipments: the client's shipments with products, carrier and a tracking link."""

import re
from types import SimpleNamespace

import pytest


@pytest.fixture
def shop(tenant, create_client, create_user, create_product):
    client = create_client(tenant, name="Acme Shop")
    other = create_client(tenant, name="Other Shop")
    return SimpleNamespace(
        client=client,
        other=other,
        user=create_user(tenant, "client", client=client),
        staff=create_user(tenant, "staff"),
        widget=create_product(tenant, client, code="WID-1", name="Widget", stock=500),
        gadget=create_product(tenant, client, code="GAD-1", name="Gadget", stock=500),
        foreign=create_product(tenant, other, code="FOR-1", name="Foreign", stock=50),
    )


def text_of(response) -> str:
    return response.get_data(as_text=True)


def row_count(page: str) -> int:
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S).group(1)
    return len(re.findall(r"<tr>", body))


def test_a_client_sees_its_shipments_with_tracking_links(login_as, shop, tenant, create_shipment):
    mine = create_shipment(
        tenant, shop.client, [(shop.widget, 2)], carrier="DHL", tracking_code="JD014600"
    )
    theirs = create_shipment(tenant, shop.other, [(shop.foreign, 1)])
    page = text_of(login_as(shop.user, tenant).get("/shipments/"))
    assert mine.number in page
    assert theirs.number not in page
    assert "tracking-id=JD014600" in page
    assert 'rel="noopener noreferrer"' in page
    assert 'aria-current="page">Shipments<' in page


@pytest.mark.parametrize(
    ("carrier", "code", "link"),
    [
        ("UPS", "1Z 999/AA", "https://www.ups.com/track?tracknum=1Z%20999%2FAA"),
        ("DPD", "0123?x=1", "https://tracking.dpd.de/status/en_US/parcel/0123%3Fx%3D1"),
        ("GLS", "GLS1", "https://gls-group.com/GROUP/en/parcel-tracking?match=GLS1"),
        ("PostNL", "3SABC", "https://jouw.postnl.nl/track-and-trace/3SABC"),
        ("FedEx", "7777", "https://www.fedex.com/fedextrack/?trknbr=7777"),
    ],
)
def test_tracking_links_per_carrier_encode_the_code(
    login_as, shop, tenant, create_shipment, carrier, code, link
):
    shipment = create_shipment(
        tenant, shop.client, [(shop.widget, 1)], carrier=carrier, tracking_code=code
    )
    page = text_of(login_as(shop.user, tenant).get(f"/shipments/{shipment.id}"))
    assert f'href="{link}"' in page


@pytest.mark.parametrize("carrier", ["DB Schenker", "Other"])
def test_carriers_without_a_tracking_page_show_the_code_only(
    login_as, shop, tenant, create_shipment, carrier
):
    shipment = create_shipment(
        tenant, shop.client, [(shop.widget, 1)], carrier=carrier, tracking_code="XYZ-1"
    )
    page = text_of(login_as(shop.user, tenant).get(f"/shipments/{shipment.id}"))
    assert "XYZ-1" in page
    assert "opens in a new tab" not in page


def test_the_detail_lists_products_and_quantities(login_as, shop, tenant, create_shipment):
    shipment = create_shipment(tenant, shop.client, [(shop.widget, 3), (shop.gadget, 7)])
    page = text_of(login_as(shop.user, tenant).get(f"/shipments/{shipment.id}"))
    assert f"Shipment {shipment.number}" in page
    assert re.search(r"WID-1</td><td>Widget</td><td class=\"number\">3</td>", page)
    assert re.search(r"GAD-1</td><td>Gadget</td><td class=\"number\">7</td>", page)
    assert "Jane Receiver" in page
    assert f"/orders/{shipment.order_id}" in page


def test_another_clients_shipment_is_not_found(login_as, shop, tenant, create_shipment):
    theirs = create_shipment(tenant, shop.other, [(shop.foreign, 1)])
    assert login_as(shop.user, tenant).get(f"/shipments/{theirs.id}").status_code == 404
    assert login_as(shop.staff, tenant).get(f"/shipments/{theirs.id}").status_code == 200


def test_staff_see_all_clients_and_filter(login_as, shop, tenant, create_shipment):
    mine = create_shipment(tenant, shop.client, [(shop.widget, 1)])
    theirs = create_shipment(tenant, shop.other, [(shop.foreign, 1)])
    browser = login_as(shop.staff, tenant)
    page = text_of(browser.get("/shipments/"))
    assert mine.number in page
    assert theirs.number in page
    assert "Other Shop" in page
    page = text_of(browser.get(f"/shipments/?client={shop.client.id}"))
    assert mine.number in page
    assert theirs.number not in page


def test_search_by_order_number_and_tracking_code(
    login_as, shop, tenant, create_shipment, in_tenant
):
    first = create_shipment(tenant, shop.client, [(shop.widget, 1)], tracking_code="AAA111")
    second = create_shipment(tenant, shop.client, [(shop.widget, 1)], tracking_code="BBB222")
    from sqlalchemy import select

    from portal.core.orders.models import Order

    with in_tenant(tenant) as session:
        order_number = session.scalar(select(Order.number).where(Order.id == second.order_id))
    browser = login_as(shop.user, tenant)
    page = text_of(browser.get("/shipments/?q=aaa1"))
    assert first.number in page
    assert second.number not in page
    page = text_of(browser.get(f"/shipments/?q={order_number}"))
    assert second.number in page
    assert first.number not in page


def test_pages_and_query_count(login_as, shop, tenant, create_shipment, count_queries):
    browser = login_as(shop.user, tenant)

    def measure(url="/shipments/?size=50"):
        with count_queries() as counter:
            response = browser.get(url)
        assert response.status_code == 200
        return counter.count, text_of(response)

    for _ in range(3):
        create_shipment(tenant, shop.client, [(shop.widget, 1)])
    few, page = measure()
    assert row_count(page) == 3
    for _ in range(27):
        create_shipment(tenant, shop.client, [(shop.gadget, 1)])
    many, page = measure()
    assert row_count(page) == 30
    assert few == many
    # Keyset pages: 30 rows in pages of 20 and 10, no repeats.
    _, first_page = measure("/shipments/?size=20")
    next_url = re.search(r'<p class="pager"><a href="([^"]+)"', first_page).group(1)
    _, second_page = measure(next_url.replace("&amp;", "&"))
    numbers = re.findall(r">(S-\d{4}-\d{6})</a>", first_page + second_page)
    assert len(numbers) == 30 == len(set(numbers))
