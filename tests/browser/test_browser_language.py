"""Switching the language with the switcher in the header."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_switching_to_german_translates_the_login_page(
    page: Page, create_branded_tenant, visit, submit
):
    tenant = create_branded_tenant("acme")
    visit(page, tenant.url("/login"))
    expect(page.locator("html")).to_have_attribute("lang", "en")

    switcher = page.locator("form.language-switcher")
    switcher.locator("select#language-select").select_option("de")
    submit(page, switcher.locator("button[type=submit]"))

    expect(page).to_have_url(tenant.url("/login"))
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("select#language-select")).to_have_value("de")
    expect(page.locator("select#language-select option:checked")).to_have_text("Deutsch")
    # The tenant's own German text (data, not the catalog).
    expect(page.locator("main .intro")).to_have_text(tenant.theme_settings["texts"]["de"]["login"])
    # From the German catalog (translations/de).
    expect(page.locator("main form button[type=submit]")).to_have_text("Anmelden")
