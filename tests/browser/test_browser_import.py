"""A client searches a product, imports an Excel order with a bad row, sees the row's error,
fixes the file and imports it; the import runs in the background with a progress bar."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal.accounts.models import User
from portal.db import db
from portal.tenants.context import tenant_context
from portal.tenants.models import Tenant
from portal.testing import factories

pytestmark = pytest.mark.browser


def workbook(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


HEADER = ("Product code", "Quantity", "Name", "Street", "Postcode", "City", "Country")
ADDRESS = ("Lena Berg", "Storgatan 1", "111 22", "Stockholm", "SE")


@pytest.fixture
def client_with_products(live_server, create_site_tenant, create_site_user):
    tenant = create_site_tenant()
    user = create_site_user(tenant, "client", name="Ivo Importer")
    with live_server.app.app_context():
        site_tenant = db.session.get(Tenant, tenant.id)
        with tenant_context(site_tenant):
            client = db.session.scalar(select(User).where(User.email == user.email)).client
            for number in range(1, 4):
                factories.make_product(
                    site_tenant,
                    client,
                    code=f"IMP-{number}",
                    name=f"Import item {number}",
                    stock=50,
                )
        db.session.commit()
    return tenant, user


def test_search_then_import_with_a_bad_row_then_fixed(
    page: Page, client_with_products, visit, submit, log_in_as, check_accessibility, tmp_path
):
    tenant, user = client_with_products
    log_in_as(page, user)

    # Search a product by code.
    visit(page, tenant.url("/products/"))
    page.locator("main form[role=search] input[name=q]").fill("IMP-2")
    submit(page, page.locator("main form[role=search] button[type=submit]"))
    table = page.locator("main table tbody")
    expect(table).to_contain_text("Import item 2")
    expect(table).not_to_contain_text("Import item 3")

    # An order file with one bad row: nothing is imported and the row is named.
    bad = tmp_path / "order-bad.xlsx"
    bad.write_bytes(workbook([HEADER, ("IMP-1", 2, *ADDRESS), ("IMP-404", 1, "", "", "", "", "")]))
    visit(page, tenant.url("/orders/"))
    submit(page, page.get_by_role("link", name="Import from Excel"))
    page.locator("input[type=file][name=file]").set_input_files(str(bad))
    submit(page, page.locator("main form button[type=submit]"))
    errors = page.locator("#import-errors")
    expect(errors).to_contain_text("Row 3: unknown product IMP-404.", timeout=15_000)
    page.wait_for_load_state()
    check_accessibility(page)

    # The corrected file becomes an order; the progress page follows the job to its end.
    good = tmp_path / "order-good.xlsx"
    good.write_bytes(
        workbook([HEADER, ("IMP-1", 2, *ADDRESS), *[("IMP-3", 1, "", "", "", "", "")]])
    )
    submit(page, page.get_by_role("link", name="Upload a corrected file"))
    page.locator("input[type=file][name=file]").set_input_files(str(good))
    page.locator("input[name=submit_order]").check()
    submit(page, page.locator("main form button[type=submit]"))
    expect(page.get_by_role("status")).to_contain_text("was created with 2 lines", timeout=15_000)
    page.wait_for_load_state()
    check_accessibility(page)
    submit(page, page.get_by_role("link", name="Open the order"))
    expect(page.locator("main")).to_contain_text("Stockholm")
    expect(page.locator("main")).to_contain_text("IMP-3")


def test_a_large_file_imports_in_the_background_with_progress(
    page: Page,
    live_server,
    create_site_tenant,
    create_site_user,
    log_in_as,
    submit,
    check_accessibility,
    tmp_path,
):
    from sqlalchemy import insert

    from portal.core.products.models import Product
    from portal.db import uuid7

    lines = 10_000
    tenant = create_site_tenant()
    user = create_site_user(tenant, "client", name="Bea Bulk")
    with live_server.app.app_context():
        site_tenant = db.session.get(Tenant, tenant.id)
        with tenant_context(site_tenant):
            client_id = db.session.scalar(select(User).where(User.email == user.email)).client_id
            db.session.execute(
                insert(Product),
                [
                    {
                        "tenant_id": tenant.id,
                        "id": uuid7(),
                        "client_id": client_id,
                        "code": f"BULK-{n:05d}",
                        "name": f"Bulk item {n}",
                        "version": 1,
                        "currency": "EUR",
                    }
                    for n in range(lines)
                ],
            )
        db.session.commit()
    big = tmp_path / "big.xlsx"
    big.write_bytes(workbook([HEADER, *[(f"BULK-{n:05d}", 1, *ADDRESS) for n in range(lines)]]))
    log_in_as(page, user)
    page.goto(tenant.url("/orders/import"))
    check_accessibility(page)
    page.locator("input[type=file][name=file]").set_input_files(str(big))
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    # The upload answers at once with the progress page while the job runs.
    expect(page.locator("progress#import-progress")).to_be_visible()
    check_accessibility(page)
    expect(page.get_by_role("status")).to_contain_text(
        f"was created with {lines} lines", timeout=120_000
    )
    page.wait_for_load_state()
    check_accessibility(page)
