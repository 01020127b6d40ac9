"""Orders: create, submit, allocate, pick, ship, cancel. Each status change happens here only.

Every change writes an audit entry with old and new values in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.audit.services import current_actor, diff, record
from portal.core.addresses.models import ADDRESS_FIELDS
from portal.core.addresses.services import clean_address
from portal.core.errors import DomainError, LineErrors, TransitionRefused
from portal.core.locking import lock_for_update
from portal.core.numbering import next_number
from portal.core.orders.models import (
    Order,
    OrderLine,
    OrderStatus,
    Shipment,
    ShipmentLine,
)
from portal.core.products.models import Product
from portal.core.stock import services as stock
from portal.core.versioning import check_version
from portal.core.warehouses.services import default_warehouse
from portal.db import db, utcnow
from portal.plugins.events import order_changed, webhook_event

MAX_LINES = 10_000

# Which statuses each action may start from: the one table of allowed transitions.
ALLOWED_FROM: dict[str, tuple[OrderStatus, ...]] = {
    "submit": (OrderStatus.DRAFT,),
    "edit_lines": (OrderStatus.DRAFT,),
    "change_address": (OrderStatus.DRAFT, OrderStatus.PROCESSING, OrderStatus.BACKORDER),
    "cancel": (OrderStatus.DRAFT, OrderStatus.PROCESSING, OrderStatus.BACKORDER),
    "pick": (OrderStatus.PROCESSING, OrderStatus.BACKORDER, OrderStatus.PARTIALLY_SHIPPED),
    "allocate": (OrderStatus.PROCESSING, OrderStatus.BACKORDER, OrderStatus.PARTIALLY_SHIPPED),
    "ship": (OrderStatus.PICKING,),
    "complete": (OrderStatus.SHIPPED,),
}

REFUSALS = {
    "submit": _l("Only a draft can be submitted."),
    "edit_lines": _l("The lines can only be changed while the order is a draft."),
    "change_address": _l(
        "The delivery address can no longer be changed: the order is being picked or has left."
    ),
    "cancel": _l("The order can no longer be cancelled: it is being picked or has left."),
    "pick": _l("This order has nothing to pick right now."),
    "allocate": _l("Stock can only be allocated to a submitted order that is not being picked."),
    "ship": _l("Only a picked order can be shipped."),
    "complete": _l("Only a fully shipped order can be completed."),
}


@dataclass(frozen=True)
class LineInput:
    """A wanted line: the product's id and a quantity, with its row for error messages."""

    product_id: uuid.UUID
    quantity: int
    row: int | None = None


def _allow(order: Order, action: str) -> None:
    if order.status not in ALLOWED_FROM[action]:
        raise TransitionRefused(REFUSALS[action])


def _begin(order: Order, action: str, expected_version: int | None) -> None:
    """Lock the order, then check the action against its current status and version.

    The status comes first: the second of two clicks on one button is told that the order
    is past that step, not that someone else changed it.
    """
    lock_for_update(order, "lines")
    _allow(order, action)
    check_version(order, expected_version)


def _set_status(order: Order, status: OrderStatus, action: str, **details) -> None:
    old = order.status
    order.status = status
    order_changed(order, action, old.value, status.value)
    record(f"order.{action}", order, changes={"status": [old.value, status.value]}, details=details)


def _line_label(line: LineInput, index: int) -> int:
    return line.row if line.row is not None else index + 1


def validate_lines(client_id: uuid.UUID, lines: Iterable[LineInput]) -> list[tuple[Product, int]]:
    """Return the products and quantities, or raise LineErrors naming every bad line."""
    lines = list(lines)
    if not lines:
        raise DomainError(_l("An order needs at least one line."), "lines")
    if len(lines) > MAX_LINES:
        raise DomainError(
            lazy_ngettext(
                "An order can have at most %(num)d line.",
                "An order can have at most %(num)d lines.",
                MAX_LINES,
            ),
            "lines",
        )
    wanted_ids = {line.product_id for line in lines}
    products = {
        p.id: p
        for p in db.session.scalars(
            select(Product).where(Product.client_id == client_id, Product.id.in_(wanted_ids))
        )
    }
    errors: list[DomainError] = []
    seen: dict[uuid.UUID, int] = {}
    result = []
    for index, line in enumerate(lines):
        row = _line_label(line, index)
        product = products.get(line.product_id)
        if product is None:
            errors.append(DomainError(_l("Line %(row)d: unknown product.", row=row), row=row))
            continue
        if (
            not isinstance(line.quantity, int)
            or isinstance(line.quantity, bool)
            or line.quantity <= 0
        ):
            errors.append(
                DomainError(
                    _l("Line %(row)d: the quantity must be a positive whole number.", row=row),
                    row=row,
                )
            )
            continue
        if product.id in seen:
            errors.append(
                DomainError(
                    _l(
                        "Line %(row)d: %(code)s is already on line %(first)d.",
                        row=row,
                        code=product.code,
                        first=seen[product.id],
                    ),
                    row=row,
                )
            )
            continue
        seen[product.id] = row
        result.append((product, line.quantity))
    if errors:
        raise LineErrors(_l("Some lines are not valid."), errors)
    return result


