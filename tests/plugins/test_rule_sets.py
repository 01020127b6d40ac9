"""The bundled mandatory-data rule sets: the conformance suite and every rule.

Apart from the translation tests at the end, nothing here needs an application: ``check`` is
pure and the settings forms are plain WTForms forms.
"""

from __future__ import annotations

import contextlib
import socket
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import portal_address_rules
import portal_lead_time
import portal_required_fields
import pytest
from flask import Flask, request
from flask_babel import Babel, get_babel, get_locale
from portal_address_rules.rules import AddressRules, AddressRulesForm
from portal_lead_time.rules import LeadTime, LeadTimeForm, earliest_delivery_date
from portal_required_fields.rules import RequiredFields, RequiredFieldsForm
from werkzeug.datastructures import MultiDict

from portal.db import db
from portal.plugins import (
    AddressData,
    LineData,
    PurchaseOrderData,
    RuleContext,
    RuleSet,
    Severity,
)
from portal.testing.rule_sets import RuleSetSuite

TODAY = date(2026, 11, 25)  # a Wednesday
MONDAY = date(2026, 11, 30)  # three working days after TODAY


def address(**overrides) -> AddressData:
    values = {
        "name": "Jan de Vries",
        "street": "Keizersgracht 1",
        "postcode": "1015 CJ",
        "city": "Amsterdam",
        "country": "NL",
        "phone": "+31 20 123 4567",
    }
    return AddressData(**{**values, **overrides})


def line(position: int, **overrides) -> LineData:
    values = {
        "position": position,
        "product_code": f"P-{position}",
        "name": f"Product {position}",
        "quantity": 12,
        "containers": 1,
        "container_amount": 12,
        "note": f"Note {position}",
    }
    return LineData(**{**values, **overrides})


def purchase_order(**overrides) -> PurchaseOrderData:
    """Return an order every bundled rule set accepts with its default settings."""
    values = {
        "number": "PO-1001",
        "status": "draft",
        "supplier_name": "Acme Textiles",
        "client_name": "Shop",
        "reference": "REF-2026-001",
        "delivery_date": date(2026, 12, 7),
        "delivery_address": address(),
        "contact_name": "Jan de Vries",
        "contact_phone": "+31 20 123 4567",
        "contact_email": "jan@example.com",
        "delivery_instructions": "Ring at the back door",
        "lines": (line(1), line(2)),
    }
    return PurchaseOrderData(**{**values, **overrides})


def context(settings=None, today: date = TODAY) -> RuleContext:
    return RuleContext(today=today, supplier_name="Acme Textiles", settings=settings or {})


def findings(violations) -> list[tuple[str, str]]:
    """Return (code, field) of each violation, for comparing without the wording."""
    return [(v.code, v.field) for v in violations]


def errors(violations) -> list[tuple[str, str]]:
    return findings(v for v in violations if v.severity == Severity.ERROR)


def with_address(**overrides) -> PurchaseOrderData:
    return purchase_order(delivery_address=address(**overrides))


# --- conformance -----------------------------------------------------------------------------


class TestRequiredFieldsConformance(RuleSetSuite):
    @pytest.fixture
    def rule_set(self):
        return RequiredFields()

    @pytest.fixture
    def valid_order(self):
        return purchase_order()

    @pytest.fixture
    def invalid_order(self):
        return purchase_order(reference="", delivery_date=None)


class TestRequiredFieldsWithEverySettingConformance(TestRequiredFieldsConformance):
    @pytest.fixture
    def settings(self):
        return {
            "required": ["delivery_date", "reference", "contact_email", "line_note"],
            "reference_min_length": 5,
            "reference_max_length": 20,
            "reference_pattern": r"REF-\d{4}-\d{3}",
            "line_note_max_length": 40,
        }

    @pytest.fixture
    def invalid_order(self):
        return purchase_order(reference="R-1", lines=(line(1), line(2, note="")))


class TestAddressRulesConformance(RuleSetSuite):
    @pytest.fixture
    def rule_set(self):
        return AddressRules()

    @pytest.fixture
    def valid_order(self):
        return purchase_order()

    @pytest.fixture
    def invalid_order(self):
        return with_address(postcode="12345")


