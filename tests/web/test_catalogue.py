"""Catalogue pages: who sees which supplier's list, matching, products from items, ordering by
the container, and the staff's import with preview, errors per row and background runs."""

from __future__ import annotations

import html
import io
import re
import zipfile
from decimal import Decimal

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from portal.audit.models import AuditEntry
from portal.core.products.models import Product
from portal.core.suppliers import catalogue
from portal.core.suppliers.models import (
    CartLine,
    CatalogueItem,
    CatalogueMatch,
    Supplier,
    SupplierClient,
)
from portal.db import db
from portal.jobs.models import Job
from portal.tenants.context import tenant_context

STALE = "Someone else changed this in the meantime."
TIMES = "\u00d7"  # the multiplication sign: "3 TIMES 6 = 18"


def xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def flashes(browser) -> list[str]:
    with browser.session_transaction(base_url=f"{browser.scheme}://{browser.host}") as session:
        return [message for _, message in session.pop("_flashes", [])]


def committed(app, tenant, make):
    with app.app_context(), tenant_context(tenant):
        obj = make()
        db.session.flush()  # inside the tenant context: row-level security checks it
        db.session.commit()
        return obj


def make_supplier(app, tenant, name, *, clients=(), active=True):
    def make():
        supplier = Supplier(name=name, active=active)
        db.session.add(supplier)
        db.session.flush()
        for client in clients:
            db.session.add(SupplierClient(supplier_id=supplier.id, client_id=client.id))
        return supplier

    return committed(app, tenant, make)


def make_items(app, tenant, supplier, specs):
    """specs: [(code, name, barcode, price, container_amount)]"""

    def make():
        items = [
            CatalogueItem(
                supplier_id=supplier.id,
                supplier_code=code,
                name=name,
                barcode=barcode,
                price=None if price is None else Decimal(price),
                container_amount=amount,
            )
            for code, name, barcode, price, amount in specs
        ]
        db.session.add_all(items)
        return items

    return committed(app, tenant, make)


def make_match(app, tenant, item, product):
    return committed(
        app,
        tenant,
        lambda: db.session.add(
            CatalogueMatch(
                catalogue_item_id=item.id, client_id=product.client_id, product_id=product.id
            )
        ),
    )


@pytest.fixture
def shop(app, tenant, create_client, create_user, create_product):
    store = create_client(tenant, name="Store North", product_management=True)
    plain = create_client(tenant, name="Store Plain")
    stranger = create_client(tenant, name="Not a customer")
    supplier = make_supplier(app, tenant, "Timber Works", clients=[store, plain])
    elsewhere = make_supplier(app, tenant, "Other Mill", clients=[stranger])
    oak, pine, ash = make_items(
        app,
        tenant,
        supplier,
        [
            ("OAK-1", "Oak plank", "4006381333931", "12.50", 6),
            ("PINE-2", "Pine plank", "", "3.75", 1),
            ("ASH-3", "Ash plank", "96385074", None, 12),
        ],
    )
    return {
        "supplier": supplier,
        "elsewhere": elsewhere,
        "store": store,
        "plain": plain,
        "stranger": stranger,
        "store_user": create_user(tenant, "client", client=store),
        "plain_user": create_user(tenant, "client", client=plain),
        "stranger_user": create_user(tenant, "client", client=stranger),
        "staff": create_user(tenant, "staff"),
        "oak": oak,
        "pine": pine,
        "ash": ash,
        "product": create_product(
            tenant, store, code="MY-OAK", name="Our oak", barcode="96385074", price="10"
        ),
    }


def post(browser, url, data, token_page="/catalogue/"):  # noqa: S107 - a page, no password
    return browser.post(url, data={"csrf_token": browser.csrf_token(token_page), **data})


def match_of(in_tenant, tenant, item, client):
    with in_tenant(tenant):
        found = catalogue.match_for(item, client.id)
        return found.product.code if found else None


# --- seeing catalogues -----------------------------------------------------------------------


def test_clients_see_the_catalogues_of_their_suppliers_and_staff_see_all(login_as, tenant, shop):
    page = text_of(login_as(shop["store_user"], tenant).get("/catalogue/"))
    assert "Timber Works" in page
    assert "Other Mill" not in page
    assert re.search(r"Timber Works</a>\s*</td>\s*<td class=\"num\">3</td>", page)
    assert "Catalogues" in page  # the menu entry
    staff_page = text_of(login_as(shop["staff"], tenant).get("/catalogue/"))
    assert "Timber Works" in staff_page
    assert "Other Mill" in staff_page
    assert f"/catalogue/{shop['supplier'].id}/import" in staff_page


