"""The supplier's side of a purchase order: acknowledge, confirm (with changes), reject, own
order number and situation, production, dispatch notices, documents; and the same answers
arriving from a supplier's system as events, applied once each.

A supplier's click in the portal and an event from its integration go through the same
functions here, so both obey the same rules.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from PIL import Image, UnidentifiedImageError
from sqlalchemy import select

from portal.audit.services import current_actor, record
from portal.core.errors import DomainError, LineErrors, TransitionRefused
from portal.core.locking import lock_for_update
from portal.core.purchasing.codes import despatch_state, outstanding_quantities
from portal.core.purchasing.models import (
    DispatchNotice,
    DispatchNoticeLine,
    PurchaseOrder,
    PurchaseOrderDocument,
)
from portal.core.purchasing.models import PurchaseOrderStatus as Status
from portal.core.purchasing.rules import tenant_today
from portal.core.purchasing.services import _set_status
from portal.core.suppliers.models import Supplier, SupplierEventReceipt
from portal.core.versioning import check_version
from portal.db import db, utcnow
from portal.plugins.contracts import EventKind, SupplierEvent
from portal.plugins.events import purchase_order_changed

# Which states allow which answer (DOMAIN.md).
ANSWERABLE = (Status.SENT, Status.TRANSFERRED, Status.ACKNOWLEDGED)
IN_HAND = (
    Status.SENT,
    Status.TRANSFERRED,
    Status.ACKNOWLEDGED,
    Status.CHANGES_PROPOSED,
    Status.CONFIRMED,
    Status.IN_PRODUCTION,
    Status.PARTIALLY_DISPATCHED,
    Status.DISPATCHED,
    Status.PARTIALLY_RECEIVED,
)
DISPATCHABLE = (
    Status.CONFIRMED,
    Status.IN_PRODUCTION,
    Status.PARTIALLY_DISPATCHED,
    Status.DISPATCHED,
    Status.PARTIALLY_RECEIVED,
)
# What the supplier sees at all: everything released to it.
RELEASED = (*IN_HAND, Status.RECEIVED, Status.REJECTED, Status.CANCELLED)


def released_to(supplier_id: uuid.UUID):
    """Return the statement of the purchase orders released to ``supplier_id``.

    Released means sent: a draft or booked order that was cancelled or received without ever
    being sent has a released status but was never the supplier's business.
    """
    return select(PurchaseOrder).where(
        PurchaseOrder.supplier_id == supplier_id,
        PurchaseOrder.status.in_(RELEASED),
        PurchaseOrder.sent_at.is_not(None),
    )


ACKNOWLEDGE_REFUSED = _l("This purchase order cannot be acknowledged any more.")
ANSWER_REFUSED = _l(
    "This purchase order can no longer be confirmed or rejected: it has been answered, cancelled or closed."
)
REFERENCE_REFUSED = _l("The order number and situation can no longer be changed for this order.")
PRODUCTION_REFUSED = _l("Only a confirmed purchase order can go into production.")
DISPATCH_REFUSED = _l("Goods can be announced only for a confirmed purchase order.")
DOCUMENT_REFUSED = _l("Documents can no longer be added to this purchase order.")

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
DOCUMENT_TYPES = {
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
}


def _allow(po: PurchaseOrder, states, refusal) -> None:
    if po.status not in states:
        raise TransitionRefused(refusal)


def _answered(po: PurchaseOrder) -> None:
    po.answered_at = utcnow()


# --- answers -------------------------------------------------------------------------------


def acknowledge(po: PurchaseOrder, expected_version: int | None = None) -> None:
    """The supplier has seen the order; its answer follows (UBL "AB")."""
    lock_for_update(po, "lines")
    _allow(po, (Status.SENT, Status.TRANSFERRED), ACKNOWLEDGE_REFUSED)
    check_version(po, expected_version)
    _set_status(po, Status.ACKNOWLEDGED, "acknowledged")


@dataclass(frozen=True)
class LineAnswer:
    """The supplier's values for one line; None keeps what was ordered."""

    quantity: int | None = None
    unit_price: Decimal | None = None
    delivery_date: date | None = None


