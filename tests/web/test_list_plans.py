"""Every list page is served by indexes that start with tenant_id, also with 100,000 orders.

Runs on PostgreSQL always (PORTAL_TEST_POSTGRES_URL, default the local server): the pages are
requested as staff and as a client user, every SELECT they send is captured and EXPLAINed,
and no plan may scan a large table sequentially.
"""

import json
import re

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine

from portal.db import db
from portal.tenants.context import TenantRef
from portal.tenants.rls import SET_TENANT_SQL
from portal.tenants.scoping import database_tenant_settings
from portal.testing import factories
from portal.testing.fixtures import (
    HostClient,
    postgres_database,
    postgres_server_url,
    separate_app,
)

pytestmark = pytest.mark.postgres

SERVER = postgres_server_url()
ORDERS = 100_000
LARGE = 10_000
PAGES = [
    "/orders/",
    "/orders/?status=shipped",
    "/shipments/",
    "/backorders/",
    "/products/",
    "/purchase-orders/",
    "/returns/",
    "/admin/audit",
]


@pytest.fixture(scope="module")
def big():
    database = postgres_database(SERVER)
    with separate_app(database, mail_port=1) as app:
        with app.app_context():
            tenant = factories.make_tenant()
            other = factories.make_tenant()
            client = factories.make_client(tenant)
            product = factories.make_product(tenant, client, stock=5)
            staff = factories.make_user(tenant, "admin")
            client_user = factories.make_user(tenant, "client", client=client)
            refs = {
                "tenant": TenantRef(tenant.id, tenant.slug),
                "other": TenantRef(other.id, other.slug),
                "client": client.id,
                "product": product.id,
                "users": (staff.email, client_user.email),
            }
            db.session.commit()
        owner = create_engine(database.admin_url)
        with owner.begin() as conn:
            for tenant_id in (refs["tenant"].id, refs["other"].id):
                client_id = refs["client"]
                if tenant_id != refs["tenant"].id:
                    client_id = conn.scalar(
                        text(
                            "INSERT INTO clients (tenant_id, id, name, portal_access,"
                            " product_management, created_at, updated_at) VALUES (:t,"
                            " gen_random_uuid(), 'Other', true, false, now(), now()) RETURNING id"
                        ),
                        {"t": tenant_id},
                    )
                _fill(
                    conn,
                    tenant_id,
                    client_id,
                    refs["product"] if tenant_id == refs["tenant"].id else None,
                )
            conn.execute(text("ANALYZE"))
        owner.dispose()
        yield app, refs


def _fill(conn, tenant_id, client_id, product_id):
    warehouse = conn.scalar(
        text("SELECT id FROM warehouses WHERE tenant_id = :t"), {"t": tenant_id}
    )
    conn.execute(
        text(
            "INSERT INTO orders (tenant_id, id, number, client_id, warehouse_id, status,"
            " reference, notes, version, name, company, street, street2, postcode, city, state,"
            " country, phone, email, created_at, updated_at, submitted_at)"
            " SELECT :t, gen_random_uuid(), 'X-' || i, :c, :w,"
            # A living tenant: most orders are done, a few are open, fewer wait for stock.
            " CASE WHEN i % 100 < 70 THEN 'completed' WHEN i % 100 < 85 THEN 'shipped'"
            " WHEN i % 100 < 90 THEN 'cancelled' WHEN i % 100 < 98 THEN 'processing'"
            " ELSE 'backorder' END,"
            " 'REF' || i, '', 1, 'Name ' || i, '', 'Street 1', '', '1000', 'City', '', 'NL',"
            " '', '', now() - (i || ' minutes')::interval, now(), now()"
            " FROM generate_series(1, :n) AS i"
        ),
        {"t": tenant_id, "c": client_id, "w": warehouse, "n": ORDERS},
    )
    if product_id is None:
        return
    conn.execute(
        text(
            "INSERT INTO order_lines (tenant_id, id, order_id, product_id, position, quantity,"
            " allocated, shipped) SELECT tenant_id, gen_random_uuid(), id, :p, 0, 2,"
            " CASE WHEN status = 'processing' THEN 2 ELSE 0 END,"
            " CASE WHEN status IN ('shipped','completed') THEN 2 ELSE 0 END"
            " FROM orders WHERE tenant_id = :t"
        ),
        {"t": tenant_id, "p": product_id},
    )
    conn.execute(
        text(
            "INSERT INTO shipments (tenant_id, id, number, order_id, client_id, carrier,"
            " tracking_code, shipped_at) SELECT tenant_id, gen_random_uuid(), 'S-' || number,"
            " id, client_id, 'DHL', 'T' || number, created_at FROM orders"
            " WHERE tenant_id = :t AND status IN ('shipped','completed')"
        ),
        {"t": tenant_id},
    )


def _captured(app, client, path):
    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and not executemany:
            statements.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", capture)
    try:
        response = client.get(path)
    finally:
        event.remove(Engine, "before_cursor_execute", capture)
    assert response.status_code == 200, (path, response.status_code)
    return statements


def _large_tables(conn) -> set[str]:
    rows = conn.execute(text("SELECT relname, reltuples FROM pg_class WHERE relkind = 'r'"))
    return {name for name, tuples in rows if tuples >= LARGE}


def _seq_scans(plan) -> list[str]:
    found = []

    def walk(node):
        if node.get("Node Type") == "Seq Scan":
            found.append(node.get("Relation Name"))
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return found


@pytest.mark.parametrize("who", ["staff", "client"])
def test_list_pages_use_tenant_indexes(big, who):
    app, refs = big
    app.test_client_class = HostClient
    client = app.test_client()
    client.host = f"{refs['tenant'].slug}.localhost"
    email = refs["users"][0 if who == "staff" else 1]
    assert client.login(email).status_code == 302
    problems = []
    with app.app_context():
        connection = db.engine.connect()
        large = _large_tables(connection)
        connection.rollback()
        assert {"orders", "order_lines"} <= large
        for path in PAGES:
            if who == "client" and path.startswith("/admin"):
                continue
            for statement, parameters in _captured(app, client, path):
                with connection.begin():
                    connection.execute(
                        text(SET_TENANT_SQL), database_tenant_settings(refs["tenant"].id)
                    )
                    raw = connection.exec_driver_sql(
                        "EXPLAIN (FORMAT JSON) " + statement, parameters
                    ).scalar()
                plan = raw if isinstance(raw, list) else json.loads(raw)
                scanned = [t for t in _seq_scans(plan) if t in large]
                if scanned:
                    problems.append((path, scanned, re.sub(r"\s+", " ", statement)[:300]))
        connection.close()
    assert problems == []
