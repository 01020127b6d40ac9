"""Staff and admins manage suppliers: data, integration and its secrets, rule sets, stores,
users; every change audited, secrets never shown or logged, other tenants' ids not found."""

import json
import re
import types

import pytest
from sqlalchemy import select, text
from wtforms import Form, IntegerField, SelectMultipleField, StringField
from wtforms.validators import URL, DataRequired, InputRequired, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal.accounts.models import Role, User
from portal.audit.models import AuditEntry
from portal.core.suppliers.models import Supplier, SupplierClient, SupplierRuleSet
from portal.outbox.services import deliver_due
from portal.plugins import ConfigurationError, RuleSet, SupplierIntegration, hookimpl
from portal.plugins.forms import SecretField
from portal.plugins.models import PluginActivation
from portal.plugins.secrets import masked
from portal.testing import factories

SECRET = "sk_test_4f9a8b7c6d5e4f3a"
CONNECTION_TESTS = []


# --- two small plugins of the test's own ----------------------------------------------------


class ShopConfig(Form):
    url = StringField(
        "Address of the supplier's API",
        [DataRequired(), URL(require_tld=False)],
        description="Where purchase orders are posted.",
    )
    timeout = IntegerField("Timeout in seconds", [Optional(), NumberRange(min=1, max=60)])
    api_key = SecretField("API key", [DataRequired()])


class RestIntegration(SupplierIntegration):
    key = "test_rest"
    label = "Test REST"
    description = "Posts purchase orders as JSON."
    config_form = ShopConfig

    def prepare(self, order):
        raise NotImplementedError

    def transmit(self, message, idempotency_key, attempt):
        raise NotImplementedError

    def test_connection(self):
        CONNECTION_TESTS.append((self.config, self.secrets))
        if "refuse" in self.config["url"]:
            raise ConfigurationError("The supplier refused the API key.")
        if "crash" in self.config["url"]:
            raise ZeroDivisionError("a bug in the plugin")


class PlainIntegration(SupplierIntegration):
    key = "test_plain"
    label = "Test without settings"

    def prepare(self, order):
        raise NotImplementedError

    def transmit(self, message, idempotency_key, attempt):
        raise NotImplementedError


class ReferenceSettings(Form):
    min_length = IntegerField(
        "Shortest reference", [InputRequired(), NumberRange(min=0, max=30)], default=3
    )
    fields = SelectMultipleField(
        "Fields to check",
        choices={"reference": "Reference", "notes": "Notes"},
        default=["reference"],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )


class ReferenceRules(RuleSet):
    key = "test_reference"
    label = "Test reference rules"
    description = "The reference must be long enough."
    settings_form = ReferenceSettings

    def check(self, order, ctx):
        return []


class NoSettingsRules(RuleSet):
    key = "test_plain_rules"
    label = "Test rules without settings"

    def check(self, order, ctx):
        return []


def plugin_module(name, doc, *, integrations=(), rule_sets=()):
    module = types.ModuleType(name, doc)
    if integrations:
        module.portal_supplier_integrations = hookimpl(lambda: list(integrations))
    if rule_sets:
        module.portal_mandatory_data_rule_sets = hookimpl(lambda: list(rule_sets))
    return module


TEST_PLUGINS = {
    "test_rest_plugin": plugin_module(
        "test_rest_plugin", "REST for tests.", integrations=[RestIntegration, PlainIntegration]
    ),
    "test_rules_plugin": plugin_module(
        "test_rules_plugin", "Rules for tests.", rule_sets=[ReferenceRules, NoSettingsRules]
    ),
}


@pytest.fixture
def plugins(app, tenant, in_tenant, register_plugin):
    """Register the test plugins on the application and enable them for ``tenant``."""
    host = app.extensions["portal.plugins"]
    for name, module in TEST_PLUGINS.items():
        assert register_plugin(name, module) is not None, host.failures.get(name)
    with in_tenant(tenant) as session:
        for name in TEST_PLUGINS:
            session.add(PluginActivation(name=name, enabled=True))
        session.commit()
    CONNECTION_TESTS.clear()
    return host


def switch_plugin(in_tenant, tenant, name, enabled):
    with in_tenant(tenant) as session:
        row = session.scalar(select(PluginActivation).where(PluginActivation.name == name))
        row.enabled = enabled
        session.commit()


