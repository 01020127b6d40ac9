"""Supplier catalogues in a real browser: a store sees containers x amount = units while it
types and orders by the container; staff import a price list, small and in the background."""

from __future__ import annotations

from decimal import Decimal

import pytest
from openpyxl import Workbook
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal.accounts.models import User
from portal.core.suppliers.models import CatalogueItem, CatalogueMatch, Supplier, SupplierClient
from portal.db import db
from portal.tenants.context import tenant_context
from portal.tenants.models import Tenant
from portal.testing import factories

pytestmark = pytest.mark.browser


def _supplier(live_server, tenant, name: str, client_email: str | None = None):
    """A supplier of ``tenant`` (linked to the client of ``client_email`` with two items)."""
    with live_server.app.app_context():
        site_tenant = db.session.get(Tenant, tenant.id)
        with tenant_context(site_tenant):
            supplier = Supplier(name=name)
            db.session.add(supplier)
            db.session.flush()
            ids = {"supplier": supplier.id}
            if client_email:
                client = db.session.scalar(select(User).where(User.email == client_email)).client
                client.product_management = True
                db.session.add(SupplierClient(supplier_id=supplier.id, client_id=client.id))
                oak = CatalogueItem(
                    supplier_id=supplier.id,
                    supplier_code="OAK-1",
                    name="Oak plank",
                    barcode="4006381333931",
                    price=Decimal("12.50"),
                    container_amount=6,
                )
                pine = CatalogueItem(
                    supplier_id=supplier.id,
                    supplier_code="PINE-2",
                    name="Pine plank",
                    container_amount=1,
                )
                db.session.add_all([oak, pine])
                db.session.flush()
                product = factories.make_product(site_tenant, client, code="MY-OAK", name="Our oak")
                db.session.add(
                    CatalogueMatch(
                        catalogue_item_id=oak.id, client_id=client.id, product_id=product.id
                    )
                )
                ids.update(oak=oak.id, pine=pine.id)
            db.session.flush()  # inside the tenant: row-level security checks every row
        db.session.commit()
    return ids


def test_a_store_orders_by_the_container_from_a_catalogue(
    page: Page, live_server, create_site_tenant, create_site_user, visit, submit, log_in_as
):
    tenant = create_site_tenant()
    store = create_site_user(tenant, "client")
    ids = _supplier(live_server, tenant, "Timber Works", store.email)
    log_in_as(page, store)
    visit(page, tenant.url("/catalogue/"))
    submit(page, page.get_by_role("link", name="Timber Works"))
    page.locator(f"#containers-{ids['oak']}").fill("4")
    expect(page.locator(f"#units-{ids['oak']}")).to_have_text("4 × 6 = 24")  # noqa: RUF001
    submit(page, page.locator(f"#item-{ids['oak']} button[type=submit]"))
    expect(page.locator(".flash-success")).to_contain_text("24")
    visit(page, tenant.url("/purchase-orders/cart"))
    expect(page.locator(".cart-group")).to_contain_text("Oak plank")
    # The unmatched item's page offers matching and creating a product.
    visit(page, tenant.url(f"/catalogue/items/{ids['pine']}"))
    expect(page.locator("main")).to_contain_text("PINE-2")


def test_staff_import_a_price_list_with_errors_named_and_a_big_one_in_the_background(
    page: Page,
    live_server,
    create_site_tenant,
    create_site_user,
    visit,
    submit,
    log_in_as,
    check_accessibility,
    tmp_path,
):
    tenant = create_site_tenant()
    staff = create_site_user(tenant, "staff")
    ids = _supplier(live_server, tenant, "Big Mill")
    log_in_as(page, staff)
    upload = tenant.url(f"/catalogue/{ids['supplier']}/import")

    visit(page, upload)
    book = Workbook()
    for row in (
        ("Artikelnummer", "Bezeichnung", "Preis"),
        ("OAK-1", "Oak", "13,00"),
        ("NEW", "", "x"),
    ):
        book.active.append(list(row))
    small = tmp_path / "small.xlsx"
    book.save(small)
    page.set_input_files("input[type=file]", str(small))
    submit(page, page.locator("main form button[type=submit]"))
    submit(page, page.locator("main form button[type=submit]"))
    expect(page.locator("#import-errors")).to_contain_text("Row 3")

    visit(page, upload)
    book = Workbook()
    book.active.append(["code", "name", "price"])
    for number in range(2500):
        book.active.append([f"B-{number}", f"Bulk {number}", "1,25"])
    big = tmp_path / "big.xlsx"
    book.save(big)
    page.set_input_files("input[type=file]", str(big))
    submit(page, page.locator("main form button[type=submit]"))
    expect(page.locator("main")).to_contain_text("background")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    expect(page.locator("main")).to_contain_text("2500 new items", timeout=60_000)
    check_accessibility(page)
