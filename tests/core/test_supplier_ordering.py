"""Ordering from suppliers: every transition of a purchase order to a supplier, allowed and
refused, through the domain functions that the portal's pages and integrations share."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.core.errors import DomainError, LineErrors, TransitionRefused
from portal.core.purchasing import codes, ordering, responses, services
from portal.core.purchasing.models import PurchaseOrder
from portal.core.purchasing.models import PurchaseOrderStatus as Status
from portal.core.stock.models import StockLevel
from portal.core.suppliers.models import (
    CatalogueItem,
    Supplier,
    SupplierClient,
    SupplierRuleSet,
)
from portal.db import utcnow
from portal.outbox.models import OutboxMessage, OutboxStatus
from portal.outbox.services import deliver_due
from portal.plugins import (
    EventKind,
    LineChange,
    PermanentError,
    RetryableError,
    SupplierEvent,
)
from portal.testing.suppliers import (
    Broken,
    Flaky,
    NeedsReference,
    _get,
    act,
    draft,
    sent,
    state,
    transferred,
)

# --- cart and draft --------------------------------------------------------------------------


def test_cart_counts_containers_and_turns_into_a_draft(in_tenant, world):
    po_id = draft(in_tenant, world, containers=(2, 3))
    po = state(in_tenant, world, po_id)
    assert po.status == Status.DRAFT
    assert [(line.containers, line.container_amount, line.quantity) for line in po.lines] == [
        (2, 6, 12),
        (3, 12, 36),
    ]
    assert [line.supplier_code for line in po.lines] == ["F-BOOT", "F-SOCK"]
    assert po.lines[0].unit_price == Decimal("20.00")
    with in_tenant(world.tenant):
        assert ordering.cart_lines(world.client.id) == []


def test_an_unbooked_draft_is_added_to_instead_of_a_second_one(in_tenant, world):
    first = draft(in_tenant, world, containers=(1, 1))
    second = draft(in_tenant, world, containers=(2,))
    assert first == second
    po = state(in_tenant, world, first)
    assert [line.quantity for line in po.lines] == [18, 12]
    # Once booked, the next cart makes a new draft.
    act(in_tenant, world, first, ordering.book)
    third = draft(in_tenant, world, containers=(1,))
    assert third != first


def test_cart_refuses_unlinked_supplier_unmatched_item_and_bad_counts(
    in_tenant, world, create_client, create_product
):
    other = create_client(world.tenant, name="Other Store")
    with in_tenant(world.tenant) as session:
        item = _get(session, CatalogueItem, world.item_ids[0])
        with pytest.raises(DomainError, match="does not order from this supplier"):
            ordering.add_to_cart(session.merge(other), item, 1)
        for bad in (0, -1, 1.5, True, 100_001):
            with pytest.raises(DomainError, match="whole number of containers"):
                ordering.add_to_cart(session.merge(world.client), item, bad)
        session.add(SupplierClient(supplier_id=world.supplier_id, client_id=other.id))
        session.flush()
        with pytest.raises(DomainError, match="not matched"):
            ordering.add_to_cart(session.merge(other), item, 1)
        session.rollback()


def test_draft_changes_lines_and_details_until_sent(in_tenant, world):
    po_id = draft(in_tenant, world)
    po = state(in_tenant, world, po_id)
    boots, socks = po.lines
    tomorrow = utcnow().date() + timedelta(days=10)
    act(
        in_tenant,
        world,
        po_id,
        ordering.update_draft,
        {
            "reference": " R-1 ",
            "contact_phone": "+31 20 123",
            "delivery_method": "courier",
            "expected_date": tomorrow,
        },
        [ordering.DraftLine(boots.id, 5, "left door"), ordering.DraftLine(socks.id, 0)],
        expected_version=po.version,
    )
    po = state(in_tenant, world, po_id)
    assert (po.reference, po.contact_phone, po.delivery_method) == ("R-1", "+31 20 123", "courier")
    assert [(line.product.code, line.quantity, line.note) for line in po.lines] == [
        ("BOOT-1", 30, "left door")
    ]
    with pytest.raises(LineErrors) as refused:
        act(
            in_tenant,
            world,
            po_id,
            ordering.update_draft,
            {},
            [ordering.DraftLine(po.lines[0].id, -2)],
            expected_version=po.version,
        )
    assert "Line 1 (BOOT-1)" in str(refused.value.errors[0])
    with pytest.raises(DomainError, match="at least one line"):
        act(
            in_tenant,
            world,
            po_id,
            ordering.update_draft,
            {},
            [ordering.DraftLine(po.lines[0].id, 0)],
            expected_version=po.version,
        )
    with pytest.raises(DomainError, match="delivery method"):
        act(
            in_tenant,
            world,
            po_id,
            ordering.update_draft,
            {"delivery_method": "rocket"},
            [],
            expected_version=po.version,
        )


# --- book and send ---------------------------------------------------------------------------


def test_book_then_send_queues_a_transfer_that_marks_the_order_transferred(app, in_tenant, world):
    po_id = draft(in_tenant, world)
    with pytest.raises(TransitionRefused):
        act(in_tenant, world, po_id, ordering.send)
    act(in_tenant, world, po_id, ordering.book)
    with pytest.raises(TransitionRefused):
        act(in_tenant, world, po_id, ordering.book)
    act(in_tenant, world, po_id, ordering.send)
    po = state(in_tenant, world, po_id)
    assert po.status == Status.SENT
    assert po.revision == 1
    assert po.sent_at
    assert [line.ordered_quantity for line in po.lines] == [12, 12]
    with in_tenant(world.tenant) as session:
        message = session.scalar(
            select(OutboxMessage).where(OutboxMessage.kind == ordering.TRANSFER)
        )
        assert message.idempotency_key == f"po-transfer:{world.tenant.id}:{po_id}:1"
    with app.app_context():
        deliver_due()
    po = state(in_tenant, world, po_id)
    assert po.status == Status.TRANSFERRED
    assert po.transferred_at
    # The draft's data is locked from now on.
    with pytest.raises(TransitionRefused):
        act(
            in_tenant,
            world,
            po_id,
            ordering.update_draft,
            {"reference": "x"},
            [],
            expected_version=po.version,
        )


def test_rule_sets_block_sending_with_violations_per_field(plugin, in_tenant, world):
    with in_tenant(world.tenant) as session:
        session.add(SupplierRuleSet(supplier_id=world.supplier_id, rule_set_key=NeedsReference.key))
        session.commit()
    po_id = draft(in_tenant, world)
    act(in_tenant, world, po_id, ordering.book)
    with pytest.raises(ordering.RuleViolations) as refused:
        act(in_tenant, world, po_id, ordering.send)
    assert [
        (f.rule_set, f.violation.field, f.violation.message) for f in refused.value.findings
    ] == [("Needs a reference", "reference", "The reference is required.")]
    assert state(in_tenant, world, po_id).status == Status.BOOKED
    po = state(in_tenant, world, po_id)
    act(
        in_tenant,
        world,
        po_id,
        ordering.update_draft,
        {"reference": "R-9"},
        [],
        expected_version=po.version,
    )
    act(in_tenant, world, po_id, ordering.send)
    assert state(in_tenant, world, po_id).status == Status.SENT


def test_a_crashing_or_missing_rule_set_blocks_and_is_named(plugin, in_tenant, world):
    with in_tenant(world.tenant) as session:
        session.add(SupplierRuleSet(supplier_id=world.supplier_id, rule_set_key=Broken.key))
        session.add(SupplierRuleSet(supplier_id=world.supplier_id, rule_set_key="gone.rules"))
        session.commit()
    po_id = draft(in_tenant, world)
    act(in_tenant, world, po_id, ordering.book)
    with pytest.raises(ordering.RuleViolations) as refused:
        act(in_tenant, world, po_id, ordering.send)
    messages = [f.violation.message for f in refused.value.findings]
    assert any("Broken rules could not check this order" in m for m in messages)
    assert any("gone.rules applies to this supplier but is not available" in m for m in messages)


def test_transfer_retries_temporary_errors_with_the_same_key_and_gives_up_on_permanent_ones(
    plugin, app, in_tenant, world
):
    with in_tenant(world.tenant) as session:
        _get(session, Supplier, world.supplier_id).integration_key = Flaky.key
        session.commit()
    Flaky.failures = [RetryableError("supplier down", retry_after=600)]
    po_id = sent(in_tenant, world)
    with app.app_context():
        assert deliver_due() == 0
    po = state(in_tenant, world, po_id)
    assert po.status == Status.SENT
    assert "supplier down" in po.transfer_error
    with in_tenant(world.tenant) as session:
        message = session.scalar(
            select(OutboxMessage).where(OutboxMessage.kind == ordering.TRANSFER)
        )
        assert message.status == OutboxStatus.PENDING
        assert message.next_attempt_at - utcnow() >= timedelta(seconds=590)
        message.next_attempt_at = utcnow()
        session.commit()
    with app.app_context():
        assert deliver_due() == 1
    po = state(in_tenant, world, po_id)
    assert (po.status, po.supplier_order_number, po.transfer_error) == (
        Status.TRANSFERRED,
        "S-77",
        "",
    )
    key = f"po-transfer:{world.tenant.id}:{po_id}:1"
    assert Flaky.calls == [(key, 1), (key, 2)]

    Flaky.failures = [PermanentError("unknown article F-BOOT")]
    second = sent(in_tenant, world)
    with app.app_context():
        deliver_due()
    po = state(in_tenant, world, second)
    assert po.status == Status.SENT
    assert "unknown article" in po.transfer_error
    with in_tenant(world.tenant) as session:
        failed = session.scalar(
            select(OutboxMessage).where(OutboxMessage.idempotency_key.endswith(f"{second}:1"))
        )
        assert failed.status == OutboxStatus.FAILED
        assert failed.attempts == 1


def test_a_cancelled_order_is_not_transferred(app, in_tenant, world):
    po_id = sent(in_tenant, world)
    act(in_tenant, world, po_id, services.cancel_purchase_order)
    with app.app_context():
        deliver_due()
    assert state(in_tenant, world, po_id).status == Status.CANCELLED


# --- the supplier's answers ------------------------------------------------------------------


def test_acknowledge_confirm_without_changes(app, in_tenant, world):
    po_id = transferred(app, in_tenant, world)
    act(in_tenant, world, po_id, responses.acknowledge)
    with pytest.raises(TransitionRefused):
        act(in_tenant, world, po_id, responses.acknowledge)
    assert act(in_tenant, world, po_id, responses.confirm) == Status.CONFIRMED
    po = state(in_tenant, world, po_id)
    assert po.answered_at
    assert not any(line.changed_fields for line in po.lines)
    assert codes.ubl_response_code(po) == "AP"
    for refused in (responses.acknowledge, responses.confirm):
        with pytest.raises(TransitionRefused):
            act(in_tenant, world, po_id, refused)
    with pytest.raises(TransitionRefused, match="no longer be cancelled"):
        act(in_tenant, world, po_id, services.cancel_purchase_order)


def test_confirmation_with_final_changes_locks_the_new_values(app, in_tenant, world):
    po_id = transferred(app, in_tenant, world)
    po = state(in_tenant, world, po_id)
    later = utcnow().date() + timedelta(days=30)
    answers = {
        po.lines[0].id: responses.LineAnswer(
            quantity=18, unit_price=Decimal("21.50"), delivery_date=later
        )
    }
    assert act(in_tenant, world, po_id, responses.confirm, answers) == Status.CONFIRMED
    po = state(in_tenant, world, po_id)
    boots = po.lines[0]
    assert (boots.quantity, boots.unit_price, boots.delivery_date) == (18, Decimal("21.50"), later)
    assert (boots.ordered_quantity, boots.ordered_unit_price) == (12, Decimal("20.00"))
    assert boots.changed_fields == {"quantity", "unit_price", "delivery_date"}
    assert po.lines[1].changed_fields == set()
    assert codes.ubl_response_code(po) == "CA"
    with pytest.raises(TransitionRefused):
        act(
            in_tenant,
            world,
            po_id,
            services.update_purchase_order,
            [],
            expected_date=None,
            reference="",
            expected_version=po.version,
        )


def test_confirmation_with_changes_waits_for_the_store_when_the_supplier_needs_approval(
    app, in_tenant, world
):
    with in_tenant(world.tenant) as session:
        _get(session, Supplier, world.supplier_id).changes_need_approval = True
        session.commit()
    po_id = transferred(app, in_tenant, world)
    po = state(in_tenant, world, po_id)
    answers = {po.lines[1].id: responses.LineAnswer(unit_price=Decimal("1.75"))}
    assert act(in_tenant, world, po_id, responses.confirm, answers) == Status.CHANGES_PROPOSED
    po = state(in_tenant, world, po_id)
    assert po.lines[1].unit_price == Decimal("1.50")
    assert po.lines[1].proposed_unit_price == Decimal("1.75")
    assert codes.ubl_response_code(po) == "CA"
    # The store refuses: back to the supplier with the reason.
    with pytest.raises(DomainError, match="why you do not accept"):
        act(in_tenant, world, po_id, ordering.refuse_changes, "  ")
    act(in_tenant, world, po_id, ordering.refuse_changes, "Price was agreed until March.")
    po = state(in_tenant, world, po_id)
    assert po.status == Status.ACKNOWLEDGED
    assert po.changes_refusal_reason == "Price was agreed until March."
    assert po.lines[1].proposed_unit_price is None
    with pytest.raises(TransitionRefused):
        act(in_tenant, world, po_id, ordering.accept_changes)
    # A second proposal, accepted this time.
    act(
        in_tenant,
        world,
        po_id,
        responses.confirm,
        {po.lines[1].id: responses.LineAnswer(unit_price=Decimal("1.60"))},
    )
    act(in_tenant, world, po_id, ordering.accept_changes)
    po = state(in_tenant, world, po_id)
    assert po.status == Status.CONFIRMED
    assert po.lines[1].unit_price == Decimal("1.60")
    assert po.lines[1].changed_fields == {"unit_price"}


def test_confirmation_refuses_bad_line_values_naming_the_line(app, in_tenant, world):
    po_id = transferred(app, in_tenant, world)
    po = state(in_tenant, world, po_id)
    answers = {
        po.lines[0].id: responses.LineAnswer(quantity=0),
        po.lines[1].id: responses.LineAnswer(
            unit_price=Decimal("-1"), delivery_date=utcnow().date() - timedelta(days=2)
        ),
    }
    with pytest.raises(LineErrors) as refused:
        act(in_tenant, world, po_id, responses.confirm, answers)
    texts = [str(e) for e in refused.value.errors]
    assert any(t.startswith("Line 1 (BOOT-1)") for t in texts)
    assert any(t.startswith("Line 2 (SOCK-1)") and "price" in t for t in texts)
    assert any(t.startswith("Line 2 (SOCK-1)") and "past" in t for t in texts)
    assert state(in_tenant, world, po_id).status == Status.TRANSFERRED


def test_reject_needs_a_reason_and_ends_the_order(app, in_tenant, world):
    po_id = transferred(app, in_tenant, world)
    with pytest.raises(DomainError, match="reason"):
        act(in_tenant, world, po_id, responses.reject, "")
    act(in_tenant, world, po_id, responses.reject, "Out of production.")
    po = state(in_tenant, world, po_id)
    assert (po.status, po.rejection_reason, codes.ubl_response_code(po)) == (
        Status.REJECTED,
        "Out of production.",
        "RE",
    )
    for refused in (responses.confirm, responses.start_production, services.cancel_purchase_order):
        with pytest.raises(TransitionRefused):
            act(in_tenant, world, po_id, refused)


def test_the_suppliers_order_number_means_the_order_is_taken(app, in_tenant, world):
    po_id = transferred(app, in_tenant, world)
    act(in_tenant, world, po_id, responses.set_reference, "FX-1001", "Waiting for leather")
    po = state(in_tenant, world, po_id)
    assert (po.status, po.supplier_order_number, po.supplier_situation) == (
        Status.ACKNOWLEDGED,
        "FX-1001",
        "Waiting for leather",
    )
    assert codes.ubl_response_code(po) == "AB"
    with in_tenant(world.tenant) as session:
        _get(session, Supplier, world.supplier_id).situations = "Planned\nIn the cutting room\n"
        session.commit()
    with pytest.raises(DomainError, match="listed situations"):
        act(in_tenant, world, po_id, responses.set_reference, "FX-1001", "Anything")
    act(in_tenant, world, po_id, responses.set_reference, "FX-1001", "Planned")
    with pytest.raises(DomainError, match="64"):
        act(in_tenant, world, po_id, responses.set_reference, "X" * 65, "")


def test_draft_orders_cannot_be_answered(in_tenant, world):
    po_id = draft(in_tenant, world)
    for refused in (responses.acknowledge, responses.confirm, responses.start_production):
        with pytest.raises(TransitionRefused):
            act(in_tenant, world, po_id, refused)
    with pytest.raises(TransitionRefused):
        act(in_tenant, world, po_id, responses.set_reference, "1", "")
    with pytest.raises(TransitionRefused):
        act(in_tenant, world, po_id, responses.reject, "no")


def test_production_dispatch_and_goods_receipt_add_stock(app, in_tenant, world):
    po_id = transferred(app, in_tenant, world)
    with pytest.raises(TransitionRefused):
        act(in_tenant, world, po_id, responses.dispatch)
    act(in_tenant, world, po_id, responses.confirm)
    act(in_tenant, world, po_id, responses.start_production)
    with pytest.raises(TransitionRefused):
        act(in_tenant, world, po_id, responses.start_production)
    po = state(in_tenant, world, po_id)
    boots, socks = po.lines
    with pytest.raises(LineErrors) as refused:
        act(in_tenant, world, po_id, responses.dispatch, quantities={boots.id: 13})
    assert "only 12 units" in str(refused.value.errors[0])
    week = utcnow().date() + timedelta(days=7)
    notice = act(
        in_tenant,
        world,
        po_id,
        responses.dispatch,
        carrier="DHL",
        tracking_code="JJD000123",
        expected_date=week,
        quantities={boots.id: 6},
    )
    assert notice.carrier == "DHL"
    po = state(in_tenant, world, po_id)
    assert po.status == Status.PARTIALLY_DISPATCHED  # 6 of 12 boots and no socks went
    assert po.expected_date != week  # the store's requested date stays
    assert notice.expected_date == week
    # The rest goes with a second notice.
    act(in_tenant, world, po_id, responses.dispatch)
    assert state(in_tenant, world, po_id).status == Status.DISPATCHED
    with in_tenant(world.tenant) as session:
        announced = responses.dispatched_units(_get(session, PurchaseOrder, po_id))
        assert announced == {boots.id: 12, socks.id: 12}
    with pytest.raises(DomainError, match="at least one"):
        act(in_tenant, world, po_id, responses.dispatch)
    act(in_tenant, world, po_id, services.receive_goods, {boots.id: 12, socks.id: 5})
    assert state(in_tenant, world, po_id).status == Status.PARTIALLY_RECEIVED
    act(in_tenant, world, po_id, services.receive_goods, {socks.id: 7})
    assert state(in_tenant, world, po_id).status == Status.RECEIVED
    with in_tenant(world.tenant) as session:
        levels = {row.product_id: row.on_hand for row in session.scalars(select(StockLevel))}
        assert levels[boots.product_id] == 12
        assert levels[socks.product_id] == 12


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, "PNG")
    return buffer.getvalue()


def test_documents_are_checked_by_content(app, in_tenant, world):
    draft_id = draft(in_tenant, world)
    with pytest.raises(TransitionRefused):
        act(in_tenant, world, draft_id, responses.add_document, "a.pdf", b"%PDF-1.4 x")
    po_id = sent(in_tenant, world, containers=(1,))
    document = act(
        in_tenant, world, po_id, responses.add_document, "../../Invoice 7.PDF", b"%PDF-1.7\n..."
    )
    assert (document.filename, document.content_type) == ("Invoice 7.pdf", "application/pdf")
    image = act(in_tenant, world, po_id, responses.add_document, "photo.exe", _png())
    assert (image.filename, image.content_type) == ("photo.png", "image/png")
    for name, data, message in (
        ("x.pdf", b"<html><script>", "Only PDF files"),
        ("x.pdf", b"", "empty"),
        ("x.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024), "10 MB"),
    ):
        with pytest.raises(DomainError, match=message):
            act(in_tenant, world, po_id, responses.add_document, name, data)


# --- events from a supplier's system ---------------------------------------------------------


def test_events_are_applied_once_through_the_same_rules(app, in_tenant, world):
    po_id = transferred(app, in_tenant, world)
    number = state(in_tenant, world, po_id).number
    later = utcnow().date() + timedelta(days=20)
    event = SupplierEvent(
        kind=EventKind.CONFIRMED,
        event_id="msg-1",
        order_number=number,
        lines=(LineChange(position=2, quantity=24, delivery_date=later),),
        supplier_order_number="REMOTE-9",
    )
    with in_tenant(world.tenant) as session:
        supplier = _get(session, Supplier, world.supplier_id)
        assert responses.apply_event(supplier, event) is True
        session.commit()
        assert responses.apply_event(supplier, event) is False
        with pytest.raises(responses.UnknownOrder):
            responses.apply_event(
                supplier, SupplierEvent(EventKind.ACKNOWLEDGED, "msg-2", "PO-NOPE")
            )
        session.rollback()
    po = state(in_tenant, world, po_id)
    assert (po.status, po.supplier_order_number) == (Status.CONFIRMED, "REMOTE-9")
    assert (po.lines[1].quantity, po.lines[1].delivery_date) == (24, later)


def test_response_code_tables_cover_every_answer_both_ways():
    for status, code in codes.UBL_RESPONSE_CODES.items():
        kind = codes.UBL_EVENT_KINDS[code]
        assert kind.value == status.value
    assert set(codes.EDIFACT_RESPONSE_CODES) == set(codes.UBL_RESPONSE_CODES)
    assert codes.EDIFACT_EVENT_KINDS["27"] == EventKind.REJECTED
    assert codes.CXML_EVENT_KINDS["detail"] == EventKind.CHANGES_PROPOSED


def test_audit_log_has_who_when_old_and_new(app, in_tenant, world):
    po_id = transferred(app, in_tenant, world)
    po = state(in_tenant, world, po_id)
    act(
        in_tenant,
        world,
        po_id,
        responses.confirm,
        {po.lines[0].id: responses.LineAnswer(quantity=24)},
    )
    with in_tenant(world.tenant):
        history = services.status_history(state(in_tenant, world, po_id))
    actions = [entry.action for entry in history]
    assert actions[:1] == ["purchase_order.created"]
    for action in (
        "purchase_order.booked",
        "purchase_order.sent",
        "purchase_order.transferred",
        "purchase_order.confirmed",
        "purchase_order.confirmed_with_changes",
    ):
        assert action in actions
    changed = next(e for e in history if e.action == "purchase_order.confirmed_with_changes")
    assert changed.changes == {"lines[1].quantity": ["12", "24"]}
    assert all(entry.created_at for entry in history)


@pytest.fixture
def world(supplier_world):
    return supplier_world


@pytest.fixture
def plugin(ordering_plugin):
    return ordering_plugin


def test_observers_hear_of_committed_changes_only(plugin, app, in_tenant, world):
    from portal.testing.suppliers import observed

    po_id = draft(in_tenant, world)
    with in_tenant(world.tenant) as session:
        ordering.book(_get(session, PurchaseOrder, po_id))
        session.rollback()
    assert observed == []
    act(in_tenant, world, po_id, ordering.book)
    number = state(in_tenant, world, po_id).number
    assert observed == [(world.tenant.slug, "booked", "draft", "booked", number)]


def test_the_database_keeps_one_open_draft_per_store_and_supplier(in_tenant, world, monkeypatch):
    first = draft(in_tenant, world, containers=(1,))
    # Another request made the draft a moment ago, after this one looked for it.
    looked = []

    def not_yet_seen(client_id, supplier_id):
        looked.append(client_id)
        if len(looked) == 1:
            return None
        return original(client_id, supplier_id)

    original = ordering.open_draft
    monkeypatch.setattr(ordering, "open_draft", not_yet_seen)
    second = draft(in_tenant, world, containers=(2,))
    assert second == first
    assert [line.quantity for line in state(in_tenant, world, first).lines] == [18]
    # Booked drafts do not count: a new draft may follow.
    monkeypatch.undo()
    act(in_tenant, world, first, ordering.book)
    assert draft(in_tenant, world, containers=(1,)) != first


# --- whole containers and partial dispatch (issue 10, defects 5 and 6) ------------------------


def test_a_line_ordered_in_containers_is_confirmed_in_whole_containers(app, in_tenant, world):
    po_id = transferred(app, in_tenant, world)
    boots, socks = state(in_tenant, world, po_id).lines  # 2 x 6 and 1 x 12
    assert boots.in_containers
    assert socks.in_containers
    with pytest.raises(LineErrors) as refused:
        act(
            in_tenant,
            world,
            po_id,
            responses.confirm,
            {
                boots.id: responses.LineAnswer(quantity=7),
                socks.id: responses.LineAnswer(quantity=20),
            },
        )
    assert [str(error) for error in refused.value.errors] == [
        "Line 1 (BOOT-1): this line is ordered in containers of 6 units; please confirm a "
        "multiple of 6, for example 6.",
        "Line 2 (SOCK-1): this line is ordered in containers of 12 units; please confirm a "
        "multiple of 12, for example 24.",
    ]
    assert [error.row for error in refused.value.errors] == [1, 2]
    assert state(in_tenant, world, po_id).status == Status.TRANSFERRED  # nothing half-written
    act(in_tenant, world, po_id, responses.confirm, {boots.id: responses.LineAnswer(quantity=18)})
    po = state(in_tenant, world, po_id)
    assert po.status == Status.CONFIRMED
    assert (po.lines[0].quantity, po.lines[0].containers, po.lines[0].loose_units) == (18, 3, 0)


def test_a_proposal_and_an_integrations_event_obey_the_same_container_rule(app, in_tenant, world):
    with in_tenant(world.tenant) as session:
        _get(session, Supplier, world.supplier_id).changes_need_approval = True
        session.commit()
    po_id = transferred(app, in_tenant, world)
    boots = state(in_tenant, world, po_id).lines[0]
    with pytest.raises(LineErrors, match="Some lines are not valid"):
        act(in_tenant, world, po_id, responses.confirm, {boots.id: responses.LineAnswer(5)})
    number = state(in_tenant, world, po_id).number
    event = SupplierEvent(
        event_id="ev-containers",
        kind=EventKind.CONFIRMED,
        order_number=number,
        lines=(LineChange(position=1, quantity=9),),
    )
    with in_tenant(world.tenant) as session:
        supplier = _get(session, Supplier, world.supplier_id)
        with pytest.raises(LineErrors):
            responses.apply_event(supplier, event)
        session.rollback()
    assert state(in_tenant, world, po_id).status == Status.TRANSFERRED


def test_a_line_not_ordered_in_whole_containers_is_confirmed_in_units(app, in_tenant, world):
    po_id = transferred(app, in_tenant, world)
    with in_tenant(world.tenant) as session:
        # An older line whose supplier changed its container size: 13 units in cases of 6.
        line = _get(session, PurchaseOrder, po_id).lines[0]
        line.quantity = line.ordered_quantity = 13
        session.commit()
    po = state(in_tenant, world, po_id)
    assert not po.lines[0].in_containers
    assert (po.lines[0].containers, po.lines[0].loose_units) == (2, 1)
    act(in_tenant, world, po_id, responses.confirm, {po.lines[0].id: responses.LineAnswer(11)})
    assert state(in_tenant, world, po_id).lines[0].quantity == 11


def test_container_quantities_are_shown_in_numbers_that_add_up(app):
    from portal.web.purchase_orders import container_text

    with app.test_request_context():
        assert container_text(18, 6) == "3 \N{MULTIPLICATION SIGN} 6 = 18 units"
        assert container_text(7, 6) == "1 \N{MULTIPLICATION SIGN} 6 + 1 unit = 7 units"
        assert container_text(13, 6) == "2 \N{MULTIPLICATION SIGN} 6 + 1 unit = 13 units"
        assert container_text(1, 1) == "1 unit"
        assert container_text(5, 1) == "5 units"
        assert container_text(None, 6) == "—"


def test_a_partial_dispatch_is_partially_dispatched_until_the_rest_goes(
    plugin, app, in_tenant, world
):
    from portal.testing.suppliers import observed

    po_id = transferred(app, in_tenant, world)
    act(in_tenant, world, po_id, responses.confirm)
    po = state(in_tenant, world, po_id)
    boots, socks = po.lines
    observed.clear()
    act(in_tenant, world, po_id, responses.dispatch, quantities={boots.id: 6})
    assert state(in_tenant, world, po_id).status == Status.PARTIALLY_DISPATCHED
    assert act(in_tenant, world, po_id, responses.can)["dispatch"]
    # A second part leaves it partially dispatched; it is audited and told all the same.
    act(in_tenant, world, po_id, responses.dispatch, quantities={boots.id: 6, socks.id: 2})
    assert state(in_tenant, world, po_id).status == Status.PARTIALLY_DISPATCHED
    act(in_tenant, world, po_id, responses.dispatch)  # the rest: 10 socks
    po = state(in_tenant, world, po_id)
    assert po.status == Status.DISPATCHED
    assert not act(in_tenant, world, po_id, responses.can)["dispatch"]
    slug = world.tenant.slug
    assert observed == [
        (slug, "dispatched", "confirmed", "partially_dispatched", po.number),
        (slug, "dispatched", "partially_dispatched", "partially_dispatched", po.number),
        (slug, "dispatched", "partially_dispatched", "dispatched", po.number),
    ]
    with in_tenant(world.tenant) as session:
        entries = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "purchase_order.dispatched")
            .order_by(AuditEntry.created_at, AuditEntry.id)
        ).all()
        assert [entry.changes.get("status") for entry in entries] == [
            ["confirmed", "partially_dispatched"],
            None,
            ["partially_dispatched", "dispatched"],
        ]
        assert [entry.details["outstanding"] for entry in entries] == [18, 10, 0]


def test_goods_of_a_partially_dispatched_order_are_received(app, in_tenant, world):
    po_id = transferred(app, in_tenant, world)
    act(in_tenant, world, po_id, responses.confirm)
    act(in_tenant, world, po_id, responses.start_production)
    boots, socks = state(in_tenant, world, po_id).lines
    act(in_tenant, world, po_id, responses.dispatch, quantities={boots.id: 12})
    po = state(in_tenant, world, po_id)
    assert po.status == Status.PARTIALLY_DISPATCHED
    assert services.can_receive(po)
    # The store receives what was dispatched so far: the receipt tells the state from now on.
    act(in_tenant, world, po_id, services.receive_goods, {boots.id: 12})
    assert state(in_tenant, world, po_id).status == Status.PARTIALLY_RECEIVED
    act(in_tenant, world, po_id, responses.dispatch)  # the socks follow
    assert state(in_tenant, world, po_id).status == Status.PARTIALLY_RECEIVED
    act(in_tenant, world, po_id, services.receive_goods, {socks.id: 12})
    assert state(in_tenant, world, po_id).status == Status.RECEIVED


def test_a_despatch_advice_for_part_of_the_order_has_its_codes():
    assert codes.despatch_state(1) == Status.PARTIALLY_DISPATCHED
    assert codes.despatch_state(0) == Status.DISPATCHED
    assert codes.CXML_FULFILLMENT_TYPES[Status.PARTIALLY_DISPATCHED] == "partial"
    assert codes.CXML_FULFILLMENT_STATES["complete"] == Status.DISPATCHED
    assert Status.PARTIALLY_DISPATCHED in codes.AFTER_CONFIRMATION
    assert Status.PARTIALLY_DISPATCHED in responses.RELEASED
