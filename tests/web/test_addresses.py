"""The address book: only the client's own users; list, search, create, edit, delete."""

import re
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from portal.core.addresses.models import Address
from portal.testing.factories import DEFAULT_ADDRESS


@pytest.fixture
def shop(tenant, create_client, create_user):
    client = create_client(tenant, name="Acme Shop")
    other = create_client(tenant, name="Other Shop")
    return SimpleNamespace(
        client=client,
        other=other,
        user=create_user(tenant, "client", client=client),
        other_user=create_user(tenant, "client", client=other),
        staff=create_user(tenant, "staff"),
        admin=create_user(tenant, "admin"),
    )


def text_of(response) -> str:
    return response.get_data(as_text=True)


def addresses_of(in_tenant, tenant, client) -> list[Address]:
    with in_tenant(tenant) as session:
        return session.scalars(
            select(Address).where(Address.client_id == client.id).order_by(Address.name)
        ).all()


def test_only_client_users_have_an_address_book(login_as, shop, tenant, create_address):
    entry = create_address(tenant, shop.client)
    client_page = text_of(login_as(shop.user, tenant).get("/dashboard"))
    assert ">Address book<" in client_page
    for who in (shop.staff, shop.admin):
        browser = login_as(who, tenant)
        assert ">Address book<" not in text_of(browser.get("/dashboard"))
        assert browser.get("/addresses/").status_code == 403
        assert browser.get("/addresses/new").status_code == 403
        assert browser.get(f"/addresses/{entry.id}/edit").status_code == 403


def test_list_and_search(login_as, shop, tenant, create_address):
    create_address(tenant, shop.client, name="Anna Berlin", city="Berlin", label="Shop")
    create_address(tenant, shop.client, name="Bert Paris", city="Paris", country="FR")
    create_address(tenant, shop.other, name="Secret Other")
    browser = login_as(shop.user, tenant)
    page = text_of(browser.get("/addresses/"))
    assert "Anna Berlin" in page
    assert "Bert Paris" in page
    assert "Secret Other" not in page
    assert "France" in page
    assert 'aria-current="page">Address book<' in page
    page = text_of(browser.get("/addresses/?q=shop"))
    assert "Anna Berlin" in page
    assert "Bert Paris" not in page
    page = text_of(browser.get("/addresses/?q=paris"))
    assert "Bert Paris" in page
    assert "Anna Berlin" not in page
    assert "No address matches your search." in text_of(browser.get("/addresses/?q=%25_"))


def test_country_names_follow_the_language(login_as, shop, tenant, create_address):
    create_address(tenant, shop.client, country="DE")
    browser = login_as(shop.user, tenant)
    page = text_of(browser.get("/addresses/", headers={"Accept-Language": "de"}))
    if 'lang="de"' in page:
        assert "Deutschland" in page
    else:
        assert "Germany" in page


def test_create_edit_and_delete(login_as, shop, tenant, in_tenant):
    browser = login_as(shop.user, tenant)
    form = text_of(browser.get("/addresses/new"))
    assert 'autocomplete="shipping postal-code"' in form
    assert '<option value="NL">Netherlands</option>' in form
    token = browser.csrf_token("/addresses/new")
    response = browser.post(
        "/addresses/new", data={"csrf_token": token, "label": "HQ", **DEFAULT_ADDRESS}
    )
    assert response.status_code == 302
    (entry,) = addresses_of(in_tenant, tenant, shop.client)
    assert (entry.label, entry.name, entry.country.code) == ("HQ", "Jane Receiver", "NL")

    edit = text_of(browser.get(f"/addresses/{entry.id}/edit"))
    assert 'value="Jane Receiver"' in edit
    assert '<option selected value="NL">' in edit
    response = browser.post(
        f"/addresses/{entry.id}/edit",
        data={"csrf_token": token, "label": "Head office", **DEFAULT_ADDRESS, "city": "Delft"},
    )
    assert response.status_code == 302
    (entry,) = addresses_of(in_tenant, tenant, shop.client)
    assert (entry.label, entry.city) == ("Head office", "Delft")

    confirm = text_of(browser.get(f"/addresses/{entry.id}/delete"))
    assert "Do you want to remove this address" in confirm
    assert "Delft" in confirm
    assert addresses_of(in_tenant, tenant, shop.client)  # a GET deletes nothing
    response = browser.post(f"/addresses/{entry.id}/delete", data={"csrf_token": token})
    assert response.status_code == 302
    assert addresses_of(in_tenant, tenant, shop.client) == []
    assert "was removed from the address book" in text_of(browser.get("/addresses/"))


