"""E-mails about purchase orders to suppliers: to the supplier when a store orders, cancels or
refuses its changes; to the store when the supplier answers or dispatches.

Views call these after the domain's change, in the same transaction, so an e-mail goes out if
and only if the change is committed (through the outbox). Each e-mail is written in its
recipient's language: a user's own, else the tenant's default, which is also the language of
a supplier's general address that has no account. The idempotency key names the order's
revision or version and the recipient, so calling twice for the same change queues one e-mail.

These functions need the request of the change (its tenant); links are built from the
tenant's canonical address (portal.accounts.links), never from the request's host.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import g, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from portal.accounts.links import public_url
from portal.accounts.models import Role, User
from portal.core.orders.carriers import tracking_url
from portal.core.purchasing.models import DispatchNotice, PurchaseOrder
from portal.core.purchasing.models import PurchaseOrderStatus as Status
from portal.core.purchasing.rules import customer_number
from portal.db import db
from portal.mail import queue_email
from portal.notifications import _recipients as store_recipients
from portal.outbox.models import OutboxMessage

# The line fields a supplier may change, in the order the e-mails show them.
CHANGEABLE_FIELDS = ("quantity", "unit_price", "delivery_date")


@dataclass(frozen=True)
class Recipient:
    """An address to write to, in which language, and the user behind it (if any)."""

    email: str
    locale: str
    user: User | None = None
    # How to greet an address without an account (the supplier's name).
    fallback_name: str = ""

    @property
    def key(self) -> str:
        """The recipient's part of an idempotency key: the user's id, else a hash of the
        address (an address may be longer than a key may be)."""
        if self.user is not None:
            return str(self.user.id)
        return hashlib.sha256(self.email.lower().encode()).hexdigest()[:24]

    @property
    def name(self) -> str:
        return self.user.display_name if self.user is not None else self.fallback_name


@dataclass(frozen=True)
class Difference:
    """One field of one line that the supplier changed (or proposes to change)."""

    row: int
    code: str
    name: str
    field: str
    old: Any
    new: Any
    # Units per container of the line, so that a quantity is shown as whole containers.
    container_amount: int = 1


def _default_locale() -> str:
    return str(g.tenant.default_locale)


def supplier_recipients(supplier) -> list[Recipient]:
    """The supplier's active users who want e-mails, and its general address if it has one."""
    if supplier is None:
        return []
    users = db.session.scalars(
        select(User)
        .where(
            User.role == Role.SUPPLIER,
            User.supplier_id == supplier.id,
            User.active.is_(True),
            User.email_notifications.is_(True),
        )
        .order_by(User.email)
    )
    recipients = [Recipient(user.email, user.locale or _default_locale(), user) for user in users]
    address = (supplier.email or "").strip()
    if address and address.lower() not in {r.email.lower() for r in recipients}:
        recipients.append(Recipient(address, _default_locale(), fallback_name=supplier.name))
    return recipients


def _store_recipients(po: PurchaseOrder) -> list[Recipient]:
    if po.client_id is None:
        return []
    return [
        Recipient(user.email, user.locale or _default_locale(), user)
        for user in store_recipients(po.client_id)
    ]


def _already_queued(key: str) -> bool:
    return (
        db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key))
        is not None
    )


def _send(
    recipients: Iterable[Recipient],
    template: str,
    subject,
    key: str,
    **context: Any,
) -> int:
    """Queue ``template`` (.txt and .html) to each recipient in its language; return how many
    were queued now (a recipient whose e-mail is queued already is not written to again)."""
    queued = 0
    for recipient in recipients:
        recipient_key = f"{key}:{recipient.key}"
        if _already_queued(recipient_key):
            continue
        with force_locale(recipient.locale):
            values = {"recipient": recipient, "tenant": g.tenant, **context}
            queue_email(
                recipient.email,
                subject(),
                render_template(f"email/{template}.txt", **values),
                render_template(f"email/{template}.html", **values),
                sender_name=g.tenant.name,
                key=recipient_key,
            )
        queued += 1
    return queued


def store_name(po: PurchaseOrder) -> str:
    """Who orders: the store (client), or the tenant itself for its own purchase orders."""
    return po.client.name if po.client is not None else g.tenant.name


def requested_date(po: PurchaseOrder):
    """The delivery date the store asked for: the earliest of its lines' dates."""
    dates = [line.ordered_delivery_date for line in po.lines if line.ordered_delivery_date]
    return min(dates) if dates else po.expected_date


def _supplier_link(po: PurchaseOrder) -> str:
    return public_url("supplier_portal.order", purchase_order_id=po.id)


def _store_link(po: PurchaseOrder) -> str:
    return public_url("purchase_orders.detail", purchase_order_id=po.id)


# --- to the supplier -------------------------------------------------------------------------


def notify_supplier_of_order(po: PurchaseOrder) -> int:
    """Tell the supplier that a purchase order is waiting for it; return how many e-mails."""
    store = store_name(po)
    return _send(
        supplier_recipients(po.supplier),
        "purchase_order_new",
        lambda: _("New purchase order %(number)s from %(store)s", number=po.number, store=store),
        f"po-new:{po.id}:{po.revision}",
        po=po,
        store=store,
        customer_number=customer_number(po),
        requested=requested_date(po),
        link=_supplier_link(po),
    )