# --- people and helpers -----------------------------------------------------------------------


@pytest.fixture
def staff_browser(login_as, create_user, tenant):
    return login_as(create_user(tenant, "staff", name="Sam Staff"), tenant)


@pytest.fixture
def admin_browser(login_as, create_user, tenant):
    return login_as(create_user(tenant, "admin", name="Ada Admin"), tenant)


@pytest.fixture
def create_supplier(app, in_tenant):
    def create(tenant, name=None, **values):
        with in_tenant(tenant) as session:
            supplier = factories.make_supplier(tenant, name)
            for key, value in values.items():
                setattr(supplier, key, value)
            session.commit()
            return supplier

    return create


def text_of(response) -> str:
    return response.get_data(as_text=True)


def fresh(in_tenant, tenant, supplier_id) -> Supplier:
    with in_tenant(tenant) as session:
        supplier = session.scalar(select(Supplier).where(Supplier.id == supplier_id))
        _ = [(c.rule_set_key, c.settings) for c in supplier.rule_sets]
        return supplier


def post(browser, path, **fields):
    data = {"csrf_token": browser.csrf_token("/account")}
    for key, value in fields.items():
        if value is True:
            data[key] = "y"
        elif value is not False:
            data[key] = value
    return browser.post(path, data=data)


def audit_entries(in_tenant, tenant, action=None):
    with in_tenant(tenant) as session:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if action:
            query = query.where(AuditEntry.action == action)
        return session.scalars(query).all()


def field_errors(page: str, field_id: str) -> list[str]:
    block = re.search(
        rf'<ul class="errors" id="{re.escape(field_id)}-errors">(.*?)</ul>', page, re.S
    )
    return re.findall(r"<li>(.*?)</li>", block.group(1)) if block else []


SUPPLIER = {
    "name": "Shoe Factory",
    "email": "Orders@Shoes.example",
    "phone": "+31 20 555 0101",
    "active": True,
    "changes_need_approval": True,
    "situations": "  In production \n\nWaiting for material\nIn production\n",
}


# --- create, edit, list ---------------------------------------------------------------------


def test_staff_add_a_supplier_with_its_situations(staff_browser, tenant, in_tenant):
    form = text_of(staff_browser.get("/suppliers/new"))
    assert "Confirmations with changes need the store's approval" in form
    assert "waits until the store accepts or rejects the changes" in form
    assert 'name="integration_key"' not in form  # the integration is for admins

    response = post(staff_browser, "/suppliers/new", **SUPPLIER)

    assert response.status_code == 302, text_of(response)[:3000]
    with in_tenant(tenant) as session:
        supplier = session.scalar(select(Supplier))
        assert (supplier.name, supplier.email, supplier.phone) == (
            "Shoe Factory",
            "orders@shoes.example",
            "+31 20 555 0101",
        )
        assert supplier.active
        assert supplier.changes_need_approval
        assert supplier.situation_choices == ["In production", "Waiting for material"]
        assert supplier.integration_key == "manual"
        [entry] = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "supplier.created")
        ).all()
        assert entry.object_id == str(supplier.id)
        assert entry.changes["name"] == [None, "Shoe Factory"]
        assert entry.changes["integration_key"] == [None, "manual"]
    assert response.headers["Location"].endswith(f"/suppliers/{supplier.id}")
    page = text_of(staff_browser.get(response.headers["Location"]))
    assert "Supplier created" in page
    assert "In the portal" in page  # the manual integration's label


def test_changes_are_audited_with_old_and_new_values(
    staff_browser, create_supplier, tenant, in_tenant
):
    supplier = create_supplier(tenant, "Old Name", email="old@factory.example")

    response = post(
        staff_browser,
        f"/suppliers/{supplier.id}",
        name="New Name",
        email="new@factory.example",
        phone="",
        active=False,
        situations="",
    )

    assert response.status_code == 302, text_of(response)[:3000]
    changed = fresh(in_tenant, tenant, supplier.id)
    assert (changed.name, changed.email, changed.active) == (
        "New Name",
        "new@factory.example",
        False,
    )
    [entry] = audit_entries(in_tenant, tenant, "supplier.updated")
    assert entry.changes == {
        "name": ["Old Name", "New Name"],
        "email": ["old@factory.example", "new@factory.example"],
        "active": [True, False],
    }
    page = text_of(staff_browser.get(f"/suppliers/{supplier.id}"))
    assert "Settings changed" in page
    assert "Old Name → New Name" in page

    again = post(staff_browser, f"/suppliers/{supplier.id}", name="New Name",
                 email="new@factory.example")  # fmt: skip
    assert again.status_code == 302
    assert "Nothing was changed." in text_of(staff_browser.get(again.headers["Location"]))


