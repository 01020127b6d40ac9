"""Time a supplier catalogue import: reading the file, creating every item, updating every item.

Usage (never part of the test run):

    .venv/bin/python bench/catalogue_import.py [--rows 20000] [--postgres URL]

Without --postgres it uses a temporary SQLite database. An .xlsx file with ``--rows`` items is
built in memory, read with the importer's reader, imported into an empty catalogue (all new),
then imported again with changed prices (all updated). Each step's time is printed.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

from openpyxl import Workbook

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portal.db import db
from portal.testing import factories
from portal.testing.fixtures import TestDatabase, make_test_app, postgres_database


def workbook(rows: int, price_cents: int) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["supplier code", "name", "barcode", "price", "container amount"])
    for number in range(rows):
        sheet.append([f"S-{number:06d}", f"Item {number}", "", f"{price_cents / 100:.2f}", 6])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--postgres", default=None, help="server URL")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    if args.postgres:
        database = postgres_database(args.postgres)
    else:
        path = scratch / "bench.db"
        database = TestDatabase(f"sqlite:///{path}", None, lambda: path.unlink(missing_ok=True))
    app = make_test_app(database, mail_port=1)
    from portal.core.suppliers.catalogue import import_catalogue, read_catalogue_file
    from portal.tenants.context import tenant_context

    try:
        with app.app_context():
            tenant = factories.make_tenant()
            supplier = factories.make_supplier(tenant)
            db.session.commit()
            for label, cents in (("create", 150), ("update", 175)):
                data = workbook(args.rows, cents)
                with tenant_context(tenant):
                    start = time.perf_counter()
                    parsed = read_catalogue_file(data)
                    read = time.perf_counter() - start
                    supplier = db.session.merge(supplier)
                    start = time.perf_counter()
                    summary = import_catalogue(supplier, parsed.rows)
                    db.session.commit()
                    stored = time.perf_counter() - start
                print(
                    f"{label}: {args.rows} rows, read {read:.2f} s, imported {stored:.2f} s"
                    f" ({summary.as_dict()})"
                )
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        database.drop()


if __name__ == "__main__":
    main()
