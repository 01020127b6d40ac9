"""The example plugin of the plugin guide (docs/examples/portal-example-rules) works as the
guide says: installed with pip, found through its entry point, its own tests pass, and inside
the portal its rule set refuses a small order, in German for a German user.

``make install-test`` installs the package (editable); its catalog is compiled by
``make translations``. Without them these tests fail and say so: they never skip.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import types
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from babel.numbers import format_currency
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from portal.core.purchasing import ordering
from portal.core.purchasing.models import PurchaseOrder
from portal.core.purchasing.rules import Finding, check_order
from portal.core.suppliers.models import CatalogueItem, CatalogueMatch, Supplier, SupplierClient
from portal.core.suppliers.services import set_rule_sets
from portal.db import db
from portal.plugins import ENTRY_POINT_GROUP, Severity
from portal.plugins.forms import split_config
from portal.plugins.host import PluginHost, current_host
from portal.plugins.services import set_plugin_enabled
from portal.tenants.context import tenant_context

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = PROJECT_ROOT / "docs" / "examples" / "portal-example-rules"
TRANSLATIONS = PACKAGE / "portal_example_rules" / "translations"
NAME = "example_rules"
KEY = "example.minimum_order_value"

INSTALL = (
    "The example plugin of docs/plugins.md is not installed in this environment. Run "
    "`make install-test`, or by hand: "
    ".venv/bin/pip install -e docs/examples/portal-example-rules"
)
COMPILE = (
    "The example plugin's catalog is not compiled. Run `make translations`, or by hand: "
    ".venv/bin/pybabel compile -d docs/examples/portal-example-rules/portal_example_rules/translations"
)


@pytest.fixture(scope="module")
def example():
    """The installed example package's module; fails with the command that installs it."""
    found = [
        ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP) if ep.name == NAME
    ]
    if not found:
        pytest.fail(INSTALL, pytrace=False)
    module = found[0].load()
    source = Path(module.__file__).resolve()
    if not source.is_relative_to(PACKAGE):
        pytest.fail(f"{NAME} is installed from {source}, not from {PACKAGE}. {INSTALL}")
    return module


@pytest.fixture(scope="module")
def compiled(example):
    if not (TRANSLATIONS / "de" / "LC_MESSAGES" / "messages.mo").is_file():
        pytest.fail(COMPILE, pytrace=False)


# --- the package -------------------------------------------------------------------------------


def test_the_entry_point_is_discovered(example):
    (entry_point,) = [
        ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP) if ep.name == NAME
    ]
    assert entry_point.value == "portal_example_rules"
    assert entry_point.dist.name == "portal-example-rules"


def test_a_fresh_host_loads_the_plugin_and_offers_its_rule_set(example):
    host = PluginHost()
    host.load_entry_points()

    assert NAME not in host.failures, host.failures[NAME]
    info = host.plugins[NAME]
    assert (info.distribution, info.version) == ("portal-example-rules", "0.1.0")
    assert info.description.startswith("Minimum order value: an example")
    assert host.rule_sets[KEY] == (NAME, example.MinimumOrderValue)
    assert info.translation_directories == [str(TRANSLATIONS)]
    assert info.integrations == []


def test_the_package_passes_its_own_tests(example):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(PACKAGE / "tests"), "-q", "-p", "no:cacheprovider"],
        cwd=PACKAGE,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout


def test_the_german_catalog_translates_every_string(example, compiled):
    keywords = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)}
    wanted = {
        message
        for _filename, _lineno, message, _comments, _context in extract_from_dir(
            TRANSLATIONS.parent, method_map=[("**.py", "python")], keywords=keywords
        )
    }
    with (TRANSLATIONS / "de" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po)
    assert catalog.plural_forms == "nplurals=2; plural=(n != 1);"
    problems = [
        message
        for message in sorted(wanted)
        if (entry := catalog.get(message)) is None or entry.fuzzy or not entry.string
    ]
    problems += [f"{message.id}: {errors}" for message, errors in catalog.check()]
    assert len(wanted) >= 5
    assert not problems, "not translated in the example's German catalog:\n" + "\n".join(problems)


def test_the_guide_shows_the_package_as_it_is():
    guide = (PROJECT_ROOT / "docs" / "plugins.md").read_text()
    for name in ("pyproject.toml", "portal_example_rules/__init__.py"):
        assert (PACKAGE / name).read_text() in guide, (
            f"docs/plugins.md shows an old copy of {name}: paste the file again"
        )