def test_refusals_name_the_field(staff_browser, create_supplier, tenant, in_tenant):
    create_supplier(tenant, "Taken Ltd")

    page = text_of(post(staff_browser, "/suppliers/new", name="taken ltd", email="no-at-sign"))

    assert field_errors(page, "name") == ["A supplier with the name taken ltd already exists."]
    page = text_of(post(staff_browser, "/suppliers/new", name="Fresh", email="no-at-sign"))
    assert field_errors(page, "email") == ["no-at-sign is not a valid e-mail address."]
    page = text_of(
        post(staff_browser, "/suppliers/new", name="Fresh", situations="x" * 201 + "\nshort")
    )
    assert "Each situation may have at most 200 characters" in field_errors(page, "situations")[0]
    with in_tenant(tenant) as session:
        assert session.scalars(select(Supplier.name)).all() == ["Taken Ltd"]


def test_the_list_searches_filters_and_pages(staff_browser, create_supplier, tenant):
    for number in range(5):
        create_supplier(tenant, f"Alpha {number}", active=number != 3)
    create_supplier(tenant, "Beta Works", email="sales@alpha-mail.example")

    page = text_of(staff_browser.get("/suppliers/"))
    assert "Alpha 0" in page
    assert "Beta Works" in page
    page = text_of(staff_browser.get("/suppliers/", query_string={"q": "ALPHA-MAIL"}))
    assert "Beta Works" in page
    assert "Alpha 0" not in page
    page = text_of(staff_browser.get("/suppliers/", query_string={"active": "no"}))
    assert re.findall(r">((?:Alpha|Beta)[^<]*)</a>", page) == ["Alpha 3"]
    page = text_of(staff_browser.get("/suppliers/", query_string={"q": "100%"}))
    assert "No suppliers found." in page

    seen, url = [], "/suppliers/?size=2&q=alpha&active=yes"
    while url:
        page = text_of(staff_browser.get(url))
        seen += re.findall(r">(Alpha[^<]*)</a>", page)
        link = re.search(r'href="([^"]+)" rel="next"', page)
        url = link.group(1).replace("&amp;", "&") if link else None
    assert seen == ["Alpha 0", "Alpha 1", "Alpha 2", "Alpha 4"]


def test_the_list_needs_the_same_number_of_queries_for_3_and_30_suppliers(
    staff_browser, create_supplier, create_client, create_user, tenant, in_tenant, count_queries
):
    client = create_client(tenant)

    def queries() -> int:
        staff_browser.get("/suppliers/")
        with count_queries() as counter:
            assert staff_browser.get("/suppliers/").status_code == 200
        return counter.count

    def add(count):
        for _ in range(count):
            supplier = create_supplier(tenant)
            create_user(tenant, "supplier", supplier=supplier)
            with in_tenant(tenant) as session:
                session.add(SupplierClient(supplier_id=supplier.id, client_id=client.id))
                session.commit()

    add(3)
    few = queries()
    add(27)
    assert queries() == few


# --- integration --------------------------------------------------------------------------


def test_an_admin_chooses_an_integration_and_is_sent_to_its_settings(
    plugins, admin_browser, tenant, in_tenant
):
    form = text_of(admin_browser.get("/suppliers/new"))
    assert '<option selected value="manual">In the portal</option>' in form
    assert "Test REST" in form

    response = post(admin_browser, "/suppliers/new", name="Rest Co", integration_key="test_rest")

    assert response.status_code == 302, text_of(response)[:3000]
    with in_tenant(tenant) as session:
        supplier = session.scalar(select(Supplier).where(Supplier.name == "Rest Co"))
        assert supplier.integration_key == "test_rest"
    assert response.headers["Location"].endswith(f"/suppliers/{supplier.id}/integration")
    page = text_of(admin_browser.get(response.headers["Location"]))
    assert "Please enter the settings of the integration Test REST." in page
    assert "Address of the supplier&#39;s API" in page
    assert "Where purchase orders are posted." in page  # the field's description


