"""Our purchase-order states in the order-exchange standards' words, both ways.

Integrations translate with these tables so that nothing is lost between a supplier's message
and the portal: UBL / Peppol OrderResponse codes (UNCL 4343 subset), EDIFACT ORDRSP BGM 1225,
cXML ConfirmationRequest types.
"""

from __future__ import annotations

from portal.core.purchasing.models import PurchaseOrder
from portal.core.purchasing.models import PurchaseOrderStatus as Status
from portal.plugins.contracts import EventKind

# Our answer states -> UBL OrderResponseCode.
UBL_RESPONSE_CODES = {
    Status.ACKNOWLEDGED: "AB",
    Status.CONFIRMED: "AP",
    Status.CHANGES_PROPOSED: "CA",
    Status.REJECTED: "RE",
}
EDIFACT_RESPONSE_CODES = {
    Status.ACKNOWLEDGED: "12",
    Status.CONFIRMED: "29",
    Status.CHANGES_PROPOSED: "34",
    Status.REJECTED: "27",
}
CXML_CONFIRMATION_TYPES = {
    Status.CONFIRMED: "accept",
    Status.CHANGES_PROPOSED: "detail",
    Status.REJECTED: "reject",
}

# Incoming UBL codes -> the event an integration should produce. "CA" is a confirmation with
# changes: final or a proposal, depending on the supplier's setting (the host decides).
UBL_EVENT_KINDS = {
    "AB": EventKind.ACKNOWLEDGED,
    "AP": EventKind.CONFIRMED,
    "CA": EventKind.CHANGES_PROPOSED,
    "RE": EventKind.REJECTED,
}
EDIFACT_EVENT_KINDS = {
    "12": EventKind.ACKNOWLEDGED,
    "29": EventKind.CONFIRMED,
    "34": EventKind.CHANGES_PROPOSED,
    "28": EventKind.CHANGES_PROPOSED,
    "27": EventKind.REJECTED,
}
CXML_EVENT_KINDS = {
    "accept": EventKind.CONFIRMED,
    "allDetail": EventKind.CONFIRMED,
    "detail": EventKind.CHANGES_PROPOSED,
    "except": EventKind.CHANGES_PROPOSED,
    "reject": EventKind.REJECTED,
}


# States that follow a confirmation: the answer given then still stands.
AFTER_CONFIRMATION = (
    Status.IN_PRODUCTION,
    Status.DISPATCHED,
    Status.PARTIALLY_RECEIVED,
    Status.RECEIVED,
)


def ubl_response_code(po: PurchaseOrder) -> str | None:
    """The UBL code of the supplier's answer so far: a confirmation that changed lines is
    "CA" (accepted with changes) even when the changes were final; None before any answer."""
    if po.status in AFTER_CONFIRMATION:
        status = Status.CONFIRMED if po.answered_at else None
    else:
        status = po.status
    if status == Status.CONFIRMED and any(line.changed_fields for line in po.lines):
        return "CA"
    return UBL_RESPONSE_CODES.get(status)
