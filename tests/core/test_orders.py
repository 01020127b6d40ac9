"""The order lifecycle: every transition, allowed and refused, with stock and backorders."""

import pytest
from sqlalchemy import select

from portal.core.errors import LineErrors, StaleVersion, TransitionRefused
from portal.core.orders import services
from portal.core.orders.models import Order, OrderStatus
from portal.core.orders.services import LineInput
from portal.core.stock.models import StockLevel, StockMovement
from portal.testing.factories import DEFAULT_ADDRESS


@pytest.fixture
def shop(tenant, create_client, create_product):
    client = create_client(tenant)
    return {
        "client": client,
        "stocked": create_product(tenant, client, stock=10),
        "empty": create_product(tenant, client),
    }


def _order(in_tenant, tenant, order):
    session = in_tenant(tenant)
    return session, order.id


def load(session, order_id):
    return session.scalar(select(Order).where(Order.id == order_id))


def level(session, product):
    return session.scalar(select(StockLevel).where(StockLevel.product_id == product.id))


def test_a_submitted_order_promises_stock(in_tenant, tenant, shop, create_order):
    order = create_order(tenant, shop["client"], [(shop["stocked"], 4)])
    with in_tenant(tenant) as session:
        loaded = load(session, order.id)
        assert loaded.status == OrderStatus.PROCESSING
        assert loaded.number.startswith("O-")
        assert loaded.lines[0].allocated == 4
        assert (
            level(session, shop["stocked"]).on_hand,
            level(session, shop["stocked"]).allocated,
        ) == (10, 4)


def test_missing_stock_makes_a_backorder_released_by_arrivals_oldest_first(
    in_tenant, tenant, shop, create_order
):
    from portal.core.stock.models import MovementReason
    from portal.core.stock.services import record_movement
    from portal.core.warehouses.services import default_warehouse

    first = create_order(tenant, shop["client"], [(shop["empty"], 3)])
    second = create_order(tenant, shop["client"], [(shop["empty"], 3)])
    with in_tenant(tenant) as session:
        assert load(session, first.id).status == OrderStatus.BACKORDER
        record_movement(shop["empty"], default_warehouse().id, 4, MovementReason.GOODS_RECEIPT)
        session.commit()
        one, two = load(session, first.id), load(session, second.id)
        assert (one.status, one.lines[0].allocated) == (OrderStatus.PROCESSING, 3)
        assert (two.status, two.lines[0].allocated) == (OrderStatus.BACKORDER, 1)


def test_pick_and_ship_move_stock_and_make_a_shipment(in_tenant, tenant, shop, create_order):
    order = create_order(tenant, shop["client"], [(shop["stocked"], 4)])
    with in_tenant(tenant) as session:
        loaded = load(session, order.id)
        services.pick_order(loaded, loaded.version)
        shipment = services.ship_order(loaded, "DHL", "JD0001")
        session.commit()
        assert loaded.status == OrderStatus.SHIPPED
        assert [(line.quantity) for line in shipment.lines] == [4]
        assert (
            level(session, shop["stocked"]).on_hand,
            level(session, shop["stocked"]).allocated,
        ) == (6, 0)
        ledger = session.scalars(
            select(StockMovement)
            .where(StockMovement.product_id == shop["stocked"].id)
            .order_by(StockMovement.id)
        ).all()
        assert [(m.quantity, m.balance_after) for m in ledger] == [(10, 10), (-4, 6)]
        assert ledger[-1].reference == loaded.number


def test_partial_shipment_leaves_the_rest_on_backorder(in_tenant, tenant, shop, create_order):
    order = create_order(tenant, shop["client"], [(shop["stocked"], 12)])
    with in_tenant(tenant) as session:
        loaded = load(session, order.id)
        assert loaded.status == OrderStatus.BACKORDER
        services.pick_order(loaded)
        services.ship_order(loaded, "UPS")
        assert loaded.status == OrderStatus.PARTIALLY_SHIPPED
        assert loaded.lines[0].missing == 2


def test_cancel_frees_promised_stock_and_is_refused_after_picking(
    in_tenant, tenant, shop, create_order
):
    order = create_order(tenant, shop["client"], [(shop["stocked"], 4)])
    picked = create_order(tenant, shop["client"], [(shop["stocked"], 1)])
    with in_tenant(tenant) as session:
        services.cancel_order(load(session, order.id))
        assert load(session, order.id).status == OrderStatus.CANCELLED
        assert level(session, shop["stocked"]).allocated == 1
        services.pick_order(load(session, picked.id))
        with pytest.raises(TransitionRefused):
            services.cancel_order(load(session, picked.id))
        with pytest.raises(TransitionRefused):
            services.change_address(load(session, picked.id), DEFAULT_ADDRESS, None)


def test_only_the_address_changes_after_creation(in_tenant, tenant, shop, create_order):
    order = create_order(tenant, shop["client"], [(shop["stocked"], 1)])
    with in_tenant(tenant) as session:
        loaded = load(session, order.id)
        changes = services.change_address(
            loaded, {**DEFAULT_ADDRESS, "city": "Utrecht"}, loaded.version
        )
        assert changes == {"city": ["Amsterdam", "Utrecht"]}
        with pytest.raises(TransitionRefused):
            services.replace_lines(loaded, [LineInput(shop["stocked"].id, 2)], None)


def test_a_stale_version_is_refused(in_tenant, tenant, shop, create_order):
    order = create_order(tenant, shop["client"], [(shop["stocked"], 1)])
    with in_tenant(tenant) as session:
        loaded = load(session, order.id)
        seen = loaded.version
        services.change_address(loaded, {**DEFAULT_ADDRESS, "city": "Utrecht"}, seen)
        session.commit()
        with pytest.raises(StaleVersion):
            services.change_address(load(session, order.id), DEFAULT_ADDRESS, seen)


def test_duplicate_makes_a_new_draft(in_tenant, tenant, shop, create_order):
    order = create_order(tenant, shop["client"], [(shop["stocked"], 2), (shop["empty"], 1)])
    with in_tenant(tenant) as session:
        copy = services.duplicate_order(load(session, order.id))
        assert copy.status == OrderStatus.DRAFT
        assert copy.number != order.number
        assert [(line.product_id, line.quantity) for line in copy.lines] == [
            (shop["stocked"].id, 2),
            (shop["empty"].id, 1),
        ]


def test_bad_lines_are_all_named(in_tenant, tenant, shop, create_client, create_product):
    stranger = create_product(tenant, create_client(tenant))
    with in_tenant(tenant), pytest.raises(LineErrors) as refused:
        services.create_order(
            shop["client"],
            [
                LineInput(shop["stocked"].id, 1, row=2),
                LineInput(stranger.id, 1, row=3),
                LineInput(shop["empty"].id, 0, row=4),
                LineInput(shop["stocked"].id, 5, row=5),
            ],
            DEFAULT_ADDRESS,
        )
    assert [error.row for error in refused.value.errors] == [3, 4, 5]
