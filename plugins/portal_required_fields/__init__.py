"""Required fields: the order fields a purchase order must carry before it is sent.

A bundled rule set, registered through the same hooks as a third-party plugin.
"""

from __future__ import annotations

from pathlib import Path

from portal.plugins import hookimpl
from portal_required_fields.rules import RequiredFields


@hookimpl
def portal_mandatory_data_rule_sets():
    return [RequiredFields]


@hookimpl
def portal_translation_directories():
    return [str(Path(__file__).parent / "translations")]