class TestAddressRulesForCouriersInTheBeneluxConformance(TestAddressRulesConformance):
    @pytest.fixture
    def settings(self):
        return {"countries": ["NL", "BE", "LU"], "always_require_phone": True}

    @pytest.fixture
    def invalid_order(self):
        return with_address(country="DE", postcode="10115", city="Berlin", phone="")


class TestLeadTimeConformance(RuleSetSuite):
    @pytest.fixture
    def rule_set(self):
        return LeadTime()

    @pytest.fixture
    def valid_order(self):
        return purchase_order(delivery_date=MONDAY)

    @pytest.fixture
    def invalid_order(self):
        return purchase_order(delivery_date=TODAY + timedelta(days=1))


class TestLeadTimeWithHolidaysConformance(TestLeadTimeConformance):
    @pytest.fixture
    def settings(self):
        return {"working_days": 2, "holidays": ["2026-11-26"], "check_line_dates": True}

    @pytest.fixture
    def invalid_order(self):
        return purchase_order(
            delivery_date=MONDAY, lines=(line(1), line(2, delivery_date=date(2026, 11, 27)))
        )


# --- the suite itself catches what it promises to -------------------------------------------


class ReadsAFile(RuleSet):
    key = "reads_a_file"
    label = "Reads a file"
    description = "Does I/O in check(), which the suite must catch."

    def check(self, order, ctx):
        with open(__file__, "rb") as source:
            source.read(1)
        return []


class OpensASocket(ReadsAFile):
    def check(self, order, ctx):
        socket.socket().close()
        return []


class UsesTheDatabase(ReadsAFile):
    def check(self, order, ctx):
        # Outside an application the real session raises RuntimeError; the suite's does not.
        with contextlib.suppress(RuntimeError):
            db.session.get_bind()
        return []


@pytest.mark.parametrize("rule_set_class", [ReadsAFile, OpensASocket, UsesTheDatabase])
def test_the_suite_catches_a_rule_set_that_does_io(rule_set_class, monkeypatch):
    order = purchase_order()
    with monkeypatch.context() as patch, pytest.raises(AssertionError, match="must not use"):
        RuleSetSuite().test_check_does_no_io(rule_set_class(), order, order, context(), patch)


# --- every settings form renders generically -------------------------------------------------


@pytest.mark.parametrize("form_class", [RequiredFieldsForm, AddressRulesForm, LeadTimeForm])
def test_every_field_of_the_settings_form_renders_with_label_and_description(form_class):
    form = form_class()
    for field in form:
        assert str(field.label.text).strip(), field.name
        assert str(field.description).strip(), field.name
        assert f'name="{field.name}"' in field()


@pytest.mark.parametrize(
    ("rule_set", "package"),
    [
        (RequiredFields, portal_required_fields),
        (AddressRules, portal_address_rules),
        (LeadTime, portal_lead_time),
    ],
)
def test_each_package_offers_its_rule_set_and_catalogs(rule_set, package):
    assert package.portal_mandatory_data_rule_sets() == [rule_set]
    (directory,) = package.portal_translation_directories()
    assert (Path(directory) / "de" / "LC_MESSAGES" / "messages.po").is_file()


# --- required fields -------------------------------------------------------------------------


def test_required_fields_default_to_delivery_date_and_reference():
    order = purchase_order(
        reference="",
        delivery_date=None,
        contact_name="",
        contact_phone="",
        contact_email="",
        delivery_instructions="",
        lines=(line(1, note=""),),
    )
    violations = RequiredFields().check(order, context())
    assert errors(violations) == [
        ("required_fields.missing", "delivery_date"),
        ("required_fields.missing", "reference"),
    ]
    assert [v.message for v in violations] == [
        "Delivery date is required.",
        "Customer reference is required.",
    ]
    assert RequiredFieldsForm().data["required"] == ["delivery_date", "reference"]


def test_required_fields_can_require_nothing():
    order = purchase_order(reference="", delivery_date=None)
    assert RequiredFields().check(order, context({"required": []})) == []