def test_a_client_not_linked_to_the_supplier_gets_404(login_as, tenant, shop):
    browser = login_as(shop["stranger_user"], tenant)
    assert browser.get(f"/catalogue/{shop['supplier'].id}").status_code == 404
    assert browser.get(f"/catalogue/items/{shop['oak'].id}").status_code == 404
    response = post(browser, f"/catalogue/items/{shop['oak'].id}/cart", {"containers": "1"})
    assert response.status_code == 404
    response = post(browser, f"/catalogue/items/{shop['oak'].id}/match", {"code": "X"})
    assert response.status_code == 404


def test_an_inactive_suppliers_catalogue_is_hidden_from_clients(app, login_as, tenant, shop):
    closed = make_supplier(app, tenant, "Closed Mill", clients=[shop["store"]], active=False)
    browser = login_as(shop["store_user"], tenant)
    assert "Closed Mill" not in text_of(browser.get("/catalogue/"))
    assert browser.get(f"/catalogue/{closed.id}").status_code == 404
    staff = login_as(shop["staff"], tenant)
    assert "Inactive" in text_of(staff.get("/catalogue/"))
    assert staff.get(f"/catalogue/{closed.id}").status_code == 200


def test_another_tenants_supplier_item_and_import_are_not_found(
    app, login_as, tenant, other_tenant, shop, create_client, create_user
):
    their_client = create_client(other_tenant)
    their_supplier = make_supplier(app, other_tenant, "Their Mill", clients=[their_client])
    (their_item,) = make_items(app, other_tenant, their_supplier, [("T-1", "Theirs", "", "1", 1)])
    their_staff = create_user(other_tenant, "staff")
    their_browser = login_as(their_staff, other_tenant)
    response = their_browser.post(
        f"/catalogue/{their_supplier.id}/import",
        data={
            "csrf_token": their_browser.csrf_token(f"/catalogue/{their_supplier.id}/import"),
            "file": (io.BytesIO(xlsx([("code", "name"), ("T-2", "Two")])), "c.xlsx"),
        },
        content_type="multipart/form-data",
    )
    their_import = response.headers["Location"].rsplit("/", 1)[-1]
    for user in (shop["staff"], shop["store_user"]):
        browser = login_as(user, tenant)
        assert browser.get(f"/catalogue/{their_supplier.id}").status_code == 404
        assert browser.get(f"/catalogue/items/{their_item.id}").status_code == 404
        for action in ("match", "unmatch", "create-product", "update-product", "cart"):
            response = post(browser, f"/catalogue/items/{their_item.id}/{action}", {})
            assert response.status_code == 404, action
    staff = login_as(shop["staff"], tenant)
    assert staff.get(f"/catalogue/{their_supplier.id}/import").status_code == 404
    assert staff.get(f"/catalogue/imports/{their_import}").status_code == 404
    assert staff.get(f"/catalogue/imports/{their_import}/progress").status_code == 404
    assert post(staff, f"/catalogue/imports/{their_import}", {}).status_code == 404


# --- the item list ---------------------------------------------------------------------------


def test_items_are_searched_filtered_and_paged(app, login_as, tenant, shop):
    make_match(app, tenant, shop["oak"], shop["product"])
    browser = login_as(shop["store_user"], tenant)
    url = f"/catalogue/{shop['supplier'].id}"
    page = text_of(browser.get(url))
    assert page.index("Ash plank") < page.index("Oak plank") < page.index("Pine plank")
    assert "€12.50" in page
    assert "MY-OAK" in page
    assert "Match or create a product" in page
    assert "Oak plank" in text_of(browser.get(url, query_string={"q": "4006381"}))
    assert "Pine plank" not in text_of(browser.get(url, query_string={"q": "4006381"}))
    assert "Pine plank" in text_of(browser.get(url, query_string={"q": "pine-"}))
    matched = text_of(browser.get(url, query_string={"matched": "yes"}))
    assert "Oak plank" in matched
    assert "Pine plank" not in matched
    unmatched = text_of(browser.get(url, query_string={"matched": "no"}))
    assert "Oak plank" not in unmatched
    assert "Pine plank" in unmatched
    first = text_of(browser.get(url, query_string={"size": 2}))
    assert "Pine plank" not in first
    after = re.search(r'href="([^"]*after=[^"]*)"', first).group(1)
    assert "Pine plank" in text_of(browser.get(html.unescape(after)))


