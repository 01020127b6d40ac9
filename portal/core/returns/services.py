"""Returns: register, receive, restock or scrap. Every step is kept in the return's history."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.audit.services import current_actor, record
from portal.core.errors import DomainError, LineErrors, TransitionRefused
from portal.core.locking import lock_for_update
from portal.core.numbering import next_number
from portal.core.orders.services import lock_backorders
from portal.core.products.models import Product
from portal.core.returns.models import (
    Disposition,
    Return,
    ReturnLine,
    ReturnStatus,
    ReturnStatusChange,
)
from portal.core.stock.models import MovementReason
from portal.core.stock.services import record_movement
from portal.core.warehouses.services import default_warehouse
from portal.db import db, utcnow
from portal.plugins.events import webhook_event


@dataclass(frozen=True)
class ReturnLineInput:
    """A returned product and quantity, with an optional replacement; ``row`` numbers the
    line in error messages (defaults to its position, from 1)."""

    product_id: uuid.UUID
    quantity: int
    replacement_product_id: uuid.UUID | None = None
    replacement_quantity: int = 0
    row: int | None = None


def _set_status(ret: Return, status: ReturnStatus, note: str = "") -> None:
    old = ret.status
    ret.status = status
    ret.history.append(
        ReturnStatusChange(status=status, note=note[:500], changed_by_id=current_actor().user_id)
    )
    webhook_event("return.status_changed", ret)
    record(
        "return.status",
        ret,
        changes={"status": [old.value if old else None, status.value]},
        details={"note": note} if note else None,
    )


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_return_lines(client_id: uuid.UUID, lines: Iterable[ReturnLineInput]) -> list[DomainError]:
    """Return one error per bad line (unknown product, quantities); empty when all are valid."""
    lines = list(lines)
    ids = {line.product_id for line in lines} | {
        line.replacement_product_id for line in lines if line.replacement_product_id
    }
    products = (
        set(
            db.session.scalars(
                select(Product.id).where(Product.client_id == client_id, Product.id.in_(ids))
            )
        )
        if ids
        else set()
    )
    errors = []
    for index, line in enumerate(lines, start=1):
        row = line.row if line.row is not None else index
        if line.product_id not in products:
            errors.append(DomainError(_l("Line %(row)d: unknown product.", row=row), row=row))
        elif not _whole(line.quantity) or line.quantity <= 0:
            errors.append(
                DomainError(
                    _l("Line %(row)d: the quantity must be a positive whole number.", row=row),
                    row=row,
                )
            )
        elif line.replacement_product_id and line.replacement_product_id not in products:
            errors.append(
                DomainError(_l("Line %(row)d: unknown replacement product.", row=row), row=row)
            )
        elif not _whole(line.replacement_quantity) or (
            line.replacement_quantity < 0
            or (line.replacement_product_id and line.replacement_quantity == 0)
        ):
            errors.append(
                DomainError(
                    _l("Line %(row)d: enter how many replacement units are wanted.", row=row),
                    row=row,
                )
            )
    return errors


def register_return(
    client, lines: Iterable[ReturnLineInput], *, order=None, reason: str = ""
) -> Return:
    """Register goods that are coming back, with optional replacement products."""
    lines = list(lines)
    if order is not None and order.client_id != client.id:
        raise DomainError(_l("This order belongs to another client."), "order")
    if not lines:
        raise DomainError(_l("A return needs at least one line."), "lines")
    errors = check_return_lines(client.id, lines)
    if errors:
        raise LineErrors(_l("Some lines are not valid."), errors)
    ret = Return(
        number=next_number("R"),
        client_id=client.id,
        order_id=order.id if order is not None else None,
        warehouse_id=order.warehouse_id if order is not None else default_warehouse().id,
        reason=reason.strip(),
        status=ReturnStatus.REGISTERED,
    )
    ret.lines = [
        ReturnLine(
            product_id=line.product_id,
            quantity=line.quantity,
            position=position,
            replacement_product_id=line.replacement_product_id,
            replacement_quantity=line.replacement_quantity if line.replacement_product_id else 0,
        )
        for position, line in enumerate(lines)
    ]
    db.session.add(ret)
    ret.history.append(
        ReturnStatusChange(status=ReturnStatus.REGISTERED, changed_by_id=current_actor().user_id)
    )
    db.session.flush()
    record("return.registered", ret, details={"number": ret.number})
    webhook_event("return.created", ret)
    return ret


def receive_return(ret: Return, note: str = "") -> None:
    lock_for_update(ret, "lines")
    if ret.status != ReturnStatus.REGISTERED:
        raise TransitionRefused(_l("Only a registered return can be received."))
    ret.received_at = utcnow()
    _set_status(ret, ReturnStatus.RECEIVED, note)


def process_return(
    ret: Return, dispositions: Mapping[uuid.UUID, Disposition], note: str = ""
) -> None:
    """Restock or scrap each line of a received return; restocked units add stock."""
    lock_for_update(ret, "lines")
    if ret.status != ReturnStatus.RECEIVED:
        raise TransitionRefused(_l("Only a received return can be processed."))
    missing = [
        row
        for row, line in enumerate(ret.lines, start=1)
        if dispositions.get(line.id) not in (Disposition.RESTOCK, Disposition.SCRAP)
    ]
    if missing:
        raise LineErrors(
            _l("Please choose restock or scrap for every line."),
            [
                DomainError(_l("Line %(row)d: choose restock or scrap.", row=row), row=row)
                for row in missing
            ],
        )
    # Every order the restocked units may be promised to, before the first stock row.
    lock_backorders(
        {line.product_id for line in ret.lines if dispositions[line.id] == Disposition.RESTOCK},
        ret.warehouse_id,
    )
    for line in ret.lines:
        line.disposition = dispositions[line.id]
        if line.disposition == Disposition.RESTOCK:
            record_movement(
                line.product,
                ret.warehouse_id,
                line.quantity,
                MovementReason.RETURN,
                reference=ret.number,
            )
    _set_status(ret, ReturnStatus.COMPLETED, note)


def cancel_return(ret: Return, note: str = "") -> None:
    lock_for_update(ret, "lines")
    if ret.status != ReturnStatus.REGISTERED:
        raise TransitionRefused(_l("Only a return that has not arrived yet can be cancelled."))
    _set_status(ret, ReturnStatus.CANCELLED, note)
