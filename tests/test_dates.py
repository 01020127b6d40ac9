"""One way to write a date and one way to write a moment, everywhere, in every language.

Pages showed "Dec 4, 2026", "12/4/26, 7:27 PM" and "Dec 4, 2026, 7:27:51 PM" side by side,
and "12/4/26" reads as the 12th of April in most of the world.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from portal import PROJECT_ROOT
from portal.i18n import day, moment

WHEN = datetime(2026, 12, 4, 18, 27, 51, tzinfo=UTC)


@pytest.mark.parametrize(
    ("locale", "expected_day", "expected_moment"),
    [
        ("en", "Dec 4, 2026", "Dec 4, 2026, 6:27 PM"),
        ("de", "04.12.2026", "04.12.2026, 18:27"),
        ("fr", "4 déc. 2026", "4 déc. 2026, 18:27"),
        ("nl", "4 dec 2026", "4 dec 2026, 18:27"),
    ],
)
def test_days_and_moments_are_written_one_way_per_language(
    app, locale, expected_day, expected_moment
):
    from flask_babel import force_locale

    with app.test_request_context(), force_locale(locale):
        assert day(date(2026, 12, 4)) == expected_day
        # Babel puts a narrow no-break space before "PM".
        assert moment(WHEN).replace("\u202f", " ") == expected_moment
        # The argument older templates passed changes nothing.
        assert moment(WHEN, "short") == moment(WHEN)
        assert day(None) == moment(None) == ""


def test_templates_write_dates_only_through_the_two_filters():
    offenders = []
    for path in [
        *(PROJECT_ROOT / "portal" / "templates").rglob("*.html"),
        *(PROJECT_ROOT / "themes").rglob("*.html"),
    ]:
        text = path.read_text()
        for pattern in (r"datetimeformat\(", r"\|dateformat", r"\.strftime\(", r"\|timeformat"):
            if re.search(pattern, text):
                offenders.append((path.relative_to(PROJECT_ROOT).as_posix(), pattern))
    assert offenders == []


def test_the_order_list_writes_its_moments_in_the_one_form(
    login_as, create_user, create_client, create_product, create_order, tenant
):
    client = create_client(tenant)
    product = create_product(tenant, client, stock=5)
    create_order(tenant, client, [(product, 1)])
    staff = create_user(tenant, "staff", locale="en")
    browser = login_as(staff, tenant)
    english = browser.get("/orders/").get_data(as_text=True)
    # "Dec 4, 2026, 6:27 PM" in English; no short numeric form such as 12/4/26 anywhere.
    assert re.search(r"[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}", english)
    assert not re.search(r"\b\d{1,2}/\d{1,2}/\d{2}\b", english)