def test_delete_needs_the_csrf_token(login_as, shop, tenant, in_tenant, create_address):
    entry = create_address(tenant, shop.client)
    browser = login_as(shop.user, tenant)
    assert browser.post(f"/addresses/{entry.id}/delete").status_code == 400
    assert len(addresses_of(in_tenant, tenant, shop.client)) == 1


def test_every_bad_field_is_named_and_nothing_is_saved(login_as, shop, tenant, in_tenant):
    browser = login_as(shop.user, tenant)
    token = browser.csrf_token("/addresses/new")
    data = {
        "csrf_token": token,
        **DEFAULT_ADDRESS,
        "name": "",
        "street": "",
        "postcode": "9" * 21,
        "country": "",
    }
    page = text_of(browser.post("/addresses/new", data=data))
    for field in ("name", "street", "postcode", "country"):
        assert f'id="{field}-errors"' in page, field
    assert "Please enter the street and house number." in page
    assert "Please choose the country." in page
    assert addresses_of(in_tenant, tenant, shop.client) == []


def test_what_was_typed_is_escaped_in_messages(login_as, shop, tenant):
    browser = login_as(shop.user, tenant)
    token = browser.csrf_token("/addresses/new")
    page = text_of(
        browser.post(
            "/addresses/new",
            data={"csrf_token": token, **DEFAULT_ADDRESS, "country": "<b>x</b>"},
        )
    )
    assert "&lt;B&gt;X&lt;/B&gt; is not a country code." in page
    assert "<B>X</B>" not in page


def test_another_clients_address_is_not_found(login_as, shop, tenant, in_tenant, create_address):
    theirs = create_address(tenant, shop.other, name="Secret Other")
    browser = login_as(shop.user, tenant)
    token = browser.csrf_token("/addresses/new")
    assert browser.get(f"/addresses/{theirs.id}/edit").status_code == 404
    assert browser.get(f"/addresses/{theirs.id}/delete").status_code == 404
    response = browser.post(
        f"/addresses/{theirs.id}/edit", data={"csrf_token": token, **DEFAULT_ADDRESS}
    )
    assert response.status_code == 404
    response = browser.post(f"/addresses/{theirs.id}/delete", data={"csrf_token": token})
    assert response.status_code == 404
    assert [a.name for a in addresses_of(in_tenant, tenant, shop.other)] == ["Secret Other"]


def test_the_list_costs_the_same_queries_and_pages(
    login_as, shop, tenant, create_address, count_queries
):
    browser = login_as(shop.user, tenant)

    def measure(url="/addresses/?size=50"):
        with count_queries() as counter:
            response = browser.get(url)
        assert response.status_code == 200
        page = text_of(response)
        return counter.count, re.findall(r'/edit">(Person \d\d)</a>', page), page

    for index in range(3):
        create_address(tenant, shop.client, name=f"Person {index:02d}")
    few, names, _ = measure()
    assert len(names) == 3
    for index in range(3, 30):
        create_address(tenant, shop.client, name=f"Person {index:02d}")
    many, names, _ = measure()
    assert len(names) == 30
    assert few == many
    _, first, page = measure("/addresses/?size=20")
    next_url = re.search(r'<p class="pager"><a href="([^"]+)"', page).group(1)
    _, second, _ = measure(next_url.replace("&amp;", "&"))
    assert first + second == [f"Person {index:02d}" for index in range(30)]
