"""Reading stock: levels, the history in ledger order, the ledger check; product list rows."""

import uuid

import pytest
from sqlalchemy import select, update

from portal.core.products.models import Product
from portal.core.products.queries import ProductFilter, StockFilter, product_rows
from portal.core.stock import services
from portal.core.stock.models import MovementReason, StockLevel, StockMovement
from portal.core.stock.queries import check_ledger, history_statement, product_levels
from portal.core.warehouses.services import default_warehouse


@pytest.fixture
def boots(tenant, create_client, create_product):
    return create_product(tenant, create_client(tenant), code="BOOT", stock=5)


def load(session, product_id):
    return session.scalar(select(Product).where(Product.id == product_id))


def test_movement_ids_follow_the_ledger_even_when_the_clock_does_not(
    in_tenant, tenant, boots, monkeypatch
):
    # A clock that runs backwards (or two processes within one millisecond) must not put a
    # movement before the one whose balance it continues.
    monkeypatch.setattr(services, "uuid7", lambda: uuid.UUID(int=1 << 76))
    with in_tenant(tenant) as session:
        product = load(session, boots.id)
        warehouse_id = default_warehouse().id
        for quantity in (3, -1, 2):
            services.record_movement(product, warehouse_id, quantity, MovementReason.CORRECTION)
        balances = session.scalars(
            select(StockMovement.balance_after)
            .where(StockMovement.product_id == boots.id)
            .order_by(StockMovement.id)
        ).all()
        assert balances == [5, 8, 7, 9]
        assert check_ledger(boots.id, warehouse_id).consistent


def test_the_ledger_check_finds_a_level_that_does_not_add_up(in_tenant, tenant, boots):
    with in_tenant(tenant) as session:
        warehouse_id = default_warehouse().id
        check = check_ledger(boots.id, warehouse_id)
        assert (check.on_hand, check.ledger_total, check.consistent) == (5, 5, True)
        session.execute(
            update(StockLevel)
            .where(StockLevel.product_id == boots.id)
            .values(on_hand=6)
            .execution_options(synchronize_session=False)
        )
        check = check_ledger(boots.id, warehouse_id)
        assert (check.on_hand, check.consistent) == (6, False)


def test_the_history_and_levels_of_a_product(in_tenant, tenant, boots):
    with in_tenant(tenant) as session:
        product = load(session, boots.id)
        warehouse_id = default_warehouse().id
        services.record_movement(product, warehouse_id, -2, MovementReason.SHIPMENT)
        history = session.scalars(
            history_statement(boots.id).order_by(StockMovement.id.desc())
        ).all()
        assert [(m.quantity, m.balance_after) for m in history] == [(-2, 3), (5, 5)]
        [(level, warehouse)] = product_levels(boots.id)
        assert (level.on_hand, warehouse.code) == (3, "MAIN")


def test_product_rows_carry_stock_totals_and_filter_by_them(
    in_tenant, tenant, create_client, create_product, create_order
):
    client = create_client(tenant)
    full = create_product(tenant, client, code="FULL", stock=9, low_stock_threshold=3)
    low = create_product(tenant, client, code="LOW", stock=4, low_stock_threshold=3)
    create_product(tenant, client, code="NONE", low_stock_threshold=1)
    create_order(tenant, client, [(low, 2)])
    with in_tenant(tenant) as session:

        def codes(**filters):
            rows = session.execute(
                product_rows(ProductFilter(client_id=client.id, **filters)).order_by(Product.code)
            ).all()
            return {row.Product.code: (row.on_hand, row.available) for row in rows}

        assert codes() == {"FULL": (9, 9), "LOW": (4, 2), "NONE": (0, 0)}
        assert set(codes(stock=StockFilter.LOW)) == {"LOW", "NONE"}
        assert set(codes(stock=StockFilter.IN_STOCK)) == {"FULL", "LOW"}
        assert set(codes(stock=StockFilter.OUT_OF_STOCK)) == {"NONE"}
        assert set(codes(q="ful")) == {"FULL"}
    assert full.id
