"""Counts are translated with plural forms: no catalog holds "%(num)d rows" as a plain string.

"1 rows need correcting" and "1 Zeilen" come from a count written into a singular message.
This scans the shipped templates of the catalogs (the application's and each plugin's
messages.pot) for singular messages with a count placeholder and names them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from portal import PROJECT_ROOT

#: Placeholders that hold a count of something.
COUNT_PLACEHOLDER = re.compile(
    r"%\((num|count|n|units|lines|rows|hours|days|seconds)\)d|\{(num|count|n)\}"
)

#: Singular messages whose number is not a count, with the reason.
NOT_A_COUNT = {
    "Image %(num)d of %(code)s": "a position in the gallery (the 3rd image), not a quantity",
}

CATALOG_TEMPLATES = [
    PROJECT_ROOT / "translations" / "messages.pot",
    *sorted((PROJECT_ROOT / "plugins").glob("*/translations/messages.pot")),
]


def counts_without_plural(pot: Path) -> list[str]:
    """Return the singular messages of ``pot`` that show a count, with where they are used."""
    with pot.open("rb") as file:
        catalog = read_po(file)
    found = []
    for message in catalog:
        if not message.id or message.pluralizable or message.id in NOT_A_COUNT:
            continue
        if COUNT_PLACEHOLDER.search(message.id):
            where = ", ".join(f"{path}:{line}" for path, line in message.locations[:2])
            found.append(f"{message.id!r} ({where})")
    return found


def test_there_are_catalogs_to_scan():
    assert CATALOG_TEMPLATES[0].exists()
    assert len(CATALOG_TEMPLATES) > 1, "the plugins' catalogs are scanned too"


@pytest.mark.parametrize(
    "pot", CATALOG_TEMPLATES, ids=[str(p.relative_to(PROJECT_ROOT)) for p in CATALOG_TEMPLATES]
)
def test_counts_are_written_with_plural_forms(pot):
    found = counts_without_plural(pot)
    assert not found, (
        "these messages show a count but have no plural forms; use ngettext "
        "(lazy_ngettext outside a request) with %(num)d, or add the message to NOT_A_COUNT "
        "with the reason the number is not a count:\n  " + "\n  ".join(found)
    )


def test_the_scan_finds_a_count_without_plural(tmp_path):
    pot = tmp_path / "messages.pot"
    pot.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "%(num)d rows need correcting."\nmsgstr ""\n\n'
        'msgid "%(num)d row"\nmsgid_plural "%(num)d rows"\nmsgstr[0] ""\nmsgstr[1] ""\n\n'
        'msgid "Image %(num)d of %(code)s"\nmsgstr ""\n',
        encoding="utf-8",
    )
    assert counts_without_plural(pot) == ["'%(num)d rows need correcting.' ()"]
