"""Configuration forms of plugins: secret fields, and turning forms into stored values and back.

A plugin's ``config_form`` (an integration's) or ``settings_form`` (a rule set's) is an
ordinary :class:`wtforms.Form`. Mark every secret with :class:`SecretField`::

    from wtforms import Form, StringField
    from portal.plugins.forms import SecretField

    class RestConfig(Form):
        url = StringField(_l("Address of the supplier's API"), [DataRequired(), URL()])
        api_key = SecretField(_l("API key"), [DataRequired()])

The portal stores the plain values as JSON (``Supplier.integration_config``) and the secrets
encrypted (``Supplier.integration_secrets``); the integration receives them as ``config`` and
``secrets``, both keyed by field name.

How a secret behaves on the page:

* it is never sent to the browser: the input stays empty and shows the stored secret only
  masked (:func:`portal.plugins.secrets.masked`) as its placeholder;
* left empty, or sent back with the mask unchanged, the stored secret is kept (and
  validators such as ``DataRequired`` are satisfied by it);
* a new value replaces it;
* the "remove" checkbox beside a stored secret (form field ``<name>-clear``) removes it.

Secrets never appear in logs or in the audit log; the audit log names the secrets that
changed, without their values.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from wtforms import Field, Form, PasswordField
from wtforms.csrf.core import CSRFTokenField
from wtforms.fields import DateField, DateTimeField, DecimalField, SubmitField, TimeField
from wtforms.widgets import PasswordInput

from portal.plugins.secrets import masked

#: Suffix of the checkbox that removes a stored secret: ``<field name>-clear``.
CLEAR_SUFFIX = "-clear"
#: In the secrets of :func:`split_config`: remove the stored secret.
REMOVE = None

__all__ = [
    "CLEAR_SUFFIX",
    "REMOVE",
    "SecretField",
    "SecretInput",
    "changed_secrets",
    "load_config_form",
    "merge_secrets",
    "secret_fields",
    "split_config",
]


class SecretInput(PasswordInput):
    """An empty password input with the stored secret masked as placeholder, and a checkbox
    to remove a stored secret."""

    def __init__(self) -> None:
        super().__init__(hide_value=True)

    def __call__(self, field: SecretField, **kwargs: Any) -> Markup:
        kwargs.setdefault("autocomplete", "new-password")
        if field.stored:
            kwargs.setdefault("placeholder", masked(field.stored))
        html = super().__call__(field, **kwargs)
        if field.stored and field.removable:
            html += Markup(
                '<label class="checkbox secret-clear">'
                '<input type="checkbox" id="{id}" name="{name}" value="y"{checked}> {text}'
                "</label>"
            ).format(
                id=f"{field.id}{CLEAR_SUFFIX}",
                name=f"{field.name}{CLEAR_SUFFIX}",
                checked=Markup(" checked") if field.remove_requested else "",
                text=str(field.remove_label),
            )
        return html


class SecretField(PasswordField):
    """A secret of a plugin's configuration: encrypted at rest, shown masked, never echoed.

    ``stored`` holds the secret saved before (set by :func:`load_config_form`); it is never
    rendered. ``data`` is what was typed: ``""`` (or the mask) when the secret is to be kept.
    """

    widget = SecretInput()

    def __init__(
        self,
        label=None,
        validators=None,
        *,
        removable: bool = True,
        remove_label: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(label, validators, **kwargs)
        self.removable = removable
        self.remove_label = remove_label or _l("Remove the stored secret")
        self.stored = ""
        self.remove_requested = False

    def process(self, formdata, data=None, extra_filters=None) -> None:
        # The stored secret never becomes the field's data: data is only what was typed.
        super().process(formdata, extra_filters=extra_filters)
        self.remove_requested = bool(
            self.removable and formdata is not None and formdata.get(self.name + CLEAR_SUFFIX)
        )

    def _value(self) -> str:
        return ""

    @property
    def unchanged(self) -> bool:
        """True when nothing new was typed (empty, or the mask sent back)."""
        typed = self.data or ""
        return typed == "" or (bool(self.stored) and typed == masked(self.stored))

    @property
    def keeps_stored(self) -> bool:
        return bool(self.stored) and self.unchanged and not self.remove_requested

    @property
    def submitted_secret(self) -> str | None:
        """What to store: the new secret, ``""`` to keep the stored one, or :data:`REMOVE`."""
        if self.remove_requested and self.unchanged:
            return REMOVE
        return "" if self.unchanged else self.data

    def validate(self, form, extra_validators=()) -> bool:
        if self.keeps_stored:
            # The stored secret was checked when it was entered.
            self.errors = list(self.process_errors)
            return not self.errors
        return super().validate(form, extra_validators)


def secret_fields(form: Form) -> list[SecretField]:
    return [field for field in form if isinstance(field, SecretField)]


def _skipped(field: Field) -> bool:
    return isinstance(field, CSRFTokenField | SubmitField)


def jsonable(value: Any) -> Any:
    """Return ``value`` as JSON can store it: dates in ISO 8601, decimals as strings."""
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def split_config(form: Form) -> tuple[dict[str, Any], dict[str, str | None]]:
    """Return ``(plain, secrets)`` of a validated form, both keyed by field name.

    ``plain`` is JSON-able. ``secrets`` maps each :class:`SecretField` to the new secret,
    ``""`` (keep the stored one) or :data:`REMOVE`; pass it to :func:`merge_secrets`.
    """
    plain: dict[str, Any] = {}
    secrets: dict[str, str | None] = {}
    for field in form:
        if _skipped(field):
            continue
        if isinstance(field, SecretField):
            secrets[field.short_name] = field.submitted_secret
        else:
            plain[field.short_name] = jsonable(field.data)
    return plain, secrets


def _restore(field: Field, value: Any) -> Any:
    """Turn a stored JSON value back into what ``field`` holds as data."""
    if not isinstance(value, str):
        return value
    try:
        # DateField is a DateTimeField: the narrower type first.
        if isinstance(field, DateField):
            return date.fromisoformat(value)
        if isinstance(field, DateTimeField):
            return datetime.fromisoformat(value)
        if isinstance(field, TimeField):
            return time.fromisoformat(value)
        if isinstance(field, DecimalField):
            return Decimal(value)
    except (ValueError, InvalidOperation):
        return None
    return value


def _wtforms_locales() -> list[str] | bool:
    """The user's language for WTForms' own messages ("Not a valid integer value.").

    Plugin forms are plain ``wtforms.Form`` classes, which do not get Flask-WTF's translations;
    WTForms ships catalogs of its own and picks one by these names.
    """
    from flask_babel import get_locale

    locale = get_locale()
    if locale is None:
        return False
    return [str(locale), locale.language]


def load_config_form(
    form_cls: type[Form],
    plain: Mapping[str, Any] | None,
    secrets: Mapping[str, str] | None,
    formdata=None,
    *,
    prefix: str = "",
) -> Form:
    """Build ``form_cls`` filled from request data (``formdata``) or else from stored values.

    Secret fields learn the stored secret (shown masked, kept when nothing new is typed).
    """
    form = form_cls(formdata=None, prefix=prefix, meta={"locales": _wtforms_locales()})
    stored = dict(plain or {})
    data = {
        field.short_name: _restore(field, stored[field.short_name])
        for field in form
        if field.short_name in stored and not isinstance(field, SecretField)
    }
    form.process(formdata, data=data)
    for field in secret_fields(form):
        field.stored = (secrets or {}).get(field.short_name, "") or ""
    return form


def merge_secrets(
    old_secrets: Mapping[str, str] | None, new_secrets: Mapping[str, str | None]
) -> dict[str, str]:
    """Return the secrets to store: the old ones, replaced where a new value was given and
    removed where :data:`REMOVE` was asked for; empty or masked values keep the old one."""
    merged = dict(old_secrets or {})
    for key, value in new_secrets.items():
        if value is REMOVE:
            merged.pop(key, None)
        elif value == "" or value == masked(merged.get(key, "")):
            continue
        else:
            merged[key] = value
    return merged


def changed_secrets(
    old_secrets: Mapping[str, str] | None, new_secrets: Mapping[str, str] | None
) -> list[str]:
    """Return the names of the secrets that differ (set, replaced or removed), sorted."""
    old, new = dict(old_secrets or {}), dict(new_secrets or {})
    return sorted(key for key in old.keys() | new.keys() if old.get(key) != new.get(key))
