"""Languages: complete catalogs, compiled and used; the locale of each request; dates per locale.

The catalog checks extract the strings afresh from the code and the templates, the way
``make messages`` does, so a string added without running ``make messages`` fails here too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from sqlalchemy import select

from portal import PROJECT_ROOT
from portal.accounts.models import User, UserSession
from portal.audit.models import AuditEntry
from portal.testing.catalogs import (
    PLURAL_FORMS_FIX,
    compiled_is_current,
    forms,
    placeholder_problems,
    plural_forms_problem,
    read_catalog,
    sync_plural_forms,
    translation_problem,
)

SOURCE_LOCALE = "en"
TRANSLATIONS = PROJECT_ROOT / "translations"
# Every catalog we ship: each folder of translations/ but the source language's.
SHIPPED_LOCALES = sorted(
    path.name for path in TRANSLATIONS.iterdir() if path.is_dir() and path.name != SOURCE_LOCALE
)
HOW_TO_FIX = (
    "Run `make messages`, translate in translations/<locale>/LC_MESSAGES/messages.po, "
    "then `make translations` (see docs/translating.md)."
)
HTML_LANG = re.compile(r'<html lang="([^"]*)"')


# --- the catalogs ----------------------------------------------------------------------------


@dataclass
class SourceMessage:
    """A translatable string of the code or the templates, and where it occurs."""

    id: str | tuple[str, ...]
    context: str | None
    locations: list[str]

    @property
    def label(self) -> str:
        text = " / ".join(self.id) if isinstance(self.id, tuple) else self.id
        context = f"[{self.context}] " if self.context else ""
        return f"{context}{text!r} ({', '.join(self.locations[:3])})"


def makefile_keywords() -> list[str]:
    """Return the extra ``--keywords`` that ``make messages`` passes to ``pybabel extract``."""
    return re.findall(r"--keywords[= ](\S+)", (PROJECT_ROOT / "Makefile").read_text())


@cache
def source_messages() -> dict[tuple[str | None, str], SourceMessage]:
    """Extract every translatable string with babel.cfg's mapping and the Makefile's keywords."""
    with (PROJECT_ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config, "babel.cfg")
    keywords = {**DEFAULT_KEYWORDS, **parse_keywords(makefile_keywords())}
    found: dict[tuple[str | None, str], SourceMessage] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        PROJECT_ROOT, method_map, options_map, keywords
    ):
        if isinstance(message, tuple):
            # ngettext with an empty argument, e.g. a variable: nothing to translate.
            if not all(message):
                continue
            key = message[0]
        else:
            key = message
        entry = found.setdefault((context, key), SourceMessage(message, context, []))
        entry.locations.append(f"{filename}:{lineno}")
    return found


@cache
def load_catalog(locale: str) -> Catalog:
    return read_catalog(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", locale)


def test_the_catalog_checks_see_what_make_messages_sees():
    assert SHIPPED_LOCALES, "no catalog in translations/: German (de) at least is shipped"
    assert {"_l", "lazy_gettext"} <= set(makefile_keywords())
    found = source_messages()
    # A lazy string of a form (_l), a template string, a template string with a placeholder.
    assert "portal/accounts/forms.py" in found[None, "E-mail address"].locations[0]
    assert "portal/templates/accounts/login.html" in found[None, "Log in"].locations[0]
    assert (None, "Log in to %(portal)s") in found


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_catalog_header_is_right(locale):
    catalog = load_catalog(locale)
    assert str(catalog.locale) == locale
    assert not catalog.fuzzy, f"{locale}: the catalog header is marked fuzzy; pybabel skips it"
    problem = plural_forms_problem(catalog, locale)
    assert not problem, f"{locale}: Plural-Forms: {problem}. {PLURAL_FORMS_FIX}"


def test_make_messages_brings_plural_forms_in_line_with_babel(tmp_path):
    # A Spanish catalog as an older Babel wrote it: two forms where Babel now knows three.
    po_path = tmp_path / "messages.po"
    po_path.write_text(
        'msgid ""\n'
        'msgstr ""\n'
        '"Language: es\\n"\n'
        '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n'
        '"Content-Type: text/plain; charset=utf-8\\n"\n'
        "\n"
        'msgid "%(num)d order line"\n'
        'msgid_plural "%(num)d order lines"\n'
        'msgstr[0] "%(num)d línea de pedido"\n'
        'msgstr[1] "%(num)d líneas de pedido"\n',
        encoding="utf-8",
    )
    assert plural_forms_problem(read_catalog(po_path, "es"), "es")
    assert sync_plural_forms(po_path, "es") == 1
    catalog = read_catalog(po_path, "es")
    assert not plural_forms_problem(catalog, "es")
    message = catalog.get("%(num)d order line")
    assert message.fuzzy, "the translator must look at it again"
    assert len(message.string) == catalog.num_plurals
    assert message.string[0] == "%(num)d línea de pedido"
    assert sync_plural_forms(po_path, "es") == 0  # in line now: the file stays as it is
    assert "make messages" in PLURAL_FORMS_FIX
    assert "portal.testing.catalogs" in (PROJECT_ROOT / "Makefile").read_text()


# A catalog that says so in a PARTIAL file (with the reason) may lack translations; the
# pages then show English for what is missing. Every other catalog must be complete.
PARTIAL_LOCALES = sorted(
    code for code in SHIPPED_LOCALES if (TRANSLATIONS / code / "PARTIAL").is_file()
)
COMPLETE_LOCALES = [code for code in SHIPPED_LOCALES if code not in PARTIAL_LOCALES]


@pytest.mark.parametrize("locale", COMPLETE_LOCALES)
def test_catalog_translates_every_string_of_the_code(locale):
    catalog = load_catalog(locale)
    problems = []
    for (context, key), source in sorted(
        source_messages().items(), key=lambda item: (item[0][0] or "", item[0][1])
    ):
        problem = translation_problem(catalog, key, context, isinstance(source.id, tuple))
        if problem:
            problems.append(f"{problem}: {source.label}")
    assert not problems, f"translations/{locale}: {len(problems)} problem(s)\n" + "\n".join(
        [*problems, HOW_TO_FIX]
    )


@pytest.mark.parametrize("locale", PARTIAL_LOCALES)
def test_a_partial_catalog_is_marked_and_mostly_translated(locale):
    assert (TRANSLATIONS / locale / "PARTIAL").read_text().strip(), "say why it is partial"
    catalog = load_catalog(locale)
    wanted = list(source_messages())
    done = [
        key
        for key in wanted
        if (message := catalog.get(key[1], context=key[0])) is not None
        and not message.fuzzy
        and all(forms(message.string))
    ]
    assert len(done) >= 0.8 * len(wanted), f"{locale}: only {len(done)} of {len(wanted)}"


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_translations_keep_the_placeholders(locale):
    problems = placeholder_problems(load_catalog(locale))
    assert not problems, f"translations/{locale}: placeholders differ\n" + "\n".join(problems)


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_compiled_catalog_is_current(locale):
    mo_path = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo"
    assert mo_path.exists(), f"{mo_path} is missing: run `make translations`"
    assert compiled_is_current(load_catalog(locale), mo_path), (
        f"{mo_path} is older than its .po: run `make translations`"
    )


# --- the catalogs at work --------------------------------------------------------------------


def page_language(response) -> str:
    match = HTML_LANG.search(response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)[:300]
    return match.group(1)


def test_login_page_is_german_for_a_german_browser(client_for, tenant):
    response = client_for(tenant).get("/login", headers={"Accept-Language": "de"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page_language(response) == "de"
    assert '<button type="submit">Anmelden</button>' in page
    assert "E-Mail-Adresse" in page
    assert ">Log in<" not in page


# --- which language a request gets ----------------------------------------------------------


def session_of(client):
    """Open the Flask session of ``client`` on its tenant's host (not on plain localhost)."""
    return client.session_transaction(base_url=f"{client.scheme}://{client.host}")