def _not_whole_containers(position: int, line, quantity: int) -> DomainError:
    """Refuse a confirmed quantity that breaks a line ordered in whole containers; suggest
    the nearest whole number of containers."""
    amount = line.container_amount
    nearest = max(round(quantity / amount), 1) * amount
    return DomainError(
        lazy_ngettext(
            "Line %(row)d (%(code)s): this line is ordered in containers of %(num)d unit; please confirm a multiple of %(num)d, for example %(nearest)d.",
            "Line %(row)d (%(code)s): this line is ordered in containers of %(num)d units; please confirm a multiple of %(num)d, for example %(nearest)d.",
            amount,
            row=position,
            code=line.product.code,
            nearest=nearest,
        ),
        "quantity",
        row=position,
    )


def _check_answers(po: PurchaseOrder, answers: Mapping[uuid.UUID, LineAnswer]):
    by_id = {line.id: line for line in po.lines}
    if set(answers) - set(by_id):
        raise DomainError(_l("Some lines do not belong to this purchase order."))
    today = tenant_today()
    errors, changes = [], {}
    for position, line in enumerate(po.lines, start=1):
        answer = answers.get(line.id)
        if answer is None:
            continue
        code = line.product.code
        change = {}
        if answer.quantity is not None:
            if (
                isinstance(answer.quantity, bool)
                or not isinstance(answer.quantity, int)
                or answer.quantity < 1
            ):
                errors.append(
                    DomainError(
                        _l(
                            "Line %(row)d (%(code)s): the quantity must be a whole number of at least 1.",
                            row=position,
                            code=code,
                        ),
                        row=position,
                    )
                )
            elif line.in_containers and answer.quantity % line.container_amount:
                errors.append(_not_whole_containers(position, line, answer.quantity))
            elif answer.quantity != line.quantity:
                change["quantity"] = answer.quantity
        if answer.unit_price is not None:
            try:
                price = Decimal(answer.unit_price).quantize(Decimal("0.01"))
            except (InvalidOperation, TypeError):
                price = None
            if price is None or price < 0 or price >= Decimal("10000000000"):
                errors.append(
                    DomainError(
                        _l(
                            "Line %(row)d (%(code)s): the price must be an amount of zero or more.",
                            row=position,
                            code=code,
                        ),
                        row=position,
                    )
                )
            elif price != line.unit_price:
                change["unit_price"] = price
        if answer.delivery_date is not None:
            if answer.delivery_date < today:
                errors.append(
                    DomainError(
                        _l(
                            "Line %(row)d (%(code)s): the delivery date cannot lie in the past.",
                            row=position,
                            code=code,
                        ),
                        row=position,
                    )
                )
            elif answer.delivery_date != line.delivery_date:
                change["delivery_date"] = answer.delivery_date
        if change:
            changes[line.id] = change
    if errors:
        raise LineErrors(_l("Some lines are not valid."), errors)
    return by_id, changes


def confirm(
    po: PurchaseOrder,
    answers: Mapping[uuid.UUID, LineAnswer] | None = None,
    expected_version: int | None = None,
) -> Status:
    """Confirm the order, possibly with other quantities, prices or dates per line.

    Without changes the order is confirmed ("AP"). With changes ("CA") it is confirmed with
    them, or, when the supplier's confirmations need the store's approval, the changes wait
    as a proposal. Returns the new status.
    """
    lock_for_update(po, "lines")
    _allow(po, ANSWERABLE, ANSWER_REFUSED)
    check_version(po, expected_version)
    by_id, changes = _check_answers(po, answers or {})
    _answered(po)
    po.changes_refusal_reason = ""
    audit = {}
    position_of = {line.id: index for index, line in enumerate(po.lines, start=1)}
    for line_id, change in changes.items():
        for field, value in change.items():
            audit[f"lines[{position_of[line_id]}].{field}"] = [
                str(getattr(by_id[line_id], field))
                if getattr(by_id[line_id], field) is not None
                else None,
                str(value),
            ]
    if changes and po.supplier is not None and po.supplier.changes_need_approval:
        for line_id, change in changes.items():
            line = by_id[line_id]
            line.proposed_quantity = change.get("quantity")
            line.proposed_unit_price = change.get("unit_price")
            line.proposed_delivery_date = change.get("delivery_date")
        record("purchase_order.changes_proposed", po, changes=audit)
        _set_status(po, Status.CHANGES_PROPOSED, "changes_proposed")
        return po.status
    for line_id, change in changes.items():
        for field, value in change.items():
            setattr(by_id[line_id], field, value)
    _set_status(po, Status.CONFIRMED, "confirmed", with_changes=bool(changes))
    if audit:
        record("purchase_order.confirmed_with_changes", po, changes=audit)
    return po.status


