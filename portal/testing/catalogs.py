"""Checks of gettext catalogs, shared by the portal's tests and plugin authors' tests.

A shipped catalog must translate every string of the code (not fuzzy, every plural form),
keep the code's placeholders, and be compiled from its current ``.po`` file. The functions
return the problems found as readable lines, so a test can list them all at once.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

import babel
from babel.messages.catalog import PYTHON_FORMAT, Catalog
from babel.messages.mofile import read_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po, write_po


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


# --- plural forms ----------------------------------------------------------------------------

#: What to do when a catalog's Plural-Forms differ from the installed Babel's.
PLURAL_FORMS_FIX = (
    "Run `make messages`: it writes Babel's Plural-Forms into the header and marks every "
    "plural entry fuzzy. Then translate each fuzzy plural entry (one msgstr[n] per form, in "
    "Babel's order), remove its fuzzy flag and run `make translations`."
)


def plural_forms_problem(catalog: Catalog, locale: str) -> str:
    """How the catalog's Plural-Forms differ from the installed Babel's, or ``""``."""
    expected = get_plural(locale)
    if (catalog.num_plurals, catalog.plural_expr) == (expected.num_plurals, expected.plural_expr):
        return ""
    return (
        f"the header says {catalog.plural_forms!r}, Babel {babel.__version__} says "
        f"{expected.plural_forms!r}"
    )


def sync_plural_forms(po_path: Path, locale: str) -> int:
    """Write the installed Babel's Plural-Forms into the catalog's header, when they differ.

    Every plural entry is marked fuzzy (its forms may now mean other numbers) and gets one
    ``msgstr[n]`` per form; forms beyond the new number are dropped. Return how many entries
    need translating again (0: the file is unchanged).
    """
    catalog = read_catalog(po_path, locale)
    if not plural_forms_problem(catalog, locale):
        return 0
    expected = get_plural(locale)
    catalog.mime_headers = [
        (name, expected.plural_forms if name.lower() == "plural-forms" else value)
        for name, value in catalog.mime_headers
    ]
    changed = 0
    for message in catalog:
        if message.id and message.pluralizable:
            strings = list(forms(message.string))[: expected.num_plurals]
            message.string = tuple(strings + [""] * (expected.num_plurals - len(strings)))
            message.flags.add("fuzzy")
            changed += 1
    with po_path.open("wb") as po:
        write_po(po, catalog, width=76)
    return changed


def main(folders: list[str]) -> int:
    """Bring the Plural-Forms of every catalog in ``folders`` in line with Babel's."""
    for folder in folders:
        for po_path in sorted(Path(folder).glob("*/LC_MESSAGES/*.po")):
            changed = sync_plural_forms(po_path, po_path.parent.parent.name)
            if changed:
                print(f"{po_path}: new Plural-Forms; translate {changed} fuzzy plural entries")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
