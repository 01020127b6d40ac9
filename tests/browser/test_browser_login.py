"""Logging in and out in a real browser, on the white-labelled portals of two tenants."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

WRONG_CREDENTIALS = "The e-mail address or password is not correct."


def rgb(hex_colour: str) -> str:
    """Return ``#rrggbb`` the way getComputedStyle writes it."""
    red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"


def assert_brand(page: Page, tenant, other) -> None:
    """Check that the page wears ``tenant``'s brand and shows nothing of ``other``'s."""
    theme = tenant.theme_settings
    texts = theme["texts"]["en"]
    expect(page.locator(".brand .brand-name")).to_have_text(theme["title"])
    # Each tenant wears its own theme (a sidebar layout for one, the top menu for the other).
    expect(page.locator("body")).to_have_class(re.compile(rf"\btheme-{theme['theme']}\b"))
    assert page.title().endswith(f" · {theme['title']}"), page.title()
    expect(page.locator(".site-footer")).to_contain_text(texts["footer"])

    logo = page.locator("img.brand-logo")
    expect(logo).to_have_attribute("src", f"/static/{theme['logo']}")
    assert logo.evaluate("img => img.complete && img.naturalWidth > 0"), "the logo did not load"

    # The tenant's colours arrive through /theme.css and reach the page, whatever the layout.
    expect(page.locator("link[rel=stylesheet][href^='/theme.css?v=']")).to_have_count(1)
    primary = page.evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--primary').trim()"
    )
    assert primary == theme["colours"]["primary"]
    if theme["theme"] == "atelier":  # the sidebar layout writes the portal's name in it
        expect(page.locator(".sidebar .brand-name")).to_have_css(
            "color", rgb(theme["colours"]["primary"])
        )
    else:
        expect(page.locator("header.site-header")).to_have_css(
            "background-color", rgb(theme["colours"]["primary"])
        )

    body = page.locator("body")
    other_texts = other.theme_settings["texts"]["en"]
    for foreign in (other.name, other.theme_settings["title"], *other_texts.values()):
        expect(body).not_to_contain_text(foreign)
    expect(page.locator(f"img[src='/static/{other.theme_settings['logo']}']")).to_have_count(0)


def test_each_tenant_shows_its_own_brand_before_and_after_login(
    page: Page,
    create_branded_tenant,
    create_site_user,
    visit,
    log_in_as,
    screenshot_dir,
):
    acme = create_branded_tenant("acme")
    nordic = create_branded_tenant("nordic")
    users = {
        acme.slug: create_site_user(acme, name="Alice Acme"),
        nordic.slug: create_site_user(nordic, name="Nils Nordic"),
    }

    for theme, tenant, other in (("acme", acme, nordic), ("nordic", nordic, acme)):
        visit(page, tenant.url("/login"))
        assert_brand(page, tenant, other)
        expect(page.locator("main h1")).to_have_text(f"Log in to {tenant.theme_settings['title']}")
        expect(page.locator("main .intro")).to_have_text(
            tenant.theme_settings["texts"]["en"]["login"]
        )

        user = users[tenant.slug]
        log_in_as(page, user)
        assert_brand(page, tenant, other)
        expect(page.locator("main h1")).to_have_text(f"Hello, {user.display_name}")
        expect(page.locator("main .welcome")).to_have_text(
            tenant.theme_settings["texts"]["en"]["welcome"]
        )
        page.screenshot(path=screenshot_dir / f"dashboard-{theme}.png", full_page=True)


def test_wrong_password_shows_the_error_and_starts_no_session(
    page: Page, create_site_tenant, create_site_user, log_in, visit
):
    tenant = create_site_tenant()
    user = create_site_user(tenant)

    log_in(page, tenant, user.email, "not the password at all")

    expect(page).to_have_url(tenant.url("/login"))
    expect(page.locator("main .form-errors")).to_have_text(WRONG_CREDENTIALS)
    expect(page.locator("form.logout")).to_have_count(0)
    visit(page, tenant.url("/dashboard"))
    expect(page).to_have_url(tenant.url("/login?next=%2Fdashboard"))


def test_user_of_one_tenant_cannot_log_in_on_another_tenants_host(
    page: Page, create_branded_tenant, create_site_user, log_in, visit
):
    acme = create_branded_tenant("acme")
    nordic = create_branded_tenant("nordic")
    user = create_site_user(acme)

    log_in(page, nordic, user.email, user.password)

    expect(page).to_have_url(nordic.url("/login"))
    expect(page.locator("main .form-errors")).to_have_text(WRONG_CREDENTIALS)
    visit(page, nordic.url("/dashboard"))
    expect(page).to_have_url(nordic.url("/login?next=%2Fdashboard"))


def test_logout_ends_the_session(
    page: Page, create_site_tenant, create_site_user, log_in_as, submit, visit
):
    tenant = create_site_tenant()
    user = create_site_user(tenant)
    log_in_as(page, user)

    submit(page, page.locator("form.logout button[type=submit]"))

    expect(page).to_have_url(tenant.url("/login"))
    expect(page.locator(".flashes")).to_contain_text("You have been logged out.")
    visit(page, tenant.url("/dashboard"))
    expect(page).to_have_url(tenant.url("/login?next=%2Fdashboard"))
    expect(page.locator("form.logout")).to_have_count(0)
