"""Ordering from suppliers: cart, draft, book, send, transfer, and the store's answer to
proposed changes. Status changes happen here and in :mod:`.responses` only.

The order process is asynchronous: ``send`` checks the mandatory data and queues the transfer
in the same transaction; the outbox worker hands the order to the supplier's integration and
moves it to *transferred*; the supplier answers later (:mod:`.responses`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.audit.services import current_actor, record
from portal.core.addresses.validation import delivery_address_errors
from portal.core.errors import DomainError, LineErrors, TransitionRefused
from portal.core.locking import lock_for_update
from portal.core.numbering import next_number
from portal.core.purchasing.models import PurchaseOrder, PurchaseOrderLine
from portal.core.purchasing.models import PurchaseOrderStatus as Status
from portal.core.purchasing.rules import Finding, check_order, order_data
from portal.core.purchasing.services import _set_status
from portal.core.suppliers.models import (
    CartLine,
    CatalogueItem,
    CatalogueMatch,
    Supplier,
    SupplierClient,
)
from portal.core.versioning import check_version
from portal.core.warehouses.services import purchase_order_warehouse
from portal.db import db, utcnow
from portal.outbox.services import GiveUp, handler
from portal.plugins.contracts import (
    ConfigurationError,
    PermanentError,
    RetryableError,
    TransmitOutcome,
)
from portal.plugins.events import webhook_event
from portal.plugins.host import current_host

log = logging.getLogger(__name__)

MAX_CONTAINERS = 100_000
DRAFT_STATES = (Status.DRAFT, Status.BOOKED)
TRANSFER = "purchase_order.transfer"

NOT_LINKED = _l("Your company does not order from this supplier.")
SEND_REFUSED = _l("Only a booked purchase order to a supplier can be sent.")
BOOK_REFUSED = _l("Only a draft can be booked.")
DRAFT_REFUSED = _l(
    "This purchase order can no longer be changed: it has been sent to the supplier."
)
NO_ANSWER_PENDING = _l("There are no proposed changes waiting for your answer.")


class RuleViolations(DomainError):
    """Sending was refused: ``findings`` holds every violation, blocking or not."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        super().__init__(
            _l("The order cannot be sent yet: some data the supplier needs is missing or wrong.")
        )
        self.findings = list(findings)


def _not_matched(code: str):
    return _l(
        "Item %(code)s is not matched to one of your products yet. Match it first, then order it.",
        code=code,
    )