def test_staff_choose_a_client_among_the_suppliers_customers(app, login_as, tenant, shop):
    make_match(app, tenant, shop["oak"], shop["product"])
    browser = login_as(shop["staff"], tenant)
    url = f"/catalogue/{shop['supplier'].id}"
    page = text_of(browser.get(url))
    assert "Choose a client to see its matches" in page
    assert "Store North" in page
    assert "Store Plain" in page
    assert "Not a customer" not in page  # not linked to this supplier
    assert "MY-OAK" not in page
    chosen = text_of(browser.get(url, query_string={"client": str(shop["store"].id)}))
    assert "MY-OAK" in chosen
    # A client that is not a customer of the supplier is not chosen.
    other = text_of(browser.get(url, query_string={"client": str(shop["stranger"].id)}))
    assert "Choose a client to see its matches" in other


def test_the_items_page_queries_do_not_grow_with_its_rows(
    app, login_as, tenant, shop, create_product, count_queries
):
    browser = login_as(shop["store_user"], tenant)
    url = f"/catalogue/{shop['supplier'].id}"

    def add(start, count):
        items = make_items(
            app,
            tenant,
            shop["supplier"],
            [(f"Q-{n:03d}", f"Queried {n}", "", "1.00", 2) for n in range(start, start + count)],
        )
        for item in items:
            product = create_product(tenant, shop["store"], code=f"P-Q-{item.supplier_code}")
            make_match(app, tenant, item, product)
            committed(
                app,
                tenant,
                lambda item=item: db.session.add(
                    CartLine(
                        client_id=shop["store"].id,
                        supplier_id=shop["supplier"].id,
                        catalogue_item_id=item.id,
                        containers=3,
                    )
                ),
            )

    def measure():
        with count_queries() as counter:
            page = text_of(browser.get(url))
        return counter.count, page.count("Add to cart")

    add(0, 2)
    few, rows = measure()
    assert rows == 2
    add(2, 20)
    many, rows = measure()
    assert rows == 22
    assert many == few


# --- matching and products -------------------------------------------------------------------


def test_a_client_matches_an_item_by_suggestion_or_code_and_removes_the_match(
    login_as, tenant, shop, in_tenant
):
    browser = login_as(shop["store_user"], tenant)
    item_url = f"/catalogue/items/{shop['ash'].id}"
    page = text_of(browser.get(item_url))
    # The product with the item's barcode is suggested.
    assert f'value="{shop["product"].id}"' in page
    response = post(browser, f"{item_url}/match", {"product": str(shop["product"].id)})
    assert response.status_code == 302
    assert flashes(browser) == ["ASH-3 is now matched to the product MY-OAK."]
    assert match_of(in_tenant, tenant, shop["ash"], shop["store"]) == "MY-OAK"
    post(browser, f"{item_url}/unmatch", {})
    assert flashes(browser) == ["ASH-3 is no longer matched to a product."]
    assert match_of(in_tenant, tenant, shop["ash"], shop["store"]) is None
    post(browser, f"{item_url}/match", {"code": "MY-OAK"})
    assert match_of(in_tenant, tenant, shop["ash"], shop["store"]) == "MY-OAK"


def test_a_client_cannot_match_to_another_clients_product(
    login_as, tenant, shop, in_tenant, create_product
):
    theirs = create_product(tenant, shop["plain"], code="PLAIN-1")
    browser = login_as(shop["store_user"], tenant)
    item_url = f"/catalogue/items/{shop['pine'].id}"
    post(browser, f"{item_url}/match", {"code": "PLAIN-1"})
    assert flashes(browser) == ["Store North has no product with the code PLAIN-1."]
    post(browser, f"{item_url}/match", {"product": str(theirs.id)})
    assert flashes(browser) == ["Please choose a product or enter a product code."]
    assert match_of(in_tenant, tenant, shop["pine"], shop["store"]) is None
    assert match_of(in_tenant, tenant, shop["pine"], shop["plain"]) is None


