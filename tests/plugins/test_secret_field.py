"""Plugin configuration forms: secret fields never echo a secret, keep it unless replaced or
removed; stored values go in and out as JSON."""

from datetime import date
from decimal import Decimal

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, DateField, DecimalField, Form, IntegerField, StringField
from wtforms.validators import DataRequired, NumberRange, Optional

from portal.plugins.forms import (
    REMOVE,
    SecretField,
    changed_secrets,
    load_config_form,
    merge_secrets,
    split_config,
)
from portal.plugins.secrets import MASK, masked

SECRET = "sk_live_0123456789abcdef"
STORED = {"url": "https://api.example.test/orders", "verbose": True, "retries": 3}


class RestConfig(Form):
    url = StringField("Address", [DataRequired()])
    verbose = BooleanField("Verbose")
    retries = IntegerField("Retries", [Optional(), NumberRange(min=0, max=9)])
    api_key = SecretField("API key", [DataRequired()], description="From the supplier")
    password = SecretField("Password", [Optional()])


class DatedConfig(Form):
    since = DateField("Since", [Optional()])
    rate = DecimalField("Rate", [Optional()], places=2)


@pytest.fixture
def request_context(app):
    with app.test_request_context():
        yield


def posted(**fields) -> MultiDict:
    data = {"url": STORED["url"], "retries": "3", **fields}
    return MultiDict({key: value for key, value in data.items() if value is not None})


def form_with(formdata=None, secrets=None, **kwargs):
    return load_config_form(
        RestConfig, STORED, {"api_key": SECRET} if secrets is None else secrets, formdata, **kwargs
    )


# --- rendering ------------------------------------------------------------------------------


def test_a_stored_secret_is_shown_masked_and_never_itself(request_context):
    form = form_with()
    html = str(form.api_key())

    assert SECRET not in html
    assert SECRET[-4:] in html  # the mask ends with the last four characters
    assert f'placeholder="{masked(SECRET)}"' in html
    assert 'value=""' in html
    assert 'autocomplete="new-password"' in html
    assert 'type="checkbox"' in html
    assert 'name="api_key-clear"' in html
    assert '<label class="checkbox secret-clear">' in html
    # Plain settings are filled from what is stored.
    assert form.url.data == STORED["url"]
    assert form.verbose.data is True
    assert form.retries.data == 3


def test_without_a_stored_secret_there_is_no_placeholder_and_nothing_to_remove(request_context):
    html = str(form_with(secrets={}).api_key())
    assert "placeholder" not in html
    assert "checkbox" not in html


def test_a_short_secret_is_masked_without_revealing_any_of_it(request_context):
    html = str(form_with(secrets={"api_key": "short1"}).api_key())
    assert "short1" not in html
    assert f'placeholder="{MASK}"' in html


def test_a_newly_typed_secret_is_not_echoed_when_the_form_has_errors(request_context):
    form = form_with(posted(url="", api_key="brand-new-secret-value"))
    assert not form.validate()
    assert form.url.errors
    assert "brand-new-secret-value" not in str(form.api_key())


def test_the_secret_is_never_the_fields_data_even_when_passed_as_data(request_context):
    form = RestConfig(data={"api_key": SECRET})
    assert form.api_key.data in (None, "")
    assert SECRET not in str(form.api_key())


# --- submitting -----------------------------------------------------------------------------


@pytest.mark.parametrize("sent", ["", masked(SECRET)], ids=["empty", "mask"])
def test_an_empty_or_unchanged_mask_keeps_the_stored_secret(request_context, sent):
    form = form_with(posted(api_key=sent))

    assert form.validate(), form.errors  # DataRequired is satisfied by the stored secret
    plain, secrets = split_config(form)

    assert plain == {"url": STORED["url"], "verbose": False, "retries": 3}
    assert secrets["api_key"] == ""
    assert merge_secrets({"api_key": SECRET}, secrets) == {"api_key": SECRET}


def test_a_new_value_replaces_the_stored_secret(request_context):
    form = form_with(posted(api_key="a-fresh-key-4567"))
    assert form.validate()
    _, secrets = split_config(form)
    assert secrets == {"api_key": "a-fresh-key-4567", "password": ""}
    merged = merge_secrets({"api_key": SECRET, "password": "pw"}, secrets)
    assert merged == {"api_key": "a-fresh-key-4567", "password": "pw"}