def _containers(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CONTAINERS:
        raise DomainError(
            _l(
                "Please enter a whole number of containers between 1 and %(max)d.",
                max=MAX_CONTAINERS,
            ),
            "containers",
        )
    return value


def is_linked(client_id: uuid.UUID, supplier_id: uuid.UUID) -> bool:
    return (
        db.session.scalar(
            select(SupplierClient.id).where(
                SupplierClient.client_id == client_id, SupplierClient.supplier_id == supplier_id
            )
        )
        is not None
    )


# --- cart ------------------------------------------------------------------------------------


def add_to_cart(client, item: CatalogueItem, containers: int) -> CartLine:
    """Put ``containers`` of ``item`` in ``client``'s cart (adding to what is there)."""
    containers = _containers(containers)
    if not is_linked(client.id, item.supplier_id):
        raise DomainError(NOT_LINKED)
    match = db.session.scalar(
        select(CatalogueMatch).where(
            CatalogueMatch.catalogue_item_id == item.id, CatalogueMatch.client_id == client.id
        )
    )
    if match is None:
        raise DomainError(_not_matched(item.supplier_code), "containers")
    line = db.session.scalar(
        select(CartLine).where(
            CartLine.client_id == client.id, CartLine.catalogue_item_id == item.id
        )
    )
    if line is None:
        line = CartLine(
            client_id=client.id,
            supplier_id=item.supplier_id,
            catalogue_item_id=item.id,
            containers=containers,
        )
        db.session.add(line)
    else:
        line.containers = _containers(line.containers + containers)
    db.session.flush()
    return line


def set_cart_containers(line: CartLine, containers: int) -> None:
    """Change a cart line; zero removes it."""
    if containers == 0:
        db.session.delete(line)
    else:
        line.containers = _containers(containers)
    db.session.flush()


def cart_lines(client_id: uuid.UUID, supplier_id: uuid.UUID | None = None) -> list[CartLine]:
    statement = select(CartLine).where(CartLine.client_id == client_id)
    if supplier_id is not None:
        statement = statement.where(CartLine.supplier_id == supplier_id)
    return list(db.session.scalars(statement.order_by(CartLine.created_at, CartLine.id)))


def open_draft(client_id: uuid.UUID, supplier_id: uuid.UUID) -> PurchaseOrder | None:
    """The client's unbooked draft for the supplier, which new items are added to."""
    return db.session.scalar(
        select(PurchaseOrder)
        .where(
            PurchaseOrder.client_id == client_id,
            PurchaseOrder.supplier_id == supplier_id,
            PurchaseOrder.status == Status.DRAFT,
        )
        .order_by(PurchaseOrder.id)
        .limit(1)
    )


def _fill_delivery_defaults(po: PurchaseOrder, client, warehouse) -> None:
    po.delivery_name = warehouse.name
    po.delivery_company = client.name
    po.delivery_street = warehouse.street
    po.delivery_postcode = warehouse.postcode
    po.delivery_city = warehouse.city
    po.delivery_state = warehouse.state
    po.delivery_country = warehouse.country
    po.delivery_phone = warehouse.phone
    link = db.session.scalar(
        select(SupplierClient).where(
            SupplierClient.client_id == client.id, SupplierClient.supplier_id == po.supplier_id
        )
    )
    if link is not None:
        po.contact_name = link.contact_name
        po.contact_phone = link.contact_phone
        po.contact_email = link.contact_email


def create_from_cart(client, supplier: Supplier) -> PurchaseOrder:
    """Turn the client's cart for ``supplier`` into a draft purchase order.

    An unbooked draft for the same supplier is added to instead of a second one being made;
    an item already on it gets the new containers on top.
    """
    lines = cart_lines(client.id, supplier.id)
    if not lines:
        raise DomainError(_l("Your cart for this supplier is empty."))
    matches = {
        m.catalogue_item_id: m
        for m in db.session.scalars(
            select(CatalogueMatch).where(
                CatalogueMatch.client_id == client.id,
                CatalogueMatch.catalogue_item_id.in_([line.catalogue_item_id for line in lines]),
            )
        )
    }
    po = open_draft(client.id, supplier.id)
    reused = po is not None
    if po is None:
        warehouse = purchase_order_warehouse(client)
        po = PurchaseOrder(
            number=next_number("PO"),
            client_id=client.id,
            supplier_id=supplier.id,
            warehouse_id=warehouse.id,
            status=Status.DRAFT,
            created_by_id=current_actor().user_id,
        )
        _fill_delivery_defaults(po, client, warehouse)
        po.lines = []
        try:
            # The database keeps one open draft per store and supplier (a partial unique
            # index); when another request made it a moment ago, add to that one.
            with db.session.begin_nested():
                db.session.add(po)
                db.session.flush()
        except IntegrityError:
            po = open_draft(client.id, supplier.id)
            if po is None:
                raise
            reused = True
    by_product = {line.product_id: line for line in po.lines}
    errors = []
    for row, cart_line in enumerate(lines, start=1):
        item = cart_line.item
        match = matches.get(item.id)
        if match is None:
            errors.append(DomainError(_not_matched(item.supplier_code), row=row))
            continue
        units = cart_line.containers * item.container_amount
        line = by_product.get(match.product_id)
        if line is None:
            line = PurchaseOrderLine(
                product_id=match.product_id,
                position=len(po.lines),
                quantity=units,
                container_amount=item.container_amount,
                supplier_code=item.supplier_code,
                unit_price=item.price,
            )
            po.lines.append(line)
            by_product[match.product_id] = line
        else:
            if line.container_amount != item.container_amount:
                # The supplier changed its container: count what is there in the new one.
                line.container_amount = item.container_amount
            line.quantity += units
            line.unit_price = item.price
        db.session.delete(cart_line)
    if errors:
        raise LineErrors(_l("Some items in the cart cannot be ordered yet."), errors)
    po.updated_at = utcnow()
    db.session.flush()
    record(
        "purchase_order.cart_added" if reused else "purchase_order.created",
        po,
        details={"number": po.number, "items": len(lines), "supplier": supplier.name},
    )
    if not reused:
        webhook_event("purchase_order.created", po)
    return po


# --- the draft -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DraftLine:
    """A wanted change of a draft's line: containers (0 removes it), note, delivery date."""

    line_id: uuid.UUID
    containers: int
    note: str = ""
    delivery_date: date | None = None


DETAIL_FIELDS = (
    "reference",
    "expected_date",
    "delivery_method",
    "delivery_name",
    "delivery_company",
    "delivery_street",
    "delivery_street2",
    "delivery_postcode",
    "delivery_city",
    "delivery_state",
    "delivery_country",
    "delivery_phone",
    "delivery_email",
    "contact_name",
    "contact_phone",
    "contact_email",
    "delivery_instructions",
    "notes",
)
DELIVERY_METHODS = ("standard", "courier", "pickup")


def _plain(value):
    if value is None:
        return None
    return getattr(value, "code", None) or str(value)


def _line_values(po: PurchaseOrder) -> dict[str, Any]:
    """The lines' changeable values by product code, for the audit log."""
    values: dict[str, Any] = {}
    for line in po.lines:
        code = line.product.code
        values[f"{code}.containers"] = line.containers
        if line.note:
            values[f"{code}.note"] = line.note
        if line.delivery_date:
            values[f"{code}.delivery_date"] = line.delivery_date.isoformat()
    return values


def update_draft(
    po: PurchaseOrder,
    details: dict[str, Any],
    lines: Iterable[DraftLine],
    *,
    expected_version: int | None,
) -> None:
    """Change the order data and lines of a draft or booked purchase order to a supplier."""
    lock_for_update(po, "lines")
    if po.status not in DRAFT_STATES:
        raise TransitionRefused(DRAFT_REFUSED)
    check_version(po, expected_version)
    if details.get("delivery_method", po.delivery_method) not in DELIVERY_METHODS:
        raise DomainError(_l("Please choose a delivery method."), "delivery_method")
    expected = details.get("expected_date")
    if expected is not None and expected < utcnow().date():
        raise DomainError(_l("The expected date cannot lie in the past."), "expected_date")
    # The delivery address is checked like every address; a draft may still leave parts out.
    details = delivery_address_errors(details, prefix="delivery_", current=po)
    old = {name: _plain(getattr(po, name)) for name in DETAIL_FIELDS}
    old.update(_line_values(po))
    for name in DETAIL_FIELDS:
        if name in details:
            value = details[name]
            setattr(po, name, value.strip() if isinstance(value, str) else value)
    by_id = {line.id: line for line in po.lines}
    errors, keep = [], []
    wanted = {change.line_id: change for change in lines}
    if set(wanted) - set(by_id):
        raise DomainError(_l("Some lines do not belong to this purchase order."))
    for position, line in enumerate(po.lines, start=1):
        change = wanted.get(line.id)
        if change is None:
            keep.append(line)
            continue
        if change.containers == 0:
            continue
        try:
            containers = _containers(change.containers)
        except DomainError:
            errors.append(
                DomainError(
                    _l(
                        "Line %(row)d (%(code)s): please enter a whole number of containers between 0 and %(max)d.",
                        row=position,
                        code=line.product.code,
                        max=MAX_CONTAINERS,
                    ),
                    row=position,
                )
            )
            keep.append(line)
            continue
        if change.delivery_date is not None and change.delivery_date < utcnow().date():
            errors.append(
                DomainError(
                    _l(
                        "Line %(row)d (%(code)s): the delivery date cannot lie in the past.",
                        row=position,
                        code=line.product.code,
                    ),
                    row=position,
                )
            )
        line.quantity = containers * line.container_amount
        line.note = change.note.strip()[:500]
        line.delivery_date = change.delivery_date
        keep.append(line)
    if errors:
        raise LineErrors(_l("Some lines are not valid."), errors)
    if not keep:
        raise DomainError(_l("A purchase order needs at least one line."), "lines")
    for position, line in enumerate(keep):
        line.position = position
    po.lines = keep
    po.updated_at = utcnow()
    new = {name: _plain(getattr(po, name)) for name in DETAIL_FIELDS}
    new.update(_line_values(po))
    changes = {
        k: [old.get(k), new.get(k)] for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)
    }
    if changes:
        record("purchase_order.changed", po, changes=changes, details={"lines": len(keep)})


