"""Uploading an Excel order: errors per row, nothing half-made, progress, client scoping."""

import io

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from portal.core.orders.models import Order
from portal.jobs.models import Job


def xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


GOOD = [
    ("Quantity", "Product code", "Name", "Street", "Postcode", "City", "State", "Country"),
    (2, "IMP-1", "Ana Lima", "Rua A 1", "01000-000", "São Paulo", "SP", "BR"),
    (1, "IMP-2", "", "", "", "", "", ""),
]


@pytest.fixture
def setup(tenant, create_client, create_user, create_product, login_as):
    client = create_client(tenant)
    for code in ("IMP-1", "IMP-2"):
        create_product(tenant, client, code=code, stock=5)
    user = create_user(tenant, "client", client=client)
    return {"client": client, "browser": login_as(user, tenant)}


def upload(browser, data, name="order.xlsx", **fields):
    token = browser.csrf_token("/orders/import")
    return browser.post(
        "/orders/import",
        data={"csrf_token": token, "file": (io.BytesIO(data), name), **fields},
        content_type="multipart/form-data",
    )


def orders_of(in_tenant, tenant):
    with in_tenant(tenant) as session:
        return session.scalar(select(func.count()).select_from(Order))


def test_a_valid_file_becomes_one_order(setup, in_tenant, tenant):
    response = upload(setup["browser"], xlsx(GOOD), reference="Spring", submit_order="y")
    assert response.status_code == 302
    page = setup["browser"].get(response.headers["Location"])
    text = page.get_data(as_text=True)
    assert "was created with 2 lines" in text
    with in_tenant(tenant) as session:
        order = session.scalar(select(Order))
        assert (order.city, order.country.code, order.reference) == ("São Paulo", "BR", "Spring")
        assert sorted(line.quantity for line in order.lines) == [1, 2]
        assert order.status.value == "processing"
    progress = setup["browser"].get(response.headers["Location"] + "/progress").get_json()
    assert progress["finished"] is True
    assert progress["percent"] == 100


def test_bad_rows_are_listed_and_nothing_is_created(setup, in_tenant, tenant):
    rows = [*GOOD, (0, "IMP-1"), ("x", "NOPE")]
    response = upload(setup["browser"], xlsx(rows))
    text = setup["browser"].get(response.headers["Location"]).get_data(as_text=True)
    assert "Row 4: the quantity must be a positive whole number." in text
    assert "Row 5: unknown product NOPE." in text
    assert "nothing was imported" in text
    assert orders_of(in_tenant, tenant) == 0
    with in_tenant(tenant) as session:
        assert session.scalar(select(Job)).input_data is None  # the upload is not kept


def test_a_file_that_is_not_excel_is_refused_on_the_form(setup, in_tenant, tenant):
    response = upload(setup["browser"], b"code,quantity\nIMP-1,1\n", name="order.csv")
    assert response.status_code == 200
    assert "This is not an Excel file (.xlsx)." in response.get_data(as_text=True)
    with in_tenant(tenant) as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0


def test_without_address_columns_an_address_is_required(setup, in_tenant, tenant):
    response = upload(setup["browser"], xlsx([("code", "qty"), ("IMP-1", 1)]))
    text = setup["browser"].get(response.headers["Location"]).get_data(as_text=True)
    assert "please choose an address" in text
    assert orders_of(in_tenant, tenant) == 0


def test_another_clients_import_is_not_found(setup, tenant, create_client, create_user, login_as):
    response = upload(setup["browser"], xlsx(GOOD))
    location = response.headers["Location"]
    stranger = login_as(create_user(tenant, "client", client=create_client(tenant)), tenant)
    assert stranger.get(location).status_code == 404
    assert stranger.get(location + "/progress").status_code == 404


def test_suppliers_cannot_import(tenant, create_user, login_as):
    supplier = login_as(create_user(tenant, "supplier"), tenant)
    assert supplier.get("/orders/import").status_code == 403
