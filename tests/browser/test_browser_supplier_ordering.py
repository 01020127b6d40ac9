"""The heart of the product in a real browser: a store orders from a supplier whose rule set
refuses the first attempt, the supplier confirms with a changed price and a later date, the
store sees the differences and gets an e-mail, the supplier dispatches, staff receive the goods
and stock rises."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal.accounts.models import User
from portal.core.purchasing import ordering
from portal.core.stock.models import StockLevel
from portal.core.suppliers.models import (
    SupplierRuleSet,
)
from portal.db import db, utcnow
from portal.outbox.services import deliver_due
from portal.plugins.models import PluginActivation
from portal.tenants.context import tenant_context
from portal.tenants.models import Tenant
from portal.testing import factories

pytestmark = pytest.mark.browser


def test_a_store_orders_from_a_supplier_who_confirms_with_changes_and_dispatches(
    page: Page,
    live_server,
    create_site_tenant,
    create_site_user,
    new_context,
    visit,
    submit,
    log_in_as,
    mailbox,
    screenshot_dir,
):
    tenant = create_site_tenant()
    store = create_site_user(tenant, "client", name="Sandra Store")
    supplier_user = create_site_user(tenant, "supplier", name="Frank Factory")
    staff = create_site_user(tenant, "staff", name="Sam Staff")
    app = live_server.app
    with app.app_context():
        site_tenant = db.session.get(Tenant, tenant.id)
        with tenant_context(site_tenant):
            store_user = db.session.scalar(select(User).where(User.email == store.email))
            maker = db.session.scalar(select(User).where(User.email == supplier_user.email))
            client, supplier = store_user.client, maker.supplier
            product = factories.make_product(site_tenant, client, code="CHAIR-1", name="Oak chair")
            factories.make_supplier_link(site_tenant, supplier.id, client.id, "K-4711")
            db.session.add(PluginActivation(name="required_fields", enabled=True))
            db.session.add(
                SupplierRuleSet(
                    supplier_id=supplier.id, rule_set_key="required_fields", settings={}
                )
            )
            item = factories.make_matched_item(
                site_tenant,
                supplier.id,
                product,
                supplier_code="OAK-CH",
                price=Decimal("40.00"),
                container_amount=4,
            )
            ordering.add_to_cart(client, item, 3)
            supplier_name, product_id = supplier.name, product.id
        db.session.commit()

    # The store turns its cart into a draft and tries to send it without the required data.
    log_in_as(page, store)
    visit(page, tenant.url("/purchase-orders/cart"))
    expect(page.locator(".cart-group")).to_contain_text("3 × 4 = 12")  # noqa: RUF001
    submit(page, page.get_by_role("button", name="Create purchase order"))
    expect(page.locator("h1")).to_contain_text("Order data of PO-")
    number = page.locator("h1").inner_text().removeprefix("Order data of ")
    submit(page, page.get_by_role("button", name="Save and send to the supplier"))
    expect(page.locator(".form-errors")).to_contain_text("The order cannot be sent yet")
    expect(page.locator("#reference-errors")).to_be_visible()
    expect(page.locator("#expected_date-errors")).to_be_visible()
    page.screenshot(path=screenshot_dir / "supplier-order-refused.png", full_page=True)

    # Fixed, it goes.
    wanted = utcnow().date() + timedelta(days=14)
    page.get_by_label("Customer reference").fill("STORE-77")
    page.get_by_label("Requested delivery date").fill(wanted.isoformat())
    submit(page, page.get_by_role("button", name="Save and send to the supplier"))
    expect(page.locator(".flash-success")).to_contain_text(f"was sent to {supplier_name}")
    with app.app_context():
        deliver_due()  # the transfer, and the e-mail to the supplier
    visit(page, page.url)
    expect(page.locator(".status").first).to_have_text("Transferred")

    # The supplier confirms with a higher price and a later date.
    factory = new_context().new_page()
    log_in_as(factory, supplier_user)
    visit(factory, tenant.url("/supplier/orders"))
    submit(factory, factory.get_by_role("link", name=number))
    expect(factory.locator("main")).to_contain_text("K-4711")
    submit(factory, factory.get_by_role("link", name="Confirm the order").first)
    later = wanted + timedelta(days=7)
    factory.get_by_label("Unit price, line 1 (CHAIR-1)").fill("42.50")
    factory.get_by_label("Delivery date, line 1 (CHAIR-1)").fill(later.isoformat())
    submit(factory, factory.get_by_role("button", name="Confirm the order"))
    expect(factory.locator(".status").first).to_have_text("Confirmed")
    factory.screenshot(path=screenshot_dir / "supplier-portal-order.png", full_page=True)

    # The store is told by e-mail and sees the differences highlighted.
    mailbox.clear()
    with app.app_context():
        deliver_due()
    messages = mailbox.to(store.email)
    assert messages, "the store got no e-mail"
    assert number in messages[-1]["Subject"]
    visit(page, page.url)
    expect(page.locator("td.changed").first).to_be_visible()
    expect(page.locator("td.changed ins").first).to_contain_text("42.50")
    page.screenshot(path=screenshot_dir / "supplier-order-changes.png", full_page=True)

    # The supplier dispatches everything.
    visit(factory, factory.url)
    submit(factory, factory.get_by_role("link", name="Announce a dispatch").first)
    factory.get_by_label("Carrier").fill("DHL")
    factory.get_by_label("Tracking code").fill("JJD0001234")
    factory.get_by_label("Dispatched now, line 1 (CHAIR-1)").fill("12")
    submit(factory, factory.get_by_role("button", name="Send the dispatch notice"))
    expect(factory.locator(".status").first).to_have_text("Dispatched")

    # Staff count the goods in; stock rises.
    desk = new_context().new_page()
    log_in_as(desk, staff)
    visit(desk, page.url)
    expect(desk.locator("main")).to_contain_text("JJD0001234")
    submit(desk, desk.get_by_role("link", name="Receive goods"))
    desk.get_by_label("Received now, line 1 (CHAIR-1)").fill("12")
    submit(desk, desk.get_by_role("button", name="Book goods receipt"))
    expect(desk.locator(".status").first).to_have_text("Received")
    with app.app_context():
        with tenant_context(db.session.get(Tenant, tenant.id)):
            level = db.session.scalar(select(StockLevel).where(StockLevel.product_id == product_id))
            assert level.on_hand == 12
        db.session.rollback()
