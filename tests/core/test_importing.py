"""Excel order import: header detection, every bad row named, and hostile files refused."""

import io
import zipfile

import pytest
from openpyxl import Workbook

from portal.core.orders.importing import (
    MAX_LINES,
    ImportRefused,
    check_workbook,
    parse_order_workbook,
)


def workbook(rows, *, title_rows=()) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in (*title_rows, *rows):
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def catalogue(tenant, create_client, create_product):
    client = create_client(tenant)
    return client, [create_product(tenant, client, code=f"A-{n}") for n in range(3)]


def parse(in_tenant, tenant, client, data):
    with in_tenant(tenant):
        return parse_order_workbook(data, client.id)


def errors_of(in_tenant, tenant, client, data):
    with pytest.raises(ImportRefused) as refused:
        parse(in_tenant, tenant, client, data)
    return [str(e) for e in refused.value.errors] or [str(refused.value.message)]


def test_header_is_found_in_any_column_order_below_a_title(in_tenant, tenant, catalogue):
    client, _ = catalogue
    data = workbook(
        [("Qty", "Reference", "Product code"), (2, "PO-77", "A-0"), (5.0, "", "A-2")],
        title_rows=[("Order for spring",), ()],
    )
    parsed = parse(in_tenant, tenant, client, data)
    ids = {product.id: product.code for product in catalogue[1]}
    assert [(row, ids[p], q) for row, p, q in parsed.lines] == [(4, "A-0", 2), (5, "A-2", 5)]
    assert parsed.reference == "PO-77"


def test_address_columns_are_read(in_tenant, tenant, catalogue):
    client, _ = catalogue
    data = workbook(
        [
            ("code", "quantity", "name", "street", "postcode", "city", "country"),
            ("A-0", 1, "Jan Jansen", "Kerkstraat 1", "1011 AB", "Amsterdam", "NL"),
            ("A-1", 1, "", "", "", "", ""),
        ]
    )
    parsed = parse(in_tenant, tenant, client, data)
    assert parsed.address == {
        "name": "Jan Jansen",
        "street": "Kerkstraat 1",
        "postcode": "1011 AB",
        "city": "Amsterdam",
        "country": "NL",
    }


def test_every_bad_row_is_named(in_tenant, tenant, catalogue, create_client, create_product):
    client, _ = catalogue
    stranger = create_product(tenant, create_client(tenant), code="B-9")
    data = workbook(
        [
            ("Product code", "Quantity"),
            ("A-0", 1),
            ("NOPE", 1),
            (stranger.code, 1),
            ("A-1", 0),
            ("A-1", -3),
            ("A-2", 1.5),
            ("A-2", "many"),
            ("A-0", 4),
            ("", 2),
        ]
    )
    assert errors_of(in_tenant, tenant, client, data) == [
        "Row 3: unknown product NOPE.",
        "Row 4: unknown product B-9.",
        "Row 5: the quantity must be a positive whole number.",
        "Row 6: the quantity must be a positive whole number.",
        "Row 7: the quantity must be a positive whole number.",
        "Row 8: the quantity must be a positive whole number.",
        "Row 9: A-0 is already on row 2.",
        "Row 10: the product code is missing.",
    ]


def test_conflicting_addresses_in_one_file_are_refused(in_tenant, tenant, catalogue):
    client, _ = catalogue
    data = workbook([("code", "quantity", "city"), ("A-0", 1, "Berlin"), ("A-1", 1, "Paris")])
    assert errors_of(in_tenant, tenant, client, data) == [
        "Row 3: city differs from row 2; one file is one order."
    ]


def test_empty_files_and_missing_headers(in_tenant, tenant, catalogue):
    client, _ = catalogue
    assert errors_of(in_tenant, tenant, client, workbook([("Product code", "Quantity")])) == [
        "The file has no order lines under its header row."
    ]
    assert errors_of(in_tenant, tenant, client, workbook([("sku only",), ("A-0",)])) == [
        'No header row with the columns "product code" and "quantity" was found.'
    ]
    with pytest.raises(ImportRefused, match="empty"):
        check_workbook(b"")


def test_not_an_excel_file(in_tenant, tenant, catalogue):
    with pytest.raises(ImportRefused, match="not an Excel file"):
        check_workbook(b"code;quantity\nA-0;1\n")
    other_zip = io.BytesIO()
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ImportRefused, match="not an Excel file"):
        check_workbook(other_zip.getvalue())


