"""The manual supplier integration: the supplier answers in the portal itself.

Transferring an order means telling the supplier's users by e-mail that a purchase order is
waiting for them; the portal does that when the integration says so (``TransmitOutcome.MANUAL``).
Written as a plugin through the same hook as any remote integration.
"""

from __future__ import annotations

import json
from pathlib import Path

from flask_babel import lazy_gettext as _l

from portal.plugins import (
    OutboundMessage,
    PurchaseOrderData,
    SupplierIntegration,
    TransmitOutcome,
    TransmitResult,
    hookimpl,
)

# Every tenant needs a way to reach suppliers that have no system of their own.
PORTAL_ENABLED_BY_DEFAULT = True


class ManualIntegration(SupplierIntegration):
    key = "manual"
    label = _l("In the portal")
    description = _l(
        "The supplier logs in to this portal to see its purchase orders and answer them."
    )
    manual = True

    def prepare(self, order: PurchaseOrderData) -> OutboundMessage:
        # Nothing leaves the portal: the message only records what was released.
        summary = {"number": order.number, "revision": order.revision, "lines": len(order.lines)}
        return OutboundMessage(body=json.dumps(summary).encode(), content_type="application/json")

    def transmit(self, message, idempotency_key, attempt):
        return TransmitResult(TransmitOutcome.MANUAL)


@hookimpl
def portal_supplier_integrations():
    return [ManualIntegration]


@hookimpl
def portal_translation_directories():
    return [str(Path(__file__).parent / "translations")]