def test_a_disabled_integration_cannot_be_chosen(plugins, admin_browser, tenant, in_tenant):
    switch_plugin(in_tenant, tenant, "test_rest_plugin", False)
    assert "Test REST" not in text_of(admin_browser.get("/suppliers/new"))
    page = text_of(
        post(admin_browser, "/suppliers/new", name="Rest Co", integration_key="test_rest")
    )
    assert field_errors(page, "integration_key") == ["Not a valid choice."]


def integration_page(browser, supplier):
    return f"/suppliers/{supplier.id}/integration"


def save_config(browser, supplier, **fields):
    data = {f"config-{key}": value for key, value in fields.items()}
    return post(browser, integration_page(browser, supplier), **data)


def test_integration_settings_show_errors_per_field_and_store_nothing(
    plugins, admin_browser, create_supplier, tenant, in_tenant
):
    supplier = create_supplier(tenant, "Rest Co", integration_key="test_rest")

    response = save_config(admin_browser, supplier, url="not a url", timeout="99", api_key="")

    assert response.status_code == 200
    page = text_of(response)
    assert field_errors(page, "config-url") == ["Invalid URL."]
    assert field_errors(page, "config-timeout") == ["Number must be between 1 and 60."]
    assert field_errors(page, "config-api_key") == ["This field is required."]
    assert 'value="not a url"' in page  # what was typed stays
    stored = fresh(in_tenant, tenant, supplier.id)
    assert stored.integration_config == {}
    assert stored.integration_secrets is None


def test_secrets_are_encrypted_masked_kept_and_replaced(
    plugins, admin_browser, create_supplier, tenant, in_tenant
):
    supplier = create_supplier(tenant, "Rest Co", integration_key="test_rest")
    url = "https://shoes.example/api"

    response = save_config(admin_browser, supplier, url=url, timeout="10", api_key=SECRET)

    assert response.status_code == 302, text_of(response)[:3000]
    stored = fresh(in_tenant, tenant, supplier.id)
    assert stored.integration_config == {"url": url, "timeout": 10}
    assert stored.integration_secrets == {"api_key": SECRET}
    with in_tenant(tenant) as session:
        raw = session.execute(
            text("SELECT integration_secrets, integration_config FROM suppliers WHERE name = :n"),
            {"n": "Rest Co"},
        ).one()
    assert raw[0]
    assert SECRET not in raw[0]
    assert "api_key" not in raw[0]
    assert SECRET not in str(raw[1])

    page = text_of(admin_browser.get(integration_page(admin_browser, supplier)))
    assert SECRET not in page
    assert masked(SECRET) in page
    assert "The integration settings of Rest Co were saved." in page

    # Sent back empty or with the mask: the secret stays.
    for sent in ("", masked(SECRET)):
        response = save_config(admin_browser, supplier, url=url, timeout="10", api_key=sent)
        assert response.status_code == 302
        assert fresh(in_tenant, tenant, supplier.id).integration_secrets == {"api_key": SECRET}
    # A new value replaces it.
    save_config(admin_browser, supplier, url=url, timeout="10", api_key="a-new-key-1234")
    assert fresh(in_tenant, tenant, supplier.id).integration_secrets == {
        "api_key": "a-new-key-1234"
    }

    entries = audit_entries(in_tenant, tenant, "supplier.integration_configured")
    assert len(entries) == 2  # unchanged saves write nothing
    assert entries[0].changes == {"url": [None, url], "timeout": [None, 10]}
    assert entries[0].details["secrets_changed"] == "api_key"
    assert entries[1].changes == {}
    assert entries[1].details["secrets_changed"] == "api_key"
    everything = json.dumps(
        [[e.changes, e.details] for e in audit_entries(in_tenant, tenant)], ensure_ascii=False
    )
    assert SECRET not in everything
    assert "a-new-key-1234" not in everything
    history = text_of(admin_browser.get(f"/suppliers/{supplier.id}"))
    assert "Secrets changed: api_key" in history
    assert SECRET not in history


