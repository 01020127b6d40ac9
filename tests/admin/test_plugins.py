"""Tenant admins see the installed plugins, switch them on and off for their tenant only,
and see which plugins failed to load and why."""

import re
import types

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.core.suppliers.models import Supplier, SupplierRuleSet
from portal.plugins import RuleSet, hookimpl
from portal.plugins.host import current_host
from portal.plugins.models import PluginActivation
from portal.tenants.context import tenant_context


class DeliveryWindow(RuleSet):
    key = "test_delivery_window"
    label = "Test delivery window"
    description = "Orders must leave enough time."

    def check(self, order, ctx):
        return []


def window_plugin():
    """A plugin offering one rule set; off until a tenant enables it."""
    module = types.ModuleType("test_window_plugin", "Delivery windows for tests.\n\nMore text.")
    module.portal_mandatory_data_rule_sets = hookimpl(lambda: [DeliveryWindow])
    return module


def broken_plugin():
    """A plugin with a typo in a hook name: the host refuses it and says why."""
    module = types.ModuleType("test_broken_plugin", "Broken.")
    module.portal_supplier_integration = hookimpl(lambda: [])
    return module


@pytest.fixture
def admin_browser(login_as, create_user, tenant):
    return login_as(create_user(tenant, "admin"), tenant)


def text_of(response) -> str:
    return response.get_data(as_text=True)


def switch(browser, action, name):
    return browser.post(
        f"/admin/plugins/{action}",
        data={"name": name, "csrf_token": browser.csrf_token("/admin/plugins/")},
    )


def enabled_names(app, tenant) -> set[str]:
    with app.app_context(), tenant_context(tenant):
        return current_host().enabled_names()


def section_of(page: str, label: str) -> str:
    """Return the section of the plugin shown as ``label`` (its translated name)."""
    match = re.search(
        rf'<h2 id="plugin-\d+-title">{re.escape(label)}</h2>(.*?)</section>', page, re.S
    )
    assert match, f"no section for {label}"
    return match.group(1)


def test_the_page_lists_the_plugins_with_what_they_offer(admin_browser, register_plugin, app):
    register_plugin("test_window_plugin", window_plugin())

    page = text_of(admin_browser.get("/admin/plugins/"))

    manual = section_of(page, "In the portal")  # named by its one integration
    assert "<code>manual</code>" in manual
    assert "Enabled" in manual
    assert "on by default" in manual
    assert "supplyport 0.1.0" in manual  # distribution and version
    # The module's docstring is English for developers; the integration describes itself.
    assert "The manual supplier integration" not in manual
    assert "Supplier integrations" in manual
    assert "In the portal" in manual
    assert "Disable In the portal" in manual
    window = section_of(page, "Test delivery window")
    assert "Disabled" in window
    assert "on by default" not in window
    assert "Delivery windows for tests." not in window
    assert "More text." not in window
    assert "Test delivery window" in window
    assert "<code>test_delivery_window</code>" in window
    assert "Orders must leave enough time." in window
    assert "Enable Test delivery window" in window
    assert 'href="/admin/plugins/"' in page  # the menu entry


def test_a_plugin_may_name_and_describe_itself(admin_browser, register_plugin):
    module = window_plugin()
    module.PORTAL_LABEL = "Delivery windows"
    module.PORTAL_DESCRIPTION = "Keeps orders inside the supplier's delivery windows."
    register_plugin("test_window_plugin", module)

    window = section_of(text_of(admin_browser.get("/admin/plugins/")), "Delivery windows")
    assert "Keeps orders inside the supplier&#39;s delivery windows." in window
    assert "Enable Delivery windows" in window


def test_a_plugin_that_failed_to_load_is_listed_with_the_reason(admin_browser, register_plugin):
    assert register_plugin("test_broken_plugin", broken_plugin()) is None

    page = text_of(admin_browser.get("/admin/plugins/"))

    assert "Plugins that could not be loaded" in page
    row = re.search(r"<td>test_broken_plugin</td><td><code>(.*?)</code></td>", page)
    assert row, page[page.find("could not be loaded") :][:1500]
    assert (
        "implements &#39;portal_supplier_integration&#39;, which is not a portal hook"
        in row.group(1)
    )
    assert '<h2 id="plugin-' not in page.split("could not be loaded")[1]  # not among the loaded