@pytest.mark.parametrize(("chosen", "browser"), [("de", "en-US,en;q=0.9"), ("en", "de-DE,de")])
def test_users_own_choice_beats_the_browser(create_user, login_as, tenant, chosen, browser):
    user = create_user(tenant, "staff", locale=chosen)
    client = login_as(user, tenant)
    response = client.get("/dashboard", headers={"Accept-Language": browser})
    assert response.status_code == 200
    assert page_language(response) == chosen


@pytest.mark.parametrize(
    ("default", "browser", "expected"),
    [("en", "de-DE,de;q=0.9,en;q=0.5", "de"), ("de", "en-GB,en;q=0.9", "en")],
)
def test_browser_beats_the_tenants_default(client_for, create_tenant, default, browser, expected):
    tenant = create_tenant(default_locale=default, enabled_locales=["en", "de"])
    response = client_for(tenant).get("/login", headers={"Accept-Language": browser})
    assert page_language(response) == expected


@pytest.mark.parametrize("browser", ["fr-FR,fr;q=0.9", None])
def test_tenants_default_when_the_browser_asks_for_nothing_enabled(
    client_for, create_tenant, browser
):
    tenant = create_tenant(default_locale="de", enabled_locales=["en", "de"])
    headers = {"Accept-Language": browser} if browser else {}
    response = client_for(tenant).get("/login", headers=headers)
    assert page_language(response) == "de"
    assert "Anmelden" in response.get_data(as_text=True)


