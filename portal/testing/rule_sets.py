"""The conformance suite for mandatory-data rule sets, for plugin authors and our own plugins.

Subclass :class:`RuleSetSuite` in a test module under a name starting with ``Test`` and supply
three fixtures; the suite's tests then run against your rule set::

    import pytest

    from portal.plugins import PurchaseOrderData
    from portal.testing.rule_sets import RuleSetSuite

    from my_plugin.rules import MyRuleSet


    class TestMyRuleSetConformance(RuleSetSuite):
        @pytest.fixture
        def rule_set(self):
            return MyRuleSet()

        @pytest.fixture
        def valid_order(self):
            return PurchaseOrderData(number="PO-1", status="draft", supplier_name="Acme", ...)

        @pytest.fixture
        def invalid_order(self):
            return PurchaseOrderData(number="PO-2", status="draft", supplier_name="Acme")

        # Optional: the settings the orders are checked with (default: {}, the defaults).
        @pytest.fixture
        def settings(self):
            return {"working_days": 5}

Fixtures you may override besides ``settings``: ``today`` (default 25 November 2026, a
Wednesday) and ``context`` (a :class:`portal.plugins.RuleContext` built from both).

The suite needs no application and no database: ``check`` must be pure. It is not collected
on its own (its name does not start with ``Test``); nothing else needs activating, but a
plugin whose tests use the portal's other fixtures adds
``pytest_plugins = ["portal.testing.fixtures"]`` to its ``conftest.py`` as usual.

What it checks: the key, label and description; that the settings form is a plain
``wtforms.Form`` whose data for the suite's settings validates (with and without a prefix),
is plain JSON, survives a second trip through the form, and whose defaults mean the same to
``check`` as empty settings; that ``check`` accepts the valid order, refuses the invalid one
with at least one error, returns well-formed violations, is deterministic, leaves its
settings alone and does no I/O (no sockets, no database, no files); and that ``applies_to``
answers with a bool.
"""

from __future__ import annotations

import builtins
import copy
import json
import re
import socket
from datetime import date

import pytest
import sqlalchemy.orm
from flask_wtf import FlaskForm
from wtforms import Form

from portal.db import db
from portal.plugins import ORDER_FIELDS, RuleContext, RuleSet, Severity, Violation

KEY = re.compile(r"[a-z0-9_.-]+")
LINE_FIELD = re.compile(r"lines\[\d+\]\.\w+")


class IOAttempted(AssertionError):
    """Raised when ``check`` tries to reach a socket, the database or a file."""


def _refuse(what: str):
    def refuse(*args, **kwargs):
        raise IOAttempted(f"check() must not use {what}")

    return refuse


class _UnusableSession:
    def __getattr__(self, name):
        raise IOAttempted("check() must not use the database session")


