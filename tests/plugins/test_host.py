"""The plugin host: a broken plugin is reported with its name and reason and the others still
load; observers that fail are logged and do not stop the others.

Plugins here are modules built in the test (``types.ModuleType``) or, for the import failure,
a real distribution with an entry point put on ``sys.path``: the host finds it exactly as it
finds an installed package.
"""

from __future__ import annotations

import importlib.metadata
import logging
import sys
import types
from datetime import date

import pytest

from portal.plugins import (
    ENTRY_POINT_GROUP,
    OrderEvent,
    PurchaseOrderData,
    PurchaseOrderEvent,
    RuleSet,
    SupplierIntegration,
    Violation,
    hookimpl,
)
from portal.plugins.host import PluginHost


class GoodRules(RuleSet):
    key = "test.good"
    label = "Good rules"

    def check(self, order, ctx):
        return [Violation("test.good", "", "fine")] if not order.lines else []


def plugin(name: str, **hooks) -> types.ModuleType:
    """Return a module named ``name`` with each keyword as a hook implementation."""
    module = types.ModuleType(name)
    for hook_name, function in hooks.items():
        setattr(module, hook_name, hookimpl(function))
    return module


def offering(*rule_sets) -> types.ModuleType:
    return plugin("offering", portal_mandatory_data_rule_sets=lambda: list(rule_sets))


def rule_set(key: str, label: str = "Rules") -> type[RuleSet]:
    return type(
        "Rules", (RuleSet,), {"key": key, "label": label, "check": lambda self, order, ctx: []}
    )


# --- refused plugins -----------------------------------------------------------------------


