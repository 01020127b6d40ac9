"""An administrator's tenant token in a real browser: created on the Integration page, used
by the tenant's own software over HTTP to add a client and switch its product management on,
and the staff see the client and its settings on the client pages; every page passes axe."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def _api(tenant, method: str, path: str, **kwargs):
    """Call the live server as the tenant's software does: on 127.0.0.1, with the tenant's
    host name in ``Host`` (``*.localhost`` is resolved by the browser only)."""
    parts = urlsplit(tenant.url(path))
    headers = {**kwargs.pop("headers", {}), "Host": parts.netloc}
    return requests.request(
        method,
        f"http://127.0.0.1:{parts.port}{parts.path}",
        headers=headers,
        timeout=30,
        **kwargs,
    )


def test_an_admin_creates_a_tenant_token_and_its_software_adds_a_client(
    page: Page, create_site_tenant, create_site_user, visit, submit, log_in_as
):
    tenant = create_site_tenant()
    admin = create_site_user(tenant, "admin", name="Ada Admin")
    log_in_as(page, admin)
    visit(page, tenant.url("/integration/"))
    form = page.locator("main form")
    expect(form).to_contain_text("Your tokens act for the whole portal")
    form.locator("input[name=name]").fill("Our ERP")
    form.locator("input[name=clients_write]").check()
    submit(page, form.get_by_role("button"))
    secret = page.locator("#secret")
    expect(secret).to_have_value(re.compile(r"^ptk_[a-z0-9]{8}_"))
    headers = {"Authorization": f"Bearer {secret.input_value()}"}

    created = _api(
        tenant,
        "POST",
        "/api/v1/tenant/clients",
        json={"name": "Shoe Shop", "email": "office@shoes.test"},
        headers={**headers, "Idempotency-Key": "client-1"},
    )
    assert created.status_code == 201, created.text
    client_id = created.json()["id"]
    changed = _api(
        tenant,
        "PATCH",
        f"/api/v1/tenant/clients/{client_id}",
        json={"product_management": True},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    refused = _api(tenant, "GET", "/api/v1/tenant/orders", headers=headers)
    assert refused.status_code == 403
    assert refused.json()["code"] == "insufficient_scope"

    visit(page, tenant.url("/clients/"))
    expect(page.locator("main table")).to_contain_text("Shoe Shop")
    visit(page, tenant.url(f"/clients/{client_id}"))
    expect(page.locator("main input[name=product_management]")).to_be_checked()
    expect(page.locator("main")).to_contain_text("Ada Admin")  # the history names the actor