# --- inside the portal -----------------------------------------------------------------------


@pytest.fixture
def world(example, tenant, in_tenant, create_client, create_product):
    """A store that orders boots (priced) and socks (no price yet) from a supplier."""
    client = create_client(tenant, name="Corner Store")
    boots = create_product(tenant, client, code="BOOT-1", name="Boots")
    socks = create_product(tenant, client, code="SOCK-1", name="Socks")
    with in_tenant(tenant) as session:
        supplier = Supplier(name="Shoe Factory")
        session.add(supplier)
        session.flush()
        session.add(SupplierClient(supplier_id=supplier.id, client_id=client.id))
        for code, product, price in (("F-BOOT", boots, Decimal("20.00")), ("F-SOCK", socks, None)):
            item = CatalogueItem(
                supplier_id=supplier.id,
                supplier_code=code,
                name=product.name,
                container_amount=6,
                price=price,
            )
            session.add(item)
            session.flush()
            session.add(
                CatalogueMatch(
                    catalogue_item_id=item.id, client_id=client.id, product_id=product.id
                )
            )
            ordering.add_to_cart(session.merge(client), item, 2)
        po = ordering.create_from_cart(session.merge(client), supplier)
        session.commit()
        return types.SimpleNamespace(tenant=tenant, supplier_id=supplier.id, po_id=po.id)


def choose_minimum(world, in_tenant, minimum: str) -> None:
    """Enable the plugin for the tenant and choose the rule set for the supplier, with the
    settings as the supplier's rule-set page stores them (through the plugin's form)."""
    with in_tenant(world.tenant) as session:
        supplier = session.scalar(select(Supplier).where(Supplier.id == world.supplier_id))
        assert KEY not in current_host().enabled_rule_sets()  # not enabled for the tenant yet
        assert set_plugin_enabled(NAME, True)  # as the admin's Plugins page does
        form = (
            current_host()
            .enabled_rule_sets()[KEY]
            .settings_form(MultiDict({"minimum_value": minimum}))
        )
        assert form.validate(), form.errors
        settings, _secrets = split_config(form)
        set_rule_sets(supplier, {KEY: settings})
        session.commit()


def findings(world) -> list[Finding]:
    """What the rule sets chosen for the supplier say about the order (in a tenant context)."""
    return check_order(
        db.session.scalar(select(PurchaseOrder).where(PurchaseOrder.id == world.po_id))
    )


def test_the_rule_set_refuses_a_small_order_once_enabled_and_chosen(world, in_tenant):
    with in_tenant(world.tenant):
        assert findings(world) == []  # nothing chosen for the supplier yet
    choose_minimum(world, in_tenant, "500")

    with in_tenant(world.tenant) as session:
        stored = session.scalar(select(Supplier).where(Supplier.id == world.supplier_id))
        assert [(c.rule_set_key, c.settings) for c in stored.rule_sets] == [
            (KEY, {"minimum_value": "500.00"})
        ]
        found = findings(world)

    assert [(f.rule_set, f.violation.code, f.violation.field) for f in found] == [
        ("Minimum order value", f"{KEY}.too_low", ""),
        ("Minimum order value", f"{KEY}.line_without_price", "lines[2].unit_price"),
    ]
    assert [f.blocking for f in found] == [True, False]
    assert found[1].violation.severity == Severity.WARNING
    # 12 boots at 20.00; the socks have no price and do not count.
    assert found[0].violation.message == (
        "The order's total value of €240.00 is below the minimum order value of €500.00 for Shoe Factory. Please add items worth at least €260.00."
    )


def test_the_message_is_german_for_a_german_user(app, world, in_tenant, compiled):
    choose_minimum(world, in_tenant, "500")

    with (
        app.test_request_context("/", headers={"Accept-Language": "de"}),
        tenant_context(world.tenant),
    ):
        too_low, no_price = (f.violation.message for f in findings(world))

    def euros(amount: str) -> str:
        return format_currency(Decimal(amount), "EUR", locale="de")

    assert too_low == (
        f"Der Gesamtwert der Bestellung von {euros('240')} liegt unter dem Mindestbestellwert "
        f"von {euros('500')} für Shoe Factory. Bitte fügen Sie Artikel im Wert von mindestens "
        f"{euros('260')} hinzu."
    )
    assert no_price == (
        "Position 2 (SOCK-1) hat keinen Preis und zählt daher nicht zum Mindestbestellwert."
    )