def reject(po: PurchaseOrder, reason: str, expected_version: int | None = None) -> None:
    """The supplier will not deliver this order ("RE"); the reason is shown to the store."""
    lock_for_update(po, "lines")
    _allow(po, ANSWERABLE, ANSWER_REFUSED)
    check_version(po, expected_version)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("Please give the store a reason for the rejection."), "reason")
    _answered(po)
    po.rejection_reason = reason[:2000]
    _set_status(po, Status.REJECTED, "rejected", reason=reason[:500])


def set_reference(
    po: PurchaseOrder,
    order_number: str,
    situation: str,
    expected_version: int | None = None,
) -> None:
    """Store the supplier's own order number and situation.

    From the moment the supplier sets its order number, the order counts as taken: a sent or
    transferred order becomes acknowledged.
    """
    lock_for_update(po, "lines")
    _allow(po, IN_HAND, REFERENCE_REFUSED)
    check_version(po, expected_version)
    order_number = (order_number or "").strip()
    situation = (situation or "").strip()
    if len(order_number) > 64:
        raise DomainError(_l("The order number can have at most 64 characters."), "order_number")
    if len(situation) > 200:
        raise DomainError(_l("The situation can have at most 200 characters."), "situation")
    choices = po.supplier.situation_choices if po.supplier is not None else []
    if situation and choices and situation not in choices:
        raise DomainError(_l("Please choose one of the listed situations."), "situation")
    old = {
        "supplier_order_number": po.supplier_order_number,
        "supplier_situation": po.supplier_situation,
    }
    po.supplier_order_number = order_number
    po.supplier_situation = situation
    po.updated_at = utcnow()
    new = {"supplier_order_number": order_number, "supplier_situation": situation}
    record(
        "purchase_order.supplier_reference",
        po,
        changes={k: [old[k], new[k]] for k in old if old[k] != new[k]},
    )
    if order_number and po.status in (Status.SENT, Status.TRANSFERRED):
        _set_status(po, Status.ACKNOWLEDGED, "acknowledged")


def start_production(po: PurchaseOrder, expected_version: int | None = None) -> None:
    lock_for_update(po, "lines")
    _allow(po, (Status.CONFIRMED,), PRODUCTION_REFUSED)
    check_version(po, expected_version)
    _set_status(po, Status.IN_PRODUCTION, "in_production")


def dispatched_units(po: PurchaseOrder) -> dict[uuid.UUID, int]:
    """Units announced so far per line, over all dispatch notices."""
    rows = db.session.execute(
        select(DispatchNoticeLine.purchase_order_line_id, DispatchNoticeLine.quantity)
        .join(DispatchNotice, DispatchNotice.id == DispatchNoticeLine.dispatch_notice_id)
        .where(DispatchNotice.purchase_order_id == po.id)
    ).all()
    totals: dict[uuid.UUID, int] = {}
    for line_id, quantity in rows:
        totals[line_id] = totals.get(line_id, 0) + quantity
    return totals


