"""Our purchase-order states in the order-exchange standards' words, both ways.

Integrations translate with these tables so that nothing is lost between a supplier's message
and the portal: UBL / Peppol OrderResponse codes (UNCL 4343 subset), EDIFACT ORDRSP BGM 1225,
cXML ConfirmationRequest types; and for dispatch notices, how a despatch advice says that it
covers only part of the order.
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


# Dispatch notices: UBL / Peppol BIS Despatch Advice ``DespatchAdvice``, EDIFACT ``DESADV``,
# cXML ``ShipNoticeRequest``. None of them has a header code for "part of the order": a
# despatch advice for part of the order says so per line, by the quantity still outstanding:
#   UBL / Peppol  cac:DespatchLine/cbc:OutstandingQuantity > 0 (with cbc:OutstandingReason),
#                 next to cbc:DeliveredQuantity, the units in this despatch;
#   EDIFACT       QTY segment with qualifier 83 (backorder quantity) beside QTY+12 (despatched);
#   cXML          ShipNoticeHeader fulfillmentType="partial" (the last notice: "complete").
# A notice that leaves units open moves the order to partially_dispatched, the one that covers
# the rest to dispatched. The supplier's OrderResponse answer (AP / CA) is unchanged by either.
DESPATCH_STATES = (Status.PARTIALLY_DISPATCHED, Status.DISPATCHED)
CXML_FULFILLMENT_TYPES = {
    Status.PARTIALLY_DISPATCHED: "partial",
    Status.DISPATCHED: "complete",
}
CXML_FULFILLMENT_STATES = {code: status for status, code in CXML_FULFILLMENT_TYPES.items()}
#: EDIFACT DESADV QTY 6063 qualifiers a line carries.
EDIFACT_DESPATCH_QUANTITY = "12"
EDIFACT_BACKORDER_QUANTITY = "83"


def despatch_state(outstanding_units: int) -> Status:
    """The state a despatch advice leaves the order in: partially dispatched while any unit
    of the order is still outstanding (UBL ``OutstandingQuantity`` > 0), else dispatched."""
    return Status.PARTIALLY_DISPATCHED if outstanding_units > 0 else Status.DISPATCHED


def outstanding_quantities(po: PurchaseOrder, dispatched: dict) -> dict:
    """Units still to be dispatched per line id after ``dispatched`` (units per line id): the
    ``OutstandingQuantity`` of each line of a despatch advice."""
    return {line.id: max(line.quantity - dispatched.get(line.id, 0), 0) for line in po.lines}


# States that follow a confirmation: the answer given then still stands.
AFTER_CONFIRMATION = (
    Status.IN_PRODUCTION,
    Status.PARTIALLY_DISPATCHED,
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
