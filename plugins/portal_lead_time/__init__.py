"""Delivery lead time: the delivery date leaves the supplier enough working days.

A bundled rule set, registered through the same hooks as a third-party plugin.
"""

from __future__ import annotations

from pathlib import Path

from portal.plugins import hookimpl
from portal_lead_time.rules import LeadTime


@hookimpl
def portal_mandatory_data_rule_sets():
    return [LeadTime]


@hookimpl
def portal_translation_directories():
    return [str(Path(__file__).parent / "translations")]
