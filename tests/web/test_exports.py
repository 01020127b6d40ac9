"""Exports of products, stock, orders and shipments to CSV and Excel: the list's filters,
the client's own data only, real numbers and dates, and cells that cannot become formulas."""

import csv
import io
from datetime import datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from portal.web.exports import csv_value, escape_cell, xlsx_value

DANGEROUS = ['=HYPERLINK("http://evil.test","x")', "@SUM(A1)", "-2+3", "+1", "\tTab", "\rCR"]


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"  # once, not twice
    text = response.data.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


def read_xlsx(response) -> list[list]:
    assert response.status_code == 200, response.status_code
    assert response.mimetype.endswith("spreadsheetml.sheet")
    workbook = load_workbook(io.BytesIO(response.data), read_only=True)
    sheet = workbook.worksheets[0]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    workbook.close()
    return rows


def as_dicts(rows) -> list[dict]:
    header, *body = rows
    return [dict(zip(header, row, strict=True)) for row in body]


@pytest.fixture
def shop(tenant, create_client, create_user, create_product):
    acme = create_client(tenant, name="Acme Shoes")
    other = create_client(tenant, name="Other Co")
    products = {
        "boots": create_product(
            tenant, acme, code="BOOT-1", name="Hiking boots", price="12.50", stock=4
        ),
        "evil": create_product(tenant, acme, code="EVIL-1", name=DANGEROUS[0], stock=1),
        "at": create_product(tenant, acme, code="EVIL-2", name="@SUM(A1)"),
        "minus": create_product(tenant, acme, code="EVIL-3", name="-2+3"),
        "hat": create_product(tenant, other, code="HAT-1", name="Sun hat", stock=3),
    }
    return {
        "acme": acme,
        "other": other,
        "acme_user": create_user(tenant, "client", client=acme),
        "staff": create_user(tenant, "staff"),
        **products,
    }


# --- the one escaping function ---------------------------------------------------------------


@pytest.mark.parametrize("text", [*DANGEROUS, "\nLF", "\x01SOH"])
def test_text_that_could_be_a_formula_is_escaped(text):
    assert escape_cell(text) == "'" + text
    assert csv_value(text) == "'" + text


@pytest.mark.parametrize("value", ["Boots", "", "a=b", "3-2", " =1", 5, -5, Decimal("-2.50"), None])
def test_everything_else_is_left_as_it_is(value):
    assert escape_cell(value) == value


def test_excel_values_keep_their_types_and_drop_what_xml_cannot_carry():
    assert xlsx_value(Decimal("12.50")) == Decimal("12.50")
    assert xlsx_value(-3) == -3
    assert xlsx_value("\x01=cmd") == "'=cmd"
    assert xlsx_value("=1+1") == "'=1+1"


# --- products --------------------------------------------------------------------------------


def test_products_csv_escapes_formulas_and_writes_plain_numbers(login_as, tenant, shop):
    browser = login_as(shop["acme_user"], tenant)
    response = browser.get("/exports/products.csv")
    assert response.headers["Content-Disposition"].startswith("attachment; filename=products-")
    assert response.headers["Cache-Control"] == "no-store"
    rows = as_dicts(read_csv(response))
    by_code = {row["Code"]: row for row in rows}
    # The client's own products only, in the list's order, without a client column.
    assert list(by_code) == ["BOOT-1", "EVIL-1", "EVIL-2", "EVIL-3"]
    assert "Client" not in rows[0]
    assert by_code["EVIL-1"]["Name"] == "'" + DANGEROUS[0]
    assert by_code["EVIL-2"]["Name"] == "'@SUM(A1)"
    assert by_code["EVIL-3"]["Name"] == "'-2+3"
    boots = by_code["BOOT-1"]
    assert (boots["Price"], boots["On hand"], boots["Available"]) == ("12.50", "4", "4")
    assert boots["Stock value"] == "50.00"
    assert boots["Currency"] == "EUR"


def test_products_xlsx_escapes_formulas_and_writes_real_numbers(login_as, tenant, shop):
    browser = login_as(shop["acme_user"], tenant)
    rows = as_dicts(read_xlsx(browser.get("/exports/products.xlsx")))
    by_code = {row["Code"]: row for row in rows}
    assert list(by_code) == ["BOOT-1", "EVIL-1", "EVIL-2", "EVIL-3"]
    assert by_code["EVIL-1"]["Name"] == "'" + DANGEROUS[0]
    assert by_code["EVIL-2"]["Name"] == "'@SUM(A1)"
    assert by_code["EVIL-3"]["Name"] == "'-2+3"
    boots = by_code["BOOT-1"]
    assert boots["Price"] == pytest.approx(12.5)
    assert isinstance(boots["On hand"], int)
    assert boots["On hand"] == 4
    assert boots["Stock value"] == pytest.approx(50.0)


def test_no_cell_of_the_workbook_is_a_formula(login_as, tenant, shop):
    browser = login_as(shop["staff"], tenant)
    response = browser.get("/exports/products.xlsx")
    workbook = load_workbook(io.BytesIO(response.data))  # not read-only: cell types
    cells = [cell for row in workbook.worksheets[0].iter_rows() for cell in row]
    assert cells
    assert all(cell.data_type != "f" for cell in cells)