@pytest.mark.parametrize(
    ("name", "blank", "field"),
    [
        ("delivery_date", {"delivery_date": None}, "delivery_date"),
        ("reference", {"reference": "  "}, "reference"),
        ("contact_name", {"contact_name": ""}, "contact_name"),
        ("contact_phone", {"contact_phone": ""}, "contact_phone"),
        ("contact_email", {"contact_email": ""}, "contact_email"),
        ("delivery_instructions", {"delivery_instructions": ""}, "delivery_instructions"),
        ("line_note", {"lines": (line(1), line(2, note=""))}, "lines[2].note"),
    ],
)
def test_each_field_can_be_required(name, blank, field):
    rule_set = RequiredFields()
    settings = {"required": [name]}
    assert rule_set.check(purchase_order(), context(settings)) == []
    violations = rule_set.check(purchase_order(**blank), context(settings))
    assert errors(violations) == [("required_fields.missing", field)]


def test_a_missing_line_note_names_the_line():
    order = purchase_order(lines=(line(1), line(7, note="")))
    (violation,) = RequiredFields().check(order, context({"required": ["line_note"]}))
    assert violation.field == "lines[7].note"
    assert violation.message == "Note of line 7 is required."


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("ABCD", ["required_fields.too_short"]),
        ("ABCDE", []),
        ("ABCDEFGH", []),
        ("ABCDEFGHI", ["required_fields.too_long"]),
    ],
)
def test_minimum_and_maximum_length(reference, expected):
    settings = {"reference_min_length": 5, "reference_max_length": 8}
    violations = RequiredFields().check(purchase_order(reference=reference), context(settings))
    assert [v.code for v in violations] == expected
    assert all(v.field == "reference" for v in violations)


def test_length_messages_count_characters():
    rule_set = RequiredFields()
    (short,) = rule_set.check(purchase_order(reference="AB"), context({"reference_min_length": 3}))
    assert short.message == "Customer reference must be at least 3 characters long."
    (long,) = rule_set.check(purchase_order(reference="AB"), context({"reference_max_length": 1}))
    assert long.message == "Customer reference must be at most 1 character long."


def test_limits_of_line_notes_apply_to_every_line():
    order = purchase_order(lines=(line(1, note="short"), line(2, note="x" * 41)))
    violations = RequiredFields().check(order, context({"line_note_max_length": 40}))
    assert findings(violations) == [("required_fields.too_long", "lines[2].note")]


@pytest.mark.parametrize(
    ("reference", "matches"), [("PO-123456", True), ("PO-12345", False), ("xPO-123456", False)]
)
def test_pattern_must_match_the_whole_value(reference, matches):
    settings = {"reference_pattern": r"PO-\d{6}"}
    violations = RequiredFields().check(purchase_order(reference=reference), context(settings))
    assert findings(violations) == (
        [] if matches else [("required_fields.pattern_mismatch", "reference")]
    )


def test_pattern_applies_to_a_filled_in_optional_field_only():
    settings = {"required": [], "contact_name_pattern": r"[A-Z][a-z]+ .+"}
    rule_set = RequiredFields()
    assert rule_set.check(purchase_order(contact_name=""), context(settings)) == []
    (violation,) = rule_set.check(purchase_order(contact_name="jan"), context(settings))
    assert violation.field == "contact_name"
    assert violation.message == (
        "Contact name “jan” does not have the required format ([A-Z][a-z]+ .+)."
    )


def test_a_bad_pattern_in_stored_settings_is_a_warning_not_a_crash():
    violations = RequiredFields().check(purchase_order(), context({"reference_pattern": "PO-[0-9"}))
    assert findings(violations) == [("required_fields.invalid_pattern", "reference")]
    assert violations[0].severity == Severity.WARNING


