"""Addresses are checked the same way on every page that takes one (issue 10, defect 8).

The address book, the new-order form, the change of an order's address and the order import
all refuse the walkthrough's e-mail ``not-an-email``, phone ``call me maybe`` and German
postcode ``ABCDEFG`` with every error at its field, keep what was typed and save nothing.
"""

from __future__ import annotations

import io
import re
import uuid
from types import SimpleNamespace

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from portal.core.addresses.models import Address
from portal.core.orders.models import Order
from portal.testing.factories import DEFAULT_ADDRESS

BAD = {
    "name": "Lukas Weber",
    "company": "",
    "street": "Torstraße 12",
    "street2": "",
    "postcode": "ABCDEFG",
    "city": "Berlin",
    "state": "",
    "country": "DE",
    "phone": "call me maybe",
    "email": "not-an-email",
}
ENGLISH = {
    "postcode": "The postcode must look like 26133 in Germany.",
    "phone": (
        "The phone number is not one that can be dialled; write it with its area code, "
        "like +49 30 123456."
    ),
    "email": "The e-mail address must look like name@example.com.",
}


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
        gadget=create_product(tenant, client, code="GAD-1", name="Gadget", stock=10),
    )


def text_of(response) -> str:
    return response.get_data(as_text=True)


def errors_at(page: str, field: str) -> str:
    """Return the text of the error list shown at ``field`` ('' if there is none)."""
    match = re.search(rf'<ul class="errors" id="{field}-errors">(.*?)</ul>', page, re.S)
    return re.sub(r"<[^>]+>", " ", match.group(1)).strip() if match else ""


def count(in_tenant, tenant, model) -> int:
    with in_tenant(tenant) as session:
        return session.scalar(select(func.count()).select_from(model))


def assert_three_errors_in_english(page: str) -> None:
    for field, message in ENGLISH.items():
        assert message in errors_at(page, field), field
    # What was typed stays in the fields.
    assert 'value="ABCDEFG"' in page
    assert 'value="call me maybe"' in page
    assert 'value="not-an-email"' in page
    # Each error once at its field, none elsewhere in the form.
    assert page.count(ENGLISH["postcode"]) == 1


def assert_three_errors_in_german(page: str) -> None:
    assert '<html lang="de"' in page
    postcode = errors_at(page, "postcode")
    # The country is named in the reader's language, with an example of its postcodes.
    assert "Deutschland" in postcode
    assert "26133" in postcode
    assert "Germany" not in postcode
    assert "+49 30 123456" in errors_at(page, "phone")
    assert errors_at(page, "email")
    assert 'value="ABCDEFG"' in page


# --- the address book ------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_address_book_refuses_the_three_mistakes_at_their_fields(
    login_as, shop, tenant, in_tenant, language
):
    browser = login_as(shop.user, tenant)
    token = browser.csrf_token("/addresses/new")
    response = browser.post(
        "/addresses/new",
        data={"csrf_token": token, **BAD},
        headers={"Accept-Language": language},
    )
    assert response.status_code == 200
    page = text_of(response)
    if language == "en":
        assert_three_errors_in_english(page)
    else:
        assert_three_errors_in_german(page)
    assert count(in_tenant, tenant, Address) == 0


def test_the_address_book_stores_clean_values_and_shows_the_phone_for_reading(
    login_as, shop, tenant, in_tenant
):
    browser = login_as(shop.user, tenant)
    token = browser.csrf_token("/addresses/new")
    typed = {**DEFAULT_ADDRESS, "postcode": "1011ab", "phone": "020 123 4567", "state": ""}
    response = browser.post("/addresses/new", data={"csrf_token": token, **typed})
    assert response.status_code == 302
    with in_tenant(tenant) as session:
        entry = session.scalar(select(Address))
        assert (entry.postcode, entry.phone) == ("1011 AB", "+31201234567")
    edit = text_of(browser.get(f"/addresses/{entry.id}/edit"))
    assert 'value="+31 20 123 4567"' in edit
    delete = text_of(browser.get(f"/addresses/{entry.id}/delete"))
    assert '<bdi dir="ltr" class="phone">+31 20 123 4567</bdi>' in delete


def test_an_american_address_needs_a_known_state(login_as, shop, tenant, in_tenant):
    browser = login_as(shop.user, tenant)
    token = browser.csrf_token("/addresses/new")
    typed = {**DEFAULT_ADDRESS, "country": "US", "postcode": "10001", "phone": "", "state": "XX"}
    page = text_of(browser.post("/addresses/new", data={"csrf_token": token, **typed}))
    assert "XX is not a state, province or region of United States" in errors_at(page, "state")
    typed["state"] = "New York"
    token = browser.csrf_token("/addresses/new")
    assert browser.post("/addresses/new", data={"csrf_token": token, **typed}).status_code == 302
    with in_tenant(tenant) as session:
        assert session.scalar(select(Address.state)) == "NY"