def create_order(
    client,
    lines: Iterable[LineInput],
    address: Mapping[str, object],
    *,
    reference: str = "",
    notes: str = "",
    submit: bool = False,
) -> Order:
    """Create a draft order for ``client`` (and submit it when asked); the caller commits."""
    checked = validate_lines(client.id, lines)
    clean = clean_address(address)
    order = Order(
        number=next_number("O"),
        client_id=client.id,
        warehouse_id=default_warehouse().id,
        status=OrderStatus.DRAFT,
        reference=reference.strip()[:100],
        notes=notes.strip(),
        created_by_id=current_actor().user_id,
        **clean,
    )
    order.lines = [
        OrderLine(product_id=product.id, quantity=quantity, position=position)
        for position, (product, quantity) in enumerate(checked)
    ]
    db.session.add(order)
    db.session.flush()
    record("order.created", order, details={"number": order.number, "lines": len(checked)})
    webhook_event("order.created", order)
    if submit:
        submit_order(order)
    return order


def replace_lines(order: Order, lines: Iterable[LineInput], expected_version: int | None) -> None:
    """Replace the lines of a draft."""
    _begin(order, "edit_lines", expected_version)
    checked = validate_lines(order.client_id, lines)
    # Keep the row of a product that stays: a new row for it would be inserted before the
    # old one is deleted and collide with the unique (order, product).
    existing = {line.product_id: line for line in order.lines}
    kept = []
    for position, (product, quantity) in enumerate(checked):
        line = existing.pop(product.id, None) or OrderLine(product_id=product.id)
        line.quantity = quantity
        line.position = position
        kept.append(line)
    order.lines = kept
    order.updated_at = utcnow()
    record("order.lines_changed", order, details={"lines": len(checked)})
    webhook_event("order.updated", order)


def submit_order(order: Order, expected_version: int | None = None) -> None:
    """Hand a draft to the warehouse: promise stock to its lines, backorder the rest."""
    _begin(order, "submit", expected_version)
    order.submitted_at = utcnow()
    _set_status(order, OrderStatus.PROCESSING, "submitted")
    allocate(order)


def allocate(order: Order) -> None:
    """Promise available stock to the order's missing units; set processing or backorder."""
    for line in order.lines:
        if line.missing > 0:
            line.allocated += stock.reserve(line.product_id, order.warehouse_id, line.missing)
    _settle_status(order)


def allocate_again(order: Order, expected_version: int | None = None) -> int:
    """Staff: promise stock that is free now to the order's missing units.

    Returns the number of units promised; the audit entry records them per product code.
    """
    _begin(order, "allocate", expected_version)
    before = {line.id: line.allocated for line in order.lines}
    allocate(order)
    promised = {
        line.product.code: line.allocated - before[line.id]
        for line in order.lines
        if line.allocated > before[line.id]
    }
    if promised:
        order.updated_at = utcnow()
        record("order.allocated_again", order, details=promised)
    return sum(promised.values())


def _settle_status(order: Order) -> None:
    if order.status not in (OrderStatus.PROCESSING, OrderStatus.BACKORDER):
        return
    short = any(line.missing > 0 for line in order.lines)
    wanted = OrderStatus.BACKORDER if short else OrderStatus.PROCESSING
    if order.status != wanted:
        _set_status(order, wanted, "backordered" if short else "allocated")


_RELEASABLE = (OrderStatus.PROCESSING, OrderStatus.BACKORDER, OrderStatus.PARTIALLY_SHIPPED)


def lock_backorders(product_ids: Iterable[uuid.UUID], warehouse_id: uuid.UUID) -> None:
    """Hold the rows of every order that arriving stock of ``product_ids`` may be promised to.

    Shipping and submitting lock the order first and the stock rows after it; stock that
    arrives locks its stock row and then promises it to waiting orders. So that the two
    never wait for each other in a circle (a deadlock on PostgreSQL), whatever brings
    stock in calls this first, for all its products at once, before the first stock row;
    the orders are locked in the order of their ids. Does nothing on SQLite, where writers
    run one after the other.
    """
    product_ids = sorted(set(product_ids))
    if not product_ids or db.session.get_bind().dialect.name != "postgresql":
        return
    db.session.execute(
        select(Order.id)
        .join(
            OrderLine, (OrderLine.tenant_id == Order.tenant_id) & (OrderLine.order_id == Order.id)
        )
        .where(
            OrderLine.product_id.in_(product_ids),
            Order.warehouse_id == warehouse_id,
            Order.status.in_(_RELEASABLE),
            OrderLine.waiting(),
        )
        .order_by(Order.id)
        .with_for_update(of=Order)
    ).all()