def test_the_connection_test_uses_the_stored_settings_and_shows_the_outcome(
    plugins, admin_browser, create_supplier, tenant
):
    supplier = create_supplier(
        tenant,
        "Rest Co",
        integration_key="test_rest",
        integration_config={"url": "https://ok.example"},
        integration_secrets={"api_key": SECRET},
    )
    path = f"/suppliers/{supplier.id}/integration/test"

    response = post(admin_browser, path)

    assert response.status_code == 302
    assert CONNECTION_TESTS == [({"url": "https://ok.example"}, {"api_key": SECRET})]
    page = text_of(admin_browser.get(response.headers["Location"]))
    assert "The connection to Rest Co works." in page
    assert SECRET not in page


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://refuse.example", "The connection test failed: The supplier refused the API key."),
        ("https://crash.example", "because of an error in the integration (ZeroDivisionError)"),
    ],
)
def test_a_failed_connection_test_says_why(
    plugins, admin_browser, create_supplier, tenant, url, message
):
    supplier = create_supplier(
        tenant, "Rest Co", integration_key="test_rest", integration_config={"url": url}
    )
    response = post(admin_browser, f"/suppliers/{supplier.id}/integration/test")
    assert response.status_code == 302
    assert message in text_of(admin_browser.get(response.headers["Location"]))


def test_switching_the_integration_drops_the_old_settings_and_secrets(
    plugins, admin_browser, create_supplier, tenant, in_tenant
):
    supplier = create_supplier(
        tenant,
        "Rest Co",
        integration_key="test_rest",
        integration_config={"url": "https://ok.example"},
        integration_secrets={"api_key": SECRET},
    )

    response = post(admin_browser, f"/suppliers/{supplier.id}", name="Rest Co",
                    active=True, integration_key="test_plain")  # fmt: skip

    assert response.status_code == 302, text_of(response)[:3000]
    # The new integration has no settings: back to the supplier.
    assert response.headers["Location"].endswith(f"/suppliers/{supplier.id}")
    changed = fresh(in_tenant, tenant, supplier.id)
    assert changed.integration_key == "test_plain"
    assert changed.integration_config == {}
    assert changed.integration_secrets is None
    [entry] = audit_entries(in_tenant, tenant, "supplier.updated")
    assert entry.changes["integration_key"] == ["test_rest", "test_plain"]
    assert entry.details == {"secrets_removed": "api_key"}
    page = text_of(admin_browser.get(integration_page(admin_browser, changed)))
    assert "This integration has no settings." in page


def test_a_supplier_keeps_its_integration_when_the_plugin_is_disabled(
    plugins, admin_browser, staff_browser, create_supplier, tenant, in_tenant
):
    supplier = create_supplier(tenant, "Rest Co", integration_key="test_rest")
    switch_plugin(in_tenant, tenant, "test_rest_plugin", False)

    page = text_of(admin_browser.get(f"/suppliers/{supplier.id}"))
    assert "Test REST (not available)" in page
    assert "This integration is not available" in page
    assert "This integration is not available" in text_of(
        admin_browser.get(integration_page(admin_browser, supplier))
    )
    assert "(not available)" in text_of(staff_browser.get("/suppliers/"))
    # Saving other data neither loses nor refuses the integration.
    response = post(admin_browser, f"/suppliers/{supplier.id}", name="Rest Co Renamed",
                    active=True, integration_key="test_rest")  # fmt: skip
    assert response.status_code == 302, text_of(response)[:3000]
    assert fresh(in_tenant, tenant, supplier.id).integration_key == "test_rest"


# --- rule sets ------------------------------------------------------------------------------


def rule_sets_page(supplier):
    return f"/suppliers/{supplier.id}/rule-sets"