def test_a_pattern_that_backtracks_for_ever_is_stopped_and_reported():
    """A tenant's pattern such as (a|aa)+b on "aaaa…!" would take years to fail; running out
    of time leaves the field unchecked, so it blocks sending (tests/plugins/
    test_pattern_time_limit.py has the rest)."""
    settings = {"reference_pattern": r"(a|aa)+b"}
    order = purchase_order(reference="a" * 40 + "!")
    violations = RequiredFields().check(order, context(settings))
    assert findings(violations) == [("required_fields.pattern_timeout", "reference")]
    assert violations[0].severity == Severity.ERROR


@pytest.mark.parametrize(
    ("email", "valid"),
    [
        ("jan@example.com", True),
        ("jan.de.vries+po@bedrijf.nl", True),
        ("jan@", False),
        ("jan example.com", False),
        ("jan@localhost", False),
    ],
)
def test_contact_email_must_look_like_an_email_address(email, valid):
    violations = RequiredFields().check(purchase_order(contact_email=email), context())
    expected = [] if valid else [("required_fields.invalid_email", "contact_email")]
    assert findings(violations) == expected


@pytest.mark.parametrize(
    ("phone", "valid"),
    [
        ("+31 20 123 4567", True),
        ("(020) 123-4567", True),
        ("030/1234567", True),
        ("12345", False),
        ("call me", False),
        ("+31 20 123 4567 8901 2345", False),
    ],
)
def test_contact_phone_must_look_like_a_phone_number(phone, valid):
    violations = RequiredFields().check(purchase_order(contact_phone=phone), context())
    expected = [] if valid else [("required_fields.invalid_phone", "contact_phone")]
    assert findings(violations) == expected


def test_required_fields_form_takes_checkboxes_and_limits():
    form = RequiredFieldsForm(
        MultiDict(
            [
                ("required", "reference"),
                ("required", "line_note"),
                ("reference_min_length", "4"),
                ("reference_max_length", ""),
                ("reference_pattern", r"  PO-\d+ "),
            ]
        )
    )
    assert form.validate(), form.errors
    assert form.data["required"] == ["reference", "line_note"]
    assert form.data["reference_min_length"] == 4
    assert form.data["reference_max_length"] == 0
    assert form.data["reference_pattern"] == r"PO-\d+"


def test_required_fields_form_refuses_a_bad_pattern_naming_the_field():
    form = RequiredFieldsForm(MultiDict({"reference_pattern": "PO-[0-9"}))
    assert not form.validate()
    (message,) = form.errors["reference_pattern"]
    assert message.startswith(
        "The pattern for Customer reference is not a valid regular expression:"
    )


def test_required_fields_form_refuses_a_maximum_below_the_minimum():
    form = RequiredFieldsForm(
        MultiDict({"line_note_min_length": "10", "line_note_max_length": "5"})
    )
    assert not form.validate()
    assert form.errors == {
        "line_note_max_length": [
            "The maximum length of Line notes is smaller than its minimum length."
        ]
    }


def test_required_fields_form_compares_the_limits_under_the_hosts_prefix():
    prefix = "rule_set_required_fields-"
    form = RequiredFieldsForm(
        MultiDict({f"{prefix}reference_min_length": "8", f"{prefix}reference_max_length": "4"}),
        prefix=prefix,
    )
    assert not form.validate()
    assert list(form.errors) == ["reference_max_length"]


def test_required_fields_form_refuses_an_unknown_field():
    form = RequiredFieldsForm(MultiDict({"required": "favourite_colour"}))
    assert not form.validate()
    assert "required" in form.errors


# --- address rules ---------------------------------------------------------------------------

