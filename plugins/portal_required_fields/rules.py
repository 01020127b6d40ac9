"""The required-fields rule set and its settings form.

Settings (the data of :class:`RequiredFieldsForm`)::

    {
        "required": ["delivery_date", "reference"],   # any of REQUIRABLE_FIELDS
        "reference_min_length": 0,                     # 0: no minimum
        "reference_max_length": 0,                     # 0: no maximum
        "reference_pattern": "",                       # "": any text
        ...                                            # the same three for each TEXT_FIELDS
    }

The limits and the pattern of a text field apply whenever the field is filled in, whether it
is required or not, so "optional, but when given it looks like PO-123" can be expressed.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import regex
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from wtforms import Form, IntegerField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from portal.plugins import PurchaseOrderData, RuleContext, RuleSet, Severity, Violation

#: The fields a tenant can make required, with the names users know them by. ``line_note``
#: stands for the note of every line (``lines[<position>].note``).
REQUIRABLE_FIELDS = {
    "delivery_date": _l("Delivery date"),
    "reference": _l("Customer reference"),
    "contact_name": _l("Contact name"),
    "contact_phone": _l("Contact phone number"),
    "contact_email": _l("Contact e-mail address"),
    "delivery_instructions": _l("Delivery instructions"),
    "line_note": _l("Line notes"),
}
#: Order-level text fields, checked with their limits and pattern.
ORDER_TEXT_FIELDS = (
    "reference",
    "contact_name",
    "contact_phone",
    "contact_email",
    "delivery_instructions",
)
LINE_NOTE = "line_note"
TEXT_FIELDS = (*ORDER_TEXT_FIELDS, LINE_NOTE)
#: Required when the settings say nothing.
DEFAULT_REQUIRED = ("delivery_date", "reference")
PATTERN_MAX_LENGTH = 200

#: Seconds a tenant's pattern may take on one value before it counts as set up wrongly.
PATTERN_TIMEOUT = 0.05
#: Length of the runs of one character that a pattern must reject in time to be saved.
PROBE_LENGTH = 5000
#: Characters of those runs, besides the pattern's own; each run ends in a character that
#: a pattern rarely accepts there, the case that makes a backtracking pattern try every split.
PROBE_CHARACTERS = "aA1 -._/,:"
PROBE_ENDINGS = ("!", "\x00")
# A phone number as people write it: an optional +, then digits with spaces, brackets,
# dots, dashes or slashes; 6 to 15 digits (E.164 allows at most 15).
PHONE_CHARACTERS = re.compile(r"\+?[\d\s().\-/]+")
PHONE_DIGITS = range(6, 16)


# --- settings --------------------------------------------------------------------------------


class LengthLimitField(IntegerField):
    """A number of characters; empty means 0, which means no limit."""

    def __init__(self, label, validators=(), **kwargs):
        super().__init__(
            label,
            validators=[Optional(), NumberRange(min=0, max=10_000), *validators],
            default=0,
            filters=[lambda value: value or 0],
            **kwargs,
        )


class ValidPattern:
    """Refuse a text that is not a regular expression Python understands."""

    def __init__(self, field_label) -> None:
        self.field_label = field_label

    def __call__(self, form: Form, field) -> None:
        if not field.data:
            return
        try:
            compiled = regex.compile(field.data)
        except regex.error as error:
            raise ValidationError(
                _(
                    "The pattern for %(field)s is not a valid regular expression: %(error)s.",
                    field=self.field_label,
                    error=str(error),
                )
            ) from None
        slow = first_slow_probe(compiled)
        if slow is not None:
            raise ValidationError(
                _(
                    "The pattern for %(field)s takes too long to check a simple text (“%(character)s” repeated %(count)s times), because it can match the same characters in very many ways. Orders would be held back while it is in place. Avoid a repetition inside a repetition, such as (a+)+.",
                    field=self.field_label,
                    count=PROBE_LENGTH,
                    character=slow,
                )
            )


def probe_texts(pattern: str) -> list[str]:
    """Return the texts a pattern is tried on before it is saved: long runs of one
    character (common ones and the pattern's own printable ones), each with a bad ending."""
    characters = dict.fromkeys(PROBE_CHARACTERS)
    characters.update(dict.fromkeys(c for c in pattern if c.isprintable() and not c.isspace()))
    return [c * PROBE_LENGTH + end for c in characters for end in PROBE_ENDINGS]


def first_slow_probe(compiled: regex.Pattern) -> str | None:
    """Return the character whose run the pattern cannot judge within
    :data:`PATTERN_TIMEOUT`, or None when it judges every probe in time."""
    for text in probe_texts(compiled.pattern):
        try:
            compiled.fullmatch(text, timeout=PATTERN_TIMEOUT)
        except TimeoutError:
            return text[0]
    return None


class NotBelowMinimum:
    """Refuse a maximum length below the minimum length of the same field."""

    def __init__(self, minimum_field: str, field_label) -> None:
        self.minimum_field = minimum_field
        self.field_label = field_label

    def __call__(self, form: Form, field) -> None:
        minimum = form[self.minimum_field].data
        if field.data and minimum and field.data < minimum:
            raise ValidationError(
                _(
                    "The maximum length of %(field)s is smaller than its minimum length.",
                    field=self.field_label,
                )
            )


class RequiredFieldsForm(Form):
    """Which fields a purchase order must carry, and limits for its text fields.

    Defaults: delivery date and customer reference required, no limits, no patterns. One
    ``<field>_min_length``, ``<field>_max_length`` and ``<field>_pattern`` follow for each
    of :data:`TEXT_FIELDS` (added below the class).
    """

    required = SelectMultipleField(
        _l("Required fields"),
        choices=[SelectChoice(name, label) for name, label in REQUIRABLE_FIELDS.items()],
        default=list(DEFAULT_REQUIRED),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        description=_l("A purchase order without these cannot be sent to the supplier."),
    )


def _add_text_limits(form_class: type[Form]) -> None:
    for name in TEXT_FIELDS:
        label = REQUIRABLE_FIELDS[name]
        setattr(
            form_class,
            f"{name}_min_length",
            LengthLimitField(
                _l("%(field)s: minimum length", field=label),
                description=_l("In characters; 0 means no minimum."),
            ),
        )
        setattr(
            form_class,
            f"{name}_max_length",
            LengthLimitField(
                _l("%(field)s: maximum length", field=label),
                validators=[NotBelowMinimum(f"{name}_min_length", label)],
                description=_l("In characters; 0 means no maximum."),
            ),
        )
        setattr(
            form_class,
            f"{name}_pattern",
            StringField(
                _l("%(field)s: pattern", field=label),
                validators=[Length(max=PATTERN_MAX_LENGTH), ValidPattern(label)],
                default="",
                filters=[lambda value: (value or "").strip()],
                description=_l(
                    "A regular expression the whole value must match, for example PO-[0-9]{6}. Empty: any text."
                ),
            ),
        )


_add_text_limits(RequiredFieldsForm)


# --- the rule set ----------------------------------------------------------------------------


class RequiredFields(RuleSet):
    """Require order fields and check the shape of its text fields.

    With empty settings the delivery date and the customer reference are required and no
    length limits or patterns apply (the defaults of :class:`RequiredFieldsForm`). A filled-in
    contact e-mail address must look like one, and so must a contact phone number, whether
    they are required or not. A pattern in the settings that is not a valid regular
    expression (the form refuses one, but stored settings may predate that) is reported as a
    warning instead of being applied. A pattern that cannot judge a value within
    :data:`PATTERN_TIMEOUT` leaves that value unchecked, so it is an error naming the field:
    the order waits until the pattern is fixed (the form refuses a pattern that already
    runs out of time on :func:`probe_texts`).
    """

    key = "required_fields"
    label = _l("Required fields")
    description = _l(
        "Choose which fields a purchase order must carry before it is sent, with length limits and formats for the text fields."
    )
    settings_form = RequiredFieldsForm

    def check(self, order: PurchaseOrderData, ctx: RuleContext) -> Sequence[Violation]:
        settings = ctx.settings
        required = _required_fields(settings)
        # Patterns that ran out of time on this order: not run again on its other values,
        # so one bad pattern costs one time limit, not one per line.
        timed_out: set[str] = set()
        violations: list[Violation] = []
        if "delivery_date" in required and order.delivery_date is None:
            violations.append(_missing("delivery_date", REQUIRABLE_FIELDS["delivery_date"]))
        for name in ORDER_TEXT_FIELDS:
            violations += _check_text(
                name,
                name,
                REQUIRABLE_FIELDS[name],
                getattr(order, name),
                required,
                settings,
                timed_out,
            )
        for line in order.lines:
            violations += _check_text(
                LINE_NOTE,
                f"lines[{line.position}].note",
                _("Note of line %(position)s", position=line.position),
                line.note,
                required,
                settings,
                timed_out,
            )
        return violations


def _required_fields(settings: Mapping[str, Any]) -> Collection[str]:
    required = settings.get("required", DEFAULT_REQUIRED)
    return {required} if isinstance(required, str) else set(required or ())


def _length_limit(settings: Mapping[str, Any], key: str) -> int:
    try:
        return max(int(settings.get(key) or 0), 0)
    except (TypeError, ValueError):
        return 0


def _missing(field: str, label) -> Violation:
    return Violation("required_fields.missing", field, _("%(field)s is required.", field=label))


def _check_text(
    name: str,
    field: str,
    label,
    value: str | None,
    required: Collection[str],
    settings: Mapping[str, Any],
    timed_out: set[str],
) -> list[Violation]:
    """Check one text value: present when required; when given, its limits and shape."""
    value = (value or "").strip()
    if not value:
        return [_missing(field, label)] if name in required else []
    violations = []
    minimum = _length_limit(settings, f"{name}_min_length")
    maximum = _length_limit(settings, f"{name}_max_length")
    if minimum and len(value) < minimum:
        violations.append(
            Violation(
                "required_fields.too_short",
                field,
                ngettext(
                    "%(field)s must be at least %(num)d character long.",
                    "%(field)s must be at least %(num)d characters long.",
                    minimum,
                    field=label,
                ),
            )
        )
    if maximum and len(value) > maximum:
        violations.append(
            Violation(
                "required_fields.too_long",
                field,
                ngettext(
                    "%(field)s must be at most %(num)d character long.",
                    "%(field)s must be at most %(num)d characters long.",
                    maximum,
                    field=label,
                ),
            )
        )
    violations += _check_pattern(
        field, label, value, settings.get(f"{name}_pattern") or "", timed_out
    )
    if name == "contact_email" and not _looks_like_email(value):
        violations.append(
            Violation(
                "required_fields.invalid_email",
                field,
                _("The contact e-mail address “%(value)s” is not valid.", value=value),
            )
        )
    if name == "contact_phone" and not _looks_like_phone(value):
        violations.append(
            Violation(
                "required_fields.invalid_phone",
                field,
                _(
                    "The contact phone number “%(value)s” is not valid (expected digits, optionally starting with +, like +31 20 123 4567).",
                    value=value,
                ),
            )
        )
    return violations


def _check_pattern(
    field: str, label, value: str, pattern: str, timed_out: set[str]
) -> list[Violation]:
    if not pattern:
        return []
    try:
        compiled = regex.compile(pattern)
    except regex.error:
        return [
            Violation(
                "required_fields.invalid_pattern",
                field,
                _(
                    "The format required for %(field)s is set up wrongly and was not checked; please tell your administrator.",
                    field=label,
                ),
                Severity.WARNING,
            )
        ]
    try:
        if pattern in timed_out:
            raise TimeoutError
        # A pattern is tenant data: one that backtracks for ever must not stall sending.
        matched = compiled.fullmatch(value, timeout=PATTERN_TIMEOUT)
    except TimeoutError:
        # Unchecked mandatory data must not pass: the order waits until the pattern is fixed.
        timed_out.add(pattern)
        return [
            Violation(
                "required_fields.pattern_timeout",
                field,
                _(
                    "%(field)s could not be checked against its required format in time, so the order cannot be sent yet. The format is probably set up too intricately; please tell your administrator.",
                    field=label,
                ),
                Severity.ERROR,
            )
        ]
    if matched:
        return []
    return [
        Violation(
            "required_fields.pattern_mismatch",
            field,
            _(
                "%(field)s “%(value)s” does not have the required format (%(pattern)s).",
                field=label,
                value=value,
                pattern=pattern,
            ),
        )
    ]


def _looks_like_email(value: str) -> bool:
    try:
        # Syntax only: deliverability would need DNS, and check() does no I/O.
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _looks_like_phone(value: str) -> bool:
    digits = sum(character.isdigit() for character in value)
    return PHONE_CHARACTERS.fullmatch(value) is not None and digits in PHONE_DIGITS