def test_enabling_and_disabling_is_per_tenant_and_audited(
    app, admin_browser, register_plugin, tenant, other_tenant, in_tenant
):
    register_plugin("test_window_plugin", window_plugin())
    assert "test_window_plugin" not in enabled_names(app, tenant)

    response = switch(admin_browser, "enable", "test_window_plugin")

    assert response.status_code == 302
    assert "The plugin Test delivery window is enabled." in text_of(
        admin_browser.get("/admin/plugins/")
    )
    assert "test_window_plugin" in enabled_names(app, tenant)
    assert "test_window_plugin" not in enabled_names(app, other_tenant)
    with in_tenant(tenant) as session:
        assert "test_delivery_window" in current_host().enabled_rule_sets()

    assert switch(admin_browser, "disable", "manual").status_code == 302
    assert "manual" not in enabled_names(app, tenant)
    assert "manual" in enabled_names(app, other_tenant)  # the default still holds there
    with in_tenant(tenant) as session:
        rows = dict(session.execute(select(PluginActivation.name, PluginActivation.enabled)).all())
        assert rows == {"test_window_plugin": True, "manual": False}
        entries = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action.in_(["plugin.enabled", "plugin.disabled"]))
            .order_by(AuditEntry.id)
        ).all()
        assert [(e.action, e.details["plugin"], e.changes) for e in entries] == [
            ("plugin.enabled", "test_window_plugin", {"enabled": [False, True]}),
            ("plugin.disabled", "manual", {"enabled": [True, False]}),
        ]
    with in_tenant(other_tenant) as session:
        assert session.scalars(select(PluginActivation)).all() == []

    # Switching on again what is on changes nothing.
    switch(admin_browser, "enable", "test_window_plugin")
    assert "Nothing was changed." in text_of(admin_browser.get("/admin/plugins/"))
    with in_tenant(tenant) as session:
        assert (
            session.scalar(
                select(AuditEntry).where(AuditEntry.action == "plugin.enabled").offset(1)
            )
            is None
        )


def test_disabling_a_plugin_in_use_warns_with_the_suppliers(
    app, admin_browser, register_plugin, tenant, in_tenant
):
    register_plugin("test_window_plugin", window_plugin())
    with in_tenant(tenant) as session:
        for name in ("Alpha Factory", "Beta Mill"):
            session.add(Supplier(name=name, integration_key="manual"))
        session.add(Supplier(name="Gamma Remote", integration_key="elsewhere"))
        session.add(PluginActivation(name="test_window_plugin", enabled=True))
        session.flush()
        beta = session.scalar(select(Supplier).where(Supplier.name == "Beta Mill"))
        session.add(SupplierRuleSet(supplier_id=beta.id, rule_set_key="test_delivery_window"))
        session.commit()

    page = text_of(admin_browser.get("/admin/plugins/"))
    assert "used by 2 suppliers" in section_of(page, "In the portal")
    assert "used by 1 supplier" in section_of(page, "Test delivery window")

    switch(admin_browser, "disable", "manual")
    page = text_of(admin_browser.get("/admin/plugins/"))
    assert "The plugin In the portal is disabled." in page
    assert (
        "These suppliers use an integration of In the portal and cannot be sent purchase orders until "
        "you enable it again or choose another integration for them: Alpha Factory, Beta Mill"
    ) in page
    switch(admin_browser, "disable", "test_window_plugin")
    page = text_of(admin_browser.get("/admin/plugins/"))
    assert "These suppliers have a rule set of Test delivery window" in page
    assert ": Beta Mill" in page
    # The suppliers keep their settings.
    with in_tenant(tenant) as session:
        assert session.scalar(select(SupplierRuleSet.rule_set_key)) == "test_delivery_window"
        assert {s.integration_key for s in session.scalars(select(Supplier))} == {
            "manual",
            "elsewhere",
        }


def test_an_unknown_plugin_is_not_found(admin_browser, register_plugin):
    register_plugin("test_broken_plugin", broken_plugin())
    for name in ("no_such_plugin", "test_broken_plugin"):
        for action in ("enable", "disable"):
            assert switch(admin_browser, action, name).status_code == 404, (action, name)
    response = admin_browser.post(
        "/admin/plugins/enable", data={"csrf_token": admin_browser.csrf_token("/admin/plugins/")}
    )
    assert response.status_code == 400


@pytest.mark.parametrize("role", ["staff", "client", "supplier"])
def test_only_admins_may_open_the_plugins_page(login_as, create_user, tenant, app, role):
    browser = login_as(create_user(tenant, role), tenant)
    token = browser.csrf_token("/account")
    assert browser.get("/admin/plugins/").status_code == 403
    for action in ("enable", "disable"):
        response = browser.post(
            f"/admin/plugins/{action}", data={"name": "manual", "csrf_token": token}
        )
        assert response.status_code == 403
    assert "manual" in enabled_names(app, tenant)
    assert 'href="/admin/plugins/"' not in text_of(browser.get("/account"))


def test_the_plugins_page_is_not_on_the_platform_host(client_for):
    assert client_for("localhost").get("/admin/plugins/").status_code == 404
