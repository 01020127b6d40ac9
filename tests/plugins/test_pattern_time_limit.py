"""Tenant-written patterns of the required-fields rule set that backtrack: running out of
time is a blocking finding naming the field, and the settings forms refuse such a pattern."""

from __future__ import annotations

import re
import time
from datetime import date

import pytest
import regex
from portal_required_fields.rules import (
    PATTERN_TIMEOUT,
    RequiredFields,
    RequiredFieldsForm,
    first_slow_probe,
    probe_texts,
)
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from portal.core.purchasing import ordering
from portal.core.purchasing.models import PurchaseOrder
from portal.core.purchasing.models import PurchaseOrderStatus as Status
from portal.core.suppliers.models import Supplier, SupplierRuleSet
from portal.plugins import LineData, PurchaseOrderData, RuleContext, Severity
from portal.plugins.models import PluginActivation
from portal.testing.suppliers import act, draft, state

#: Backtracks on a long run of "a" that does not end the way it wants; fine on short text.
BACKTRACKING = r"(a|aa)+$"
#: Fails on a run of "a" with a bad ending only after trying every split of the run.
SLOW_REFERENCE = "a" * 60 + "!"


def line(position: int, note: str) -> LineData:
    return LineData(
        position=position,
        product_code=f"P-{position}",
        name=f"Product {position}",
        quantity=1,
        containers=1,
        container_amount=1,
        note=note,
    )


def purchase_order(**overrides) -> PurchaseOrderData:
    """An order that passes the rule set's defaults (delivery date and reference given)."""
    values = {
        "number": "PO-1001",
        "status": "draft",
        "supplier_name": "Acme Textiles",
        "client_name": "Shop",
        "reference": "REF-1",
        "delivery_date": date(2026, 12, 7),
        "lines": (line(1, "Note"),),
    }
    return PurchaseOrderData(**{**values, **overrides})


def context(settings) -> RuleContext:
    return RuleContext(today=date(2026, 11, 25), supplier_name="Acme Textiles", settings=settings)


def texts(response) -> str:
    return response.get_data(as_text=True)


# --- the rule --------------------------------------------------------------------------------


def test_a_pattern_that_runs_out_of_time_is_an_error_naming_the_field():
    order = purchase_order(reference=SLOW_REFERENCE)
    [violation] = RequiredFields().check(order, context({"reference_pattern": BACKTRACKING}))
    assert violation.code == "required_fields.pattern_timeout"
    assert violation.field == "reference"
    assert violation.severity == Severity.ERROR
    assert "Customer reference could not be checked" in violation.message


def test_the_same_pattern_on_a_value_it_judges_in_time_still_applies():
    settings = {"reference_pattern": BACKTRACKING}
    assert RequiredFields().check(purchase_order(reference="aaaa"), context(settings)) == []
    [violation] = RequiredFields().check(purchase_order(reference="b"), context(settings))
    assert violation.code == "required_fields.pattern_mismatch"


def test_a_pattern_that_ran_out_of_time_costs_one_time_limit_per_order():
    """Forty lines with a slow note: each line is named, but the pattern runs only once."""
    order = purchase_order(lines=tuple(line(n, note=SLOW_REFERENCE) for n in range(1, 41)))
    started = time.monotonic()
    violations = RequiredFields().check(order, context({"line_note_pattern": BACKTRACKING}))
    elapsed = time.monotonic() - started
    assert [v.field for v in violations] == [f"lines[{n}].note" for n in range(1, 41)]
    assert {v.code for v in violations} == {"required_fields.pattern_timeout"}
    assert all(v.severity == Severity.ERROR for v in violations)
    assert elapsed < 20 * PATTERN_TIMEOUT


def test_a_pattern_that_does_not_compile_stays_a_warning():
    [violation] = RequiredFields().check(
        purchase_order(), context({"reference_pattern": "PO-[0-9"})
    )
    assert violation.code == "required_fields.invalid_pattern"
    assert violation.severity == Severity.WARNING


# --- the settings form -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern", [r"(a+)+$", r"(a|aa)+b", r"(\w+\s?)+", r"(.*a){12}", r"(\d|\d\d)+$"]
)
def test_the_form_refuses_a_pattern_that_backtracks_on_a_simple_text(pattern):
    form = RequiredFieldsForm(MultiDict({"reference_pattern": pattern}))
    assert not form.validate()
    (message,) = form.errors["reference_pattern"]
    assert message.startswith("The pattern for Customer reference takes too long")
    assert "repeated 5000 times" in message