def test_too_large_and_too_many_lines(in_tenant, tenant, catalogue):
    client, _ = catalogue
    with pytest.raises(ImportRefused, match="too large"):
        check_workbook(b"PK" + b"\0" * (5 * 1024 * 1024 + 1))
    rows = [("code", "quantity")] + [("A-0", 1)] * (MAX_LINES + 1)
    assert errors_of(in_tenant, tenant, client, workbook(rows)) == [
        f"The file has more than {MAX_LINES} lines."
    ]


def _xlsx_with(part: str, content: bytes) -> bytes:
    """Return a real workbook with one part replaced."""
    source = zipfile.ZipFile(io.BytesIO(workbook([("code", "quantity"), ("A-0", 1)])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in source.infolist():
            data = content if item.filename == part else source.read(item.filename)
            archive.writestr(item.filename, data)
        if part not in source.namelist():
            archive.writestr(part, content)
    return out.getvalue()


def test_a_zip_bomb_is_refused_before_unpacking():
    bomb = _xlsx_with("xl/media/padding.bin", b"\0" * (40 * 1024 * 1024))
    assert len(bomb) < 200_000
    with pytest.raises(ImportRefused, match="unpacks to far more data"):
        check_workbook(bomb)


def test_billion_laughs_is_refused():
    laughs = (
        b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(
            b'<!ENTITY lol%d "%s">' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10)
            for n in range(1, 10)
        )
        + b']>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
        b"</sheetData></worksheet>"
    )
    data = _xlsx_with("xl/worksheets/sheet1.xml", laughs)
    with pytest.raises(ImportRefused, match="DTD or entities"):
        check_workbook(data)
    # Even past our own check, the parser refuses to expand entities.
    from openpyxl import load_workbook

    with pytest.raises(Exception) as refused:  # noqa: PT011 - openpyxl wraps the real error
        list(load_workbook(io.BytesIO(data), read_only=True).worksheets[0].iter_rows())
    causes = []
    error = refused.value
    while error is not None:
        causes.append(type(error).__name__)
        error = error.__cause__ or error.__context__
    assert {"EntitiesForbidden", "DTDForbidden"} & set(causes), causes


def test_the_import_jobs_queries_do_not_grow_with_its_lines(tmp_path, smtp_server):
    # An application of its own: its sessions expire objects at commit, as in production
    # (the suite's shared session does not), which is where a per-line reload would hide.
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from portal.core.products.models import Product
    from portal.db import db
    from portal.jobs.models import Job, JobStatus
    from portal.jobs.services import create_job, run_job
    from portal.tenants.context import tenant_context
    from portal.testing import factories
    from portal.testing.fixtures import provision_database, separate_app

    with separate_app(provision_database(tmp_path), smtp_server.port) as app:
        with app.app_context():
            tenant = factories.make_tenant()
            client = factories.make_client(tenant)
            user = factories.make_user(tenant, "client", client=client)
            with tenant_context(tenant):
                db.session.add_all(
                    Product(client_id=client.id, code=f"Q-{n:03d}", name=f"Item {n}")
                    for n in range(600)
                )
                tenant_id, client_id, user_id = tenant.id, client.id, user.id
                db.session.commit()

        def statements_for(lines: int) -> int:
            header = ("Quantity", "Product code", "Name", "Street", "Postcode", "City", "State")
            header += ("Country",)
            rows = [header, (1, "Q-000", "Ana", "Rua A 1", "01000-000", "Sao Paulo", "SP", "BR")]
            rows += [(1, f"Q-{n:03d}") for n in range(1, lines)]
            with app.app_context(), tenant_context(db.session.get(type(tenant), tenant_id)):
                job = create_job(
                    "order_import",
                    data=workbook(rows),
                    name="order.xlsx",
                    created_by_id=user_id,
                    client_id=client_id,
                )
                db.session.commit()
                job_id = job.id
            statements = []

            def count(conn, cursor, statement, *args):
                # Reads and writes; not BEGIN, COMMIT or the tenant setting of a transaction.
                verb = statement.lstrip().upper()
                if verb.startswith(("SELECT", "INSERT", "UPDATE", "DELETE")) and (
                    "set_config" not in statement
                ):
                    statements.append(statement)

            event.listen(Engine, "before_cursor_execute", count)
            try:
                run_job(app, tenant_id, job_id, "en")
            finally:
                event.remove(Engine, "before_cursor_execute", count)
            with app.app_context(), tenant_context(db.session.get(type(tenant), tenant_id)):
                assert db.session.get(Job, (tenant_id, job_id)).status == JobStatus.DONE
            return len(statements)

        statements_for(2)  # the first order of the year creates its number sequence
        # Only the progress, an UPDATE every 250 rows, adds statements: nothing is loaded
        # again line by line after a progress commit expired it (today's code: one SELECT a
        # line).
        assert statements_for(600) - statements_for(300) == 600 // 250 - 300 // 250
