"""The minimum-order-value rule set: the portal's conformance suite and two tests of our own.

None of these needs the portal's application or database: ``check`` is pure.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from portal_example_rules import MinimumOrderValue, MinimumOrderValueForm

from portal.plugins import LineData, PurchaseOrderData, RuleContext, Severity
from portal.testing.rule_sets import RuleSetSuite


def line(position: int, unit_price: str | None, quantity: int = 10) -> LineData:
    return LineData(
        position=position,
        product_code=f"P-{position}",
        name=f"Product {position}",
        quantity=quantity,
        containers=1,
        container_amount=quantity,
        unit_price=None if unit_price is None else Decimal(unit_price),
    )


def order(*lines: LineData, currency: str = "EUR") -> PurchaseOrderData:
    return PurchaseOrderData(
        number="PO-1", status="booked", supplier_name="Acme", currency=currency, lines=lines
    )


class TestMinimumOrderValueConformance(RuleSetSuite):
    @pytest.fixture
    def rule_set(self):
        return MinimumOrderValue()

    @pytest.fixture
    def valid_order(self):
        return order(line(1, "12.50"))  # 125.00, above the default minimum of 100

    @pytest.fixture
    def invalid_order(self):
        return order(line(1, "6.00"), line(2, None))  # 60.00, and a line without a price


class TestMinimumOrderValueWithStoredSettingsConformance(TestMinimumOrderValueConformance):
    """The settings as the portal stores them: the amount as text."""

    @pytest.fixture
    def settings(self):
        return {"minimum_value": "250.00"}

    @pytest.fixture
    def valid_order(self):
        return order(line(1, "25.00"))

    @pytest.fixture
    def invalid_order(self):
        return order(line(1, "12.50"))


def test_too_small_an_order_is_refused_with_the_amounts_in_its_currency():
    context = RuleContext(
        today=date(2026, 11, 25), supplier_name="Acme", settings={"minimum_value": "250.00"}
    )
    violations = MinimumOrderValue().check(order(line(1, "9.95"), currency="USD"), context)
    assert [(v.code, v.field, v.severity) for v in violations] == [
        ("example.minimum_order_value.too_low", "", Severity.ERROR)
    ]
    assert violations[0].message == (
        "The order's total value of $99.50 is below the minimum order value of $250.00 for Acme. Please add items worth at least $150.50."
    )
    # The form keeps what a supplier typed as exact text, which is what the portal stores.
    form = MinimumOrderValueForm(data={"minimum_value": Decimal("250")})
    assert form.validate()
    assert form.data == {"minimum_value": "250.00"}


def test_a_line_without_a_price_is_a_warning_and_does_not_count():
    context = RuleContext(today=date(2026, 11, 25), supplier_name="Acme")
    violations = MinimumOrderValue().check(order(line(1, "10.00"), line(2, None)), context)
    assert [(v.code, v.field, v.severity) for v in violations] == [
        ("example.minimum_order_value.line_without_price", "lines[2].unit_price", Severity.WARNING)
    ]
    assert violations[0].message == (
        "Line 2 (P-2) has no price, so it does not count towards the minimum order value."
    )
