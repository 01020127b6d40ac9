"""Languages: catalogs, the locale of each request, and formatting helpers."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from functools import cache

from babel import Locale
from babel.dates import get_datetime_format
from flask import Flask, g, has_request_context, request, session
from flask_babel import (
    Babel,
    format_currency,
    format_date,
    format_decimal,
    format_time,
    get_locale,
    get_timezone,
)
from flask_login import current_user

from portal.resources import bundled_folder

TRANSLATIONS = bundled_folder("translations")
SESSION_KEY = "locale"


@cache
def shipped_locales() -> tuple[str, ...]:
    """Return the locales with a catalog in ``translations/``, English (the source) first."""
    found = sorted(p.name for p in TRANSLATIONS.iterdir() if (p / "LC_MESSAGES").is_dir())
    return ("en", *[code for code in found if code != "en"])


def enabled_locales() -> list[str]:
    """Return the locales a visitor of this host may choose from."""
    tenant = g.get("tenant") if has_request_context() else None
    shipped = shipped_locales()
    if tenant is None:
        return list(shipped)
    return [code for code in tenant.enabled_locales if code in shipped] or ["en"]


def select_locale() -> str:
    """Pick the locale: the user's choice, else Accept-Language, else the tenant's default."""
    if not has_request_context():
        return "en"
    enabled = enabled_locales()
    if current_user and current_user.is_authenticated and current_user.locale in enabled:
        return current_user.locale
    chosen = session.get(SESSION_KEY)
    if chosen in enabled:
        return chosen
    best = request.accept_languages.best_match(enabled)
    if best:
        return best
    tenant = g.get("tenant")
    default = str(tenant.default_locale) if tenant is not None else "en"
    return default if default in enabled else enabled[0]


def select_timezone() -> str:
    """Show dates and times in the tenant's time zone."""
    tenant = g.get("tenant") if has_request_context() else None
    return getattr(tenant, "timezone", None) or "UTC"


def locale_name(code: str) -> str:
    """Return the language's own name for itself, for the language switcher.

    Only the first letter is raised: ``str.capitalize`` would also lower the rest and turn
    Babel's "português (Brasil)" into "Português (brasil)".
    """
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


def html_lang(code=None) -> str:
    """Return the BCP 47 tag of ``code`` (default: the request's locale) for ``lang`` and
    ``hreflang``: Babel writes ``pt_BR``, HTML wants ``pt-BR``."""
    locale = code if code is not None else get_locale()
    return str(locale or "en").replace("_", "-")


def text_direction(code: str | None = None) -> str:
    """Return "ltr" or "rtl" for ``code`` (default: the locale of the request)."""
    locale = Locale.parse(code) if code else get_locale()
    return "rtl" if locale is not None and locale.text_direction == "rtl" else "ltr"


def start_of_day(day: date) -> datetime:
    """Return the start of ``day`` in the viewer's time zone, as a UTC datetime."""
    zone = get_timezone()
    start = datetime.combine(day, time.min)
    # pytz zones need localize() for the right offset; zoneinfo zones take tzinfo directly.
    start = zone.localize(start) if hasattr(zone, "localize") else start.replace(tzinfo=zone)
    return start.astimezone(UTC)


def money(amount, currency) -> str:
    """Format an amount with its currency for the current locale."""
    if amount is None:
        return ""
    return format_currency(amount, str(getattr(currency, "code", currency) or "EUR"))


def day(value) -> str:
    """Write a date the one way the portal writes dates: the locale's medium form
    ("Dec 4, 2026", "04.12.2026"), which no locale can read as another day."""
    if value is None or value == "":
        return ""
    return format_date(value, "medium")


def moment(value, _format: str | None = None) -> str:
    """Write a date and time the one way the portal writes them: :func:`day` and the short
    time in the user's time zone, joined as the locale joins them ("Dec 4, 2026, 7:27 PM").

    The ``datetimeformat`` filter of the templates; an argument some templates pass ("short")
    is ignored, so one page never shows the same kind of value in two forms.
    """
    if value is None or value == "":
        return ""
    pattern = get_datetime_format("medium", locale=get_locale())
    return pattern.replace("{1}", day(value)).replace("{0}", format_time(value, "short"))


def init_app(app: Flask) -> None:
    # Plugins' catalogs first: where both translate a string, the portal's own wins.
    plugins = app.extensions.get("portal.plugins")
    directories = [*(plugins.translation_directories() if plugins else []), str(TRANSLATIONS)]
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", ";".join(directories))
    Babel(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.filters.update(
        money=money, number=format_decimal, date=day, datetimeformat=moment
    )
    app.jinja_env.globals.update(
        locale_name=locale_name,
        enabled_locales=enabled_locales,
        get_locale=get_locale,
        html_lang=html_lang,
        text_direction=text_direction,
    )
