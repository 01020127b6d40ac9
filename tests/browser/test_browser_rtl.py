"""Right-to-left: in Arabic every theme renders mirrored, with lang and dir set."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from portal.i18n import shipped_locales
from portal.themes import available_themes

pytestmark = pytest.mark.browser

RTL = next((code for code in shipped_locales() if code in ("ar", "he")), None)


@pytest.mark.parametrize("theme", sorted(available_themes()))
def test_every_theme_renders_right_to_left(
    page: Page,
    theme,
    create_site_tenant,
    create_site_user,
    log_in,
    check_accessibility,
    screenshot_dir,
):
    assert RTL is not None, "a right-to-left catalog (ar or he) is shipped"
    tenant = create_site_tenant(
        enabled_locales=["en", RTL], theme_settings={"theme": theme, "title": "مرحبا Portal"}
    )
    user = create_site_user(tenant, "client", locale=RTL)
    log_in(page, tenant, user.email, user.password)
    page.goto(tenant.url("/dashboard"))
    check_accessibility(page)
    html = page.locator("html")
    expect(html).to_have_attribute("lang", RTL)
    expect(html).to_have_attribute("dir", "rtl")
    width = page.viewport_size["width"]
    brand = page.locator(".brand").bounding_box()
    # Mirrored: the brand starts on the right-hand side in both layouts.
    assert brand["x"] + brand["width"] > width * 0.6, (theme, brand)
    main = page.locator("main").bounding_box()
    if available_themes()[theme].layout == "sidebar":
        sidebar = page.locator(".sidebar").bounding_box()
        assert sidebar["x"] > main["x"], (theme, sidebar, main)
    page.screenshot(path=str(Path(screenshot_dir) / f"rtl-{theme}.png"), full_page=True)
