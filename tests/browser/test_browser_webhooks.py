"""The Webhooks page in a real browser: a supplier adds a webhook (the secret is shown once),
sends a test event that a receiver on 127.0.0.1 verifies, reads the delivery and sends it
again; every page passes axe."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Page, expect
from standardwebhooks import Webhook

from portal.outbox.services import drain

pytestmark = pytest.mark.browser


@pytest.fixture
def receiver():
    received: list[tuple[dict, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append((dict(self.headers.items()), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks", received
    server.shutdown()
    server.server_close()


def test_a_supplier_adds_and_tests_a_webhook(
    page: Page,
    live_server,
    create_site_tenant,
    create_site_user,
    visit,
    submit,
    log_in_as,
    receiver,
    monkeypatch,
):
    url, received = receiver
    monkeypatch.setitem(live_server.app.config, "PORTAL_WEBHOOKS_ALLOW_PRIVATE", True)
    tenant = create_site_tenant()
    supplier = create_site_user(tenant, "supplier", name="Frank Factory")
    log_in_as(page, supplier)
    visit(page, tenant.url("/webhooks/"))
    form = page.locator("main form")
    form.get_by_label("Address (URL)").fill(url)
    form.get_by_label("Purchase order confirmed").check()
    submit(page, form.get_by_role("button", name="Add webhook"))
    secret = page.locator("#secret").input_value()
    assert re.match(r"^whsec_[A-Za-z0-9+/=]{40,}$", secret)

    visit(page, tenant.url("/webhooks/"))
    visit(page, tenant.url(page.locator("main table a").first.get_attribute("href")))
    submit(page, page.get_by_role("button", name="Send a test event"))
    expect(page.locator("main")).to_contain_text("A test event is on its way")
    with live_server.app.app_context():
        drain()
    headers, body = received[-1]
    assert Webhook(secret).verify(body, headers)["type"] == "webhook.ping"

    visit(page, page.url)
    expect(page.locator("main table").last).to_contain_text("Delivered")
    visit(
        page, tenant.url(page.locator("main table").last.locator("a").first.get_attribute("href"))
    )
    expect(page.locator("main")).to_contain_text("HTTP 204")
    submit(page, page.get_by_role("button", name="Send again"))
    expect(page.locator("main")).to_contain_text("The event is sent once more.")