def test_exports_follow_the_lists_filters(login_as, tenant, shop):
    browser = login_as(shop["staff"], tenant)
    html = browser.get(f"/products/?q=evil&client={shop['acme'].id}").get_data(as_text=True)
    csv_link = f'href="/exports/products.csv?q=evil&amp;client={shop["acme"].id}"'
    xlsx_link = f'href="/exports/products.xlsx?q=evil&amp;client={shop["acme"].id}"'
    assert csv_link in html
    assert xlsx_link in html
    assert ">Export CSV<" in html
    assert ">Export Excel<" in html
    rows = as_dicts(read_csv(browser.get(f"/exports/products.csv?q=evil&client={shop['acme'].id}")))
    assert [row["Code"] for row in rows] == ["EVIL-1", "EVIL-2", "EVIL-3"]
    assert {row["Client"] for row in rows} == {"Acme Shoes"}
    rows = as_dicts(read_xlsx(browser.get("/exports/products.xlsx?stock=out")))
    assert [row["Code"] for row in rows] == ["EVIL-2", "EVIL-3"]


def test_staff_exports_hold_every_client(login_as, tenant, shop):
    rows = as_dicts(read_csv(login_as(shop["staff"], tenant).get("/exports/products.csv")))
    assert {row["Code"]: row["Client"] for row in rows}["HAT-1"] == "Other Co"


def test_an_export_larger_than_allowed_is_refused(login_as, tenant, shop, app, monkeypatch):
    monkeypatch.setitem(app.config, "PORTAL_EXPORT_MAX_ROWS", 3)
    browser = login_as(shop["acme_user"], tenant)
    response = browser.get("/exports/products.xlsx?q=-")
    assert response.status_code == 302
    assert response.headers["Location"] == "/products/?q=-"
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "The export would have more than 3 rows." in page
    assert len(as_dicts(read_csv(browser.get("/exports/products.csv?q=EVIL")))) == 3


# --- stock -----------------------------------------------------------------------------------


def test_stock_export_has_a_row_per_warehouse(login_as, tenant, shop, create_order):
    create_order(tenant, shop["acme"], [(shop["boots"], 3)])
    browser = login_as(shop["acme_user"], tenant)
    rows = as_dicts(read_csv(browser.get("/exports/stock.csv")))
    # Products that never had stock are listed too, with 0 units and no warehouse.
    assert [row["Code"] for row in rows] == ["BOOT-1", "EVIL-1", "EVIL-2", "EVIL-3"]
    assert (rows[2]["Warehouse"], rows[2]["On hand"], rows[2]["Available"]) == ("", "0", "0")
    boots = rows[0]
    assert (boots["Warehouse"], boots["On hand"], boots["Promised to orders"]) == ("MAIN", "4", "3")
    assert (boots["Available"], boots["Stock value"]) == ("1", "50.00")
    rows = as_dicts(read_xlsx(browser.get("/exports/stock.xlsx?q=boot")))
    assert [(row["Code"], row["Available"]) for row in rows] == [("BOOT-1", 1)]


# --- orders and shipments --------------------------------------------------------------------


def test_orders_export_with_status_and_client_filters(
    login_as, tenant, shop, create_order, create_product
):
    mine = create_order(tenant, shop["acme"], [(shop["boots"], 2)], reference="=cmd|' /C calc'!A0")
    create_order(tenant, shop["acme"], [(shop["boots"], 1)], submit=False)
    create_order(tenant, shop["other"], [(shop["hat"], 1)])
    browser = login_as(shop["acme_user"], tenant)
    rows = as_dicts(read_csv(browser.get("/exports/orders.csv?status=processing")))
    assert [row["Order number"] for row in rows] == [mine.number]
    row = rows[0]
    assert row["Reference"] == "'=cmd|' /C calc'!A0"
    assert (row["Lines"], row["Units ordered"], row["Units shipped"]) == ("1", "2", "0")
    assert datetime.fromisoformat(row["Created"]).tzinfo is not None
    assert row["Country"] == "NL"
    # Newest first; the client's own orders only.
    rows = as_dicts(read_xlsx(browser.get("/exports/orders.xlsx")))
    assert len(rows) == 2
    assert rows[1]["Order number"] == mine.number
    assert isinstance(rows[1]["Created"], datetime)
    assert rows[1]["Units ordered"] == 2
    staff = login_as(shop["staff"], tenant)
    rows = as_dicts(read_csv(staff.get(f"/exports/orders.csv?client={shop['other'].id}")))
    assert [row["Client"] for row in rows] == ["Other Co"]


def test_shipments_export_has_a_row_per_shipped_line(login_as, tenant, shop, create_shipment):
    shipment = create_shipment(
        tenant, shop["acme"], [(shop["boots"], 2), (shop["evil"], 1)], tracking_code="TRACK-1"
    )
    create_shipment(tenant, shop["other"], [(shop["hat"], 1)])
    browser = login_as(shop["acme_user"], tenant)
    rows = as_dicts(read_csv(browser.get("/exports/shipments.csv")))
    assert [(row["Shipment"], row["Product code"], row["Quantity"]) for row in rows] == [
        (shipment.number, "BOOT-1", "2"),
        (shipment.number, "EVIL-1", "1"),
    ]
    assert rows[1]["Product"] == "'" + DANGEROUS[0]
    assert rows[0]["Tracking code"] == "TRACK-1"
    rows = as_dicts(read_xlsx(browser.get("/exports/shipments.xlsx?q=TRACK-1")))
    assert [row["Quantity"] for row in rows] == [2, 1]
    assert isinstance(rows[0]["Shipped"], datetime)
    assert as_dicts(read_csv(browser.get("/exports/shipments.csv?q=nothing-like-this"))) == []


@pytest.mark.parametrize("name", ["products", "stock", "orders", "shipments"])
def test_exports_need_a_client_or_staff_login(client_for, login_as, create_user, tenant, name):
    assert client_for(tenant).get(f"/exports/{name}.csv").status_code == 302
    supplier = login_as(create_user(tenant, "supplier"), tenant)
    assert supplier.get(f"/exports/{name}.xlsx").status_code == 403