def test_another_clients_or_tenants_address_is_not_found(
    login_as, shop, tenant, other_tenant, create_address, create_client
):
    mine = create_address(tenant, shop.client)
    partner = create_address(tenant, shop.other)
    stranger = create_address(other_tenant, create_client(other_tenant))
    browser = login_as(shop.user, tenant)
    assert browser.get(f"/addresses/{mine.id}/edit").status_code == 200
    for entry in (partner, stranger):
        assert browser.get(f"/addresses/{entry.id}/edit").status_code == 404
        token = browser.csrf_token("/addresses/new")
        posted = browser.post(
            f"/addresses/{entry.id}/edit", data={"csrf_token": token, **DEFAULT_ADDRESS}
        )
        assert posted.status_code == 404


# --- the new order form ----------------------------------------------------------------------


def order_form(browser, **fields):
    return {
        "csrf_token": browser.csrf_token("/orders/new"),
        "action": "submit",
        **DEFAULT_ADDRESS,
        "lines-0-code": "WID-1",
        "lines-0-quantity": "2",
        **fields,
    }


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_new_order_form_refuses_the_three_mistakes_at_their_fields(
    login_as, shop, tenant, in_tenant, language
):
    browser = login_as(shop.user, tenant)
    response = browser.post(
        "/orders/new", data=order_form(browser, **BAD), headers={"Accept-Language": language}
    )
    assert response.status_code == 200
    page = text_of(response)
    if language == "en":
        assert_three_errors_in_english(page)
    else:
        assert_three_errors_in_german(page)
    assert 'value="WID-1"' in page  # the lines stay too
    assert count(in_tenant, tenant, Order) == 0


def test_staff_order_for_a_client_is_checked_the_same_way(login_as, shop, tenant, in_tenant):
    browser = login_as(shop.staff, tenant)
    data = order_form(browser, **BAD, client=str(shop.client.id))
    page = text_of(browser.post("/orders/new", data=data))
    assert_three_errors_in_english(page)
    assert count(in_tenant, tenant, Order) == 0


def test_a_chosen_address_book_entry_keeps_its_postcode(
    login_as, shop, tenant, in_tenant, create_address
):
    entry = create_address(tenant, shop.client, country="DE", postcode="10115", city="Berlin")
    browser = login_as(shop.user, tenant)
    empty = dict.fromkeys(DEFAULT_ADDRESS, "")
    data = order_form(browser, **empty, address_choice=str(entry.id))
    response = browser.post("/orders/new", data=data)
    assert response.status_code == 302
    with in_tenant(tenant) as session:
        order = session.scalar(select(Order))
        assert (order.postcode, order.city, order.country.code) == ("10115", "Berlin", "DE")


def test_another_clients_address_book_entry_cannot_be_chosen(
    login_as, shop, tenant, in_tenant, create_address
):
    create_address(tenant, shop.client)  # so that the choice is offered
    partner = create_address(tenant, shop.other, postcode="9999 ZZ")
    browser = login_as(shop.user, tenant)
    empty = dict.fromkeys(DEFAULT_ADDRESS, "")
    for choice in (str(partner.id), str(uuid.uuid4())):
        data = order_form(browser, **empty, address_choice=choice)
        page = text_of(browser.post("/orders/new", data=data))
        assert "Please choose an address from the list." in page
    assert count(in_tenant, tenant, Order) == 0


# --- the change of an order's address --------------------------------------------------------


def change_form(browser, order, **fields):
    return {
        "csrf_token": browser.csrf_token(f"/orders/{order.id}/address"),
        "version": str(order.version),
        **DEFAULT_ADDRESS,
        **fields,
    }


def test_changing_an_orders_address_is_checked_and_keeps_the_postcode(
    login_as, shop, tenant, in_tenant, create_order
):
    order = create_order(tenant, shop.client, [(shop.widget, 1)])
    browser = login_as(shop.user, tenant)
    page = text_of(
        browser.post(f"/orders/{order.id}/address", data=change_form(browser, order, **BAD))
    )
    assert_three_errors_in_english(page)
    with in_tenant(tenant) as session:
        assert session.get(Order, (tenant.id, order.id)).postcode == "1011 AB"
    # Saving the form as it comes (only the city changed) keeps the postcode.
    shown = text_of(browser.get(f"/orders/{order.id}/address"))
    assert 'value="1011 AB"' in shown
    response = browser.post(
        f"/orders/{order.id}/address", data=change_form(browser, order, city="Utrecht")
    )
    assert response.status_code == 302
    with in_tenant(tenant) as session:
        changed = session.get(Order, (tenant.id, order.id))
        assert (changed.postcode, changed.city) == ("1011 AB", "Utrecht")


def test_another_tenants_or_clients_order_address_is_not_found(
    login_as, shop, tenant, other_tenant, create_order, create_client, create_product
):
    partner_product = create_product(tenant, shop.other, code="P-1", stock=2)
    partner_order = create_order(tenant, shop.other, [(partner_product, 1)])
    stranger_client = create_client(other_tenant)
    stranger_product = create_product(other_tenant, stranger_client, code="S-1", stock=2)
    stranger_order = create_order(other_tenant, stranger_client, [(stranger_product, 1)])
    browser = login_as(shop.user, tenant)
    for order in (partner_order, stranger_order):
        assert browser.get(f"/orders/{order.id}/address").status_code == 404


