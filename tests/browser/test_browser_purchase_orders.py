"""A client announces a delivery; staff count it in; the client follows it on the dashboard."""

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


def test_a_delivery_is_announced_and_received_in_two_parts(
    page: Page,
    live_server,
    create_site_tenant,
    create_site_user,
    new_context,
    visit,
    submit,
    log_in_as,
    screenshot_dir,
):
    tenant = create_site_tenant()
    client_user = create_site_user(tenant, "client", name="Cleo Client")
    with live_server.app.app_context():
        site_tenant = db.session.get(Tenant, tenant.id)
        with tenant_context(site_tenant):
            user = db.session.scalar(select(User).where(User.email == client_user.email))
            for code, name in (("TEA-1", "Green tea"), ("MUG-1", "Mug")):
                factories.make_product(site_tenant, user.client, code=code, name=name)
        db.session.commit()
    staff = create_site_user(tenant, "staff", name="Sam Staff")

    # The client announces a delivery of two products; "Add a line" adds a third row.
    log_in_as(page, client_user)
    visit(page, tenant.url("/purchase-orders/new"))
    expect(page.locator(".warehouse-note")).to_contain_text("Main warehouse")
    page.get_by_label("Supplier").fill("Tea Garden Ltd")
    page.get_by_label("Product code, line 1", exact=True).fill("TEA-1")
    page.get_by_label("Quantity, line 1", exact=True).fill("10")
    rows = page.locator("[data-line-row]")
    before = rows.count()
    page.get_by_role("button", name="Add a line").click()
    expect(rows).to_have_count(before + 1)
    last = before + 1
    page.get_by_label(f"Product code, line {last}", exact=True).fill("MUG-1")
    page.get_by_label(f"Quantity, line {last}", exact=True).fill("4")
    page.screenshot(path=screenshot_dir / "purchase-order-form.png", full_page=True)
    submit(page, page.get_by_role("button", name="Announce delivery"))
    expect(page.locator("h1")).to_contain_text("Purchase order PO-")
    number = page.locator("h1").inner_text().removeprefix("Purchase order ")
    page.screenshot(path=screenshot_dir / "purchase-order-client.png", full_page=True)

    # Staff count in part of it, then the rest.
    staff_page = new_context().new_page()
    log_in_as(staff_page, staff)
    visit(staff_page, tenant.url("/purchase-orders/"))
    submit(staff_page, staff_page.get_by_role("link", name=number))
    submit(staff_page, staff_page.get_by_role("link", name="Receive goods"))
    staff_page.get_by_label("Received now, line 1 (TEA-1)").fill("6")
    submit(staff_page, staff_page.get_by_role("button", name="Book goods receipt"))
    expect(staff_page.locator(".flash-success")).to_contain_text("6 units were received")
    expect(staff_page.locator(".status").first).to_have_text("Partially received")
    staff_page.screenshot(path=screenshot_dir / "purchase-order-staff.png", full_page=True)

    submit(staff_page, staff_page.get_by_role("link", name="Receive goods"))
    staff_page.get_by_label("Received now, line 1 (TEA-1)").fill("4")
    staff_page.get_by_label("Received now, line 2 (MUG-1)").fill("4")
    submit(staff_page, staff_page.get_by_role("button", name="Book goods receipt"))
    expect(staff_page.locator(".status").first).to_have_text("Received")

    # The client sees the receipts, and the order no longer offers changes.
    visit(page, page.url)
    expect(page.locator(".receipts > li")).to_have_count(2)
    expect(page.get_by_role("link", name="Change")).to_have_count(0)
    visit(page, tenant.url("/dashboard"))
    expect(page.get_by_text("No deliveries are expected.")).to_be_visible()
    page.screenshot(path=screenshot_dir / "dashboard-client.png", full_page=True)


def test_staff_pages_for_returns_and_clients(
    page: Page,
    live_server,
    create_site_tenant,
    create_site_user,
    visit,
    submit,
    log_in_as,
    screenshot_dir,
):
    tenant = create_site_tenant()
    client_user = create_site_user(tenant, "client", name="Cleo Client")
    staff = create_site_user(tenant, "staff", name="Sam Staff")
    with live_server.app.app_context():
        site_tenant = db.session.get(Tenant, tenant.id)
        with tenant_context(site_tenant):
            user = db.session.scalar(select(User).where(User.email == client_user.email))
            client_name = user.client.name
            factories.make_product(site_tenant, user.client, code="TEA-1", name="Green tea")
            factories.make_product(site_tenant, user.client, code="MUG-1", name="Mug")
        db.session.commit()

    log_in_as(page, staff)
    visit(page, tenant.url("/returns/new"))
    page.get_by_label("Client", exact=True).select_option(label=client_name)
    page.get_by_label("Reason").fill("Wrong colour")
    page.get_by_label("Product code, line 1", exact=True).fill("TEA-1")
    page.get_by_label("Quantity, line 1", exact=True).fill("2")
    page.get_by_label("Replacement product code, line 1", exact=True).fill("MUG-1")
    submit(page, page.get_by_role("button", name="Register return"))
    submit(page, page.get_by_role("button", name="Mark as received"))
    page.get_by_label("Restock").check()
    page.screenshot(path=screenshot_dir / "return-staff.png", full_page=True)
    submit(page, page.get_by_role("button", name="Process return"))
    expect(page.locator(".flash-success")).to_contain_text("2 units went back into stock")
    visit(page, tenant.url("/returns/"))

    visit(page, tenant.url("/clients/"))
    submit(page, page.get_by_role("link", name=client_name))
    invite = page.locator("form.invite")
    invite.get_by_label("E-mail address", exact=True).fill("second@example.com")
    submit(page, page.get_by_role("button", name="Send invitation"))
    expect(page.get_by_role("cell", name="second@example.com", exact=True)).to_be_visible()
    page.screenshot(path=screenshot_dir / "client-staff.png", full_page=True)
    visit(page, tenant.url("/clients/new"))
    visit(page, tenant.url("/dashboard"))
    page.screenshot(path=screenshot_dir / "dashboard-staff.png", full_page=True)