def release_backorders(product_id: uuid.UUID, warehouse_id: uuid.UUID) -> int:
    """Promise newly arrived stock to waiting order lines, oldest order first.

    Returns the number of units promised.
    """
    waiting = db.session.scalars(
        select(OrderLine)
        .join(Order, (Order.tenant_id == OrderLine.tenant_id) & (Order.id == OrderLine.order_id))
        .where(
            OrderLine.product_id == product_id,
            Order.warehouse_id == warehouse_id,
            Order.status.in_(_RELEASABLE),
            OrderLine.waiting(),
        )
        .order_by(Order.submitted_at, Order.id)
        .options(selectinload(OrderLine.order).selectinload(Order.lines))
    ).all()
    promised = 0
    for line in waiting:
        taken = stock.reserve(product_id, warehouse_id, line.missing)
        if taken == 0:
            break
        line.allocated += taken
        promised += taken
        _settle_status(line.order)
    return promised


def change_address(
    order: Order, address: Mapping[str, object], expected_version: int | None
) -> dict:
    """Change the delivery address: the only change after creation, until picking."""
    _begin(order, "change_address", expected_version)
    clean = clean_address(address)
    before = {field: getattr(order, field) for field in ADDRESS_FIELDS}
    for field, value in clean.items():
        setattr(order, field, value)
    changes = diff(before, clean)
    if changes:
        order.updated_at = utcnow()
        record("order.address_changed", order, changes=changes)
        webhook_event("order.updated", order)
    return changes


def cancel_order(order: Order, expected_version: int | None = None) -> None:
    """Cancel an order that is not yet being picked; promised stock becomes free again."""
    _begin(order, "cancel", expected_version)
    for line in order.lines:
        stock.unreserve(line.product_id, order.warehouse_id, line.allocated)
        line.allocated = 0
    order.cancelled_at = utcnow()
    _set_status(order, OrderStatus.CANCELLED, "cancelled")


def duplicate_order(order: Order) -> Order:
    """Create a new draft with the lines and address of ``order``."""
    copy = Order(
        number=next_number("O"),
        client_id=order.client_id,
        warehouse_id=order.warehouse_id,
        status=OrderStatus.DRAFT,
        reference=order.reference,
        notes=order.notes,
        created_by_id=current_actor().user_id,
        **{field: getattr(order, field) for field in ADDRESS_FIELDS},
    )
    copy.lines = [
        OrderLine(product_id=line.product_id, quantity=line.quantity, position=line.position)
        for line in order.lines
    ]
    db.session.add(copy)
    db.session.flush()
    record("order.created", copy, details={"number": copy.number, "copied_from": order.number})
    webhook_event("order.created", copy)
    return copy


def pick_order(order: Order, expected_version: int | None = None) -> None:
    """Start picking the promised units (creates the picklist); no more cancelling."""
    _begin(order, "pick", expected_version)
    if not any(line.allocated > 0 for line in order.lines):
        raise TransitionRefused(REFUSALS["pick"])
    order.picked_at = utcnow()
    _set_status(order, OrderStatus.PICKING, "picking")


def ship_order(
    order: Order, carrier: str, tracking_code: str = "", expected_version: int | None = None
) -> Shipment:
    """Ship the picked units: a shipment with its lines, and stock leaves the warehouse."""
    _begin(order, "ship", expected_version)
    carrier = carrier.strip()
    if not carrier:
        raise DomainError(_l("Please choose a carrier."), "carrier")
    shipment = Shipment(
        number=next_number("S"),
        order_id=order.id,
        client_id=order.client_id,
        carrier=carrier[:40],
        tracking_code=tracking_code.strip()[:100],
    )
    for line in order.lines:
        if line.allocated <= 0:
            continue
        quantity = line.allocated
        stock.ship_reserved(line.product, order.warehouse_id, quantity, reference=order.number)
        line.shipped += quantity
        line.allocated = 0
        shipment.lines.append(
            ShipmentLine(order_line_id=line.id, product_id=line.product_id, quantity=quantity)
        )
    db.session.add(shipment)
    webhook_event("shipment.created", shipment)
    done = all(line.missing == 0 and line.allocated == 0 for line in order.lines)
    _set_status(
        order,
        OrderStatus.SHIPPED if done else OrderStatus.PARTIALLY_SHIPPED,
        "shipped",
        shipment=shipment.number,
        carrier=shipment.carrier,
        tracking_code=shipment.tracking_code,
    )
    db.session.flush()
    return shipment


def complete_order(order: Order) -> None:
    _begin(order, "complete", None)
    _set_status(order, OrderStatus.COMPLETED, "completed")
