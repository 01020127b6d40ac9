"""Purchase-order services: announce, change, cancel, receive, and their history."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.core.errors import DomainError, LineErrors, StaleVersion, TransitionRefused
from portal.core.orders.services import LineInput
from portal.core.purchasing import services
from portal.core.purchasing.models import PurchaseOrder, PurchaseOrderLine
from portal.core.purchasing.models import PurchaseOrderStatus as Status
from portal.core.stock.models import StockLevel
from portal.core.warehouses.models import Warehouse
from portal.db import utcnow


@pytest.fixture
def shop(tenant, create_client, create_product):
    client = create_client(tenant)
    return {
        "client": client,
        "a": create_product(tenant, client, code="A-1"),
        "b": create_product(tenant, client, code="B-1"),
    }


@pytest.fixture
def session(in_tenant, tenant):
    with in_tenant(tenant) as session:
        yield session


def announce(session, shop, *lines, **kw) -> PurchaseOrder:
    client = session.merge(shop["client"])
    po = services.create_purchase_order(
        client, [LineInput(shop[key].id, quantity) for key, quantity in lines], **kw
    )
    session.flush()
    return po


def test_a_purchase_order_is_booked_for_the_default_warehouse(session, shop):
    po = announce(session, shop, ("a", 5), supplier_name=" Factory ", reference=" R1 ")
    assert po.number.startswith("PO-")
    assert po.status == Status.BOOKED
    assert po.warehouse.is_default
    assert (po.supplier_name, po.reference, po.supplier_label) == ("Factory", "R1", "Factory")
    assert [entry.action for entry in services.status_history(po)] == [
        "purchase_order.created",
        "purchase_order.booked",
    ]
    assert services.can_change(po)
    assert services.can_cancel(po)
    assert services.can_receive(po)


def test_the_clients_warehouse_wins_over_the_default(session, shop):
    hall = Warehouse(code="HALL", name="Hall")
    session.add(hall)
    session.flush()
    session.merge(shop["client"]).purchase_order_warehouse_id = hall.id
    session.flush()
    assert announce(session, shop, ("a", 1)).warehouse_id == hall.id


def test_changing_keeps_the_rows_of_products_that_stay(session, shop):
    po = announce(session, shop, ("a", 5), ("b", 1))
    first_row = po.lines[0].id
    tomorrow = utcnow().date() + timedelta(days=1)
    services.update_purchase_order(
        po,
        [LineInput(shop["a"].id, 7)],
        expected_date=tomorrow,
        reference="NEW",
        expected_version=po.version,
    )
    session.flush()
    rows = session.scalars(
        select(PurchaseOrderLine).where(PurchaseOrderLine.purchase_order_id == po.id)
    ).all()
    assert [(row.id, row.quantity) for row in rows] == [(first_row, 7)]
    assert (po.expected_date, po.reference) == (tomorrow, "NEW")
    [changed] = [e for e in services.status_history(po) if e.action == "purchase_order.changed"]
    assert changed.changes["reference"] == ["", "NEW"]
    assert changed.changes["lines"] == ["2", "1"]


def test_a_stale_change_is_refused(session, shop):
    po = announce(session, shop, ("a", 5))
    with pytest.raises(StaleVersion):
        services.update_purchase_order(
            po,
            [LineInput(shop["a"].id, 1)],
            expected_date=None,
            reference="",
            expected_version=po.version - 1,
        )
    with pytest.raises(StaleVersion):
        services.cancel_purchase_order(po, po.version + 1)


def test_partial_then_full_receipt_adds_stock_and_locks_the_order(session, shop):
    po = announce(session, shop, ("a", 5), ("b", 2))
    line_a, line_b = po.lines
    services.receive_goods(po, {line_a.id: 3}, expected_version=po.version)
    session.flush()
    assert po.status == Status.PARTIALLY_RECEIVED
    assert not services.can_change(po)
    assert not services.can_cancel(po)
    with pytest.raises(TransitionRefused, match="can no longer be changed"):
        services.update_purchase_order(
            po,
            [LineInput(shop["a"].id, 1)],
            expected_date=None,
            reference="",
            expected_version=None,
        )
    with pytest.raises(TransitionRefused, match="can no longer be cancelled"):
        services.cancel_purchase_order(po)

    version = po.version
    services.receive_goods(po, {line_a.id: 1})
    session.flush()
    # Still partially received, but the row was written: a receipt based on the old
    # version is refused.
    assert po.status == Status.PARTIALLY_RECEIVED
    assert po.version == version + 1
    with pytest.raises(StaleVersion):
        services.receive_goods(po, {line_a.id: 1}, expected_version=version)

    services.receive_goods(po, {line_a.id: 1, line_b.id: 2})
    session.flush()
    assert po.status == Status.RECEIVED
    assert not services.can_receive(po)
    levels = dict(session.execute(select(StockLevel.product_id, StockLevel.on_hand)).all())
    assert levels == {shop["a"].id: 5, shop["b"].id: 2}
    with pytest.raises(TransitionRefused):
        services.receive_goods(po, {line_a.id: 1})


def test_bad_receipt_quantities_name_line_and_product(session, shop):
    po = announce(session, shop, ("a", 5), ("b", 2))
    line_a, line_b = po.lines
    with pytest.raises(LineErrors) as refused:
        services.receive_goods(po, {line_a.id: "x", line_b.id: 3})
    assert [str(e) for e in refused.value.errors] == [
        "Line 1 (A-1): the quantity must be a whole number of zero or more.",
        "Line 2 (B-1): only 2 units are still expected.",
    ]
    with pytest.raises(DomainError, match="at least one received quantity"):
        services.receive_goods(po, {line_a.id: 0})
    assert [line.received for line in po.lines] == [0, 0]


def test_cancelling_is_recorded(session, shop):
    po = announce(session, shop, ("a", 5))
    services.cancel_purchase_order(po, po.version)
    session.flush()
    assert po.status == Status.CANCELLED
    assert po.cancelled_at is not None
    assert services.status_history(po)[-1].changes == {"status": ["booked", "cancelled"]}
    assert not services.can_receive(po)