def test_the_remove_checkbox_removes_an_optional_secret(request_context):
    form = form_with(
        posted(api_key="", **{"password-clear": "y"}),
        secrets={"api_key": SECRET, "password": "hunter2hunter2"},
    )
    assert form.validate(), form.errors
    _, secrets = split_config(form)
    assert secrets["password"] is REMOVE
    merged = merge_secrets({"api_key": SECRET, "password": "hunter2hunter2"}, secrets)
    assert merged == {"api_key": SECRET}


def test_removing_a_required_secret_is_refused(request_context):
    form = form_with(posted(api_key="", **{"api_key-clear": "y"}))
    assert not form.validate()
    assert form.api_key.errors == ["This field is required."]
    # The box stays ticked on the page shown again.
    assert "checked" in str(form.api_key())


def test_a_new_value_wins_over_a_ticked_remove_box(request_context):
    form = form_with(posted(api_key="replacement-key", **{"api_key-clear": "y"}))
    assert form.validate()
    assert split_config(form)[1]["api_key"] == "replacement-key"


def test_a_required_secret_that_was_never_stored_must_be_entered(request_context):
    form = form_with(posted(api_key=""), secrets={})
    assert not form.validate()
    assert form.api_key.errors == ["This field is required."]


def test_other_fields_are_validated_as_usual(request_context):
    form = form_with(posted(retries="12"))
    assert not form.validate()
    assert list(form.errors) == ["retries"]


def test_a_prefix_changes_the_field_names_but_not_the_keys(request_context):
    formdata = MultiDict({"config-url": "https://x.test", "config-api_key": ""})
    form = form_with(formdata, prefix="config")
    assert form.url.name == "config-url"
    assert 'name="config-api_key-clear"' in str(form.api_key())
    assert form.validate(), form.errors
    plain, secrets = split_config(form)
    assert plain["url"] == "https://x.test"
    assert set(secrets) == {"api_key", "password"}


# --- stored values ------------------------------------------------------------------------


def test_dates_and_decimals_are_stored_as_json_and_read_back(request_context):
    form = DatedConfig(MultiDict({"since": "2026-03-01", "rate": "1.50"}))
    assert form.validate()
    plain, secrets = split_config(form)
    assert plain == {"since": "2026-03-01", "rate": "1.50"}
    assert secrets == {}

    again = load_config_form(DatedConfig, plain, None)
    assert again.since.data == date(2026, 3, 1)
    assert again.rate.data == Decimal("1.50")
    assert 'value="2026-03-01"' in str(again.since())


def test_a_stored_value_the_field_cannot_read_is_dropped(request_context):
    form = load_config_form(DatedConfig, {"since": "not a date", "unknown": 1}, None)
    assert form.since.data is None


def test_merge_secrets_keeps_removes_and_replaces():
    old = {"a": "alpha-secret-1", "b": "bravo-secret-2", "c": "charlie"}
    merged = merge_secrets(old, {"a": "", "b": "new-bravo", "c": REMOVE, "d": "delta"})
    assert merged == {"a": "alpha-secret-1", "b": "new-bravo", "d": "delta"}
    assert merge_secrets(None, {"a": ""}) == {}
    assert merge_secrets(old, {"a": masked(old["a"])}) == old
    assert old == {"a": "alpha-secret-1", "b": "bravo-secret-2", "c": "charlie"}  # not mutated


def test_changed_secrets_names_what_differs_without_values():
    assert changed_secrets({"a": "1", "b": "2"}, {"a": "1", "b": "3", "c": "4"}) == ["b", "c"]
    assert changed_secrets({"a": "1"}, None) == ["a"]
    assert changed_secrets(None, None) == []


def test_wtforms_own_messages_come_in_the_users_language(app):
    from portal.plugins.forms import load_config_form

    class Settings(Form):
        days = IntegerField("Days")

    with app.test_request_context(headers={"Accept-Language": "de"}):
        form = load_config_form(Settings, {}, {}, MultiDict({"days": "many"}))
        assert not form.validate()
        assert form.days.errors == ["Keine gültige, ganze Zahl."]
