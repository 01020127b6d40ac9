"""The lead-time rule set: the delivery date leaves the supplier enough working days.

Settings (the data of :class:`LeadTimeForm`)::

    {
        "working_days": 3,                          # lead time; weekends never count
        "holidays": ["2026-12-25", "2026-12-26"],   # ISO dates that do not count either
        "check_line_dates": True,                   # check the lines' own delivery dates too
    }
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from flask import current_app, has_request_context
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, Form, IntegerField, TextAreaField
from wtforms.validators import NumberRange, Optional, StopValidation

from portal.plugins import PurchaseOrderData, RuleContext, RuleSet, Severity, Violation

DEFAULT_WORKING_DAYS = 3
MAX_WORKING_DAYS = 250  # about a year of working days
#: A delivery date further ahead than this is probably a typing error: a warning.
FAR_AHEAD = timedelta(days=365)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_iso_date(text: str) -> date | None:
    """Return the date written as YYYY-MM-DD in ``text``, or None."""
    text = text.strip()
    if not ISO_DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:  # 2026-02-30
        return None


def earliest_delivery_date(today: date, working_days: int, holidays: Iterable[date]) -> date:
    """Return the day ``working_days`` working days after ``today``.

    Saturdays, Sundays and ``holidays`` are not working days; with 0 it is ``today``.
    """
    closed = frozenset(holidays)
    day = today
    remaining = working_days
    while remaining > 0:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in closed:
            remaining -= 1
    return day


# --- settings --------------------------------------------------------------------------------


class DateListField(TextAreaField):
    """A text area with one date (YYYY-MM-DD) a line; its data is the list of those dates
    as ISO text, blank lines left out."""

    def process_data(self, value):
        self.data = _date_lines(value or ())

    def process_formdata(self, valuelist):
        if valuelist:
            self.data = _date_lines(valuelist[0])

    def _value(self) -> str:
        return "\n".join(self.data or ())

    def pre_validate(self, form: Form) -> None:
        # Count the lines as the user sees them in the text area, blank ones included.
        lines = self.raw_data[0].splitlines() if self.raw_data else list(self.data or ())
        for number, line in enumerate(lines, start=1):
            if line.strip() and parse_iso_date(line) is None:
                self.errors.append(
                    _(
                        "Holidays, line %(number)s: “%(line)s” is not a date written like 2026-12-25.",
                        number=number,
                        line=line.strip(),
                    )
                )
        if self.errors:
            raise StopValidation()  # the messages above name each wrong line


def _date_lines(value: str | Iterable[str]) -> list[str]:
    """Return the non-blank lines of ``value`` (text or a list), stripped."""
    lines = value.splitlines() if isinstance(value, str) else value
    return [text for text in (str(line).strip() for line in lines) if text]


class LeadTimeForm(Form):
    """The lead time in working days, the holidays and whether line dates are checked.

    Defaults: 3 working days, no holidays, line dates checked.
    """

    working_days = IntegerField(
        _l("Lead time in working days"),
        validators=[Optional(), NumberRange(min=0, max=MAX_WORKING_DAYS)],
        default=DEFAULT_WORKING_DAYS,
        filters=[lambda value: DEFAULT_WORKING_DAYS if value is None else value],
        description=_l(
            "How many working days the supplier needs between the order and the delivery. Saturdays, Sundays and the holidays below do not count."
        ),
    )
    holidays = DateListField(
        _l("Holidays"),
        default=[],
        description=_l("Days the supplier does not work, one a line, like 2026-12-25."),
    )
    check_line_dates = BooleanField(
        _l("Check the delivery dates of the lines too"),
        default=True,
        description=_l("Lines may have their own delivery date; it needs the same lead time."),
    )


# --- the rule set ----------------------------------------------------------------------------


class LeadTime(RuleSet):
    """Require a delivery date that leaves the supplier its lead time.

    The delivery date must be at least ``working_days`` working days after today (Saturdays,
    Sundays and the holidays of the settings do not count); so must the delivery dates of
    the lines when ``check_line_dates`` is on. A date more than 365 days ahead gets a
    warning. With empty settings: 3 working days, no holidays, line dates checked.
    """

    key = "lead_time"
    label = _l("Delivery lead time")
    description = _l(
        "Require a delivery date that leaves the supplier enough working days, weekends and holidays excluded."
    )
    settings_form = LeadTimeForm

    def check(self, order: PurchaseOrderData, ctx: RuleContext) -> Sequence[Violation]:
        settings = ctx.settings
        working_days = _working_days(settings)
        earliest = earliest_delivery_date(ctx.today, working_days, _holidays(settings))
        far = ctx.today + FAR_AHEAD
        violations = []
        if order.delivery_date is None:
            violations.append(
                Violation("lead_time.missing", "delivery_date", _("A delivery date is required."))
            )
        elif order.delivery_date < earliest:
            violations.append(
                Violation(
                    "lead_time.too_early",
                    "delivery_date",
                    ngettext(
                        "The delivery date %(date)s is too early; the supplier needs %(num)d working day, so the earliest possible date is %(earliest)s.",
                        "The delivery date %(date)s is too early; the supplier needs %(num)d working days, so the earliest possible date is %(earliest)s.",
                        working_days,
                        date=_format_date(order.delivery_date),
                        earliest=_format_date(earliest),
                    ),
                )
            )
        elif order.delivery_date > far:
            violations.append(
                Violation(
                    "lead_time.far_ahead",
                    "delivery_date",
                    _(
                        "The delivery date %(date)s is more than a year ahead; please check it.",
                        date=_format_date(order.delivery_date),
                    ),
                    Severity.WARNING,
                )
            )
        if settings.get("check_line_dates", True):
            for line in order.lines:
                violations += _check_line(
                    line.position, line.delivery_date, earliest, far, working_days
                )
        return violations


def _check_line(
    position: int, delivery_date: date | None, earliest: date, far: date, working_days: int
) -> list[Violation]:
    field = f"lines[{position}].delivery_date"
    if delivery_date is None:
        return []  # the line is delivered on the order's date
    if delivery_date < earliest:
        message = ngettext(
            "Line %(position)s: the delivery date %(date)s is too early; the supplier needs %(num)d working day, so the earliest possible date is %(earliest)s.",
            "Line %(position)s: the delivery date %(date)s is too early; the supplier needs %(num)d working days, so the earliest possible date is %(earliest)s.",
            working_days,
            position=position,
            date=_format_date(delivery_date),
            earliest=_format_date(earliest),
        )
        return [Violation("lead_time.line_too_early", field, message)]
    if delivery_date > far:
        message = _(
            "Line %(position)s: the delivery date %(date)s is more than a year ahead; please check it.",
            position=position,
            date=_format_date(delivery_date),
        )
        return [Violation("lead_time.line_far_ahead", field, message, Severity.WARNING)]
    return []


def _working_days(settings: Mapping[str, Any]) -> int:
    value = settings.get("working_days")
    try:
        days = DEFAULT_WORKING_DAYS if value is None else int(value)
    except (TypeError, ValueError):
        days = DEFAULT_WORKING_DAYS
    return min(max(days, 0), MAX_WORKING_DAYS)


def _holidays(settings: Mapping[str, Any]) -> list[date]:
    entries = _date_lines(settings.get("holidays") or ())
    return [day for day in map(parse_iso_date, entries) if day]


def _format_date(value: date) -> str:
    """Format ``value`` for the user's locale in a request, as ISO text elsewhere."""
    if has_request_context() and "babel" in current_app.extensions:
        return format_date(value)
    return value.isoformat()