POSTCODES = [
    ("NL", "1015 CJ", True),
    ("NL", "1015cj", True),
    ("NL", "1015", False),
    ("NL", "0123 AB", False),
    ("DE", "10115", True),
    ("DE", "1011", False),
    ("DE", "10115 B", False),
    ("BE", "1000", True),
    ("BE", "10000", False),
    ("FR", "75001", True),
    ("FR", "7500", False),
    ("GB", "SW1A 1AA", True),
    ("GB", "M1 1AE", True),
    ("GB", "B33 8TH", True),
    ("GB", "CR2 6XH", True),
    ("GB", "DN55 1PT", True),
    ("GB", "W1A 0AX", True),
    ("GB", "ec1a1bb", True),
    ("GB", "GIR 0AA", True),
    ("GB", "SW1A", False),
    ("GB", "QW1 1AA", False),
    ("GB", "12345", False),
    ("US", "12345", True),
    ("US", "12345-6789", True),
    ("US", "1234", False),
    ("US", "12345-678", False),
    ("BR", "01310-100", True),
    ("BR", "01310100", True),
    ("BR", "01310-10", False),
    ("AT", "1010", True),
    ("AT", "101", False),
    ("CH", "8001", True),
    ("CH", "80010", False),
    ("LU", "1234", True),
    ("LU", "L-1234", True),
    ("LU", "12345", False),
    ("DK", "2100", True),
    ("DK", "210", False),
    ("NO", "0150", True),
    ("NO", "015", False),
    ("AU", "0800", True),
    ("AU", "20000", False),
    ("AT", "10100", False),
    ("FI", "00100", True),
    ("FI", "0010", False),
    ("CZ", "110 00", True),
    ("CZ", "1100", False),
    ("MX", "06000", True),
    ("MX", "0600", False),
    ("ES", "28013", True),
    ("ES", "53001", False),
    ("IT", "00184", True),
    ("IT", "0018", False),
    ("PL", "00-950", True),
    ("PL", "00950", True),  # written as the country writes it: 00-950
    ("PL", "009500", False),
    ("SE", "113 51", True),
    ("SE", "11351", True),
    ("SE", "1135", False),
    ("PT", "1000-001", True),
    ("PT", "1000", False),
    ("CA", "K1A 0B1", True),
    ("CA", "K1A0B1", True),
    ("CA", "D1A 0B1", False),
    ("IN", "110001", True),
    ("IN", "011000", False),
]


@pytest.mark.parametrize(("country", "postcode", "valid"), POSTCODES)
def test_postcode_format_per_country(country, postcode, valid):
    states = {
        "US": "NY",
        "BR": "SP",
        "CA": "ON",
        "AU": "NT",
        "MX": "CDMX",
        "IN": "Delhi",
        "ES": "M",
        "IT": "RM",
    }
    order = with_address(country=country, postcode=postcode, state=states.get(country, ""))
    violations = AddressRules().check(order, context())
    expected = [] if valid else [("address_rules.postcode_format", "delivery_address.postcode")]
    assert findings(violations) == expected


@pytest.mark.parametrize(
    ("country", "postcode", "message"),
    [
        (
            "NL",
            "12345",
            "Netherlands: the postcode 12345 is not valid (expected something like 1234 AB).",
        ),
        (
            "DE",
            "1234",
            "Germany: the postcode 1234 is not valid (expected something like 26133).",
        ),
        (
            "BR",
            "1234-567",
            "Brazil: the postcode 1234-567 is not valid (expected something like 40301-110).",
        ),
    ],
)
def test_postcode_message_names_country_and_expected_format(country, postcode, message):
    order = with_address(country=country, postcode=postcode, state="SP" if country == "BR" else "")
    (violation,) = AddressRules().check(order, context())
    assert violation.message == message


def test_postcode_is_required_where_the_format_is_known():
    (violation,) = AddressRules().check(with_address(postcode=""), context())
    assert (violation.code, violation.field) == (
        "address_rules.postcode_missing",
        "delivery_address.postcode",
    )
    assert violation.message == (
        "Netherlands: the delivery address needs a postcode, like 1234 AB."
    )


def test_countries_without_postcodes_need_none():
    order = with_address(country="AE", postcode="", city="Dubai", state="Dubai")
    assert AddressRules().check(order, context()) == []


@pytest.mark.parametrize("part", ["country", "name", "street", "city"])
def test_country_name_street_and_city_are_required(part):
    violations = AddressRules().check(with_address(**{part: " "}), context())
    assert (f"address_rules.{part}_missing", f"delivery_address.{part}") in errors(violations)


def test_missing_values_from_the_host_count_as_empty():
    order = with_address(name=None, street=None, postcode=None, phone=None)
    violations = AddressRules().check(replace(order, delivery_method="courier"), context())
    assert {field for _code, field in findings(violations)} == {
        "delivery_address.name",
        "delivery_address.street",
        "delivery_address.postcode",
        "delivery_address.phone",
    }


