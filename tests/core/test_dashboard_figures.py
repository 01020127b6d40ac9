"""Dashboard figures: per client or for the tenant, with short, ordered lists."""

from datetime import timedelta

from portal.core.dashboard import LIST_SIZE, dashboard_figures
from portal.core.orders.models import OrderStatus
from portal.core.orders.services import LineInput
from portal.core.purchasing.services import create_purchase_order
from portal.db import utcnow


def today():
    start = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def test_figures_of_one_client_and_of_the_tenant(
    in_tenant, tenant, create_client, create_product, create_order
):
    mine, theirs = create_client(tenant), create_client(tenant)
    low = create_product(tenant, mine, code="LOW", stock=1, low_stock_threshold=3)
    create_product(tenant, mine, code="ENOUGH", stock=9, low_stock_threshold=3)
    create_product(tenant, mine, code="NO-THRESHOLD")
    create_order(tenant, mine, [(low, 3)])
    other = create_product(tenant, theirs, code="THEIRS", low_stock_threshold=1)
    create_order(tenant, theirs, [(other, 2)])
    with in_tenant(tenant):
        figures = dashboard_figures(mine.id, *today())
        assert figures.open_orders == {OrderStatus.BACKORDER: 1}
        assert (figures.backorder_lines, figures.backorder_units) == (1, 2)
        assert [(p.code, p.available, p.threshold) for p in figures.low_stock] == [("LOW", 0, 3)]
        assert figures.low_stock_count == 1

        everything = dashboard_figures(None, *today())
        assert everything.open_order_count == 2
        assert everything.backorder_units == 4
        assert [p.code for p in everything.low_stock] == ["LOW", "THEIRS"]


def test_lists_are_short_and_soonest_first(in_tenant, tenant, create_client, create_product):
    client = create_client(tenant)
    products = [
        create_product(tenant, client, code=f"P{n:02d}", stock=n, low_stock_threshold=50)
        for n in range(LIST_SIZE + 2)
    ]
    soon = utcnow().date() + timedelta(days=1)
    with in_tenant(tenant) as session:
        fresh = session.merge(client)
        undated = create_purchase_order(fresh, [LineInput(products[0].id, 1)])
        later = create_purchase_order(
            fresh, [LineInput(products[0].id, 1)], expected_date=soon + timedelta(days=5)
        )
        sooner = create_purchase_order(fresh, [LineInput(products[0].id, 1)], expected_date=soon)
        session.flush()
        figures = dashboard_figures(client.id, *today())
        assert [p.code for p in figures.low_stock] == [f"P{n:02d}" for n in range(LIST_SIZE)]
        assert figures.low_stock_count == LIST_SIZE + 2
        assert [po.id for po in figures.expected_purchase_orders] == [
            sooner.id,
            later.id,
            undated.id,
        ]
        assert figures.expected_purchase_order_count == 3
