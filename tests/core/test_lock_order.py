"""Locks are taken in one order everywhere, so PostgreSQL never finds two transactions
waiting for each other in a circle: an order before the stock rows.

Shipping and submitting lock the order, then stock. Goods that arrive (a goods receipt, a
restocked return, a correction) are promised to waiting orders: they lock those orders
first, for all their products at once, and only then the stock rows. The statements of a
real goods receipt on PostgreSQL show the order.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from portal.core.orders.models import Order, OrderStatus
from portal.core.orders.services import LineInput
from portal.core.purchasing.services import create_purchase_order, receive_goods
from portal.db import db
from portal.tenants.context import tenant_context
from portal.testing import factories
from portal.testing.fixtures import postgres_database, postgres_server_url, separate_app

pytestmark = pytest.mark.postgres


def test_a_goods_receipt_locks_the_waiting_orders_before_any_stock_row():
    database = postgres_database(postgres_server_url())
    with separate_app(database, mail_port=1) as app, app.app_context():
        tenant = factories.make_tenant()
        client = factories.make_client(tenant)
        first = factories.make_product(tenant, client, code="LOCK-A")
        second = factories.make_product(tenant, client, code="LOCK-B")
        waiting = factories.make_order(tenant, client, [(first, 2), (second, 1)])
        with tenant_context(tenant):
            assert db.session.get(Order, (tenant.id, waiting.id)).status == (OrderStatus.BACKORDER)
            po = create_purchase_order(client, [LineInput(first.id, 5), LineInput(second.id, 5)])
            db.session.commit()

        statements: list[str] = []

        def capture(conn, cursor, statement, parameters, context, executemany):
            statements.append(" ".join(statement.split()))

        event.listen(db.engine, "before_cursor_execute", capture)
        try:
            with tenant_context(tenant):
                receive_goods(po, {line.id: 5 for line in po.lines})
                db.session.commit()
        finally:
            event.remove(db.engine, "before_cursor_execute", capture)

        with tenant_context(tenant):
            status = db.session.scalar(select(Order.status).where(Order.id == waiting.id))
            db.session.rollback()
    assert status == OrderStatus.PROCESSING  # released: the receipt really reached the orders
    order_locks = [
        i for i, s in enumerate(statements) if "FROM orders" in s and "FOR UPDATE OF orders" in s
    ]
    stock_writes = [i for i, s in enumerate(statements) if s.startswith("UPDATE stock_levels")]
    assert order_locks, statements
    assert stock_writes, statements
    assert order_locks[0] < stock_writes[0], statements
