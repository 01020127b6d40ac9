"""Delivery address rules per country: complete addresses, valid postcodes and states.

A bundled rule set, registered through the same hooks as a third-party plugin.
"""

from __future__ import annotations

from pathlib import Path

from portal.plugins import hookimpl
from portal_address_rules.rules import AddressRules


@hookimpl
def portal_mandatory_data_rule_sets():
    return [AddressRules]


@hookimpl
def portal_translation_directories():
    return [str(Path(__file__).parent / "translations")]