def book(po: PurchaseOrder, expected_version: int | None = None) -> None:
    lock_for_update(po, "lines")
    if po.status != Status.DRAFT:
        raise TransitionRefused(BOOK_REFUSED)
    check_version(po, expected_version)
    _set_status(po, Status.BOOKED, "booked")


def findings_for(po: PurchaseOrder) -> list[Finding]:
    """What the rule sets say about the order now (for showing before sending)."""
    return check_order(po)


def send(po: PurchaseOrder, expected_version: int | None = None) -> list[Finding]:
    """Check the mandatory data, then queue the transfer to the supplier.

    Raises :class:`RuleViolations` when a rule set finds an error; returns the warnings.
    """
    lock_for_update(po, "lines")
    if po.status != Status.BOOKED or po.supplier_id is None:
        raise TransitionRefused(SEND_REFUSED)
    check_version(po, expected_version)
    supplier = po.supplier
    if current_host().integration(supplier.integration_key) is None:
        raise DomainError(
            _l(
                "The supplier's integration %(name)s is not enabled. Ask your administrator to enable or change it.",
                name=supplier.integration_key,
            )
        )
    findings = check_order(po)
    if any(finding.blocking for finding in findings):
        raise RuleViolations(findings)
    for line in po.lines:
        line.ordered_quantity = line.quantity
        line.ordered_unit_price = line.unit_price
        line.ordered_delivery_date = line.delivery_date or po.expected_date
        if line.delivery_date is None:
            line.delivery_date = po.expected_date
    po.revision += 1
    po.sent_at = utcnow()
    po.transfer_error = ""
    _set_status(po, Status.SENT, "sent", revision=po.revision)
    db.session.flush()
    queue_transfer(po)
    return findings