def test_an_unknown_country_code_is_refused():
    violations = AddressRules().check(with_address(country="XX"), context())
    assert findings(violations) == [("address_rules.unknown_country", "delivery_address.country")]


def test_only_the_countries_of_the_settings_are_allowed():
    settings = {"countries": ["NL", "BE"]}
    rule_set = AddressRules()
    assert rule_set.check(with_address(country="nl"), context(settings)) == []
    germany = with_address(country="DE", postcode="10115")
    (violation,) = rule_set.check(germany, context(settings))
    assert (violation.code, violation.field) == (
        "address_rules.country_not_allowed",
        "delivery_address.country",
    )
    assert violation.message == "Germany: this supplier does not deliver to this country."
    assert rule_set.check(germany, context({"countries": []})) == []
    # Settings stored as text by hand still work.
    assert rule_set.check(germany, context({"countries": "nl, be"})) == [violation]


@pytest.mark.parametrize(
    ("country", "postcode"),
    [
        ("US", "10001"),
        ("BR", "01310-100"),
        ("CA", "M5V 2T6"),
        ("AU", "2000"),
        ("MX", "06000"),
        ("IN", "110001"),
    ],
)
def test_state_is_required_where_the_country_needs_it(country, postcode):
    (violation,) = AddressRules().check(with_address(country=country, postcode=postcode), context())
    assert (violation.code, violation.field) == (
        "address_rules.state_missing",
        "delivery_address.state",
    )


@pytest.mark.parametrize(
    ("country", "postcode", "state", "valid"),
    [
        ("US", "20001", "DC", True),
        ("US", "10001", "ny", True),
        ("US", "10001", "New York", True),  # the name is known too; stored as NY
        ("US", "10001", "XX", False),
        ("BR", "01310-100", "SP", True),
        ("BR", "70040-010", "DF", True),
        ("BR", "01310-100", "SA", False),
        ("CA", "H2X 1Y4", "QC", True),
        ("CA", "H2X 1Y4", "PQ", False),
        ("AU", "2000", "NSW", True),
        ("AU", "2000", "NW", False),
        ("MX", "06000", "Ciudad de México", True),
    ],
)
def test_state_must_be_one_of_the_countrys_codes(country, postcode, state, valid):
    order = with_address(country=country, postcode=postcode, state=state)
    violations = AddressRules().check(order, context())
    expected = [] if valid else [("address_rules.state_invalid", "delivery_address.state")]
    assert findings(violations) == expected


def test_invalid_state_message_names_the_expected_codes():
    order = with_address(country="US", postcode="10001", state="XX")
    (violation,) = AddressRules().check(order, context())
    assert violation.message == (
        "United States: XX is not a state or province (expected one like AL, AK, AS)."
    )


@pytest.mark.parametrize(
    ("method", "settings", "phone", "required"),
    [
        ("courier", {}, "", True),
        ("courier", {}, "+31 20 123 4567", False),
        ("standard", {}, "", False),
        ("standard", {"always_require_phone": True}, "", True),
        ("standard", {"always_require_phone": True}, "020 123 4567", False),
    ],
)
def test_phone_for_courier_deliveries(method, settings, phone, required):
    order = replace(purchase_order(delivery_method=method), delivery_address=address(phone=phone))
    violations = AddressRules().check(order, context(settings))
    expected = [("address_rules.phone_missing", "delivery_address.phone")] if required else []
    assert findings(violations) == expected


def test_courier_phone_message_says_why():
    order = purchase_order(delivery_method="courier", delivery_address=address(phone=""))
    (violation,) = AddressRules().check(order, context())
    assert violation.message == "The delivery address needs a phone number for the courier."