# --- the order import ------------------------------------------------------------------------

HEADER = ("Product code", "Quantity", "Name", "Street", "Postcode", "City", "Country", "Phone")


def xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(browser, data, **fields):
    token = browser.csrf_token("/orders/import")
    return browser.post(
        "/orders/import",
        data={"csrf_token": token, "file": (io.BytesIO(data), "order.xlsx"), **fields},
        content_type="multipart/form-data",
    )


def test_the_import_names_the_row_and_field_of_each_bad_address_part(
    login_as, shop, tenant, in_tenant
):
    rows = [
        HEADER,
        ("WID-1", 1, "Lukas Weber", "Torstraße 12", "", "Berlin", "DE", "call me maybe"),
        ("GAD-1", 1, "", "", "ABCDEFG", "", "", ""),
    ]
    browser = login_as(shop.user, tenant)
    response = upload(browser, xlsx(rows))
    page = text_of(browser.get(response.headers["Location"]))
    assert "Row 2: The phone number is not one that can be dialled" in page
    assert "Row 3: The postcode must look like 26133 in Germany." in page
    assert "nothing was imported" in page
    assert count(in_tenant, tenant, Order) == 0


def test_an_imported_address_without_its_postcode_is_refused(login_as, shop, tenant, in_tenant):
    """How an order lost its postcode: address columns without one were taken as they were."""
    rows = [
        ("Product code", "Quantity", "Name", "Street", "City", "Country"),
        ("WID-1", 1, "Lukas Weber", "Torstraße 12", "Berlin", "DE"),
    ]
    browser = login_as(shop.user, tenant)
    page = text_of(browser.get(upload(browser, xlsx(rows)).headers["Location"]))
    assert "Row 2: Please enter the postcode; in Germany it looks like 26133." in page
    assert count(in_tenant, tenant, Order) == 0


def test_a_postcode_excel_stored_as_a_number_keeps_its_leading_zero(
    login_as, shop, tenant, in_tenant
):
    rows = [HEADER, ("WID-1", 1, "Lukas Weber", "Torstraße 12", 1067, "Dresden", "de", "")]
    browser = login_as(shop.user, tenant)
    response = upload(browser, xlsx(rows))
    assert "was created" in text_of(browser.get(response.headers["Location"]))
    with in_tenant(tenant) as session:
        order = session.scalar(select(Order))
        assert (order.postcode, order.country.code) == ("01067", "DE")


# --- the purchase order's delivery address ---------------------------------------------------


@pytest.fixture
def world(supplier_world):
    return supplier_world


def test_a_purchase_orders_delivery_address_is_checked_when_it_changes(
    login_as, world, create_user, in_tenant
):
    from portal.testing.suppliers import draft, state

    po_id = draft(in_tenant, world)
    browser = login_as(create_user(world.tenant, "client", client=world.client), world.tenant)
    path = f"/purchase-orders/{po_id}/order-data"
    form = text_of(browser.get(path))
    po = state(in_tenant, world, po_id)
    data = {
        "csrf_token": browser.csrf_token(path),
        "version": re.search(r'name="version"[^>]*value="(\d+)"', form).group(1),
        "delivery_method": "standard",
        "delivery_name": "Main warehouse",
        "delivery_street": "Torstraße 12",
        "delivery_postcode": "ABCDEFG",
        "delivery_city": "Berlin",
        "delivery_country": "DE",
        "delivery_phone": "call me maybe",
        "delivery_email": "",
    }
    for index, line in enumerate(po.lines):
        data[f"lines-{index}-line_id"] = str(line.id)
        data[f"lines-{index}-containers"] = str(line.containers)
    page = text_of(browser.post(path, data=data))
    assert ENGLISH["postcode"] in errors_at(page, "delivery_postcode")
    assert state(in_tenant, world, po_id).delivery_postcode == po.delivery_postcode
    data.update(
        csrf_token=browser.csrf_token(path),
        delivery_postcode="10115",
        delivery_phone="030 1234567",
    )
    assert browser.post(path, data=data).status_code == 302
    saved = state(in_tenant, world, po_id)
    assert (saved.delivery_postcode, saved.delivery_phone) == ("10115", "+49301234567")


def test_an_old_address_book_entry_chosen_for_an_import_is_checked_too(
    login_as, shop, tenant, in_tenant
):
    with in_tenant(tenant) as session:
        # Saved before addresses were checked: written directly, past the service.
        entry = Address(client_id=shop.client.id, **{**BAD, "postcode": ""})
        session.add(entry)
        session.commit()
        entry_id = entry.id
    browser = login_as(shop.user, tenant)
    rows = [("Product code", "Quantity"), ("WID-1", 1)]
    response = upload(browser, xlsx(rows), address=str(entry_id))
    page = text_of(browser.get(response.headers["Location"]))
    assert "The chosen delivery address needs correcting; nothing was imported." in page
    assert "Delivery address: Please enter the postcode; in Germany it looks like 26133." in page
    assert "Delivery address: The e-mail address must look like name@example.com." in page
    assert count(in_tenant, tenant, Order) == 0
