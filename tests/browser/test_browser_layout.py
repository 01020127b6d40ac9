"""The header menu on a phone and on a wide screen; nothing scrolls sideways, even with long text."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from portal.db import db
from portal.tenants.context import tenant_context
from portal.tenants.models import Tenant
from portal.testing import factories
from portal.themes import available_themes

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}


def assert_no_horizontal_scroll(page: Page) -> None:
    widths = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth,"
        " client: document.documentElement.clientWidth})"
    )
    assert widths["scroll"] <= widths["client"], f"{page.url} scrolls sideways: {widths}"


def test_menu_opens_and_nothing_scrolls_sideways_on_a_phone(
    new_context,
    create_branded_tenant,
    create_site_user,
    visit,
    log_in_as,
    check_accessibility,
    submit,
):
    page = new_context(**PHONE).new_page()
    tenant = create_branded_tenant("nordic")
    user = create_site_user(tenant, name="Nils Nordic")
    visit(page, tenant.url("/login"))
    assert_no_horizontal_scroll(page)

    log_in_as(page, user)
    assert_no_horizontal_scroll(page)

    menu = page.locator("details.menu")
    nav = menu.locator("nav.main-nav")
    expect(menu.locator("summary")).to_be_visible()
    expect(nav).to_be_hidden()
    menu.locator("summary").click()
    expect(menu).to_have_attribute("open", "")
    expect(nav).to_be_visible()
    check_accessibility(page)  # again, with the menu open
    assert_no_horizontal_scroll(page)

    submit(page, nav.get_by_role("link", name="My account"))
    expect(page).to_have_url(tenant.url("/account"))
    assert_no_horizontal_scroll(page)


def test_menu_is_always_open_on_a_wide_screen(
    new_context, create_branded_tenant, create_site_user, log_in_as, submit
):
    page = new_context(**DESKTOP).new_page()
    tenant = create_branded_tenant("acme")
    user = create_site_user(tenant)

    log_in_as(page, user)

    nav = page.locator("details.menu nav.main-nav")
    expect(page.locator("details.menu summary")).to_be_hidden()
    expect(nav.get_by_role("link", name="Dashboard")).to_be_visible()
    expect(nav.get_by_role("link", name="Dashboard")).to_have_attribute("aria-current", "page")
    submit(page, nav.get_by_role("link", name="My account"))
    expect(page).to_have_url(tenant.url("/account"))
    assert_no_horizontal_scroll(page)


# --- long text, codes and narrow screens, in every theme -------------------------------------

LONG_NOTE = "Deliver-to-the-back-door-and-ring-twice;" * 50  # 2,000 characters, no space
WIDTHS = {
    "desktop": {"viewport": {"width": 1366, "height": 900}},
    "phone": PHONE,
}


def line_count(page: Page, selector: str) -> int:
    """Return how many lines the text of the first element matching ``selector`` takes."""
    return page.locator(selector).first.evaluate(
        """(el) => {
            const range = document.createRange();
            range.selectNodeContents(el);
            const tops = new Set([...range.getClientRects()]
                .filter((rect) => rect.width > 0).map((rect) => Math.round(rect.top)));
            return tops.size;
        }"""
    )


@pytest.fixture
def order_with_long_note(live_server, create_site_tenant, create_site_user):
    """Return ``create(theme)``: a staff user and an order being picked, with a long note."""

    def create(theme: str):
        tenant = create_site_tenant(theme_settings={"theme": theme})
        staff = create_site_user(tenant, "staff")
        with live_server.app.app_context():
            from portal.core.orders.services import pick_order

            site_tenant = db.session.get(Tenant, tenant.id)
            client = factories.make_client(site_tenant, "Client-with-a-name-" * 5)
            product = factories.make_product(
                site_tenant, client, code="PO-2026-000001", name="Widget", stock=5
            )
            order = factories.make_order(
                site_tenant,
                client,
                [(product, 2)],
                notes=LONG_NOTE,
                reference="REF-" + "9" * 60,
                address={**factories.DEFAULT_ADDRESS, "company": "Unbroken" * 12},
            )
            with tenant_context(site_tenant):
                pick_order(order)
                order_id = order.id
                # Flushed inside the tenant: row-level security checks the audit rows too.
                db.session.commit()
        return tenant, staff, order_id

    return create


@pytest.mark.parametrize("width", sorted(WIDTHS))
@pytest.mark.parametrize("theme", sorted(available_themes()))
def test_long_text_and_codes_keep_the_pages_inside_the_screen(
    theme, width, new_context, order_with_long_note, log_in_as, visit
):
    tenant, staff, order_id = order_with_long_note(theme)
    page = new_context(**WIDTHS[width]).new_page()
    log_in_as(page, staff)

    visit(page, tenant.url(f"/orders/{order_id}"))
    expect(page.locator(".notes")).to_contain_text(LONG_NOTE[:40])
    assert_no_horizontal_scroll(page)
    assert line_count(page, "td.code") == 1, "the product code wraps"

    visit(page, tenant.url(f"/orders/{order_id}/picklist"))
    assert_no_horizontal_scroll(page)
    note = page.locator(".notes").bounding_box()
    address = page.locator(".postal-address").bounding_box()
    assert note is not None
    assert address is not None
    overlaps = (
        note["y"] < address["y"] + address["height"]
        and address["y"] < note["y"] + note["height"]
        and note["x"] < address["x"] + address["width"]
        and address["x"] < note["x"] + note["width"]
    )
    assert not overlaps, f"the note runs over the address: {note} {address}"
    assert line_count(page, "td.code") == 1, "the product code wraps"

    for path in ("/orders/", "/dashboard", "/stock/", "/products/", "/backorders/"):
        visit(page, tenant.url(path))
        assert_no_horizontal_scroll(page)

    visit(page, tenant.url("/orders/"))
    assert line_count(page, "td.code") == 1, "the order number wraps"
    status = page.locator(".list-table tbody .badge").first
    status.scroll_into_view_if_needed()
    box = status.bounding_box()
    viewport = page.viewport_size
    assert box is not None
    assert viewport is not None
    assert box["x"] >= 0, f"the status is cut off: {box}"
    assert box["x"] + box["width"] <= viewport["width"], f"the status is cut off: {box}"
    scroller = status.evaluate("(el) => getComputedStyle(el.closest('.table-wrap')).overflowX")
    assert scroller == "auto"
