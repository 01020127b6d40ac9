"""Every bundled theme passes axe-core on the main pages, for staff and for clients."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page
from sqlalchemy import select

from portal.accounts.models import User
from portal.db import db
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
