"""A client orders with the product picker and the address book; staff pick and ship; the
client follows the shipment, cancels another order and duplicates one."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal.accounts.models import User
from portal.db import db
from portal.tenants.context import tenant_context
from portal.tenants.models import Tenant
from portal.testing import factories

pytestmark = pytest.mark.browser


@pytest.fixture
def shop(live_server, create_site_tenant, create_site_user):
    tenant = create_site_tenant()
    client_user = create_site_user(tenant, "client", name="Cleo Client")
    with live_server.app.app_context():
        site_tenant = db.session.get(Tenant, tenant.id)
        with tenant_context(site_tenant):
            user = db.session.scalar(select(User).where(User.email == client_user.email))
            factories.make_product(site_tenant, user.client, code="WID-1", name="Widget", stock=10)
            factories.make_product(
                site_tenant, user.client, code="GAD-1", name="Gadget", barcode="4006381333931"
            )
            factories.make_address(
                site_tenant,
                user.client,
                name="Berlin Shop",
                street="Torstraße 1",
                postcode="10119",
                city="Berlin",
                country="DE",
                label="Shop",
            )
        db.session.commit()
    staff = create_site_user(tenant, "staff", name="Sam Staff")
    return tenant, client_user, staff


def test_order_with_picker_and_address_book_then_ship_and_follow(
    page: Page, shop, new_context, visit, submit, log_in_as, screenshot_dir
):
    tenant, client_user, staff = shop
    log_in_as(page, client_user)
    visit(page, tenant.url("/orders/new"))

    # The picker suggests the client's products and names the chosen one.
    code = page.get_by_label("Product code, line 1", exact=True)
    code.press_sequentially("wid", delay=30)
    expect(page.locator('#product-suggestions option[value="WID-1"]')).to_have_count(1)
    code.fill("WID-1")
    expect(page.locator("output[for=lines-0-code]")).to_have_text("Widget · 10 available")
    page.get_by_label("Quantity, line 1", exact=True).fill("2")
    rows = page.locator("[data-line-row]")
    before = rows.count()
    page.get_by_role("button", name="Add a line").click()
    expect(rows).to_have_count(before + 1)
    expect(page.get_by_role("button", name="More lines")).to_be_hidden()
    last = before + 1
    page.get_by_label(f"Product code, line {last}", exact=True).fill("4006381333931")
    expect(page.locator('#product-suggestions option[value="GAD-1"]')).to_have_count(1)
    page.get_by_label(f"Product code, line {last}", exact=True).fill("GAD-1")
    page.get_by_label(f"Quantity, line {last}", exact=True).fill("3")

    # Choosing from the address book fills the fields.
    page.get_by_label("Choose from the address book").select_option(
        label="Shop, Berlin Shop, Torstraße 1, Berlin"
    )
    expect(page.get_by_label("Recipient name")).to_have_value("Berlin Shop")
    expect(page.get_by_label("Country")).to_have_value("DE")
    page.get_by_label("Your reference").fill("WEB-1")
    page.screenshot(path=screenshot_dir / "order-form.png", full_page=True)
    submit(page, page.get_by_role("button", name="Submit order"))
    expect(page.locator("h1")).to_contain_text("Order O-")
    expect(page.locator("h1 .badge")).to_have_text("Backorder")
    number = page.locator("h1").inner_text().split()[1]
    expect(page.locator(".postal-address")).to_contain_text("Berlin Shop")
    page.screenshot(path=screenshot_dir / "order-detail-client.png", full_page=True)

    for path in ("/orders/", "/backorders/", "/addresses/", "/addresses/new", "/shipments/"):
        visit(page, tenant.url(path))
    expect(page.locator("main")).to_contain_text("Nothing has been shipped yet.")

    # Staff pick, print the picklist and ship.
    staff_page = new_context().new_page()
    log_in_as(staff_page, staff)
    visit(staff_page, tenant.url("/orders/"))
    submit(staff_page, staff_page.get_by_role("link", name=number))
    submit(staff_page, staff_page.get_by_role("button", name="Start picking"))
    expect(staff_page.locator("h1")).to_have_text(f"Picklist {number}")
    expect(staff_page.get_by_role("button", name="Print")).to_be_visible()
    expect(staff_page.locator(".picklist-table")).to_contain_text("WID-1")
    staff_page.screenshot(path=screenshot_dir / "order-picklist.png", full_page=True)
    submit(staff_page, staff_page.get_by_role("link", name="Back to the order"))
    staff_page.get_by_label("Carrier").select_option("DHL")
    staff_page.get_by_label("Tracking code").fill("JD0146000")
    submit(staff_page, staff_page.get_by_role("button", name="Ship the picked products"))
    expect(staff_page.locator("h1 .badge")).to_have_text("Partially shipped")
    staff_page.screenshot(path=screenshot_dir / "order-detail-staff.png", full_page=True)

    # The client sees the shipment with its tracking link.
    visit(page, tenant.url("/shipments/"))
    link = page.get_by_role("link", name="JD0146000")
    expect(link).to_have_attribute(
        "href",
        "https://www.dhl.com/global-en/home/tracking/tracking-parcel.html?submit=1&tracking-id=JD0146000",
    )
    submit(page, page.locator("main table a").first)
    expect(page.locator("main")).to_contain_text("Widget")

    # The shipped order can no longer be cancelled; it can be duplicated.
    visit(page, tenant.url("/orders/"))
    submit(page, page.get_by_role("link", name=number))
    expect(page.get_by_role("link", name="Cancel order")).to_have_count(0)
    submit(page, page.get_by_role("button", name="Duplicate into a new draft"))
    expect(page.locator("h1 .badge")).to_have_text("Draft")
    expect(page.locator(".flash-success")).to_contain_text(f"Order {number} was copied")

    # The draft is submitted, then cancelled after confirming.
    submit(page, page.get_by_role("button", name="Submit order"))
    submit(page, page.get_by_role("link", name="Cancel order"))
    submit(page, page.get_by_role("button", name="Cancel the order"))
    expect(page.locator("h1 .badge")).to_have_text("Cancelled")