def dispatch(
    po: PurchaseOrder,
    *,
    carrier: str = "",
    tracking_code: str = "",
    expected_date: date | None = None,
    quantities: Mapping[uuid.UUID, int] | None = None,
    note: str = "",
    expected_version: int | None = None,
) -> DispatchNotice:
    """Announce goods on their way. Without ``quantities`` everything not yet announced goes."""
    lock_for_update(po, "lines")
    _allow(po, DISPATCHABLE, DISPATCH_REFUSED)
    check_version(po, expected_version)
    if expected_date is not None and expected_date < tenant_today():
        raise DomainError(_l("The expected date cannot lie in the past."), "expected_date")
    announced = dispatched_units(po)
    by_id = {line.id: line for line in po.lines}
    if quantities is not None and set(quantities) - set(by_id):
        raise DomainError(_l("Some lines do not belong to this purchase order."))
    errors, wanted = [], []
    for position, line in enumerate(po.lines, start=1):
        open_units = max(line.quantity - announced.get(line.id, 0), 0)
        quantity = open_units if quantities is None else quantities.get(line.id, 0)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            errors.append(
                DomainError(
                    _l(
                        "Line %(row)d (%(code)s): the quantity must be a whole number of zero or more.",
                        row=position,
                        code=line.product.code,
                    ),
                    row=position,
                )
            )
        elif quantity > open_units:
            errors.append(
                DomainError(
                    lazy_ngettext(
                        "Line %(row)d (%(code)s): only %(num)d unit is still to be dispatched.",
                        "Line %(row)d (%(code)s): only %(num)d units are still to be dispatched.",
                        open_units,
                        row=position,
                        code=line.product.code,
                    ),
                    row=position,
                )
            )
        elif quantity:
            wanted.append((line, quantity))
    if errors:
        raise LineErrors(_l("Some quantities are not valid."), errors)
    if not wanted:
        raise DomainError(_l("Please enter at least one dispatched quantity."), "quantities")
    notice = DispatchNotice(
        purchase_order_id=po.id,
        carrier=(carrier or "").strip()[:100],
        tracking_code=(tracking_code or "").strip()[:100],
        expected_date=expected_date,
        note=(note or "").strip()[:2000],
        created_by_id=current_actor().user_id,
    )
    notice.lines = [
        DispatchNoticeLine(purchase_order_line_id=line.id, quantity=quantity)
        for line, quantity in wanted
    ]
    db.session.add(notice)
    # The store's requested date stays as it was; the notice carries the expected arrival.
    po.updated_at = utcnow()
    for line, quantity in wanted:
        announced[line.id] = announced.get(line.id, 0) + quantity
    outstanding = sum(outstanding_quantities(po, announced).values())
    details = {
        "carrier": notice.carrier,
        "tracking_code": notice.tracking_code,
        "units": sum(q for _, q in wanted),
        "outstanding": outstanding,
    }
    # Once goods have arrived, the receipts tell the state; a notice leaves it as it is.
    status = po.status if po.status == Status.PARTIALLY_RECEIVED else despatch_state(outstanding)
    if status == po.status:
        record("purchase_order.dispatched", po, details=details)
        purchase_order_changed(po, "dispatched", po.status.value, po.status.value)
    else:
        _set_status(po, status, "dispatched", **details)
    db.session.flush()
    return notice


# --- documents -----------------------------------------------------------------------------


