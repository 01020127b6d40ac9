"""Minimum order value: an example mandatory-data rule set for the portal.

An order may be sent to a supplier only when its total value reaches the minimum that the
supplier asks for (set per supplier; 100 in the order's currency by default). Lines without
a price do not count towards it and get a warning.

The portal finds this module through the entry point ``example_rules`` of the group
``portal.plugins`` (see ``pyproject.toml``) and calls the two hooks at the end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from babel.numbers import format_currency
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import DecimalField, Form, ValidationError
from wtforms.validators import DataRequired

from portal.plugins import PurchaseOrderData, RuleContext, RuleSet, Severity, Violation, hookimpl

KEY = "example.minimum_order_value"
DEFAULT_MINIMUM = Decimal("100")


def parse_amount(value: Any) -> Decimal | None:
    """Return ``value`` (text such as ``"250.00"``, a number or a Decimal) as a Decimal, or
    None when it is not an amount."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def minimum_of(settings: Mapping[str, Any]) -> Decimal:
    """Return the minimum order value of ``settings``; the default when it is missing or bad."""
    amount = parse_amount(settings.get("minimum_value", DEFAULT_MINIMUM))
    return DEFAULT_MINIMUM if amount is None or amount < 0 else amount


def format_money(amount: Decimal, currency: str) -> str:
    """Format ``amount`` in ``currency`` for the user's locale (English outside a request)."""
    try:
        locale = get_locale()
    except KeyError:  # an application without Flask-Babel
        locale = None
    return format_currency(amount, currency, locale=locale or "en")


# --- settings ----------------------------------------------------------------------------------


def amount_as_text(value: Any) -> Any:
    """Keep an amount as text with two decimals ("250.00"): the portal stores the settings
    as JSON, which has no decimal type, and text keeps every cent exact. Anything else is
    left for the validators to refuse."""
    amount = None if value is None or value == "" else parse_amount(value)
    return value if amount is None else f"{amount:.2f}"


class MinimumOrderValueForm(Form):
    """The settings of one supplier: its minimum order value (default 100)."""

    minimum_value = DecimalField(
        _l("Minimum order value"),
        validators=[DataRequired(message=_l("Please enter an amount such as 250.00."))],
        default=DEFAULT_MINIMUM,
        places=None,  # the data is already text with two decimals
        filters=[amount_as_text],
        description=_l(
            "In the currency of the order. Orders below this value cannot be sent to the supplier; lines without a price do not count."
        ),
    )

    def validate_minimum_value(self, field: DecimalField) -> None:
        amount = parse_amount(field.data)
        if amount is None:
            raise ValidationError(_("Please enter an amount such as 250.00."))
        if amount < 0:
            raise ValidationError(_("The minimum order value cannot be negative."))


# --- the rule set -------------------------------------------------------------------------------


class MinimumOrderValue(RuleSet):
    """Require an order's total value to reach the supplier's minimum order value.

    The total is the sum of quantity x unit price over the lines that have a price (see
    :attr:`portal.plugins.PurchaseOrderData.total_value`). Below the minimum: an error on the
    order as a whole. A line without a price: a warning on ``lines[<position>].unit_price``.
    """

    key = KEY
    label = _l("Minimum order value")
    description = _l(
        "Refuse to send orders whose total value is below the minimum order value of the supplier."
    )
    settings_form = MinimumOrderValueForm

    def applies_to(self, order: PurchaseOrderData, ctx: RuleContext) -> bool:
        # An order without lines has no value to compare; the portal refuses it anyway.
        return bool(order.lines)

    def check(self, order: PurchaseOrderData, ctx: RuleContext) -> Sequence[Violation]:
        violations = []
        minimum = minimum_of(ctx.settings)
        total = order.total_value
        if total < minimum:
            violations.append(
                Violation(
                    f"{KEY}.too_low",
                    "",
                    _(
                        "The order's total value of %(total)s is below the minimum order value of %(minimum)s for %(supplier)s. Please add items worth at least %(missing)s.",
                        total=format_money(total, order.currency),
                        minimum=format_money(minimum, order.currency),
                        missing=format_money(minimum - total, order.currency),
                        supplier=ctx.supplier_name,
                    ),
                )
            )
        for line in order.lines:
            if line.unit_price is None:
                violations.append(
                    Violation(
                        f"{KEY}.line_without_price",
                        f"lines[{line.position}].unit_price",
                        _(
                            "Line %(position)d (%(code)s) has no price, so it does not count towards the minimum order value.",
                            position=line.position,
                            code=line.product_code,
                        ),
                        Severity.WARNING,
                    )
                )
        return violations


# --- the hooks --------------------------------------------------------------------------------


@hookimpl
def portal_mandatory_data_rule_sets():
    return [MinimumOrderValue]


@hookimpl
def portal_translation_directories():
    return [str(Path(__file__).parent / "translations")]