def test_rule_sets_are_chosen_with_their_settings(
    plugins, admin_browser, create_supplier, tenant, in_tenant
):
    supplier = create_supplier(tenant, "Rules Co")
    page = text_of(admin_browser.get(rule_sets_page(supplier)))
    assert "Test reference rules" in page
    assert "The reference must be long enough." in page
    assert "Shortest reference" in page
    assert "<legend>Fields to check</legend>" in page

    response = admin_browser.post(
        rule_sets_page(supplier),
        data={
            "csrf_token": admin_browser.csrf_token(rule_sets_page(supplier)),
            "rule_sets": ["test_reference", "test_plain_rules"],
            "rule_set_test_reference-min_length": "5",
            "rule_set_test_reference-fields": ["reference", "notes"],
        },
    )

    assert response.status_code == 302, text_of(response)[:3000]
    stored = fresh(in_tenant, tenant, supplier.id)
    assert {c.rule_set_key: c.settings for c in stored.rule_sets} == {
        "test_reference": {"min_length": 5, "fields": ["reference", "notes"]},
        "test_plain_rules": {},
    }
    [entry] = audit_entries(in_tenant, tenant, "supplier.rule_sets_changed")
    assert set(entry.changes) == {"test_reference", "test_plain_rules"}
    page = text_of(admin_browser.get(rule_sets_page(supplier)))
    assert 'value="5"' in page
    assert page.count("checked") == 4  # two rule sets, two fields
    assert "Test reference rules" in text_of(admin_browser.get(f"/suppliers/{supplier.id}"))

    # Unticking takes a rule set off.
    admin_browser.post(
        rule_sets_page(supplier),
        data={
            "csrf_token": admin_browser.csrf_token(rule_sets_page(supplier)),
            "rule_sets": ["test_plain_rules"],
        },
    )
    assert [c.rule_set_key for c in fresh(in_tenant, tenant, supplier.id).rule_sets] == [
        "test_plain_rules"
    ]


def test_rule_set_settings_errors_are_shown_per_field(
    plugins, admin_browser, create_supplier, tenant, in_tenant
):
    supplier = create_supplier(tenant, "Rules Co")

    response = admin_browser.post(
        rule_sets_page(supplier),
        data={
            "csrf_token": admin_browser.csrf_token(rule_sets_page(supplier)),
            "rule_sets": ["test_reference"],
            "rule_set_test_reference-min_length": "99",
        },
    )

    assert response.status_code == 200
    page = text_of(response)
    assert field_errors(page, "rule_set_test_reference-min_length") == [
        "Number must be between 0 and 30."
    ]
    assert "Please correct the marked fields." in page
    assert fresh(in_tenant, tenant, supplier.id).rule_sets == []


def test_a_rule_set_of_a_disabled_plugin_is_shown_as_not_available_and_kept(
    plugins, admin_browser, create_supplier, tenant, in_tenant
):
    supplier = create_supplier(tenant, "Rules Co")
    with in_tenant(tenant) as session:
        session.add(
            SupplierRuleSet(
                supplier_id=supplier.id, rule_set_key="test_reference", settings={"min_length": 7}
            )
        )
        session.commit()
    switch_plugin(in_tenant, tenant, "test_rules_plugin", False)

    page = text_of(admin_browser.get(rule_sets_page(supplier)))
    assert "Not available" in page
    assert "Shortest reference" not in page
    assert "Test reference rules (not available)" in text_of(
        admin_browser.get(f"/suppliers/{supplier.id}")
    )
    response = admin_browser.post(
        rule_sets_page(supplier),
        data={"csrf_token": admin_browser.csrf_token(rule_sets_page(supplier))},
    )
    assert response.status_code == 302
    assert [
        (c.rule_set_key, c.settings) for c in fresh(in_tenant, tenant, supplier.id).rule_sets
    ] == [("test_reference", {"min_length": 7})]


def test_a_rule_set_that_is_not_enabled_cannot_be_chosen(
    plugins, admin_browser, create_supplier, tenant, in_tenant
):
    supplier = create_supplier(tenant, "Rules Co")
    switch_plugin(in_tenant, tenant, "test_rules_plugin", False)
    response = admin_browser.post(
        rule_sets_page(supplier),
        data={
            "csrf_token": admin_browser.csrf_token(rule_sets_page(supplier)),
            "rule_sets": ["test_reference"],
        },
    )
    assert response.status_code == 302  # an unknown tick is ignored
    assert fresh(in_tenant, tenant, supplier.id).rule_sets == []