class RuleSetSuite:
    """Tests every rule set must pass; subclass it as ``Test...`` and supply the fixtures
    ``rule_set``, ``valid_order`` and ``invalid_order`` (see the module docstring)."""

    @pytest.fixture
    def settings(self):
        """The settings the orders are checked with; empty means the rule set's defaults."""
        return {}

    @pytest.fixture
    def today(self) -> date:
        return date(2026, 11, 25)

    @pytest.fixture
    def context(self, settings, today) -> RuleContext:
        return RuleContext(today=today, supplier_name="Conformance Supplier", settings=settings)

    # --- helpers ---------------------------------------------------------------------------

    @staticmethod
    def errors(violations):
        return [v for v in violations if v.severity == Severity.ERROR]

    @staticmethod
    def with_settings(context: RuleContext, settings) -> RuleContext:
        return RuleContext(
            today=context.today,
            supplier_name=context.supplier_name,
            settings=settings,
            timezone=context.timezone,
        )

    # --- the class -------------------------------------------------------------------------

    def test_is_a_rule_set(self, rule_set):
        assert isinstance(rule_set, RuleSet)

    def test_key_is_a_short_identifier(self, rule_set):
        assert isinstance(rule_set.key, str)
        assert KEY.fullmatch(rule_set.key), f"key {rule_set.key!r} must match [a-z0-9_.-]+"

    def test_label_and_description_are_text(self, rule_set):
        assert str(rule_set.label).strip(), "label is empty"
        assert str(rule_set.description).strip(), "description is empty"

    # --- settings --------------------------------------------------------------------------

    def test_settings_form_is_a_plain_wtforms_form(self, rule_set):
        form_class = rule_set.settings_form
        if form_class is None:
            return
        assert isinstance(form_class, type)
        assert issubclass(form_class, Form)
        # The host renders the settings inside its own form; a FlaskForm would need an
        # application and bring a CSRF field that would be stored as a setting.
        assert not issubclass(form_class, FlaskForm), "use wtforms.Form, not FlaskForm"

    def test_settings_form_accepts_the_settings(self, rule_set, settings):
        if rule_set.settings_form is None:
            pytest.skip("no settings form")
        form = rule_set.settings_form(data=settings)
        assert form.validate(), form.errors
        # The data the host stores is plain JSON and survives a second trip through the form.
        assert json.loads(json.dumps(form.data)) == form.data
        again = rule_set.settings_form(data=form.data)
        assert again.validate(), again.errors
        assert again.data == form.data

    def test_settings_form_works_under_a_prefix(self, rule_set, settings):
        # The host shows several rule sets' settings in one page, each form under a prefix.
        if rule_set.settings_form is None:
            pytest.skip("no settings form")
        plain = rule_set.settings_form(data=settings)
        prefixed = rule_set.settings_form(data=settings, prefix=f"rule_set_{rule_set.key}-")
        assert prefixed.validate(), prefixed.errors
        assert prefixed.data == plain.data

    def test_form_defaults_mean_the_same_as_empty_settings(
        self, rule_set, context, valid_order, invalid_order
    ):
        if rule_set.settings_form is None:
            pytest.skip("no settings form")
        defaults = rule_set.settings_form().data
        for order in (valid_order, invalid_order):
            with_empty = rule_set.check(order, self.with_settings(context, {}))
            with_defaults = rule_set.check(order, self.with_settings(context, defaults))
            assert list(with_empty) == list(with_defaults)

    # --- check -----------------------------------------------------------------------------

    def test_accepts_the_valid_order(self, rule_set, valid_order, context):
        assert self.errors(rule_set.check(valid_order, context)) == []

    def test_refuses_the_invalid_order(self, rule_set, invalid_order, context):
        assert self.errors(rule_set.check(invalid_order, context)), "no error for invalid_order"

    @pytest.mark.parametrize("which", ["valid_order", "invalid_order"])
    def test_violations_are_well_formed(self, rule_set, context, request, which):
        violations = rule_set.check(request.getfixturevalue(which), context)
        assert not isinstance(violations, str | bytes)
        for violation in violations:
            assert isinstance(violation, Violation)
            assert isinstance(violation.code, str)
            assert violation.code.strip()
            assert isinstance(violation.message, str), "translate the message with _() in check"
            assert violation.message.strip()
            assert isinstance(violation.severity, Severity)
            assert (
                violation.field == ""
                or violation.field in ORDER_FIELDS
                or LINE_FIELD.fullmatch(violation.field)
            ), f"field {violation.field!r} is neither an order field nor lines[<n>].<attr>"

    def test_check_is_deterministic(self, rule_set, valid_order, invalid_order, context):
        for order in (valid_order, invalid_order):
            assert list(rule_set.check(order, context)) == list(rule_set.check(order, context))

    def test_check_leaves_the_settings_alone(self, rule_set, invalid_order, context):
        before = copy.deepcopy(dict(context.settings))
        rule_set.check(invalid_order, context)
        assert dict(context.settings) == before

    def test_check_does_no_io(self, rule_set, valid_order, invalid_order, context, monkeypatch):
        # A first call outside the patches lets libraries load their data once (Babel's
        # locale files, for example); the calls that count come after.
        expected = [list(rule_set.check(order, context)) for order in (valid_order, invalid_order)]

        monkeypatch.setattr(socket, "socket", _refuse("a socket"))
        monkeypatch.setattr(socket, "create_connection", _refuse("a network connection"))
        monkeypatch.setattr(socket, "getaddrinfo", _refuse("name resolution"))
        for method in ("execute", "scalar", "scalars", "get", "query", "flush", "commit"):
            monkeypatch.setattr(sqlalchemy.orm.Session, method, _refuse("the database"))
        monkeypatch.setattr(db, "session", _UnusableSession())
        monkeypatch.setattr(builtins, "open", _refuse("files"))

        actual = [list(rule_set.check(order, context)) for order in (valid_order, invalid_order)]
        assert actual == expected

    # --- applies_to ------------------------------------------------------------------------

    def test_applies_to_answers_with_a_bool(self, rule_set, valid_order, invalid_order, context):
        for order in (valid_order, invalid_order):
            assert isinstance(rule_set.applies_to(order, context), bool)