def notify_supplier_of_cancellation(po: PurchaseOrder) -> int:
    """Tell the supplier that the store cancelled a purchase order."""
    store = store_name(po)
    return _send(
        supplier_recipients(po.supplier),
        "purchase_order_cancelled",
        lambda: _("Purchase order %(number)s has been cancelled", number=po.number),
        f"po-cancelled:{po.id}:{po.revision}",
        po=po,
        store=store,
        link=_supplier_link(po),
    )


def notify_supplier_of_refused_changes(po: PurchaseOrder) -> int:
    """Tell the supplier that the store did not accept its changes, and why."""
    store = store_name(po)
    db.session.flush()  # the key names the version after the change
    return _send(
        supplier_recipients(po.supplier),
        "purchase_order_changes_refused",
        lambda: _(
            "%(store)s did not accept your changes to purchase order %(number)s",
            store=store,
            number=po.number,
        ),
        f"po-changes-refused:{po.id}:{po.version}",
        po=po,
        store=store,
        reason=po.changes_refusal_reason,
        link=_supplier_link(po),
    )


# --- to the store ----------------------------------------------------------------------------


def confirmed_differences(po: PurchaseOrder) -> list[Difference]:
    """What the supplier's final confirmation changed against what the store ordered."""
    ordered = {
        "quantity": "ordered_quantity",
        "unit_price": "ordered_unit_price",
        "delivery_date": "ordered_delivery_date",
    }
    return [
        Difference(
            row,
            line.product.code,
            line.product.name,
            name,
            getattr(line, ordered[name]),
            getattr(line, name),
            line.container_amount,
        )
        for row, line in enumerate(po.lines, start=1)
        for name in CHANGEABLE_FIELDS
        if name in line.changed_fields
    ]


def proposed_differences(po: PurchaseOrder) -> list[Difference]:
    """What the supplier proposes to change, waiting for the store's approval."""
    return [
        Difference(
            row,
            line.product.code,
            line.product.name,
            name,
            getattr(line, name),
            getattr(line, f"proposed_{name}"),
            line.container_amount,
        )
        for row, line in enumerate(po.lines, start=1)
        for name in CHANGEABLE_FIELDS
        if getattr(line, f"proposed_{name}") is not None
    ]


def notify_store_of_answer(po: PurchaseOrder) -> int:
    """Tell the store the supplier's answer: confirmed (with what changed), changes proposed
    (its approval is needed) or rejected (with the reason). An acknowledgement is no news
    worth an e-mail; other states send nothing."""
    supplier = po.supplier_label
    if po.status == Status.CONFIRMED:
        differences = confirmed_differences(po)

        def subject():
            return _(
                "Purchase order %(number)s has been confirmed by %(supplier)s",
                number=po.number,
                supplier=supplier,
            )

    elif po.status == Status.CHANGES_PROPOSED:
        differences = proposed_differences(po)

        def subject():
            return _(
                "%(supplier)s proposes changes to purchase order %(number)s: your approval is needed",
                supplier=supplier,
                number=po.number,
            )

    elif po.status == Status.REJECTED:
        differences = []

        def subject():
            return _(
                "Purchase order %(number)s has been rejected by %(supplier)s",
                number=po.number,
                supplier=supplier,
            )

    else:
        return 0
    db.session.flush()  # the key names the version after the answer
    return _send(
        _store_recipients(po),
        "purchase_order_answer",
        subject,
        f"po-answer:{po.id}:{po.status.value}:{po.version}",
        po=po,
        answer=po.status.value,
        supplier=supplier,
        differences=differences,
        link=_store_link(po),
    )


def notify_store_of_dispatch(po: PurchaseOrder, notice: DispatchNotice) -> int:
    """Tell the store that goods are on their way: carrier, tracking, expected date, lines,
    and, when the notice covers only part of the order, what is still to be dispatched."""
    from portal.core.purchasing.responses import dispatched_units

    by_id = {line.id: (row, line) for row, line in enumerate(po.lines, start=1)}
    lines = sorted(
        (by_id[item.purchase_order_line_id] + (item.quantity,) for item in notice.lines),
        key=lambda entry: entry[0],
    )
    db.session.flush()
    announced = dispatched_units(po)
    still_to_come = [
        (line, line.quantity - announced.get(line.id, 0))
        for line in po.lines
        if line.quantity > announced.get(line.id, 0)
    ]
    return _send(
        _store_recipients(po),
        "purchase_order_dispatched",
        lambda: (
            _("Part of purchase order %(number)s is on its way", number=po.number)
            if still_to_come
            else _("Purchase order %(number)s is on its way", number=po.number)
        ),
        f"po-dispatched:{po.id}:{notice.id}",
        po=po,
        notice=notice,
        supplier=po.supplier_label,
        lines=[(line, quantity) for _row, line, quantity in lines],
        still_to_come=still_to_come,
        tracking=tracking_url(notice.carrier, notice.tracking_code),
        link=_store_link(po),
    )
