"""The audit log in a real browser: an admin filters it, follows an entry to its object and
downloads the filtered entries; every page passes axe."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_an_admin_filters_the_audit_log_and_opens_an_object(
    page: Page, create_site_tenant, create_site_user, visit, submit, log_in_as
):
    tenant = create_site_tenant()
    admin = create_site_user(tenant, "admin", name="Ada Admin")
    log_in_as(page, admin)
    visit(page, tenant.url("/admin/audit"))
    form = page.locator("main form.filters")
    form.get_by_label("What").select_option(label="Signed in")
    submit(page, form.get_by_role("button", name="Show"))
    rows = page.locator("main table tbody tr")
    expect(rows.first).to_contain_text("Signed in")
    assert "login.succeeded" not in page.locator("main table").inner_text()

    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    text = download.value.path().read_bytes().decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0][3] == "Action"
    assert {line[3] for line in lines[1:]} == {"Signed in"}

    submit(page, rows.first.get_by_role("link", name="Ada Admin"))
    expect(page.locator("main h1")).to_be_visible()
    assert "/admin/users/" in page.url
