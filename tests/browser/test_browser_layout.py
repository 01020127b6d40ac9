"""The header menu on a phone and on a wide screen, and nothing scrolls sideways."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

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