@pytest.mark.parametrize(
    "pattern",
    [r"PO-[0-9]{6}", r"[A-Z]{2}\d{4,8}", r".*", r"[\w.+-]+@[\w-]+\.[\w.]+", r"(PO|SO)-\d+"],
)
def test_the_form_keeps_patterns_that_answer_in_time(pattern):
    form = RequiredFieldsForm(MultiDict({"line_note_pattern": pattern}))
    assert form.validate(), form.errors
    assert first_slow_probe(regex.compile(pattern)) is None


def test_the_probes_use_the_patterns_own_characters():
    probes = probe_texts(r"#+x")
    assert "#" * 5000 + "!" in probes
    assert "a" * 5000 + "!" in probes
    assert all(len(text) == 5001 for text in probes)


# --- the pages -------------------------------------------------------------------------------


@pytest.fixture
def shop(supplier_world, in_tenant, create_user):
    with in_tenant(supplier_world.tenant) as session:
        session.add(PluginActivation(name="required_fields", enabled=True))
        session.commit()
    supplier_world.store_user = create_user(
        supplier_world.tenant, "client", client=supplier_world.client
    )
    return supplier_world


def test_the_order_data_page_shows_the_finding_and_sending_is_refused(shop, in_tenant, login_as):
    with in_tenant(shop.tenant) as session:
        session.add(
            SupplierRuleSet(
                supplier_id=shop.supplier_id,
                rule_set_key="required_fields",
                # Stored settings may predate the form's check, or come from elsewhere.
                settings={"required": ["reference"], "reference_pattern": BACKTRACKING},
            )
        )
        session.commit()
    po_id = draft(in_tenant, shop)
    with in_tenant(shop.tenant) as session:
        session.scalar(
            select(PurchaseOrder).where(PurchaseOrder.id == po_id)
        ).reference = SLOW_REFERENCE
        session.commit()
    browser = login_as(shop.store_user, shop.tenant)
    page = texts(browser.get(f"/purchase-orders/{po_id}/order-data"))
    assert re.search(
        r'class="finding-error"><strong>Required fields</strong>: Customer reference could not'
        r" be checked against its required format in time",
        page,
    )
    act(in_tenant, shop, po_id, ordering.book)
    response = browser.post(
        f"/purchase-orders/{po_id}/send",
        data={
            "csrf_token": browser.csrf_token(f"/purchase-orders/{po_id}"),
            "version": str(state(in_tenant, shop, po_id).version),
        },
    )
    assert response.status_code == 422
    assert re.search(
        r'id="reference-errors"><li>Customer reference could not be checked', texts(response)
    )
    assert state(in_tenant, shop, po_id).status == Status.BOOKED


def test_the_suppliers_settings_page_refuses_a_backtracking_pattern(
    shop, in_tenant, create_user, login_as
):
    with in_tenant(shop.tenant) as session:
        factory = session.scalar(select(Supplier).where(Supplier.id == shop.supplier_id))
    supplier_user = create_user(shop.tenant, "supplier", supplier=factory)
    browser = login_as(supplier_user, shop.tenant)
    response = browser.post(
        "/supplier/mandatory-data",
        data={
            "csrf_token": browser.csrf_token("/supplier/mandatory-data"),
            "rule_sets": "required_fields",
            "rule_set_required_fields-required": ["reference"],
            "rule_set_required_fields-reference_pattern": r"(a+)+$",
        },
    )
    assert response.status_code == 200
    assert "The pattern for Customer reference takes too long" in texts(response)
    with in_tenant(shop.tenant) as session:
        assert session.scalars(select(SupplierRuleSet)).all() == []


def test_the_admins_rule_set_page_refuses_a_backtracking_pattern(
    shop, in_tenant, create_user, login_as
):
    admin = create_user(shop.tenant, "admin")
    browser = login_as(admin, shop.tenant)
    path = f"/suppliers/{shop.supplier_id}/rule-sets"
    response = browser.post(
        path,
        data={
            "csrf_token": browser.csrf_token(path),
            "rule_sets": "required_fields",
            "rule_set_required_fields-line_note_pattern": r"(\w+\s?)+",
        },
    )
    assert response.status_code == 200
    assert "The pattern for Line notes takes too long" in texts(response)
    with in_tenant(shop.tenant) as session:
        assert session.scalars(select(SupplierRuleSet)).all() == []
