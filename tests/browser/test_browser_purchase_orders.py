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


def test_a_supplier_dispatches_part_and_the_store_sees_what_is_still_to_come(
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
    from decimal import Decimal

    from portal.core.purchasing import ordering, responses
    from portal.core.purchasing.models import PurchaseOrder
    from portal.outbox.services import deliver_due

    tenant = create_site_tenant()
    store = create_site_user(tenant, "client", name="Sandra Store")
    supplier_user = create_site_user(tenant, "supplier", name="Frank Factory")
    app = live_server.app
    with app.app_context():
        site_tenant = db.session.get(Tenant, tenant.id)
        with tenant_context(site_tenant):
            store_user = db.session.scalar(select(User).where(User.email == store.email))
            maker = db.session.scalar(select(User).where(User.email == supplier_user.email))
            client, supplier = store_user.client, maker.supplier
            product = factories.make_product(site_tenant, client, code="CHAIR-1", name="Oak chair")
            factories.make_supplier_link(site_tenant, supplier.id, client.id, "K-4711")
            item = factories.make_matched_item(
                site_tenant,
                supplier.id,
                product,
                supplier_code="OAK-CH",
                price=Decimal("40.00"),
                container_amount=4,
            )
            ordering.add_to_cart(client, item, 3)
            po = ordering.create_from_cart(client, supplier)
            ordering.book(po)
            ordering.send(po)
            po_id, number = po.id, po.number
            db.session.commit()  # inside the tenant: row-level security on PostgreSQL
        deliver_due()

    # One click on "Cancel purchase order" only asks, and says the supplier would be told.
    log_in_as(page, store)
    visit(page, tenant.url(f"/purchase-orders/{po_id}"))
    submit(page, page.get_by_role("link", name="Cancel purchase order"))
    expect(page.locator("main")).to_contain_text("the supplier is told by e-mail")
    submit(page, page.get_by_role("link", name="Keep the purchase order"))
    expect(page.locator(".status").first).to_have_text("Transferred")

    with app.app_context(), tenant_context(db.session.get(Tenant, tenant.id)):
        responses.confirm(db.session.scalar(select(PurchaseOrder).where(PurchaseOrder.id == po_id)))
        db.session.commit()

    # The supplier sends 4 of the 12 chairs now.
    factory = new_context().new_page()
    log_in_as(factory, supplier_user)
    visit(factory, tenant.url(f"/supplier/orders/{po_id}"))
    expect(factory.locator("main")).to_contain_text("3 × 4 = 12 units")  # noqa: RUF001
    submit(factory, factory.get_by_role("link", name="Announce a dispatch").first)
    factory.get_by_label("Carrier").fill("DHL")
    factory.get_by_label("Dispatched now, line 1 (CHAIR-1)").fill("4")
    submit(factory, factory.get_by_role("button", name="Send the dispatch notice"))
    expect(factory.locator(".status").first).to_have_text("Partially dispatched")

    # The store sees the partial dispatch and what is still to come.
    visit(page, tenant.url(f"/purchase-orders/{po_id}"))
    expect(page.locator(".status").first).to_have_text("Partially dispatched")
    expect(page.locator(".waiting")).to_contain_text("the supplier has still to dispatch the rest")
    row = page.locator("table").first.locator("tbody tr").first
    expect(row).to_contain_text("8 not dispatched yet")
    expect(page.get_by_role("columnheader", name="Still to come")).to_be_visible()
    page.screenshot(path=screenshot_dir / "purchase-order-partially-dispatched.png", full_page=True)
    visit(page, tenant.url("/purchase-orders/?status=partially_dispatched"))
    expect(page.get_by_role("link", name=number)).to_be_visible()

    # Then the rest.
    visit(factory, tenant.url(f"/supplier/orders/{po_id}"))
    submit(factory, factory.get_by_role("link", name="Announce a dispatch").first)
    factory.get_by_label("Dispatched now, line 1 (CHAIR-1)").fill("8")
    submit(factory, factory.get_by_role("button", name="Send the dispatch notice"))
    expect(factory.locator(".status").first).to_have_text("Dispatched")
    visit(page, tenant.url(f"/purchase-orders/{po_id}"))
    expect(page.locator(".status").first).to_have_text("Dispatched")
    expect(page.locator("main")).not_to_contain_text("not dispatched yet")