def transfer_key(po: PurchaseOrder) -> str:
    """Stable across retries of the same revision: (tenant, order, revision)."""
    return f"po-transfer:{po.tenant_id}:{po.id}:{po.revision}"


def queue_transfer(po: PurchaseOrder) -> None:
    from portal.outbox.services import enqueue

    enqueue(
        TRANSFER, {"purchase_order_id": str(po.id), "revision": po.revision}, key=transfer_key(po)
    )


def _record_transfer_error(po: PurchaseOrder, message: str) -> None:
    po.transfer_error = message[:2000]
    record("purchase_order.transfer_failed", po, details={"error": message[:500]})


@handler(TRANSFER)
def transfer(payload: dict[str, Any], idempotency_key: str) -> None:
    """The outbox's delivery of a sent purchase order to the supplier's integration."""
    from portal.outbox.models import OutboxMessage

    po = db.session.scalar(
        select(PurchaseOrder).where(PurchaseOrder.id == uuid.UUID(payload["purchase_order_id"]))
    )
    if po is None or po.status != Status.SENT or po.revision != payload["revision"]:
        return  # cancelled or sent again meanwhile: nothing to do for this revision
    attempt = (
        db.session.scalar(
            select(OutboxMessage.attempts).where(OutboxMessage.idempotency_key == idempotency_key)
        )
        or 1
    )
    supplier = po.supplier
    cls = current_host().integration(supplier.integration_key)
    try:
        if cls is None:
            raise ConfigurationError(f"integration {supplier.integration_key!r} is not enabled")
        integration = cls(supplier.integration_config or {}, supplier.integration_secrets or {})
        message = integration.prepare(order_data(po))
        result = integration.transmit(message, idempotency_key, attempt)
    except RetryableError as error:
        po.transfer_error = str(error)[:2000]
        raise
    except (PermanentError, ConfigurationError) as error:
        _record_transfer_error(po, f"{type(error).__name__}: {error}")
        raise GiveUp(str(error)) from error
    po.transferred_at = utcnow()
    po.transfer_error = ""
    if result.supplier_order_number:
        po.supplier_order_number = result.supplier_order_number[:64]
    if result.outcome == TransmitOutcome.ACKNOWLEDGED:
        _set_status(po, Status.TRANSFERRED, "transferred", outcome=result.outcome.value)
        po.answered_at = utcnow()
        _set_status(po, Status.ACKNOWLEDGED, "acknowledged")
    else:
        _set_status(po, Status.TRANSFERRED, "transferred", outcome=result.outcome.value)
    _apply_immediate_answers(po, supplier, result.events)


