"""A custom domain in a real browser: the admin adds it, copies the TXT record shown, sets it
on a real DNS server, presses "Check now", and the embedded worker verifies the domain."""

from __future__ import annotations

import http.client

import pytest
from playwright.sync_api import Page, expect

from portal.testing import factories
from portal.testing.domains import dns_server

pytestmark = pytest.mark.browser

PAGE = "/admin/branding"


def fetch(port: int, host: str, path: str = "/login") -> tuple[int, str]:
    """GET ``path`` from the live server with ``host`` as Host header, over real HTTP."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": host})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def test_an_admin_proves_a_domain_with_a_txt_record_and_it_serves_the_portal(
    page: Page,
    live_server,
    create_site_tenant,
    create_site_user,
    log_in_as,
    visit,
    submit,
    check_accessibility,
    monkeypatch,
):
    tenant = create_site_tenant()
    admin = create_site_user(tenant, "admin")
    domain = f"{factories.unique_slug('shop')}.example.com"
    with dns_server() as dns:
        config = live_server.app.config
        monkeypatch.setitem(config, "PORTAL_DNS_NAMESERVERS", [("127.0.0.1", dns.port)])
        monkeypatch.setitem(config, "PORTAL_DOMAIN_CHECK_HTTP_SCHEMES", ("http",))
        monkeypatch.setitem(config, "PORTAL_DOMAIN_CHECK_TIMEOUT", 2)

        log_in_as(page, admin)
        visit(page, tenant.url(PAGE))
        section = page.locator("section#domains")
        section.locator("input[name=domain]").fill(domain.upper())
        submit(page, section.get_by_role("button", name="Add domain"))
        row = page.locator(f"li[data-domain='{domain}']")
        expect(row.locator(".domain-status")).to_have_text("Pending verification")
        record_name = row.locator("dl.domain-record dd code").nth(0).inner_text()
        record_value = row.locator("dl.domain-record dd code").nth(1).inner_text()
        assert record_name == f"_supplyport-challenge.{domain}"
        assert record_value.startswith("supplyport-verification=")
        assert fetch(live_server.port, domain)[0] == 404

        # What the admin copied from the page is what proves the domain.
        dns.records[(record_name, "TXT")] = [record_value]
        submit(page, row.get_by_role("button", name=f"Check {domain} now"))
        expect(page.locator(".flash-success")).to_contain_text("will be checked in a moment")
        # The embedded worker checks in a thread of its own; the page shows the outcome
        # once it is written.
        row = page.locator(f"li[data-domain='{domain}']")
        for _attempt in range(50):
            if "Verified on" in row.locator(".domain-status").inner_text():
                break
            page.wait_for_timeout(200)
            page.reload()
            check_accessibility(page)
        expect(row.locator(".domain-status")).to_contain_text("Verified on")
        expect(row.get_by_role("button", name=f"Check {domain} now")).to_have_count(0)

    status, body = fetch(live_server.port, domain)
    assert status == 200
    assert tenant.name in body
