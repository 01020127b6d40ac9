"""The Integration page in a real browser: a supplier creates a token, reads the warning
before regenerating it, regenerates and revokes it; every page passes axe."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_a_supplier_manages_its_integration_tokens(
    page: Page, create_site_tenant, create_site_user, visit, submit, log_in_as
):
    tenant = create_site_tenant()
    supplier = create_site_user(tenant, "supplier", name="Frank Factory")
    log_in_as(page, supplier)
    visit(page, tenant.url("/integration/"))
    form = page.locator("main form")
    form.locator("input[name=name]").fill("Our ERP")
    form.locator("input[name=write]").check()
    submit(page, form.get_by_role("button"))
    secret = page.locator("#secret")
    expect(secret).to_have_value(re.compile(r"^ptk_[a-z0-9]{8}_"))
    first = secret.input_value()

    visit(page, tenant.url("/integration/"))
    expect(page.locator("main table")).to_contain_text("Our ERP")
    visit(page, tenant.url(page.locator("main table a").first.get_attribute("href")))
    expect(page.locator("main [role=alert]")).to_contain_text("stops working")
    submit(page, page.locator("main form button"))
    expect(page.locator("main [role=alert]")).to_contain_text("has stopped working")
    assert page.locator("#secret").input_value() != first

    visit(page, tenant.url("/integration/"))
    visit(page, tenant.url(page.locator("main table a").nth(1).get_attribute("href")))
    submit(page, page.locator("main form button"))
    expect(page.locator("main table")).to_contain_text("Revoked")
    visit(page, tenant.url("/api/v1/docs"))
    expect(page.locator("main")).to_contain_text("/api/v1/purchase-orders")
