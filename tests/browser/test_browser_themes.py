"""Every bundled theme passes axe-core on the main pages, for staff and for clients."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page
from sqlalchemy import select

from portal.accounts.models import User
from portal.db import db
from portal.i18n import shipped_locales
from portal.tenants.context import tenant_context
from portal.tenants.models import Tenant
from portal.testing import factories
from portal.themes import available_themes

pytestmark = pytest.mark.browser

PAGES = ["/dashboard", "/products/", "/orders/", "/shipments/", "/backorders/", "/account"]


@pytest.mark.parametrize("theme", sorted(available_themes()))
def test_main_pages_are_accessible_in_every_theme(
    page: Page,
    theme,
    live_server,
    create_site_tenant,
    create_site_user,
    log_in_as,
    visit,
    screenshot_dir,
):
    tenant = create_site_tenant(theme_settings={"theme": theme})
    client_user = create_site_user(tenant, "client")
    with live_server.app.app_context():
        site_tenant = db.session.get(Tenant, tenant.id)
        with tenant_context(site_tenant):
            client = db.session.scalar(select(User).where(User.email == client_user.email)).client
            product = factories.make_product(site_tenant, client, code="THM-1", stock=2)
            order = factories.make_order(site_tenant, client, [(product, 5)])  # a backorder
            order_path = f"/orders/{order.id}"
        db.session.commit()
    log_in_as(page, client_user)
    for path in [*PAGES, order_path, "/dashboard"]:
        visit(page, tenant.url(path))
    page.screenshot(path=str(Path(screenshot_dir) / f"theme-{theme}-client.png"), full_page=True)


def _mix(first: str, second: str, share: float) -> str:
    channels = (
        round(int(first[i : i + 2], 16) * (1 - share) + int(second[i : i + 2], 16) * share)
        for i in (1, 3, 5)
    )
    return "#" + "".join(f"{value:02x}" for value in channels)


def extreme_colours(theme) -> dict[str, str]:
    """Return the colours furthest from the theme's own that the branding page still accepts:
    each one pushed towards white or black, whichever comes nearer to the contrast limit."""
    from portal.branding.services import contrast_warnings, effective_colours

    colours = effective_colours({}, theme)
    for key in ("primary", "primary_text", "accent"):
        best = colours[key]
        for target in ("#ffffff", "#000000"):
            low, high = 0.0, 1.0
            for _ in range(20):
                middle = (low + high) / 2
                trial = {**colours, key: _mix(colours[key], target, middle)}
                if contrast_warnings(trial, theme):
                    high = middle
                else:
                    low = middle
            candidate = _mix(colours[key], target, low)
            if contrast_warnings({**colours, key: candidate}, theme):
                continue
            if low > 0.05:
                best = candidate
                break
        colours[key] = best
    assert contrast_warnings(colours, theme) == []
    return colours


@pytest.mark.parametrize("theme", sorted(available_themes()))
def test_every_theme_passes_axe_with_extreme_accepted_colours(
    page: Page, theme, create_site_tenant, create_site_user, log_in_as, visit
):
    colours = extreme_colours(available_themes()[theme])
    tenant = create_site_tenant(
        theme_settings={
            "theme": theme,
            "colours": colours,
            "texts": {"en": {"welcome": "Welcome, see [our guide](https://example.com/guide)."}},
        }
    )
    log_in_as(page, create_site_user(tenant, "admin"))
    for path in ("/dashboard", "/orders/", "/admin/branding", "/account"):
        visit(page, tenant.url(path))  # axe runs on each page


@pytest.mark.parametrize("locale", shipped_locales())
def test_every_locale_passes_axe_with_a_valid_language_tag(
    page: Page, locale, create_site_tenant, create_site_user, log_in_as, visit
):
    tenant = create_site_tenant(enabled_locales=list(shipped_locales()))
    log_in_as(page, create_site_user(tenant, "client", locale=locale))
    visit(page, tenant.url("/dashboard"))
    assert page.locator("html").get_attribute("lang") == locale.replace("_", "-")
    tags = page.locator("#language-select option").evaluate_all(
        "options => options.map(o => o.lang)"
    )
    assert all(re.fullmatch(r"[a-z]{2,3}(-[A-Z]{2})?", tag) for tag in tags), tags
