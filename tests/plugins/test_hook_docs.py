"""Every hook is documented and tested (as Datasette does): a new hook without a docstring,
without its section in docs/plugins.md or without a test fails here."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from portal.plugins import hookspecs

PROJECT_ROOT = Path(__file__).resolve().parents[2]
GUIDE = PROJECT_ROOT / "docs" / "plugins.md"
TESTS = PROJECT_ROOT / "tests"


def hook_names() -> list[str]:
    """Return the names of the hook specifications, in the module's order."""
    marker = f"{hookspecs.PROJECT}_spec"
    return [
        name
        for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(function, marker)
    ]


def test_the_hooks_are_found():
    names = hook_names()
    assert "portal_mandatory_data_rule_sets" in names
    assert "portal_supplier_integrations" in names
    assert all(name.startswith("portal_") for name in names), names


def test_every_hook_has_a_docstring():
    missing = [name for name in hook_names() if not inspect.getdoc(getattr(hookspecs, name))]
    assert not missing, "hooks without a docstring in portal/plugins/hookspecs.py: " + ", ".join(
        missing
    )


def test_every_hook_has_a_section_in_the_plugin_guide():
    headings = set(re.findall(r"^###\s+`(\w+)`\s*$", GUIDE.read_text(), flags=re.MULTILINE))
    missing = [name for name in hook_names() if name not in headings]
    assert not missing, f"hooks without a '### `name`' section in {GUIDE}: " + ", ".join(missing)
    stale = sorted(h for h in headings if h.startswith("portal_") and h not in hook_names())
    assert not stale, f"sections in {GUIDE} for hooks that do not exist: " + ", ".join(stale)


def test_every_hook_is_used_by_a_test():
    this_file = Path(__file__).resolve()
    sources = "\n".join(
        path.read_text() for path in sorted(TESTS.rglob("*.py")) if path.resolve() != this_file
    )
    missing = [name for name in hook_names() if not re.search(rf"\b{name}\b", sources)]
    assert not missing, "hooks that no test under tests/ mentions: " + ", ".join(missing)
