"""The event types a webhook endpoint can subscribe to, and who may subscribe to which."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.webhooks.models import OwnerKind

PING = "webhook.ping"

#: Every event type with its label on the event picker, in the picker's order.
EVENT_TYPES = {
    "order.created": _l("Order created"),
    "order.updated": _l("Order changed (lines or address)"),
    "order.status_changed": _l("Order status changed"),
    "order.cancelled": _l("Order cancelled"),
    "shipment.created": _l("Shipment created"),
    "backorder.created": _l("Backorder created"),
    "backorder.resolved": _l("Backorder resolved"),
    "product.created": _l("Product created"),
    "product.updated": _l("Product changed"),
    "product.stock_changed": _l("Product stock changed"),
    "purchase_order.created": _l("Purchase order created"),
    "purchase_order.sent": _l("Purchase order sent"),
    "purchase_order.acknowledged": _l("Purchase order acknowledged"),
    "purchase_order.confirmed": _l("Purchase order confirmed"),
    "purchase_order.changes_proposed": _l("Purchase order: changes proposed"),
    "purchase_order.rejected": _l("Purchase order rejected"),
    "purchase_order.dispatched": _l("Purchase order dispatched"),
    "purchase_order.received": _l("Purchase order received"),
    "purchase_order.cancelled": _l("Purchase order cancelled"),
    "return.created": _l("Return created"),
    "return.status_changed": _l("Return status changed"),
}

#: Purchase-order actions of :func:`portal.plugins.events.purchase_order_changed` that are
#: webhook events; the other actions (booked, transferred, ...) are not announced.
PURCHASE_ORDER_ACTIONS = {
    "sent": "purchase_order.sent",
    "acknowledged": "purchase_order.acknowledged",
    "confirmed": "purchase_order.confirmed",
    "changes_proposed": "purchase_order.changes_proposed",
    "rejected": "purchase_order.rejected",
    "dispatched": "purchase_order.dispatched",
    "received": "purchase_order.received",
    "cancelled": "purchase_order.cancelled",
}


def order_event_types(action: str, old_status: str, new_status: str) -> list[str]:
    """Return the webhook events of one status change of a client order."""
    if action == "cancelled":
        return ["order.cancelled"]
    found = ["order.status_changed"]
    if new_status == "backorder":
        found.append("backorder.created")
    elif old_status == "backorder":
        found.append("backorder.resolved")
    return found


def allowed_event_types(owner_kind: OwnerKind) -> list[str]:
    """Return the event types an owner may subscribe to: a supplier only its purchase
    orders' events, a client and the tenant every event."""
    if owner_kind == OwnerKind.SUPPLIER:
        return [name for name in EVENT_TYPES if name.startswith("purchase_order.")]
    return list(EVENT_TYPES)