def test_a_product_is_created_from_an_item(login_as, tenant, shop, in_tenant):
    browser = login_as(shop["store_user"], tenant)
    item_url = f"/catalogue/items/{shop['oak'].id}"
    assert 'value="OAK-1"' in text_of(browser.get(item_url))  # the code field's default
    response = post(browser, f"{item_url}/create-product", {"code": "OAK-1"})
    assert response.status_code == 302
    assert flashes(browser) == ["The product OAK-1 was added and matched to OAK-1."]
    with in_tenant(tenant) as session:
        product = session.scalar(select(Product).where(Product.code == "OAK-1"))
        assert (product.client_id, product.name, product.barcode, product.price) == (
            shop["store"].id,
            "Oak plank",
            "4006381333931",
            Decimal("12.50"),
        )
    assert match_of(in_tenant, tenant, shop["oak"], shop["store"]) == "OAK-1"
    # Again for the next item with a code that is taken: refused, naming the code.
    post(browser, f"/catalogue/items/{shop['pine'].id}/create-product", {"code": "OAK-1"})
    assert flashes(browser) == ["A product with the code OAK-1 already exists."]
    assert match_of(in_tenant, tenant, shop["pine"], shop["store"]) is None


def test_only_product_managers_create_or_update_products(login_as, tenant, shop):
    browser = login_as(shop["plain_user"], tenant)
    item_url = f"/catalogue/items/{shop['oak'].id}"
    page = text_of(browser.get(item_url))
    assert "Create a product from this item" not in page
    assert post(browser, f"{item_url}/create-product", {"code": "X-1"}).status_code == 403
    assert post(browser, f"{item_url}/update-product", {"price": "y"}).status_code == 403


def test_staff_act_for_a_chosen_client(login_as, tenant, shop, in_tenant):
    browser = login_as(shop["staff"], tenant)
    item_url = f"/catalogue/items/{shop['pine'].id}"
    assert "Choose a client to see its matches" in text_of(browser.get(item_url))
    post(browser, f"{item_url}/create-product", {"code": "PINE-2"})
    assert flashes(browser) == ["Please choose the client you act for first."]
    response = post(
        browser, f"{item_url}/create-product", {"code": "PINE-2", "client": str(shop["plain"].id)}
    )
    assert response.headers["Location"].endswith(f"{item_url}?client={shop['plain'].id}")
    assert match_of(in_tenant, tenant, shop["pine"], shop["plain"]) == "PINE-2"
    # A client that is not the supplier's customer cannot be acted for.
    post(browser, f"{item_url}/match", {"code": "PINE-2", "client": str(shop["stranger"].id)})
    assert flashes(browser)[-1] == "Please choose the client you act for first."


def test_the_product_is_updated_from_the_item_after_seeing_the_differences(
    app, login_as, tenant, shop, in_tenant
):
    make_match(app, tenant, shop["oak"], shop["product"])
    browser = login_as(shop["store_user"], tenant)
    item_url = f"/catalogue/items/{shop['oak'].id}"
    page = text_of(browser.get(item_url))
    section = page[page.index('id="update-product"') :]
    assert "96385074" in section
    assert "4006381333931" in section
    assert "€10.00" in section
    assert "€12.50" in section
    response = post(
        browser, f"{item_url}/update-product", {"price": "y", "version": "1"}, token_page=item_url
    )
    assert response.status_code == 302
    assert flashes(browser) == ["The product MY-OAK was updated from the catalogue."]
    with in_tenant(tenant) as session:
        product = session.get(Product, (tenant.id, shop["product"].id))
        assert (product.price, product.barcode) == (Decimal("12.50"), "96385074")
        entry = session.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "product.updated",
                AuditEntry.object_id == str(product.id),
            )
        )
        assert entry.changes == {"price": ["10.00", "12.50"]}
        assert entry.actor_id == shop["store_user"].id
    # A form based on the old version is refused.
    post(browser, f"{item_url}/update-product", {"barcode": "y", "version": "1"})
    assert flashes(browser)[0].startswith(STALE)
    with in_tenant(tenant) as session:
        assert session.get(Product, (tenant.id, shop["product"].id)).barcode == "96385074"


# --- ordering by the container ---------------------------------------------------------------


