"""Checks of gettext catalogs, shared by the portal's tests and plugin authors' tests.

A shipped catalog must translate every string of the code (not fuzzy, every plural form),
keep the code's placeholders, and be compiled from its current ``.po`` file. The functions
return the problems found as readable lines, so a test can list them all at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import PYTHON_FORMAT, Catalog
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po


def forms(value: str | Iterable[str]) -> tuple[str, ...]:
    """A message's id or string as a tuple: one form, or the plural forms."""
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


def read_catalog(po_path: Path, locale: str) -> Catalog:
    with po_path.open("rb") as po:
        return read_po(po, locale=locale)


def translation_problem(catalog: Catalog, key: str, context: str | None, plural: bool) -> str:
    """What is wrong with the translation of the code's string ``key``, or ``""``."""
    message = catalog.get(key, context=context)
    if message is None:
        return "missing"
    if plural != message.pluralizable:
        return "singular/plural differs from the code"
    if message.fuzzy:
        return "fuzzy"
    wanted = catalog.num_plurals if message.pluralizable else 1
    if not all(forms(message.string)) or len(forms(message.string)) != wanted:
        return "untranslated"
    return ""


def placeholder_problems(catalog: Catalog) -> list[str]:
    """Translations whose placeholders differ from the original's, and Babel's own checks
    (python-format, number of plural forms)."""
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
    return problems


def _entry(message):
    """Return a message as hashable (context, id, string); plural parts become tuples."""

    def plain(value):
        return tuple(value) if isinstance(value, list | tuple) else value

    return message.context, plain(message.id), plain(message.string)


def compiled_is_current(catalog: Catalog, mo_path: Path) -> bool:
    """Tell whether ``mo_path`` holds exactly the finished translations of ``catalog``."""
    with mo_path.open("rb") as mo:
        compiled = {_entry(m) for m in read_mo(mo) if m.id}
    expected = {_entry(m) for m in catalog if m.id and not m.fuzzy and all(forms(m.string))}
    return compiled == expected