def test_address_rules_form_offers_countries_by_name_and_refuses_unknown_codes():
    form = AddressRulesForm()
    choices = {choice.value: choice.label for choice in form.countries.choices}
    assert choices["NL"] == "Netherlands"
    assert "EU" not in choices
    posted = AddressRulesForm(MultiDict([("countries", "NL"), ("countries", "BE")]))
    assert posted.validate(), posted.errors
    assert posted.data == {"countries": ["NL", "BE"], "always_require_phone": False}
    assert not AddressRulesForm(MultiDict({"countries": "XX"})).validate()


# --- lead time -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "working_days", "holidays", "expected"),
    [
        (TODAY, 3, [], MONDAY),  # Thursday, Friday, (weekend), Monday
        (TODAY, 2, [], date(2026, 11, 27)),
        (TODAY, 0, [], TODAY),
        (TODAY, 3, [MONDAY], date(2026, 12, 1)),
        (TODAY, 3, [date(2026, 11, 28)], MONDAY),  # a holiday on a Saturday changes nothing
        (date(2026, 11, 28), 1, [], MONDAY),  # counted from a Saturday
        (date(2026, 12, 23), 3, [date(2026, 12, 25), date(2026, 12, 28)], date(2026, 12, 30)),
    ],
)
def test_earliest_delivery_date_skips_weekends_and_holidays(
    today, working_days, holidays, expected
):
    assert earliest_delivery_date(today, working_days, holidays) == expected


@pytest.mark.parametrize(
    ("delivery_date", "too_early"),
    [(date(2026, 11, 27), True), (date(2026, 11, 29), True), (MONDAY, False)],
)
def test_lead_time_across_a_weekend(delivery_date, too_early):
    violations = LeadTime().check(purchase_order(delivery_date=delivery_date), context())
    expected = [("lead_time.too_early", "delivery_date")] if too_early else []
    assert findings(violations) == expected


def test_too_early_message_gives_the_earliest_date():
    order = purchase_order(delivery_date=date(2026, 11, 27))
    (violation,) = LeadTime().check(order, context())
    assert violation.message == (
        "The delivery date 2026-11-27 is too early; the supplier needs 3 working days, so the earliest possible date is 2026-11-30."
    )
    (one_day,) = LeadTime().check(purchase_order(delivery_date=TODAY), context({"working_days": 1}))
    assert "needs 1 working day, so" in one_day.message


def test_lead_time_skips_a_holiday():
    settings = {"holidays": ["2026-11-30"]}
    rule_set = LeadTime()
    (violation,) = rule_set.check(purchase_order(delivery_date=MONDAY), context(settings))
    assert violation.code == "lead_time.too_early"
    assert violation.message.endswith("the earliest possible date is 2026-12-01.")
    assert rule_set.check(purchase_order(delivery_date=date(2026, 12, 1)), context(settings)) == []


def test_lead_time_settings():
    rule_set = LeadTime()
    order = purchase_order(delivery_date=date(2026, 12, 1))
    assert findings(rule_set.check(order, context({"working_days": 5}))) == [
        ("lead_time.too_early", "delivery_date")
    ]
    assert rule_set.check(purchase_order(delivery_date=TODAY), context({"working_days": 0})) == []


def test_delivery_date_is_required():
    violations = LeadTime().check(purchase_order(delivery_date=None), context())
    assert findings(violations) == [("lead_time.missing", "delivery_date")]
    assert violations[0].message == "A delivery date is required."


def test_line_delivery_dates_need_the_lead_time_too():
    order = purchase_order(
        delivery_date=MONDAY,
        lines=(
            line(1),
            line(2, delivery_date=date(2026, 11, 27)),
            line(3, delivery_date=date(2026, 12, 2)),
        ),
    )
    rule_set = LeadTime()
    (violation,) = rule_set.check(order, context())
    assert (violation.code, violation.field) == (
        "lead_time.line_too_early",
        "lines[2].delivery_date",
    )
    assert violation.message.startswith("Line 2: the delivery date 2026-11-27 is too early")
    assert rule_set.check(order, context({"check_line_dates": False})) == []