def test_matched_items_go_to_the_cart_by_the_container(app, login_as, tenant, shop, in_tenant):
    make_match(app, tenant, shop["oak"], shop["product"])
    browser = login_as(shop["store_user"], tenant)
    list_url = f"/catalogue/{shop['supplier'].id}"
    page = text_of(browser.get(list_url))
    # Server-side text for one container, and the template catalogue.js fills in.
    assert f"1 {TIMES} 6 = 6" in page
    assert f'data-template="{{containers}} {TIMES} {{amount}} = {{units}}"' in page
    assert 'data-container-amount="6"' in page
    assert "js/catalogue.js" in page
    next_url = f"{list_url}?q=oak#item-{shop['oak'].id}"
    response = post(
        browser, f"/catalogue/items/{shop['oak'].id}/cart", {"containers": "3", "next": next_url}
    )
    assert response.headers["Location"].endswith(next_url)
    assert flashes(browser) == [f"OAK-1 is in the cart: 3 {TIMES} 6 = 18 units."]
    post(browser, f"/catalogue/items/{shop['oak'].id}/cart", {"containers": "2"})
    assert flashes(browser) == [f"OAK-1 is in the cart: 5 {TIMES} 6 = 30 units."]
    with in_tenant(tenant) as session:
        line = session.scalar(select(CartLine))
        assert (line.client_id, line.containers) == (shop["store"].id, 5)
    assert f"In the cart: 5 {TIMES} 6 = 30 units" in text_of(browser.get(list_url))


def test_unmatched_items_and_bad_numbers_are_refused_with_a_message(
    login_as, tenant, shop, in_tenant
):
    browser = login_as(shop["store_user"], tenant)
    post(browser, f"/catalogue/items/{shop['pine'].id}/cart", {"containers": "1"})
    assert flashes(browser) == [
        "Item PINE-2 is not matched to one of your products yet. Match it first, then order it."
    ]
    for bad in ("abc", "0", "-2", "1.5"):
        post(browser, f"/catalogue/items/{shop['pine'].id}/cart", {"containers": bad})
        assert flashes(browser) == [
            "Please enter a whole number of containers between 1 and 100000."
        ], bad
    with in_tenant(tenant) as session:
        assert session.scalar(select(func.count()).select_from(CartLine)) == 0


def test_staff_order_on_behalf_of_a_client(app, login_as, tenant, shop, in_tenant):
    make_match(app, tenant, shop["oak"], shop["product"])
    browser = login_as(shop["staff"], tenant)
    url = f"/catalogue/items/{shop['oak'].id}/cart"
    post(browser, url, {"containers": "2"})
    assert flashes(browser) == ["Please choose the client you act for first."]
    post(browser, url, {"containers": "2", "client": str(shop["store"].id)})
    assert flashes(browser) == [f"OAK-1 is in the cart: 2 {TIMES} 6 = 12 units."]
    with in_tenant(tenant) as session:
        assert session.scalar(select(CartLine.client_id)) == shop["store"].id


# --- import ----------------------------------------------------------------------------------


def upload(browser, supplier, data, name="catalogue.xlsx"):
    url = f"/catalogue/{supplier.id}/import"
    # Encoded in memory: the test client would spool a large body to a file it never closes.
    boundary, body = encode_multipart(
        {
            "csrf_token": browser.csrf_token(url),
            "file": FileStorage(io.BytesIO(data), filename=name),
        }
    )
    return browser.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def confirm(browser, status_url):
    return browser.post(status_url, data={"csrf_token": browser.csrf_token(status_url)})


def items_of(in_tenant, tenant, supplier):
    with in_tenant(tenant) as session:
        return {
            item.supplier_code: (item.name, item.price, item.container_amount)
            for item in session.scalars(
                select(CatalogueItem).where(CatalogueItem.supplier_id == supplier.id)
            )
        }


def test_staff_preview_and_import_a_catalogue(login_as, tenant, shop, in_tenant):
    browser = login_as(shop["staff"], tenant)
    data = xlsx(
        [
            ("Artikelnummer", "Bezeichnung", "Preis", "VE"),
            ("OAK-1", "Oak plank", "13,00", 6),
            ("ELM-4", "Elm plank", "5", ""),
        ]
    )
    response = upload(browser, shop["supplier"], data)
    assert response.status_code == 302
    status_url = response.headers["Location"]
    preview = text_of(browser.get(status_url))
    assert "The file has 2 item rows." in preview
    assert 'Supplier code <span class="hint">(Artikelnummer)</span>' in preview
    assert 'Container amount <span class="hint">(VE)</span>' in preview
    assert "13,00" in preview
    assert "Elm plank" in preview
    assert items_of(in_tenant, tenant, shop["supplier"])["OAK-1"][1] == Decimal("12.50")
    assert confirm(browser, status_url).status_code == 302
    done = text_of(browser.get(status_url))
    assert "The catalogue was imported: 1 new items, 1 updated, 0 unchanged." in done
    assert "2 items that the file does not list were kept." in done
    items = items_of(in_tenant, tenant, shop["supplier"])
    assert items["OAK-1"] == ("Oak plank", Decimal("13.00"), 6)
    assert items["ELM-4"] == ("Elm plank", Decimal("5.00"), 1)
    # Confirming again does nothing more.
    confirm(browser, status_url)
    with in_tenant(tenant) as session:
        assert (
            session.scalar(select(func.count()).where(AuditEntry.action == "catalogue.imported"))
            == 1
        )
        assert session.scalar(select(Job)).input_data is None  # the upload is not kept


