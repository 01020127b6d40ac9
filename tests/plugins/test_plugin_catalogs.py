"""The bundled plugins' own catalogs: complete, current and true to the code's placeholders.

The same checks as ``tests/test_i18n.py`` makes for the portal's catalog, for every package
in ``plugins/`` that has a ``translations/`` folder. The strings are extracted afresh from
the package's Python code (the keywords of ``pybabel extract -k _l -k lazy_gettext``), so a
string added without updating the catalogs fails here, named with where it occurs.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords

from portal import PROJECT_ROOT
from portal.testing.catalogs import (
    PLURAL_FORMS_FIX,
    compiled_is_current,
    placeholder_problems,
    plural_forms_problem,
    read_catalog,
    translation_problem,
)

PLUGINS = PROJECT_ROOT / "plugins"
PACKAGES = sorted(path for path in PLUGINS.iterdir() if (path / "translations").is_dir())
#: The portal's own languages (a folder each in translations/, English is the source).
PORTAL_LOCALES = sorted(
    path.name
    for path in (PROJECT_ROOT / "translations").iterdir()
    if path.is_dir() and path.name != "en"
)
KEYWORDS = {**DEFAULT_KEYWORDS, **parse_keywords(["_l", "lazy_gettext"])}
HOW_TO_FIX = (
    "Extract with `pybabel extract -k _l -k lazy_gettext -o plugins/<pkg>/translations/messages.pot "
    "plugins/<pkg>`, merge with `pybabel update -i ... -d plugins/<pkg>/translations "
    "--no-fuzzy-matching`, translate, then `pybabel compile -d plugins/<pkg>/translations`."
)


def catalog_paths() -> list[tuple[Path, str]]:
    return [
        (package, path.name)
        for package in PACKAGES
        for path in sorted((package / "translations").iterdir())
        if (path / "LC_MESSAGES" / "messages.po").is_file()
    ]


CATALOGS = catalog_paths()
CATALOG_IDS = [f"{package.name}-{locale}" for package, locale in CATALOGS]


@cache
def source_messages(package: Path) -> dict[str, tuple[str | tuple[str, ...], list[str]]]:
    """Return the package's translatable strings: key -> (id, where it occurs)."""
    found: dict[str, tuple[str | tuple[str, ...], list[str]]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        package, [("**.py", "python")], {}, KEYWORDS
    ):
        if isinstance(message, tuple) and not all(message):
            continue  # ngettext with a variable: nothing to translate
        key = message[0] if isinstance(message, tuple) else message
        found.setdefault(key, (message, []))[1].append(f"{package.name}/{filename}:{lineno}")
    return found


@cache
def load_catalog(package: Path, locale: str) -> Catalog:
    return read_catalog(package / "translations" / locale / "LC_MESSAGES" / "messages.po", locale)


def test_the_bundled_rule_sets_ship_catalogs():
    names = {package.name for package in PACKAGES}
    assert {"portal_required_fields", "portal_address_rules", "portal_lead_time"} <= names
    for package in PACKAGES:
        assert source_messages(package), f"{package.name}: no translatable strings found"


@pytest.mark.parametrize("package", PACKAGES, ids=[p.name for p in PACKAGES])
def test_a_plugin_has_a_catalog_for_every_language_of_the_portal(package):
    shipped = {locale for candidate, locale in CATALOGS if candidate == package}
    missing = set(PORTAL_LOCALES) - shipped
    assert not missing, f"{package.name}: no catalog for {sorted(missing)}"


@pytest.mark.parametrize(("package", "locale"), CATALOGS, ids=CATALOG_IDS)
def test_catalog_header_is_right(package, locale):
    catalog = load_catalog(package, locale)
    assert str(catalog.locale) == locale
    assert not catalog.fuzzy, f"{package.name}/{locale}: the header is marked fuzzy"
    problem = plural_forms_problem(catalog, locale)
    assert not problem, f"{package.name}/{locale}: Plural-Forms: {problem}. {PLURAL_FORMS_FIX}"


@pytest.mark.parametrize(("package", "locale"), CATALOGS, ids=CATALOG_IDS)
def test_catalog_translates_every_string_of_the_plugin(package, locale):
    catalog = load_catalog(package, locale)
    problems = []
    for key, (message_id, locations) in sorted(source_messages(package).items()):
        problem = translation_problem(catalog, key, None, isinstance(message_id, tuple))
        if problem:
            problems.append(f"{problem}: {key!r} ({', '.join(locations[:3])})")
    assert not problems, f"{package.name}/{locale}: {len(problems)} problem(s)\n" + "\n".join(
        [*problems, HOW_TO_FIX]
    )


@pytest.mark.parametrize(("package", "locale"), CATALOGS, ids=CATALOG_IDS)
def test_translations_keep_the_placeholders(package, locale):
    problems = placeholder_problems(load_catalog(package, locale))
    assert not problems, f"{package.name}/{locale}: placeholders differ\n" + "\n".join(problems)


@pytest.mark.parametrize(("package", "locale"), CATALOGS, ids=CATALOG_IDS)
def test_compiled_catalog_is_current(package, locale):
    mo_path = package / "translations" / locale / "LC_MESSAGES" / "messages.mo"
    assert mo_path.exists(), f"{mo_path} is missing: {HOW_TO_FIX}"
    assert compiled_is_current(load_catalog(package, locale), mo_path), (
        f"{mo_path} is older than its .po: {HOW_TO_FIX}"
    )
