"""Form fields and validators that speak our own words: one translated message per problem.

WTForms' built-in messages ("Not a valid integer value.", "Field must be between 8 and 256
characters long.") are neither ours nor complete in every language, and an integer field
given "1.5" reports the failed conversion and then a range error for the missing value.
The fields here report one message, written by us and translated by our catalogs.
"""

from __future__ import annotations

from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import IntegerField
from wtforms.validators import DataRequired, StopValidation, ValidationError

from portal.core.errors import too_long

#: The message of a whole-number field given something else ("1.5", "ten").
NOT_A_WHOLE_NUMBER = _l("Please enter a whole number.")


def required(message) -> DataRequired:
    """Return a validator that refuses an empty field with ``message`` (a lazy string)."""
    return DataRequired(message=message)


class WholeNumberField(IntegerField):
    """An integer field that reports "Please enter a whole number." and nothing else when the
    input is not one, and a range error only for a whole number outside ``minimum``/``maximum``.

    An empty input is allowed (``data`` is None); add :func:`required` to refuse it.
    """

    def __init__(self, label=None, validators=None, *, minimum=None, maximum=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.minimum = minimum
        self.maximum = maximum

    def process_formdata(self, valuelist) -> None:
        if not valuelist:
            return
        text = (valuelist[0] or "").strip()
        if not text:
            self.data = None
            return
        try:
            self.data = int(text)
        except ValueError:
            self.data = None
            raise ValueError(str(NOT_A_WHOLE_NUMBER)) from None

    def pre_validate(self, form) -> None:
        if self.process_errors:
            # The conversion's message is already there; a range error would only repeat it.
            raise StopValidation()
        if self.data is None:
            return
        low, high = self.minimum, self.maximum
        if (low is not None and self.data < low) or (high is not None and self.data > high):
            raise StopValidation(range_message(low, high))


def range_message(low: int | None, high: int | None) -> str:
    """Return the message for a whole number outside ``low``..``high``, in the request's
    language with its number format."""
    if high is None:
        if low == 0:
            return _("Please enter zero or more.")
        return _("Please enter a whole number of at least %(min)s.", min=format_decimal(low))
    return _(
        "Please enter a whole number from %(min)s to %(max)s.",
        min=format_decimal(low if low is not None else 0),
        max=format_decimal(high),
    )


class TextLength:
    """Refuse a text shorter than ``minimum`` or longer than ``maximum`` characters, in our
    words (WTForms' ``Length`` says "Field must be between 8 and 256 characters long.").

    ``too_short`` may name what is too short ("The password must be at least ...").
    """

    def __init__(self, *, minimum: int | None = None, maximum: int | None = None, too_short=None):
        self.minimum = minimum
        self.maximum = maximum
        self.too_short = too_short
        # Browsers limit what can be typed, as WTForms' Length tells them to.
        self.field_flags = {
            key: value
            for key, value in (("minlength", minimum), ("maxlength", maximum))
            if value is not None
        }

    def __call__(self, form, field) -> None:
        length = len(field.data or "")
        if self.maximum is not None and length > self.maximum:
            raise ValidationError(str(too_long(self.maximum)))
        if self.minimum is not None and length < self.minimum:
            raise ValidationError(
                str(
                    self.too_short
                    or ngettext(
                        "At least %(num)d character is needed here.",
                        "At least %(num)d characters are needed here.",
                        self.minimum,
                    )
                )
            )