def test_a_csv_with_semicolons_and_decimal_commas_is_imported(login_as, tenant, shop, in_tenant):
    browser = login_as(shop["staff"], tenant)
    data = "\ufeffcode;name;price;pack size\r\nNEW-1;Birch, sanded;1,50;4\r\n".encode()
    status_url = upload(browser, shop["supplier"], data, "list.csv").headers["Location"]
    confirm(browser, status_url)
    assert items_of(in_tenant, tenant, shop["supplier"])["NEW-1"] == (
        "Birch, sanded",
        Decimal("1.50"),
        4,
    )


def test_every_bad_row_is_listed_and_nothing_is_imported(login_as, tenant, shop, in_tenant):
    browser = login_as(shop["staff"], tenant)
    before = items_of(in_tenant, tenant, shop["supplier"])
    data = xlsx(
        [
            ("code", "name", "barcode", "price"),
            ("OAK-1", "Changed", "", "1"),
            ("BAD-1", "", "123", "x"),
            ("OAK-1", "Again", "", ""),
        ]
    )
    status_url = upload(browser, shop["supplier"], data).headers["Location"]
    confirm(browser, status_url)
    page = text_of(browser.get(status_url))
    assert "The file was not imported." in page
    for message in (
        "2 rows need correcting; nothing was imported.",  # one has three problems
        "Row 3: the name is missing.",
        "Row 3: 123 is not a valid EAN/GTIN barcode",
        "Row 3: the price x is not a number (write it like 1.50 or 1,50).",
        "Row 4: the supplier code OAK-1 is already on row 2.",
    ):
        assert message in page
    assert items_of(in_tenant, tenant, shop["supplier"]) == before


def with_part(data: bytes, part: str, content: bytes) -> bytes:
    """Return the workbook ``data`` with one part replaced or added."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in source.infolist():
            if entry.filename != part:
                archive.writestr(entry.filename, source.read(entry.filename))
        archive.writestr(part, content)
    return out.getvalue()


def test_hostile_or_unreadable_files_are_refused_on_the_form(login_as, tenant, shop, in_tenant):
    browser = login_as(shop["staff"], tenant)
    good = xlsx([("code", "name"), ("A-1", "One")])
    refused = {
        "The file unpacks to far more data": with_part(
            good, "xl/media/padding.bin", b"\0" * (40 * 1024 * 1024)
        ),
        "DTD or entities": with_part(
            good,
            "xl/worksheets/sheet1.xml",
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "a">]><worksheet/>',
        ),
        "The file is too large (at most 5 MB).": b"code;name\n" + b"A;a\n" * (2 * 1024 * 1024),
        "this file is neither": b"\xd0\xcf\x11\xe0 an old .xls file \x00\x00",
        'No header row with the columns "supplier code" and "name" was found.': b"a;b\n1;2\n",
    }
    for message, data in refused.items():
        response = upload(browser, shop["supplier"], data)
        assert response.status_code == 200, message
        assert message in text_of(response), message
    with in_tenant(tenant) as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0


def test_large_files_are_imported_in_the_background_with_progress(
    login_as, tenant, shop, in_tenant, monkeypatch
):
    from portal.web import catalogue as views

    monkeypatch.setattr(views, "BACKGROUND_ROWS", 1)
    browser = login_as(shop["staff"], tenant)
    rows = [("code", "name")] + [(f"BULK-{n}", f"Bulk {n}") for n in range(300)]
    status_url = upload(browser, shop["supplier"], xlsx(rows)).headers["Location"]
    assert "imported in the background" in text_of(browser.get(status_url))
    confirm(browser, status_url)  # PORTAL_JOBS_EAGER: the job runs at once in tests
    progress = browser.get(status_url + "/progress").get_json()
    assert progress["finished"] is True
    assert progress["percent"] == 100
    assert "300 new items" in text_of(browser.get(status_url))


def test_only_staff_import(login_as, tenant, shop):
    browser = login_as(shop["store_user"], tenant)
    assert browser.get(f"/catalogue/{shop['supplier'].id}/import").status_code == 403
