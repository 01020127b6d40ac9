"""Purchase orders: announce, change, cancel and receive. Status changes happen here only."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.audit.services import current_actor, record
from portal.core.errors import DomainError, LineErrors, TransitionRefused
from portal.core.locking import lock_for_update
from portal.core.numbering import next_number
from portal.core.orders.services import LineInput, lock_backorders, validate_lines
from portal.core.purchasing.models import (
    GoodsReceipt,
    GoodsReceiptLine,
    PurchaseOrder,
    PurchaseOrderLine,
)
from portal.core.purchasing.models import (
    PurchaseOrderStatus as Status,
)
from portal.core.stock.models import MovementReason
from portal.core.stock.services import record_movement
from portal.core.versioning import check_version
from portal.core.warehouses.services import purchase_order_warehouse
from portal.db import db, utcnow
from portal.plugins.events import purchase_order_changed, webhook_event

# DOMAIN.md: cancelled from draft, booked, sent, transferred, acknowledged.
CANCELLABLE = (Status.DRAFT, Status.BOOKED, Status.SENT, Status.TRANSFERRED, Status.ACKNOWLEDGED)
# States in which goods may be counted in.
RECEIVABLE = (
    Status.BOOKED,
    Status.SENT,
    Status.TRANSFERRED,
    Status.ACKNOWLEDGED,
    Status.CONFIRMED,
    Status.IN_PRODUCTION,
    Status.PARTIALLY_DISPATCHED,
    Status.DISPATCHED,
    Status.PARTIALLY_RECEIVED,
)
# Lines may change until goods arrive; after a supplier's confirmation they are locked.
EDITABLE = (Status.DRAFT, Status.BOOKED)

CHANGE_REFUSED = _l(
    "This purchase order can no longer be changed: goods have arrived or it is closed."
)
CANCEL_REFUSED = _l(
    "This purchase order can no longer be cancelled: it is confirmed or goods have arrived."
)
RECEIVE_REFUSED = _l("Goods cannot be received for this purchase order.")


def _set_status(po: PurchaseOrder, status: Status, action: str, **details) -> None:
    old = po.status
    po.status = status
    purchase_order_changed(po, action, old.value, status.value)
    record(
        f"purchase_order.{action}",
        po,
        changes={"status": [old.value, status.value]},
        details=details,
    )


def _lines(checked) -> list[PurchaseOrderLine]:
    return [
        PurchaseOrderLine(product_id=product.id, quantity=quantity, position=position)
        for position, (product, quantity) in enumerate(checked)
    ]


def _replace_lines(po: PurchaseOrder, checked) -> None:
    """Make the lines ``checked``; a product that stays keeps its row (its quantity changes).

    Changing rows in place matters: the unit of work inserts before it deletes, so a new row
    for a product that is already on the order would collide with the old one.
    """
    existing = {line.product_id: line for line in po.lines}
    lines = []
    for position, (product, quantity) in enumerate(checked):
        line = existing.pop(product.id, None) or PurchaseOrderLine(product_id=product.id)
        line.quantity = quantity
        line.position = position
        lines.append(line)
    po.lines = lines


def _check_expected_date(expected_date: date | None) -> None:
    if expected_date is not None and expected_date < utcnow().date():
        raise DomainError(_l("The expected date cannot lie in the past."), "expected_date")


def create_purchase_order(
    client,
    lines: Iterable[LineInput],
    *,
    expected_date: date | None = None,
    supplier_name: str = "",
    reference: str = "",
    notes: str = "",
    book: bool = True,
) -> PurchaseOrder:
    """Announce a delivery for ``client`` to its purchase-order warehouse."""
    checked = validate_lines(client.id, lines)
    _check_expected_date(expected_date)
    po = PurchaseOrder(
        number=next_number("PO"),
        client_id=client.id,
        supplier_name=supplier_name.strip()[:200],
        warehouse_id=purchase_order_warehouse(client).id,
        status=Status.DRAFT,
        reference=reference.strip()[:100],
        expected_date=expected_date,
        notes=notes.strip(),
        created_by_id=current_actor().user_id,
    )
    po.lines = _lines(checked)
    db.session.add(po)
    db.session.flush()
    record("purchase_order.created", po, details={"number": po.number, "lines": len(checked)})
    webhook_event("purchase_order.created", po)
    if book:
        _set_status(po, Status.BOOKED, "booked")
    return po


def _has_receipts(po: PurchaseOrder) -> bool:
    return any(line.received > 0 for line in po.lines)


def update_purchase_order(
    po: PurchaseOrder,
    lines: Iterable[LineInput],
    *,
    expected_date: date | None,
    reference: str,
    expected_version: int | None,
) -> None:
    """Change lines, date and reference while no goods have been received."""
    lock_for_update(po, "lines")
    if po.status not in EDITABLE or _has_receipts(po):
        raise TransitionRefused(CHANGE_REFUSED)
    check_version(po, expected_version)
    checked = validate_lines(po.client_id, lines)
    _check_expected_date(expected_date)
    old = {"lines": len(po.lines), "expected_date": po.expected_date, "reference": po.reference}
    _replace_lines(po, checked)
    po.expected_date = expected_date
    po.reference = reference.strip()[:100]
    po.updated_at = utcnow()
    record(
        "purchase_order.changed",
        po,
        changes={
            key: [
                str(old[key]) if old[key] is not None else None,
                str(new) if new is not None else None,
            ]
            for key, new in (
                ("lines", len(checked)),
                ("expected_date", expected_date),
                ("reference", po.reference),
            )
            if str(old[key]) != str(new)
        },
    )


def cancel_purchase_order(po: PurchaseOrder, expected_version: int | None = None) -> None:
    """Cancel a purchase order before confirmation and before any goods arrived."""
    lock_for_update(po, "lines")
    if po.status not in CANCELLABLE or _has_receipts(po):
        raise TransitionRefused(CANCEL_REFUSED)
    check_version(po, expected_version)
    po.cancelled_at = utcnow()
    _set_status(po, Status.CANCELLED, "cancelled")


def receive_goods(
    po: PurchaseOrder,
    quantities: Mapping[uuid.UUID, int],
    note: str = "",
    expected_version: int | None = None,
) -> GoodsReceipt:
    """Count goods in against the purchase order: adds stock and releases backorders.

    Lines are named by their row and product code when a quantity is refused (more than is
    still expected, or not a whole number of zero or more).
    """
    lock_for_update(po, "lines")
    if po.status not in RECEIVABLE:
        raise TransitionRefused(RECEIVE_REFUSED)
    check_version(po, expected_version)
    lines = {line.id: line for line in po.lines}
    errors = []
    wanted = []
    for position, line in enumerate(po.lines, start=1):
        quantity = quantities.get(line.id, 0)
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
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
        elif quantity > line.outstanding:
            errors.append(
                DomainError(
                    lazy_ngettext(
                        "Line %(row)d (%(code)s): only %(num)d unit is still expected.",
                        "Line %(row)d (%(code)s): only %(num)d units are still expected.",
                        line.outstanding,
                        row=position,
                        code=line.product.code,
                    ),
                    row=position,
                )
            )
        elif quantity:
            wanted.append((line, quantity))
    unknown = set(quantities) - set(lines)
    if unknown:
        errors.append(DomainError(_l("Some lines do not belong to this purchase order.")))
    if errors:
        raise LineErrors(_l("Some quantities are not valid."), errors)
    if not wanted:
        raise DomainError(_l("Please enter at least one received quantity."), "quantities")
    receipt = GoodsReceipt(
        purchase_order_id=po.id, received_by_id=current_actor().user_id, note=note.strip()[:500]
    )
    # Every order these goods may be promised to, before the first stock row changes.
    lock_backorders({line.product_id for line, _ in wanted}, po.warehouse_id)
    for line, quantity in wanted:
        line.received += quantity
        receipt.lines.append(GoodsReceiptLine(purchase_order_line_id=line.id, quantity=quantity))
        record_movement(
            line.product,
            po.warehouse_id,
            quantity,
            MovementReason.GOODS_RECEIPT,
            reference=po.number,
        )
    db.session.add(receipt)
    # Always write the purchase order's row, so its version rises even when the status stays
    # (a second partial receipt): a concurrent receipt based on the old version is refused.
    po.updated_at = utcnow()
    complete = all(line.outstanding == 0 for line in po.lines)
    _set_status(
        po,
        Status.RECEIVED if complete else Status.PARTIALLY_RECEIVED,
        "received",
        units=sum(q for _, q in wanted),
    )
    db.session.flush()
    return receipt


def can_change(po: PurchaseOrder) -> bool:
    """Tell whether lines, date and reference may still change (no goods received yet)."""
    return po.status in EDITABLE and not _has_receipts(po)


def can_cancel(po: PurchaseOrder) -> bool:
    """Tell whether the purchase order may still be cancelled."""
    return po.status in CANCELLABLE and not _has_receipts(po)


def can_receive(po: PurchaseOrder) -> bool:
    """Tell whether goods may be counted in against the purchase order."""
    return po.status in RECEIVABLE and any(line.outstanding > 0 for line in po.lines)


def status_history(po: PurchaseOrder) -> list[AuditEntry]:
    """Return the audit entries of ``po``, oldest first: its status history."""
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.object_type == PurchaseOrder.__name__,
                AuditEntry.object_id == str(po.id),
            )
            .order_by(AuditEntry.created_at, AuditEntry.id)
        )
    )