def test_a_delivery_date_more_than_a_year_ahead_is_a_warning():
    rule_set = LeadTime()
    in_a_year = TODAY + timedelta(days=365)
    assert rule_set.check(purchase_order(delivery_date=in_a_year), context()) == []
    order = purchase_order(
        delivery_date=in_a_year + timedelta(days=1),
        lines=(line(1, delivery_date=in_a_year + timedelta(days=30)),),
    )
    violations = rule_set.check(order, context())
    assert findings(violations) == [
        ("lead_time.far_ahead", "delivery_date"),
        ("lead_time.line_far_ahead", "lines[1].delivery_date"),
    ]
    assert {v.severity for v in violations} == {Severity.WARNING}


def test_lead_time_form_names_the_bad_holiday_lines():
    form = LeadTimeForm(
        MultiDict({"working_days": "3", "holidays": "2026-12-25\n\n2026-13-01\nChristmas\n"})
    )
    assert not form.validate()
    assert form.errors["holidays"] == [
        "Holidays, line 3: “2026-13-01” is not a date written like 2026-12-25.",
        "Holidays, line 4: “Christmas” is not a date written like 2026-12-25.",
    ]


def test_lead_time_form_keeps_holidays_as_a_list_of_iso_dates():
    form = LeadTimeForm(
        MultiDict(
            {
                "working_days": "5",
                "holidays": " 2026-12-25 \r\n\r\n2026-12-26",
                "check_line_dates": "y",
            }
        )
    )
    assert form.validate(), form.errors
    assert form.data == {
        "working_days": 5,
        "holidays": ["2026-12-25", "2026-12-26"],
        "check_line_dates": True,
    }
    assert form.holidays._value() == "2026-12-25\n2026-12-26"
    # A submitted form without the check box means "off".
    assert LeadTimeForm(MultiDict({"working_days": "3"})).data["check_line_dates"] is False


@pytest.mark.parametrize("working_days", ["-1", "251", "three"])
def test_lead_time_form_refuses_an_impossible_lead_time(working_days):
    assert not LeadTimeForm(MultiDict({"working_days": working_days})).validate()


# --- messages in the user's language ---------------------------------------------------------

PLUGINS = (portal_required_fields, portal_address_rules, portal_lead_time)


def plugin_translation_directories() -> list[str]:
    return [d for package in PLUGINS for d in package.portal_translation_directories()]


def german_findings() -> dict[str, str]:
    """Check orders with a mistake for each rule set; return code -> message."""
    too_early = purchase_order(delivery_date=date(2026, 11, 27))
    wrong_postcode = with_address(postcode="12345")
    no_reference = purchase_order(reference="")
    violations = [
        *LeadTime().check(too_early, context()),
        *AddressRules().check(wrong_postcode, context()),
        *RequiredFields().check(no_reference, context()),
    ]
    return {v.code: v.message for v in violations}


GERMAN = {
    "lead_time.too_early": (
        "Das Lieferdatum 27.11.2026 ist zu früh; der Lieferant braucht 3 Arbeitstage, "
        "daher ist das frühestmögliche Datum der 30.11.2026."
    ),
    "address_rules.postcode_format": (
        "Niederlande: Die Postleitzahl 12345 ist ungültig (erwartet: etwa 1234 AB)."
    ),
    "required_fields.missing": "Kundenreferenz ist ein Pflichtfeld.",
}


def test_messages_are_translated_with_the_plugins_catalogs():
    """The plugins' own catalogs, in a bare Flask-Babel application: no portal needed."""
    app = Flask(__name__)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(plugin_translation_directories())
    Babel(app, locale_selector=lambda: request.accept_languages.best_match(["en", "de"]))
    with app.test_request_context(headers={"Accept-Language": "de"}):
        assert german_findings() == GERMAN
        assert str(LeadTime.label) == "Lieferfrist"


def test_messages_are_german_in_a_german_request_of_the_portal(app):
    with app.test_request_context(headers={"Accept-Language": "de"}):
        assert str(get_locale()) == "de"
        known = {str(Path(d).resolve()) for d in get_babel().translation_directories}
        # The portal merges the plugins' catalogs (portal_translation_directories).
        assert {str(Path(d).resolve()) for d in plugin_translation_directories()} <= known
        assert german_findings() == GERMAN
