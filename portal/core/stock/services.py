"""Change stock: every change is a movement in the ledger and an atomic update of the level.

The level is changed with ``UPDATE ... SET on_hand = on_hand + :n ... RETURNING on_hand``:
the database serialises concurrent changes of one level, and the returned value is the exact
running balance written on the movement. Stock never drops below what is promised to orders.
"""

from __future__ import annotations

import uuid

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from portal.audit.services import current_actor, record
from portal.core.errors import DomainError
from portal.core.stock.models import MovementReason, StockLevel, StockMovement
from portal.db import db, uuid7
from portal.plugins.events import webhook_event
from portal.tenants.context import require_tenant


def _ensure_level(product_id: uuid.UUID, warehouse_id: uuid.UUID) -> None:
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(StockLevel)
        .values(
            tenant_id=require_tenant().id,
            id=uuid7(),
            product_id=product_id,
            warehouse_id=warehouse_id,
            on_hand=0,
            allocated=0,
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "product_id", "warehouse_id"])
    )
    db.session.execute(statement)


def _level_where(product_id, warehouse_id):
    return and_(StockLevel.product_id == product_id, StockLevel.warehouse_id == warehouse_id)


def _change_level(
    product_id: uuid.UUID, warehouse_id: uuid.UUID, on_hand: int = 0, allocated: int = 0
) -> int | None:
    """Apply the deltas in one atomic UPDATE; return the new on-hand, or None if refused.

    Refused when stock would drop below what is promised, or promises below zero.
    """
    return db.session.scalar(
        update(StockLevel)
        .where(
            _level_where(product_id, warehouse_id),
            StockLevel.on_hand + on_hand >= StockLevel.allocated + allocated,
            StockLevel.allocated + allocated >= 0,
        )
        .values(on_hand=StockLevel.on_hand + on_hand, allocated=StockLevel.allocated + allocated)
        .returning(StockLevel.on_hand)
        .execution_options(synchronize_session=False)
    )


def _next_movement_id(product_id: uuid.UUID, warehouse_id: uuid.UUID) -> uuid.UUID:
    """Return a new movement id greater than every earlier one of this level.

    Called while the level's row is locked by the update, so ids order the ledger exactly as
    the balances were taken, even for movements made within one millisecond (where UUIDv7's
    random part alone would order them by chance) or by processes with clocks apart.
    """
    latest = db.session.scalar(
        select(StockMovement.id)
        .where(StockMovement.product_id == product_id, StockMovement.warehouse_id == warehouse_id)
        .order_by(StockMovement.id.desc())
        .limit(1)
    )
    new = uuid7()
    if latest is not None and new <= latest:
        # Counting on from the latest id keeps it a UUIDv7 (RFC 9562, monotonic random).
        new = uuid.UUID(int=latest.int + 1)
    return new


def record_movement(
    product,
    warehouse_id: uuid.UUID,
    quantity: int,
    reason: MovementReason,
    *,
    reference: str = "",
    note: str = "",
    release_promised: int = 0,
) -> StockMovement:
    """Add ``quantity`` (signed) units of ``product`` to the warehouse, with a ledger entry.

    ``release_promised`` units promised to orders leave with the movement (a shipment).
    Arriving stock is promised to waiting backorders at once, oldest first.
    """
    if quantity == 0:
        raise DomainError(_l("The quantity must not be zero."), "quantity")
    if quantity > 0:
        from portal.core.orders.services import lock_backorders

        # The orders it may go to before the stock row (see lock_backorders).
        lock_backorders([product.id], warehouse_id)
    _ensure_level(product.id, warehouse_id)
    balance = _change_level(product.id, warehouse_id, quantity, -release_promised)
    if balance is None:
        raise DomainError(
            lazy_ngettext(
                "Stock of %(code)s cannot drop by %(num)d unit: it is not on hand or is "
                "promised to an order.",
                "Stock of %(code)s cannot drop by %(num)d units: the units are not on hand or "
                "are promised to orders.",
                -quantity,
                code=product.code,
            ),
            "quantity",
        )
    movement = StockMovement(
        id=_next_movement_id(product.id, warehouse_id),
        product_id=product.id,
        warehouse_id=warehouse_id,
        quantity=quantity,
        reason=reason,
        reference=reference[:200],
        note=note[:500],
        balance_after=balance,
        created_by_id=current_actor().user_id,
    )
    db.session.add(movement)
    db.session.flush()
    webhook_event("product.stock_changed", product)
    if quantity > 0:
        from portal.core.orders.services import release_backorders

        release_backorders(product.id, warehouse_id)
    return movement


def correct_stock(product, warehouse_id: uuid.UUID, quantity: int, note: str) -> StockMovement:
    """Staff's correction of stock (count difference, damage, found goods), with a reason."""
    if not note.strip():
        raise DomainError(_l("Please give a reason for the correction."), "note")
    movement = record_movement(
        product, warehouse_id, quantity, MovementReason.CORRECTION, note=note.strip()
    )
    record(
        "stock.corrected",
        product,
        changes={"on_hand": [movement.balance_after - quantity, movement.balance_after]},
        details={"note": note.strip(), "warehouse": str(warehouse_id)},
    )
    return movement


MAX_RESERVE_TRIES = 5


def reserve(product_id: uuid.UUID, warehouse_id: uuid.UUID, wanted: int) -> int:
    """Promise up to ``wanted`` available units to an order; return how many were promised.

    Reads what is free, then takes it with an UPDATE that only succeeds while that much is
    still free; a concurrent reservation in between makes it read again (bounded).
    """
    if wanted <= 0:
        return 0
    _ensure_level(product_id, warehouse_id)
    for _ in range(MAX_RESERVE_TRIES):
        free = db.session.scalar(
            select(StockLevel.on_hand - StockLevel.allocated).where(
                _level_where(product_id, warehouse_id)
            )
        )
        take = min(free or 0, wanted)
        if take <= 0:
            return 0
        if _change_level(product_id, warehouse_id, 0, take) is not None:
            return take
    return 0


def unreserve(product_id: uuid.UUID, warehouse_id: uuid.UUID, quantity: int) -> None:
    """Give back ``quantity`` promised units (an order was cancelled)."""
    if quantity > 0:
        _change_level(product_id, warehouse_id, 0, -quantity)


def ship_reserved(product, warehouse_id: uuid.UUID, quantity: int, reference: str) -> StockMovement:
    """Take promised units out of stock: they leave the warehouse on a shipment."""
    return record_movement(
        product,
        warehouse_id,
        -quantity,
        MovementReason.SHIPMENT,
        reference=reference,
        release_promised=quantity,
    )


def stock_by_product(product_ids) -> dict[uuid.UUID, tuple[int, int]]:
    """Return ``{product_id: (on_hand, allocated)}`` over all warehouses, in one query."""
    if not product_ids:
        return {}
    rows = db.session.execute(
        select(
            StockLevel.product_id,
            func.sum(StockLevel.on_hand),
            func.sum(StockLevel.allocated),
        )
        .where(StockLevel.product_id.in_(list(product_ids)))
        .group_by(StockLevel.product_id)
    )
    return {pid: (int(on_hand or 0), int(allocated or 0)) for pid, on_hand, allocated in rows}