def test_a_language_the_tenant_has_not_enabled_is_never_used(
    client_for, create_tenant, create_user, login_as
):
    tenant = create_tenant(default_locale="en", enabled_locales=["en"])
    german = {"Accept-Language": "de-DE,de"}

    visitor = client_for(tenant)
    with session_of(visitor) as session:
        session["locale"] = "de"
    response = visitor.get("/login", headers=german)
    assert page_language(response) == "en"
    assert "Anmelden" not in response.get_data(as_text=True)
    # With one language only, there is nothing to switch to.
    assert "language-switcher" not in response.get_data(as_text=True)

    user = create_user(tenant, "staff", locale="de")
    response = login_as(user, tenant).get("/dashboard", headers=german)
    assert response.status_code == 200
    assert page_language(response) == "en"


def test_switcher_remembers_the_choice_of_an_anonymous_visitor(client_for, tenant):
    client = client_for(tenant)
    response = client.post(
        "/language",
        data={"csrf_token": client.csrf_token("/login"), "locale": "de", "next": "/login"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    with session_of(client) as session:
        assert session["locale"] == "de"
    response = client.get("/login", headers={"Accept-Language": "en"})
    assert page_language(response) == "de"
    assert "Anmelden" in response.get_data(as_text=True)


def test_switcher_stores_the_choice_on_a_logged_in_user(create_user, login_as, in_tenant, tenant):
    user = create_user(tenant, "staff")
    client = login_as(user, tenant)
    response = client.post(
        "/language",
        data={"csrf_token": client.csrf_token("/dashboard"), "locale": "de", "next": "/login"},
    )
    assert response.status_code == 302
    with in_tenant(tenant) as session:
        assert session.scalar(select(User.locale).where(User.id == user.id)) == "de"
        entry = session.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "account.updated", AuditEntry.object_id == str(user.id)
            )
        )
        assert entry is not None
        assert entry.actor_id == user.id
        assert entry.changes == {"locale": [None, "de"]}
    # Stored on the user, not only in this browser's session: a new login is German too.
    response = login_as(user, tenant).get("/dashboard", headers={"Accept-Language": "en"})
    assert page_language(response) == "de"


@pytest.mark.parametrize("locale", ["de", "xx", ""])
def test_switcher_refuses_a_language_the_tenant_has_not_enabled(client_for, create_tenant, locale):
    tenant = create_tenant(default_locale="en", enabled_locales=["en"])
    client = client_for(tenant)
    response = client.post(
        "/language",
        data={"csrf_token": client.csrf_token("/login"), "locale": locale, "next": "/login"},
    )
    assert response.status_code == 400
    with session_of(client) as session:
        assert "locale" not in session


# --- formatting ------------------------------------------------------------------------------

LAST_LOGIN = datetime(2026, 3, 5, 14, 7, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("locale", "expected"), [("de", "05.03.2026, 14:07"), ("en", "Mar 5, 2026, 2:07")]
)
def test_dashboard_formats_dates_for_the_locale(
    create_user, login_as, in_tenant, tenant, locale, expected
):
    user = create_user(tenant, "staff")
    login_as(user, tenant)  # the login before: its time is what the dashboard shows
    with in_tenant(tenant) as session:
        for earlier in session.scalars(select(UserSession).where(UserSession.user_id == user.id)):
            earlier.created_at = LAST_LOGIN
        session.commit()
    client = login_as(user, tenant)
    response = client.get("/dashboard", headers={"Accept-Language": locale})
    page = response.get_data(as_text=True)
    assert page_language(response) == locale
    assert expected in page.replace("\u202f", " ")


@pytest.mark.parametrize(
    ("code", "name"),
    [("pt_BR", "Português (Brasil)"), ("de", "Deutsch"), ("fr", "Français"), ("ar", "العربية")],
)
def test_language_names_raise_only_their_first_letter(code, name):
    from portal.i18n import locale_name

    assert locale_name(code) == name
