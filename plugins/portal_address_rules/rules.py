"""The delivery-address rule set: what a delivery address needs, per country.

Settings (the data of :class:`AddressRulesForm`)::

    {
        "countries": ["NL", "DE"],    # countries the supplier delivers to; []: all
        "always_require_phone": False, # True: a phone number even without a courier
    }
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from babel import Locale
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, Form, SelectMultipleField
from wtforms.fields.choices import SelectChoice

from portal.plugins import AddressData, PurchaseOrderData, RuleContext, RuleSet, Violation

# --- what each country expects ---------------------------------------------------------------


@dataclass(frozen=True)
class PostcodeFormat:
    """A country's postcode: the pattern of the normalised text and how to describe it."""

    pattern: re.Pattern[str]
    description: Any  # a lazy string: translated when the message is built


FIVE_DIGITS = PostcodeFormat(re.compile(r"\d{5}"), _l("five digits, like 12345"))
FOUR_DIGITS = PostcodeFormat(re.compile(r"\d{4}"), _l("four digits, like 1234"))
FOUR_DIGITS_NOT_FROM_ZERO = PostcodeFormat(re.compile(r"[1-9]\d{3}"), FOUR_DIGITS.description)
THREE_AND_TWO_DIGITS = PostcodeFormat(
    re.compile(r"\d{3} ?\d{2}"), _l("five digits, written like 123 45")
)

#: Postcode formats by ISO 3166-1 country code. A country missing here has no postcode
#: check; its postcode is not required either (some countries have none).
POSTCODE_FORMATS: dict[str, PostcodeFormat] = {
    "AT": FOUR_DIGITS_NOT_FROM_ZERO,
    "AU": FOUR_DIGITS,
    "BE": FOUR_DIGITS_NOT_FROM_ZERO,
    "BR": PostcodeFormat(
        re.compile(r"\d{5}-?\d{3}"), _l("a CEP of eight digits, like 12345-678 or 12345678")
    ),
    "CA": PostcodeFormat(
        re.compile(r"[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d"),
        _l("letter, digit, letter, space, digit, letter, digit, like K1A 0B1"),
    ),
    "CH": FOUR_DIGITS_NOT_FROM_ZERO,
    "CZ": THREE_AND_TWO_DIGITS,
    "DE": FIVE_DIGITS,
    "DK": FOUR_DIGITS,
    "ES": PostcodeFormat(
        re.compile(r"(0[1-9]|[1-4]\d|5[0-2])\d{3}"),
        _l("five digits starting with a province number from 01 to 52, like 28013"),
    ),
    "FI": FIVE_DIGITS,
    "FR": FIVE_DIGITS,
    # The full UK pattern: outward code (area, district) and inward code (sector, unit).
    "GB": PostcodeFormat(
        re.compile(
            r"GIR ?0AA|[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9][0-9ABEHMNPRV-Y]?|[0-9][A-HJKPS-UW])"
            r" ?[0-9][ABD-HJLNP-UW-Z]{2}"
        ),
        _l("a UK postcode of two parts, like SW1A 1AA or M1 1AE"),
    ),
    "IN": PostcodeFormat(re.compile(r"[1-9]\d{5}"), _l("six digits, like 110001")),
    "IT": FIVE_DIGITS,
    "LU": PostcodeFormat(re.compile(r"(L-)?\d{4}"), _l("four digits, like 1234 or L-1234")),
    "MX": FIVE_DIGITS,
    "NL": PostcodeFormat(
        re.compile(r"[1-9]\d{3} ?[A-Z]{2}"), _l("four digits and two letters, like 1234 AB")
    ),
    "NO": FOUR_DIGITS,
    "PL": PostcodeFormat(
        re.compile(r"\d{2}-\d{3}"), _l("two digits, a hyphen and three digits, like 00-950")
    ),
    "PT": PostcodeFormat(
        re.compile(r"\d{4}-\d{3}"), _l("four digits, a hyphen and three digits, like 1000-001")
    ),
    "SE": THREE_AND_TWO_DIGITS,
    "US": PostcodeFormat(
        re.compile(r"\d{5}(-\d{4})?"),
        _l(
            "a ZIP code of five digits, or five digits, a hyphen and four digits, like 12345 or 12345-6789"
        ),
    ),
}


def _codes(text: str) -> frozenset[str]:
    """Return the codes of a space-separated list."""
    return frozenset(text.split())


@dataclass(frozen=True)
class StateCodes:
    """A country's official state or province codes and how to describe them."""

    codes: frozenset[str]
    description: Any


#: Countries whose addresses need a state or province. Where the codes are listed, the state
#: must be one of them; elsewhere (MX, IN) any non-empty text is accepted.
STATES: dict[str, StateCodes | None] = {
    "US": StateCodes(
        _codes(
            "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE"
            " NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY"
            # Territories with ZIP codes.
            " AS GU MP PR VI"
        ),
        _l("a two-letter state code, like NY or CA"),
    ),
    "BR": StateCodes(
        _codes("AC AL AP AM BA CE DF ES GO MA MT MS MG PA PB PR PE PI RJ RN RS RO RR SC SP SE TO"),
        _l("a two-letter state code (UF), like SP or RJ"),
    ),
    "CA": StateCodes(
        _codes("AB BC MB NB NL NS NT NU ON PE QC SK YT"),
        _l("a two-letter province or territory code, like ON or QC"),
    ),
    "AU": StateCodes(
        _codes("ACT NSW NT QLD SA TAS VIC WA"),
        _l("a state or territory code, like NSW or VIC"),
    ),
    "MX": None,
    "IN": None,
}