def _sniff(data: bytes) -> str | None:
    """The document's real type, judged by its content, or None."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            kind = (image.format or "").upper()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None
    return {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}.get(kind)


def add_document(
    po: PurchaseOrder, filename: str, data: bytes, description: str = ""
) -> PurchaseOrderDocument:
    """Attach a PDF or an image (checked by content, at most 10 MB)."""
    _allow(po, (*IN_HAND, Status.RECEIVED), DOCUMENT_REFUSED)
    if not data:
        raise DomainError(_l("The file is empty."), "file")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DomainError(_l("The file is larger than 10 MB."), "file")
    content_type = _sniff(data)
    if content_type is None:
        raise DomainError(
            _l("Only PDF files and PNG, JPEG or WebP images can be uploaded."), "file"
        )
    stem = "".join(c for c in (filename or "").rsplit("/", 1)[-1] if c.isalnum() or c in " ._-()")
    stem = stem.rsplit(".", 1)[0].strip()[:200] or "document"
    document = PurchaseOrderDocument(
        purchase_order_id=po.id,
        filename=stem + DOCUMENT_TYPES[content_type],
        content_type=content_type,
        size=len(data),
        data=data,
        description=(description or "").strip()[:200],
        uploaded_by_id=current_actor().user_id,
    )
    db.session.add(document)
    db.session.flush()
    record(
        "purchase_order.document_added",
        po,
        details={"filename": document.filename, "size": document.size},
    )
    return document


# --- events from a supplier's system --------------------------------------------------------


class UnknownOrder(DomainError):
    """The event names an order this supplier does not have."""


def apply_event(supplier: Supplier, event: SupplierEvent) -> bool:
    """Apply an event from the supplier's integration once; return False for a repeat."""
    seen = db.session.scalar(
        select(SupplierEventReceipt.id).where(
            SupplierEventReceipt.supplier_id == supplier.id,
            SupplierEventReceipt.event_id == event.event_id,
        )
    )
    if seen is not None:
        return False
    po = db.session.scalar(
        select(PurchaseOrder).where(
            PurchaseOrder.supplier_id == supplier.id,
            PurchaseOrder.number == event.order_number,
            PurchaseOrder.status.in_(RELEASED),
            PurchaseOrder.sent_at.is_not(None),
        )
    )
    if po is None:
        raise UnknownOrder(
            _l(
                "There is no purchase order %(number)s for this supplier.",
                number=event.order_number,
            )
        )
    by_position = dict(enumerate(po.lines, start=1))
    named = {change.position for change in event.lines}
    if event.dispatch is not None:
        named |= set(event.dispatch.lines)
    unknown = sorted(named - set(by_position))
    if unknown:
        raise DomainError(
            _l(
                "Purchase order %(number)s has no line %(positions)s.",
                number=po.number,
                positions=", ".join(map(str, unknown)),
            ),
            "lines",
        )
    answers = {
        by_position[change.position].id: LineAnswer(
            change.quantity, change.unit_price, change.delivery_date
        )
        for change in event.lines
        if change.position in by_position
    }
    if event.supplier_order_number or event.situation:
        set_reference(
            po,
            event.supplier_order_number or po.supplier_order_number,
            event.situation or po.supplier_situation,
        )
    if event.kind == EventKind.ACKNOWLEDGED and po.status in (Status.SENT, Status.TRANSFERRED):
        acknowledge(po)
    elif event.kind in (EventKind.CONFIRMED, EventKind.CHANGES_PROPOSED):
        confirm(po, answers)
    elif event.kind == EventKind.REJECTED:
        reject(po, event.reason or "-")
    elif event.kind == EventKind.DISPATCHED and event.dispatch is not None:
        quantities = None
        if event.dispatch.lines:
            quantities = {
                by_position[p].id: q for p, q in event.dispatch.lines.items() if p in by_position
            }
        dispatch(
            po,
            carrier=event.dispatch.carrier,
            tracking_code=event.dispatch.tracking_code,
            expected_date=event.dispatch.expected_date,
            quantities=quantities,
            note=event.dispatch.note,
        )
    db.session.add(
        SupplierEventReceipt(
            supplier_id=supplier.id,
            event_id=event.event_id[:200],
            kind=event.kind.value,
            purchase_order_number=po.number,
        )
    )
    db.session.flush()
    return True


def can(po: PurchaseOrder) -> dict[str, bool]:
    """What the supplier may do with the order now (for showing buttons)."""
    announced = dispatched_units(po) if po.status in DISPATCHABLE else {}
    return {
        "acknowledge": po.status in (Status.SENT, Status.TRANSFERRED),
        "answer": po.status in ANSWERABLE,
        "reference": po.status in IN_HAND,
        "production": po.status == Status.CONFIRMED,
        "dispatch": po.status in DISPATCHABLE
        and any(line.quantity > announced.get(line.id, 0) for line in po.lines),
        "documents": po.status in (*IN_HAND, Status.RECEIVED),
    }
