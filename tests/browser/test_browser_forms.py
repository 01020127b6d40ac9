"""Forms keep the user's work in a real browser: the product form reports every error at once
and keeps the chosen image; the new-order form comes back with its rows and product names."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal.accounts.models import User
from portal.db import db
from portal.tenants.context import tenant_context
from portal.tenants.models import Tenant
from portal.testing import factories

pytestmark = pytest.mark.browser


@pytest.fixture
def shop(live_server, create_site_tenant, create_site_user, tmp_path, monkeypatch):
    monkeypatch.setitem(live_server.app.config, "PORTAL_UPLOAD_CACHE", str(tmp_path / "cache"))
    tenant = create_site_tenant()
    client_user = create_site_user(tenant, "client", name="Cleo Client")
    with live_server.app.app_context():
        site_tenant = db.session.get(Tenant, tenant.id)
        with tenant_context(site_tenant):
            user = db.session.scalar(select(User).where(User.email == client_user.email))
            factories.make_product(site_tenant, user.client, code="WID-1", name="Widget", stock=10)
        db.session.commit()
    staff = create_site_user(tenant, "staff", name="Sam Staff")
    return tenant, client_user, staff


def png_file(tmp_path, name="boots.png"):
    buffer = io.BytesIO()
    Image.new("RGB", (9, 5), (200, 30, 30)).save(buffer, "PNG")
    path = tmp_path / name
    path.write_bytes(buffer.getvalue())
    return path


def test_the_product_form_reports_every_error_and_keeps_the_image(
    page: Page, shop, visit, submit, log_in_as, tmp_path
):
    tenant, _client_user, staff = shop
    log_in_as(page, staff)
    visit(page, tenant.url("/products/new"))
    page.locator("select[name=client_id]").select_option(index=1)
    page.get_by_label("Code", exact=True).fill("bad code!")
    page.get_by_label("Name", exact=True).fill("Boots")
    page.get_by_label("Barcode (EAN/GTIN)").fill("4006381333932")
    page.get_by_label("Price", exact=True).fill("cheap")
    page.get_by_label("Add an image").set_input_files(png_file(tmp_path))
    submit(page, page.get_by_role("button", name="Add product"))

    expect(page.locator("#code-errors")).to_contain_text("The code may contain letters")
    expect(page.locator("#barcode-errors")).to_contain_text("is not a valid EAN/GTIN barcode")
    expect(page.locator("#price-errors")).to_have_text("The price must be a number.")
    expect(page.locator("#kept-image")).to_contain_text("Image chosen: boots.png.")

    # Corrected without choosing the file again: the kept image comes with the product.
    page.get_by_label("Code", exact=True).fill("BOOT-1")
    page.get_by_label("Barcode (EAN/GTIN)").fill("")
    page.get_by_label("Price", exact=True).fill("12.50")
    submit(page, page.get_by_role("button", name="Add product"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("BOOT-1")
    expect(page.locator('img[width="9"][height="5"]')).to_have_count(1)


def test_the_order_form_comes_back_with_its_rows_and_product_names(
    page: Page, shop, visit, submit, log_in_as
):
    tenant, client_user, _staff = shop
    log_in_as(page, client_user)
    visit(page, tenant.url("/orders/new"))
    rows = page.locator("[data-line-row]")
    before = rows.count()
    page.get_by_label("Product code, line 1", exact=True).fill("WID-1")
    page.get_by_label("Quantity, line 1", exact=True).fill("2")
    page.get_by_label("Product code, line 2", exact=True).fill("NOPE")
    page.get_by_label("Quantity, line 2", exact=True).fill("1")
    submit(page, page.get_by_role("button", name="Submit order"))

    expect(page.locator("output[for=lines-0-code]")).to_have_text("Widget · 10 available")
    expect(rows).to_have_count(before)
    message = "Line 2: there is no product with the code NOPE."
    expect(page.get_by_text(message, exact=True)).to_have_count(2)
    expect(page.get_by_role("alert")).to_have_count(1)