# Babel's territories that are not countries one can deliver to: regions, unions and codes
# outside ISO 3166-1's assigned ones.
NOT_COUNTRIES = _codes("AC CP DG EA EU EZ IC QO TA UN XA XB ZZ")
COUNTRY_CODES = frozenset(
    code
    for code in Locale("en").territories
    if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES
)


def _current_locale() -> Locale:
    """Return the locale of the request, or English outside a request or an application."""
    try:
        locale = get_locale()
    except (KeyError, RuntimeError):  # an application without Flask-Babel
        locale = None
    return Locale.parse(locale) if locale is not None else Locale("en")


def _country_name(code: str) -> str:
    """Return the name of country ``code`` in the user's language (the code if unknown)."""
    return _current_locale().territories.get(code, code)


def _country_choices() -> list[SelectChoice]:
    """Return every country, named and sorted in the user's language."""
    names = _current_locale().territories
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

    Country, recipient name, street and city are always required; the postcode is required
    and checked where :data:`POSTCODE_FORMATS` knows the country's format; the state or
    province where :data:`STATES` lists the country. A phone number at the delivery address
    is required for courier deliveries (``order.delivery_method == "courier"``), or always
    when the settings say so. With empty settings every country is allowed and the phone is
    required for couriers only.
    """

    key = "address_rules"
    label = _l("Delivery address rules per country")
    description = _l(
        "Check that the delivery address is complete and that its postcode and state follow the rules of its country."
    )
    settings_form = AddressRulesForm

    def check(self, order: PurchaseOrderData, ctx: RuleContext) -> Sequence[Violation]:
        address = order.delivery_address
        violations = _check_required_parts(address)
        violations += _check_phone(order, ctx.settings)
        country = _normalise(address.country)
        if not country:
            return violations
        if country not in COUNTRY_CODES:
            violations.append(
                _violation(
                    "address_rules.unknown_country",
                    "country",
                    _(
                        "The country “%(country)s” of the delivery address is not a country code; use the two-letter ISO code, like NL or DE.",
                        country=address.country,
                    ),
                )
            )
            return violations
        allowed = _allowed_countries(ctx.settings)
        if allowed and country not in allowed:
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
        violations += _check_postcode(country, address.postcode)
        violations += _check_state(country, address.state)
        return violations


def _allowed_countries(settings: Mapping[str, Any]) -> list[str]:
    """Return the countries of the settings; empty: every country."""
    countries = settings.get("countries") or ()
    if isinstance(countries, str):  # one code, or codes separated by commas or spaces
        countries = countries.replace(",", " ").split()
    return [_normalise(code) for code in countries]


def _violation(code: str, part: str, message: str) -> Violation:
    return Violation(code, f"delivery_address.{part}", message)


def _check_required_parts(address: AddressData) -> list[Violation]:
    messages = {
        "country": lambda: _("The delivery address has no country."),
        "name": lambda: _("The delivery address has no recipient name."),
        "street": lambda: _("The delivery address has no street."),
        "city": lambda: _("The delivery address has no city."),
    }
    return [
        _violation(f"address_rules.{part}_missing", part, message())
        for part, message in messages.items()
        if not _normalise(getattr(address, part))
    ]


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


def _check_postcode(country: str, postcode: str) -> list[Violation]:
    expected = POSTCODE_FORMATS.get(country)
    if expected is None:
        return []
    postcode = _normalise(postcode)
    if not postcode:
        return [
            _violation(
                "address_rules.postcode_missing",
                "postcode",
                _(
                    "%(country)s: the delivery address needs a postcode (%(format)s).",
                    country=_country_name(country),
                    format=expected.description,
                ),
            )
        ]
    if expected.pattern.fullmatch(postcode):
        return []
    return [
        _violation(
            "address_rules.postcode_format",
            "postcode",
            _(
                "%(country)s: the postcode %(postcode)s is not valid (expected %(format)s).",
                country=_country_name(country),
                postcode=postcode,
                format=expected.description,
            ),
        )
    ]


def _check_state(country: str, state: str) -> list[Violation]:
    if country not in STATES:
        return []
    expected = STATES[country]
    state = _normalise(state)
    if not state:
        return [
            _violation(
                "address_rules.state_missing",
                "state",
                _(
                    "%(country)s: the delivery address needs a state or province.",
                    country=_country_name(country),
                ),
            )
        ]
    if expected is None or state in expected.codes:
        return []
    return [
        _violation(
            "address_rules.state_invalid",
            "state",
            _(
                "%(country)s: %(state)s is not a state or province (expected %(format)s).",
                country=_country_name(country),
                state=state,
                format=expected.description,
            ),
        )
    ]
