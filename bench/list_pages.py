"""Time the list pages with many orders: first page, a page far down, and search.

Usage (never part of the test run):

    .venv/bin/python bench/list_pages.py [--orders 100000] [--postgres URL] [--repeat 20]

Without --postgres it uses a temporary SQLite database. The data is bulk-inserted, then each
page is requested through the WSGI app (no network) and the median time is printed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portal.db import db
from portal.testing import factories
from portal.testing.fixtures import (
    HostClient,
    TestDatabase,
    make_test_app,
    postgres_database,
)


def fill(url: str, tenant_id, client_id, warehouse_id, product_id, count: int) -> None:
    engine = create_engine(url)
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        if postgres:
            conn.execute(
                text(
                    "INSERT INTO orders (tenant_id, id, number, client_id, warehouse_id, status, reference,"
                    " notes, version, name, company, street, street2, postcode, city, state, country,"
                    " phone, email, created_at, updated_at, submitted_at) SELECT :t, gen_random_uuid(),"
                    " 'B-' || i, :c, :w, CASE WHEN i % 10 = 0 THEN 'processing' ELSE 'completed' END,"
                    " 'REF' || i, '', 1, 'Name ' || i, '', 'Street', '', '1000', 'City', '', 'NL', '',"
                    " '', now(), now(), now() FROM generate_series(1, :n) i"
                ),
                {"t": tenant_id, "c": client_id, "w": warehouse_id, "n": count},
            )
            conn.execute(
                text(
                    "INSERT INTO order_lines (tenant_id, id, order_id, product_id, position, quantity,"
                    " allocated, shipped) SELECT tenant_id, gen_random_uuid(), id, :p, 0, 1, 0, 1"
                    " FROM orders WHERE tenant_id = :t"
                ),
                {"t": tenant_id, "p": product_id},
            )
            conn.execute(text("ANALYZE"))
        else:
            import uuid

            from portal.db import uuid7

            rows = [
                {
                    "t": tenant_id.hex,
                    "id": uuid7().hex,
                    "n": f"B-{i}",
                    "c": client_id.hex,
                    "w": warehouse_id.hex,
                    "s": "processing" if i % 10 == 0 else "completed",
                }
                for i in range(count)
            ]
            conn.execute(
                text(
                    "INSERT INTO orders (tenant_id, id, number, client_id, warehouse_id, status, reference,"
                    " notes, version, name, company, street, street2, postcode, city, state, country,"
                    " phone, email, created_at, updated_at, submitted_at) VALUES (:t, :id, :n, :c, :w,"
                    " :s, '', '', 1, 'Name', '', 'Street', '', '1000', 'City', '', 'NL', '', '',"
                    " '2026-01-01 00:00:00', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                ),
                rows,
            )
            conn.execute(
                text(
                    "INSERT INTO order_lines (tenant_id, id, order_id, product_id, position, quantity,"
                    " allocated, shipped) SELECT tenant_id, id, id, :p, 0, 1, 0, 1 FROM orders"
                ),
                {"p": product_id.hex},
            )
            del uuid
    engine.dispose()


def timed(client: HostClient, path: str, repeat: int) -> tuple[float, int]:
    samples = []
    status = 0
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - start) * 1000)
        status = response.status_code
    return statistics.median(samples), status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument(
        "--postgres", default=None, help="server URL, e.g. postgresql://postgres@127.0.0.1/postgres"
    )
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    if args.postgres:
        database = postgres_database(args.postgres)
    else:
        path = scratch / "bench.db"
        database = TestDatabase(f"sqlite:///{path}", None, lambda: path.unlink(missing_ok=True))
    app = make_test_app(database, mail_port=1)
    try:
        with app.app_context():
            tenant = factories.make_tenant()
            client = factories.make_client(tenant)
            product = factories.make_product(tenant, client)
            staff = factories.make_user(tenant, "staff")
            ids = (tenant.id, client.id, product.id, staff.email, tenant.slug)
            from portal.core.warehouses.models import Warehouse
            from portal.tenants.context import tenant_context

            with tenant_context(tenant):
                warehouse_id = db.session.scalar(db.select(Warehouse.id))
            db.session.commit()
        fill(
            database.admin_url or database.app_url,
            ids[0],
            ids[1],
            warehouse_id,
            ids[2],
            args.orders,
        )
        app.test_client_class = HostClient
        client = app.test_client()
        client.host = f"{ids[4]}.localhost"
        client.login(ids[3])
        first = client.get("/orders/").get_data(as_text=True)
        import re

        cursor = None
        for _ in range(50):  # walk 50 pages down to time a deep page
            match = re.search(r'href="/orders/\?[^"]*after=([^"&]+)', first)
            if not match:
                break
            cursor = match.group(1)
            first = client.get(f"/orders/?after={cursor}").get_data(as_text=True)
        print(f"{args.orders} orders on {'PostgreSQL' if args.postgres else 'SQLite'}")
        for label, page in [
            ("orders, first page", "/orders/"),
            ("orders, 50 pages down", f"/orders/?after={cursor}" if cursor else "/orders/"),
            ("orders, status filter", "/orders/?status=processing"),
            ("orders, search", "/orders/?q=B-4242"),
            ("backorders", "/backorders/"),
            ("dashboard", "/dashboard"),
        ]:
            median, status = timed(client, page, args.repeat)
            print(f"  {label:<28} {median:8.1f} ms  (HTTP {status})")
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        database.drop()


if __name__ == "__main__":
    main()