# --- stores ---------------------------------------------------------------------------------


def test_stores_are_linked_edited_and_unlinked(
    staff_browser, create_supplier, create_client, tenant, in_tenant
):
    supplier = create_supplier(tenant, "Link Co")
    store = create_client(tenant, name="Corner Store")
    path = f"/suppliers/{supplier.id}"
    assert "Corner Store" in text_of(staff_browser.get(path))  # offered in the choice

    response = post(
        staff_browser,
        f"{path}/stores",
        **{
            "link-client_id": str(store.id),
            "link-customer_number": "C-1001",
            "link-contact_name": "Cora Contact",
            "link-contact_email": "Cora@Store.example",
        },
    )

    assert response.status_code == 302, text_of(response)[:3000]
    with in_tenant(tenant) as session:
        link = session.scalar(select(SupplierClient))
        assert (link.client_id, link.customer_number, link.contact_email) == (
            store.id,
            "C-1001",
            "cora@store.example",
        )
        link.account_manager = "Mia Manager"
        link.payment_terms = "30 days net"
        session.commit()
    page = text_of(staff_browser.get(path))
    assert "C-1001" in page
    assert "Store linked" in page
    assert "Every client is linked to this supplier already." in page

    again = text_of(post(staff_browser, f"{path}/stores", **{"link-client_id": str(store.id)}))
    assert field_errors(again, "link-client_id") == ["Not a valid choice."]

    link_page = text_of(staff_browser.get(f"{path}/stores/{link.id}"))
    assert "Mia Manager" in link_page
    assert "30 days net" in link_page
    assert 'name="account_manager"' not in link_page  # read-only here
    response = post(staff_browser, f"{path}/stores/{link.id}", customer_number="C-2002",
                    contact_name="Cora Contact", contact_email="bad")  # fmt: skip
    assert field_errors(text_of(response), "contact_email") == [
        "bad is not a valid e-mail address."
    ]
    response = post(staff_browser, f"{path}/stores/{link.id}", customer_number="C-2002",
                    contact_name="Cora Contact", contact_email="cora@store.example")  # fmt: skip
    assert response.status_code == 302
    [changed] = audit_entries(in_tenant, tenant, "supplier.client_link_changed")
    assert changed.changes == {"customer_number": ["C-1001", "C-2002"]}
    assert changed.details == {"client": "Corner Store"}

    response = post(staff_browser, f"{path}/stores/{link.id}/remove")
    assert response.status_code == 302
    with in_tenant(tenant) as session:
        assert session.scalar(select(SupplierClient)) is None
    [removed] = audit_entries(in_tenant, tenant, "supplier.client_unlinked")
    assert removed.changes["customer_number"] == ["C-2002", ""]
    assert "Store unlinked: Corner Store" in text_of(staff_browser.get(path))


def test_linking_another_tenants_client_is_refused(
    staff_browser, create_supplier, create_client, tenant, other_tenant, in_tenant
):
    supplier = create_supplier(tenant)
    foreign = create_client(other_tenant, name="Foreign Store")
    response = post(
        staff_browser, f"/suppliers/{supplier.id}/stores", **{"link-client_id": str(foreign.id)}
    )
    assert response.status_code == 200
    assert field_errors(text_of(response), "link-client_id") == ["Not a valid choice."]
    with in_tenant(tenant) as session:
        assert session.scalar(select(SupplierClient)) is None


# --- users ----------------------------------------------------------------------------------


def test_a_supplier_user_is_invited_in_a_chosen_language(
    app, staff_browser, create_supplier, tenant, in_tenant, mailbox
):
    supplier = create_supplier(tenant, "Invite Works")
    email = f"factory.person@{tenant.slug}.test"

    response = post(
        staff_browser,
        f"/suppliers/{supplier.id}/users",
        **{"invite-email": email, "invite-name": "Fay Factory", "invite-locale": "de"},
    )

    assert response.status_code == 302, text_of(response)[:3000]
    with in_tenant(tenant) as session:
        user = session.scalar(select(User).where(User.email == email))
        assert (user.role, user.supplier_id, user.client_id, user.name, user.locale) == (
            Role.SUPPLIER,
            supplier.id,
            None,
            "Fay Factory",
            "de",
        )
    page = text_of(staff_browser.get(f"/suppliers/{supplier.id}"))
    assert email in page
    assert "User invited: " + email in page
    with app.app_context():
        assert deliver_due() == 1
    [message] = mailbox.to(email)
    assert "/password/reset/" in message.get_body(("plain",)).get_content()

    page = text_of(
        post(
            staff_browser,
            f"/suppliers/{supplier.id}/users",
            **{"invite-email": email, "invite-locale": ""},
        )
    )
    assert field_errors(page, "invite-email") == ["A user with this e-mail address already exists."]


