"""The bundled plugins' own catalogs: complete, current and true to the code's placeholders.

The same checks as ``tests/test_i18n.py`` makes for the portal's catalog, for every package
in ``plugins/`` that has a ``translations/`` folder. The strings are extracted afresh from
the package's Python code (the keywords of ``pybabel extract -k _l -k lazy_gettext``), so a
string added without updating the catalogs fails here, named with where it occurs.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import PYTHON_FORMAT, Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords
from babel.messages.mofile import read_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from portal import PROJECT_ROOT

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
    with (package / "translations" / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=locale)


def forms(value: str | Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def placeholders(text: str) -> tuple[frozenset[tuple[str, str]], tuple[str, ...]]:
    """Return the named placeholders (name, conversion) and the positional conversions."""
    named, positional = set(), []
    for name, _flags, conversion in PYTHON_FORMAT.findall(text):
        if conversion == "%":
            continue
        if name:
            named.add((name, conversion))
        else:
            positional.append(conversion)
    return frozenset(named), tuple(positional)


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
    expected = get_plural(locale)
    assert (catalog.num_plurals, catalog.plural_expr) == (
        expected.num_plurals,
        expected.plural_expr,
    ), f"{package.name}/{locale}: Plural-Forms should be {expected.plural_forms}"


@pytest.mark.parametrize(("package", "locale"), CATALOGS, ids=CATALOG_IDS)
def test_catalog_translates_every_string_of_the_plugin(package, locale):
    catalog = load_catalog(package, locale)
    problems = []
    for key, (message_id, locations) in sorted(source_messages(package).items()):
        label = f"{key!r} ({', '.join(locations[:3])})"
        message = catalog.get(key)
        if message is None:
            problems.append(f"missing: {label}")
        elif isinstance(message_id, tuple) != message.pluralizable:
            problems.append(f"singular/plural differs from the code: {label}")
        elif message.fuzzy:
            problems.append(f"fuzzy: {label}")
        elif not all(forms(message.string)) or len(forms(message.string)) != (
            catalog.num_plurals if message.pluralizable else 1
        ):
            problems.append(f"untranslated: {label}")
    assert not problems, f"{package.name}/{locale}: {len(problems)} problem(s)\n" + "\n".join(
        [*problems, HOW_TO_FIX]
    )


@pytest.mark.parametrize(("package", "locale"), CATALOGS, ids=CATALOG_IDS)
def test_translations_keep_the_placeholders(package, locale):
    catalog = load_catalog(package, locale)
    problems = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids, strings = forms(message.id), forms(message.string)
        for index, translation in enumerate(strings):
            if not translation:
                continue
            # The first form answers the singular, every other form the plural.
            original = ids[min(index, len(ids) - 1)]
            if placeholders(translation) != placeholders(original):
                problems.append(f"{original!r} -> {translation!r}")
    for message, errors in catalog.check():
        problems.extend(f"{message.id!r}: {error}" for error in errors)
    assert not problems, f"{package.name}/{locale}: placeholders differ\n" + "\n".join(problems)


def _entry(message):
    def plain(value):
        return tuple(value) if isinstance(value, list | tuple) else value

    return message.context, plain(message.id), plain(message.string)


@pytest.mark.parametrize(("package", "locale"), CATALOGS, ids=CATALOG_IDS)
def test_compiled_catalog_is_current(package, locale):
    mo_path = package / "translations" / locale / "LC_MESSAGES" / "messages.mo"
    assert mo_path.exists(), f"{mo_path} is missing: {HOW_TO_FIX}"
    with mo_path.open("rb") as mo:
        compiled = {_entry(m) for m in read_mo(mo) if m.id}
    expected = {
        _entry(m)
        for m in load_catalog(package, locale)
        if m.id and not m.fuzzy and all(forms(m.string))
    }
    assert compiled == expected, f"{mo_path} is older than its .po: {HOW_TO_FIX}"