def _apply_immediate_answers(po: PurchaseOrder, supplier, events) -> None:
    """Apply the answers that came with the transfer's reply; one that the order's rules
    refuse is kept on the order's log and leaves the transfer done."""
    from portal.core.purchasing.responses import apply_event

    for event in events:
        try:
            with db.session.begin_nested():
                apply_event(supplier, event)
        except DomainError as error:
            record(
                "purchase_order.inbound_refused",
                po,
                details={"event_id": event.event_id[:200], "reason": str(error)[:500]},
            )


# --- the store answers proposed changes ------------------------------------------------------


def accept_changes(po: PurchaseOrder, expected_version: int | None = None) -> None:
    """The store accepts the supplier's proposal: the order is confirmed with it."""
    lock_for_update(po, "lines")
    if po.status != Status.CHANGES_PROPOSED:
        raise TransitionRefused(NO_ANSWER_PENDING)
    check_version(po, expected_version)
    changes = {}
    for position, line in enumerate(po.lines, start=1):
        if line.proposed_quantity is not None:
            changes[f"lines[{position}].quantity"] = [line.quantity, line.proposed_quantity]
            line.quantity = line.proposed_quantity
        if line.proposed_unit_price is not None:
            changes[f"lines[{position}].unit_price"] = [
                str(line.unit_price) if line.unit_price is not None else None,
                str(line.proposed_unit_price),
            ]
            line.unit_price = line.proposed_unit_price
        if line.proposed_delivery_date is not None:
            changes[f"lines[{position}].delivery_date"] = [
                str(line.delivery_date) if line.delivery_date else None,
                str(line.proposed_delivery_date),
            ]
            line.delivery_date = line.proposed_delivery_date
        line.proposed_quantity = line.proposed_unit_price = line.proposed_delivery_date = None
    record("purchase_order.changes_accepted", po, changes=changes)
    _set_status(po, Status.CONFIRMED, "confirmed", by="store")


def refuse_changes(po: PurchaseOrder, reason: str, expected_version: int | None = None) -> None:
    """The store turns the proposal down; the order goes back to the supplier with the reason."""
    lock_for_update(po, "lines")
    if po.status != Status.CHANGES_PROPOSED:
        raise TransitionRefused(NO_ANSWER_PENDING)
    check_version(po, expected_version)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(
            _l("Please tell the supplier why you do not accept the changes."), "reason"
        )
    for line in po.lines:
        line.proposed_quantity = line.proposed_unit_price = line.proposed_delivery_date = None
    po.changes_refusal_reason = reason[:2000]
    _set_status(po, Status.ACKNOWLEDGED, "changes_refused", reason=reason[:500])