def write_distribution(directory, name: str, entry_points: dict[str, str], modules: dict) -> None:
    """Write an installed distribution (``*.dist-info``) and its modules into ``directory``."""
    # The folder's name carries the normalised name: "portal-x" would read as "portal".
    info = directory / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    lines = "".join(f"{key} = {value}\n" for key, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{lines}")
    for module, source in modules.items():
        (directory / f"{module}.py").write_text(source)


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """Install a distribution with a plugin that cannot be imported and one that can."""
    write_distribution(
        tmp_path,
        "portal-test-plugins",
        {"test_broken": "portal_test_broken", "test_working": "portal_test_working"},
        {
            "portal_test_broken": "import portal_test_missing_dependency\n",
            "portal_test_working": (
                "from portal.plugins import hookimpl\n"
                "from portal.plugins import RuleSet\n\n"
                "class Working(RuleSet):\n"
                "    key = 'test.working'\n"
                "    label = 'Working'\n\n"
                "    def check(self, order, ctx):\n"
                "        return []\n\n"
                "@hookimpl\n"
                "def portal_mandatory_data_rule_sets():\n"
                "    return [Working]\n"
            ),
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for module in ("portal_test_broken", "portal_test_working"):
        sys.modules.pop(module, None)


def test_a_plugin_that_cannot_be_imported_is_reported_and_the_others_load(installed):
    names = {ep.name for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    assert {"test_broken", "test_working", "manual"} <= names

    host = PluginHost()
    host.load_entry_points()

    assert host.failures["test_broken"] == (
        "cannot be imported: ModuleNotFoundError: No module named 'portal_test_missing_dependency'"
    )
    assert "test_broken" not in host.plugins
    working = host.plugins["test_working"]
    assert (working.distribution, working.version) == ("portal-test-plugins", "1.0")
    assert host.rule_sets["test.working"][0] == "test_working"
    # The bundled plugins load beside them.
    assert "manual" in host.plugins
    assert host.integrations["manual"][0] == "manual"


def test_a_plugin_that_implements_an_unknown_hook_is_refused():
    host = PluginHost()
    host.register("typo", plugin("typo", portal_no_such_hook=lambda: None))
    assert host.failures == {"typo": "implements 'portal_no_such_hook', which is not a portal hook"}
    assert host.manager.get_plugin("typo") is None


class NotARuleSet:
    key = "test.not_a_rule_set"
    label = "Not a rule set"

    def check(self, order, ctx):
        return []


class NotAnIntegration(RuleSet):
    key = "test.not_an_integration"
    label = "A rule set offered as an integration"

    def check(self, order, ctx):
        return []


class NoTransmit(SupplierIntegration):
    key = "test.no_transmit"
    label = "No transmit"

    def prepare(self, order):
        raise NotImplementedError


def crash():
    raise RuntimeError("the plugin's own bug")


REFUSED = [
    pytest.param(
        offering(NotARuleSet),
        f"portal_mandatory_data_rule_sets() returned {NotARuleSet!r}, not a RuleSet subclass",
        id="not-a-rule-set",
    ),
    pytest.param(
        plugin("wrong", portal_supplier_integrations=lambda: [NotAnIntegration]),
        f"portal_supplier_integrations() returned {NotAnIntegration!r}, not a SupplierIntegration subclass",
        id="rule-set-as-integration",
    ),
    pytest.param(
        offering(rule_set("Minimum Order Value!")),
        "Rules.key must be lower-case letters, digits, '_', '.' or '-', got 'Minimum Order Value!'",
        id="bad-key",
    ),
    pytest.param(offering(rule_set("")), "Rules.key must be lower-case", id="empty-key"),
    pytest.param(offering(rule_set("test.nameless", label="")), "Rules has no label", id="label"),
    pytest.param(
        plugin("half", portal_supplier_integrations=lambda: [NoTransmit]),
        "NoTransmit does not implement transmit()",
        id="missing-method",
    ),
    pytest.param(
        plugin("text", portal_mandatory_data_rule_sets=lambda: "test.good"),
        "portal_mandatory_data_rule_sets() must return a list, got str",
        id="not-a-list",
    ),
    pytest.param(
        plugin("crashing", portal_mandatory_data_rule_sets=crash),
        "RuntimeError: the plugin's own bug",
        id="hook-raises",
    ),
    pytest.param(
        plugin("nowhere", portal_template_directories=lambda: ["/nonexistent/templates"]),
        "portal_template_directories() names '/nonexistent/templates', which is not a directory",
        id="template-directory",
    ),
    pytest.param(
        plugin("nocatalog", portal_translation_directories=lambda: ["/nonexistent/translations"]),
        "portal_translation_directories() names '/nonexistent/translations', which is not a directory",
        id="translation-directory",
    ),
]


@pytest.mark.parametrize(("module", "reason"), REFUSED)
def test_a_plugin_that_breaks_the_contract_is_refused_and_the_others_load(module, reason):
    host = PluginHost()
    host.register("before", plugin("before", portal_mandatory_data_rule_sets=lambda: [GoodRules]))
    assert host.register("broken", module) is None
    host.register("after", offering(rule_set("test.after")))

    assert list(host.failures) == ["broken"]
    assert host.failures["broken"].startswith(reason), host.failures["broken"]
    assert set(host.plugins) == {"before", "after"}
    assert {key: owner for key, (owner, _cls) in host.rule_sets.items()} == {
        "test.good": "before",
        "test.after": "after",
    }
    assert host.manager.get_plugin("broken") is None


def test_a_duplicate_key_is_refused_and_the_first_owner_keeps_it():
    host = PluginHost()
    host.register("first", offering(rule_set("test.shared")))
    host.register("second", offering(rule_set("test.own"), rule_set("test.shared")))

    assert host.failures == {"second": "the key 'test.shared' is already used by plugin 'first'"}
    # Nothing of the refused plugin stays behind, not even the classes accepted before.
    assert {key: owner for key, (owner, _cls) in host.rule_sets.items()} == {"test.shared": "first"}
    assert host.owner_of("test.own") is None
    assert set(host.plugins) == {"first"}


def test_a_plugin_offers_its_translation_and_template_directories(tmp_path):
    (tmp_path / "translations").mkdir()
    (tmp_path / "templates").mkdir()
    host = PluginHost()
    info = host.register(
        "themed",
        plugin(
            "themed",
            portal_translation_directories=lambda: [str(tmp_path / "translations")],
            portal_template_directories=lambda: [str(tmp_path / "templates")],
        ),
    )
    assert host.failures == {}
    assert info.translation_directories == [str(tmp_path / "translations")]
    assert info.template_directories == [str(tmp_path / "templates")]
    assert host.translation_directories() == [str(tmp_path / "translations")]


# --- observers -----------------------------------------------------------------------------


def purchase_order_event() -> PurchaseOrderEvent:
    order = PurchaseOrderData(
        number="PO-2026-000001", status="sent", supplier_name="Acme", delivery_date=date.today()
    )
    return PurchaseOrderEvent(
        tenant="acme", action="sent", old_status="booked", new_status="sent", order=order
    )


def order_event() -> OrderEvent:
    return OrderEvent(
        tenant="acme",
        action="shipped",
        order_number="A-2026-000123",
        old_status="picking",
        new_status="shipped",
    )


def failing(event):
    raise RuntimeError(f"observer bug on {event.tenant}")


@pytest.mark.parametrize(
    ("hook_name", "make_event"),
    [
        ("portal_purchase_order_event", purchase_order_event),
        ("portal_order_event", order_event),
    ],
)
def test_a_failing_observer_is_logged_and_does_not_stop_the_others(hook_name, make_event, caplog):
    seen = []

    def record(event):
        seen.append(event)

    host = PluginHost()
    host.register("first_failing", plugin("first_failing", **{hook_name: failing}))
    host.register("recording", plugin("recording", **{hook_name: record}))
    host.register("last_failing", plugin("last_failing", **{hook_name: failing}))
    host.register("disabled", plugin("disabled", **{hook_name: record}))
    assert host.failures == {}
    event = make_event()

    with caplog.at_level(logging.ERROR, logger="portal.plugins.host"):
        host.notify(hook_name, event, enabled={"first_failing", "recording", "last_failing"})

    assert seen == [event]  # once: the disabled plugin is not called
    failures = [r for r in caplog.records if r.name == "portal.plugins.host"]
    assert sorted(r.getMessage() for r in failures) == [
        f"plugin 'first_failing' failed in {hook_name}",
        f"plugin 'last_failing' failed in {hook_name}",
    ]
    assert [str(r.exc_info[1]) for r in failures] == ["observer bug on acme"] * 2