# --- who may do what ------------------------------------------------------------------------


def every_path(supplier, link):
    base = f"/suppliers/{supplier.id}"
    return {
        "get": ["/suppliers/", "/suppliers/new", base, f"{base}/integration",
                f"{base}/rule-sets", f"{base}/stores/{link.id}"],
        "post": ["/suppliers/new", base, f"{base}/integration", f"{base}/integration/test",
                 f"{base}/rule-sets", f"{base}/stores", f"{base}/stores/{link.id}",
                 f"{base}/stores/{link.id}/remove", f"{base}/users"],
    }  # fmt: skip


@pytest.fixture
def linked(create_supplier, create_client, in_tenant):
    def make(tenant):
        supplier = create_supplier(tenant)
        client = create_client(tenant)
        with in_tenant(tenant) as session:
            link = SupplierClient(supplier_id=supplier.id, client_id=client.id)
            session.add(link)
            session.commit()
        return supplier, link

    return make


@pytest.mark.parametrize("role", ["client", "supplier"])
def test_suppliers_pages_are_for_staff_and_admins(login_as, create_user, linked, tenant, role):
    supplier, link = linked(tenant)
    browser = login_as(create_user(tenant, role), tenant)
    token = browser.csrf_token("/account")
    paths = every_path(supplier, link)
    for path in paths["get"]:
        assert browser.get(path).status_code == 403, path
    for path in paths["post"]:
        assert browser.post(path, data={"csrf_token": token}).status_code == 403, path


def test_integration_and_rule_sets_are_for_admins(staff_browser, linked, tenant):
    supplier, _link = linked(tenant)
    token = staff_browser.csrf_token("/account")
    base = f"/suppliers/{supplier.id}"
    for path in (f"{base}/integration", f"{base}/rule-sets"):
        assert staff_browser.get(path).status_code == 403, path
    for path in (f"{base}/integration", f"{base}/integration/test", f"{base}/rule-sets"):
        assert staff_browser.post(path, data={"csrf_token": token}).status_code == 403, path
    page = text_of(staff_browser.get(base))
    assert "/integration" not in page
    assert "/rule-sets" not in page


def test_another_tenants_ids_are_not_found_on_any_route(
    admin_browser, linked, tenant, other_tenant, in_tenant
):
    theirs, their_link = linked(other_tenant)
    mine, my_link = linked(tenant)
    token = admin_browser.csrf_token("/account")
    paths = every_path(theirs, their_link)
    for path in paths["get"][2:]:
        assert admin_browser.get(path).status_code == 404, path
    for path in paths["post"][1:]:
        assert admin_browser.post(path, data={"csrf_token": token}).status_code == 404, path
    # My supplier with their link (and the other way round) is not found either.
    for path in (
        f"/suppliers/{mine.id}/stores/{their_link.id}",
        f"/suppliers/{theirs.id}/stores/{my_link.id}",
    ):
        assert admin_browser.get(path).status_code == 404, path
        assert admin_browser.post(f"{path}/remove", data={"csrf_token": token}).status_code == 404
    with in_tenant(other_tenant) as session:
        assert session.scalar(select(SupplierClient)) is not None
    # A link of another supplier of the same tenant is not found under this supplier.
    other_supplier, _ = linked(tenant)
    assert (
        admin_browser.get(f"/suppliers/{other_supplier.id}/stores/{my_link.id}").status_code == 404
    )


def test_admins_see_every_page_of_their_own_suppliers(plugins, admin_browser, linked, tenant):
    supplier, link = linked(tenant)
    for path in every_path(supplier, link)["get"]:
        assert admin_browser.get(path).status_code == 200, path
