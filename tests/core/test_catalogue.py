"""Supplier catalogues: reading files, every bad row named, all or nothing, create versus
update, matching items to a client's products, products made and updated from items."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.core.errors import DomainError
from portal.core.orders.importing import ImportRefused
from portal.core.products.models import Product
from portal.core.suppliers import catalogue
from portal.core.suppliers.models import CatalogueItem, CatalogueMatch, Supplier, SupplierClient
from portal.testing import factories


def xlsx(rows, *, title_rows=()) -> bytes:
    book = Workbook()
    for row in (*title_rows, *rows):
        book.active.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_bytes(lines, *, bom=False) -> bytes:
    return ("\ufeff" if bom else "").encode() + "\r\n".join(lines).encode("utf-8")


@pytest.fixture
def world(app, tenant, create_client):
    """A supplier with two linked clients and one client that is not linked."""
    from portal.db import db
    from portal.tenants.context import tenant_context

    store = create_client(tenant, name="Store North")
    other = create_client(tenant, name="Store South")
    stranger = create_client(tenant, name="Not a customer")
    with app.app_context():
        supplier = factories.make_supplier(tenant, "Timber Works")
        with tenant_context(tenant):
            for client in (store, other):
                db.session.add(SupplierClient(supplier_id=supplier.id, client_id=client.id))
            db.session.flush()  # inside the tenant context: row-level security checks it
        db.session.commit()
    return {"supplier": supplier, "store": store, "other": other, "stranger": stranger}


def read(data: bytes):
    return catalogue.read_catalogue_file(data)


def run_import(in_tenant, tenant, supplier, data: bytes):
    with in_tenant(tenant) as session:
        fresh = session.get(Supplier, (tenant.id, supplier.id))
        summary = catalogue.import_catalogue(fresh, read(data).rows)
        session.commit()
        return summary


def import_errors(in_tenant, tenant, supplier, data: bytes) -> list[str]:
    with pytest.raises(ImportRefused) as refused:
        run_import(in_tenant, tenant, supplier, data)
    return [str(e) for e in refused.value.errors] or [str(refused.value.message)]


def items_of(in_tenant, tenant, supplier) -> dict[str, tuple]:
    with in_tenant(tenant) as session:
        return {
            item.supplier_code: (item.name, item.barcode, item.price, item.container_amount)
            for item in session.scalars(
                select(CatalogueItem).where(CatalogueItem.supplier_id == supplier.id)
            )
        }


GOOD = [
    ("Supplier code", "Name", "Barcode", "Price", "Units per container"),
    ("OAK-1", "Oak plank", "4006381333931", 12.5, 6),
    ("PINE-2", "Pine plank", None, "3,75", None),
    ("ASH-3", "Ash plank", "", "1.234,50", "12"),
]


# --- reading files ---------------------------------------------------------------------------


def test_a_workbook_is_read_with_its_header_below_a_title_in_any_order():
    data = xlsx(
        [("VE", "Preis", "Bezeichnung", "EAN", "Artikelnummer"), (4, "2,50", "Eiche", "", "E-1")],
        title_rows=[("Preisliste 2026",), ()],
    )
    found = read(data)
    assert found.kind == "xlsx"
    assert found.header_row == 3
    assert found.columns == {
        "container_amount": "VE",
        "price": "Preis",
        "name": "Bezeichnung",
        "barcode": "EAN",
        "code": "Artikelnummer",
    }
    assert [(row.row, row.values["code"], row.values["price"]) for row in found.rows] == [
        (4, "E-1", "2,50")
    ]


@pytest.mark.parametrize("bom", [False, True])
def test_csv_with_semicolons_decimal_commas_german_headers_and_a_bom(bom, in_tenant, tenant, world):
    data = csv_bytes(
        [
            "Artikelnummer;Bezeichnung;EAN;Einkaufspreis;Verpackungseinheit",
            "E-1;Eiche, geölt;4006381333931;1,50;12",
            'E-2;"Buche; roh";;0,99;',
        ],
        bom=bom,
    )
    found = read(data)
    assert found.kind == "csv"
    assert found.columns["code"] == "Artikelnummer"
    summary = run_import(in_tenant, tenant, world["supplier"], data)
    assert summary.as_dict() == {"created": 2, "updated": 0, "unchanged": 0, "kept": 0}
    assert items_of(in_tenant, tenant, world["supplier"]) == {
        "E-1": ("Eiche, geölt", "4006381333931", Decimal("1.50"), 12),
        "E-2": ("Buche; roh", "", Decimal("0.99"), 1),
    }


def test_csv_with_commas_and_english_headers(in_tenant, tenant, world):
    data = csv_bytes(["code,name,pack size,price", 'A-1,"Plank, long",10,1.50'])
    run_import(in_tenant, tenant, world["supplier"], data)
    assert items_of(in_tenant, tenant, world["supplier"]) == {
        "A-1": ("Plank, long", "", Decimal("1.50"), 10)
    }


def test_files_without_a_header_or_lines_or_readable_content_are_refused():
    def refusal(data):
        with pytest.raises(ImportRefused) as refused:
            read(data)
        assert not isinstance(refused.value.message, Exception)
        return str(refused.value.message)

    no_header = 'No header row with the columns "supplier code" and "name" was found.'
    assert refusal(csv_bytes(["sku;price", "A;1"])) == no_header
    assert refusal(xlsx([("Name only",), ("x",)])) == no_header
    assert (
        refusal(csv_bytes(["code;name"])) == "The file has no catalogue lines under its header row."
    )
    assert refusal(b"") == "The file is empty."
    assert "UTF-8" in refusal("code;name\nA;Größe".encode("latin-1"))
    assert "UTF-8" in refusal(b"\xd0\xcf\x11\xe0\x00\x00 old excel")


def test_too_many_rows_and_too_large_files_are_refused(monkeypatch):
    monkeypatch.setattr(catalogue, "MAX_ROWS", 3)
    with pytest.raises(ImportRefused, match="more than 3 lines"):
        read(csv_bytes(["code;name", "A;a", "B;b", "C;c", "D;d"]))
    with pytest.raises(ImportRefused, match="too large"):
        read(b"code;name\n" + b"A;a\n" * (2 * 1024 * 1024))


def test_a_zip_bomb_and_entity_declarations_are_refused_like_an_order_import():
    from .test_importing import _xlsx_with

    bomb = _xlsx_with("xl/media/padding.bin", b"\0" * (40 * 1024 * 1024))
    with pytest.raises(ImportRefused, match="unpacks to far more data"):
        read(bomb)
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b"<sheetData/></worksheet>"
    )
    with pytest.raises(ImportRefused, match="DTD or entities"):
        read(_xlsx_with("xl/worksheets/sheet1.xml", laughs))


# --- checking rows ---------------------------------------------------------------------------


def test_every_bad_row_is_named_and_nothing_changes(in_tenant, tenant, world):
    run_import(in_tenant, tenant, world["supplier"], xlsx(GOOD))
    before = items_of(in_tenant, tenant, world["supplier"])
    rows = [
        ("Code", "Name", "GTIN", "Price", "Pack size"),
        ("OAK-1", "Oak plank, new name", "4006381333931", 13, 6),  # fine on its own
        ("", "No code", "", "", ""),
        ("X" * 65, "Long code", "", "", ""),
        ("NEW-1", "", "", "", ""),
        ("NEW-2", "N" * 201, "", "", ""),
        ("NEW-3", "Bad check digit", "4006381333932", "", ""),
        ("NEW-4", "Letters", "40063813339AB", "", ""),
        ("NEW-5", "Wrong length", "123456789", "", ""),
        ("NEW-6", "Negative", "", "-1", ""),
        ("NEW-7", "Words", "", "cheap", ""),
        ("NEW-8", "Too exact", "", "1.255", ""),
        ("NEW-9", "Zero containers", "", "", 0),
        ("NEW-10", "Half container", "", "", 1.5),
        ("OAK-1", "Twice", "", "", ""),
        ("NEW-11", "Too large", "", "99999999999", "x"),
    ]
    assert import_errors(in_tenant, tenant, world["supplier"], xlsx(rows)) == [
        "Row 3: the supplier code is missing.",
        "Row 4: the supplier code may have at most 64 characters.",
        "Row 5: the name is missing.",
        "Row 6: the name may have at most 200 characters.",
        "Row 7: 4006381333932 is not a valid EAN/GTIN barcode (8, 12, 13 or 14 digits with the right check digit).",
        "Row 8: 40063813339AB is not a valid EAN/GTIN barcode (8, 12, 13 or 14 digits with the right check digit).",
        "Row 9: 123456789 is not a valid EAN/GTIN barcode (8, 12, 13 or 14 digits with the right check digit).",
        "Row 10: the price must be zero or more.",
        "Row 11: the price cheap is not a number (write it like 1.50 or 1,50).",
        "Row 12: the price may have at most two decimal places.",
        "Row 13: the container amount must be a whole number from 1 to 1000000.",
        "Row 14: the container amount must be a whole number from 1 to 1000000.",
        "Row 15: the supplier code OAK-1 is already on row 2.",
        "Row 16: the price is too large.",
        "Row 16: the container amount must be a whole number from 1 to 1000000.",
    ]
    assert items_of(in_tenant, tenant, world["supplier"]) == before


@pytest.mark.parametrize(
    ("cell", "price"),
    [
        ("1,50", Decimal("1.50")),
        ("1.50", Decimal("1.50")),
        ("1.234,50", Decimal("1234.50")),
        ("1,234.50", Decimal("1234.50")),
        ("0", Decimal("0.00")),
        (0.1 + 0.2, Decimal("0.30")),
        (7, Decimal("7.00")),
        ("", None),
        (None, None),
    ],
)
def test_prices_are_read_with_a_decimal_point_or_comma(cell, price):
    assert catalogue.parse_price(cell) == price


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("1e40", "Row 2: the price 1e40 is not a number (write it like 1.50 or 1,50)."),
        ("9" * 40, "Row 2: the price is too large."),
        (1e300, "Row 2: the price is too large."),
        ("1.234", "Row 2: the price may have at most two decimal places."),
        ("€ 1,50", "Row 2: the price € 1,50 is not a number (write it like 1.50 or 1,50)."),
        (True, "Row 2: the price True is not a number (write it like 1.50 or 1,50)."),
    ],
)
def test_prices_that_cannot_be_stored_are_refused(cell, message):
    with pytest.raises(ImportRefused) as refused:
        catalogue.check_rows([catalogue.CatalogueRow(2, {"code": "A", "name": "a", "price": cell})])
    assert [str(error) for error in refused.value.errors] == [message]


def test_numeric_barcodes_get_back_the_leading_zeros_excel_dropped(in_tenant, tenant, world):
    # 0012345678905 is a valid EAN-13; Excel stores the number 12345678905.
    run_import(
        in_tenant,
        tenant,
        world["supplier"],
        xlsx([("code", "name", "ean"), ("Z-1", "Zeroes", 12345678905)]),
    )
    assert items_of(in_tenant, tenant, world["supplier"])["Z-1"][1] == "012345678905"


# --- create, update, keep --------------------------------------------------------------------


def test_an_import_creates_updates_and_keeps_items(in_tenant, tenant, world):
    supplier = world["supplier"]
    first = run_import(in_tenant, tenant, supplier, xlsx(GOOD))
    assert first.as_dict() == {"created": 3, "updated": 0, "unchanged": 0, "kept": 0}
    assert items_of(in_tenant, tenant, supplier) == {
        "OAK-1": ("Oak plank", "4006381333931", Decimal("12.50"), 6),
        "PINE-2": ("Pine plank", "", Decimal("3.75"), 1),
        "ASH-3": ("Ash plank", "", Decimal("1234.50"), 12),
    }
    second = run_import(
        in_tenant,
        tenant,
        supplier,
        xlsx(
            [
                ("code", "name", "price"),
                ("OAK-1", "Oak plank", "13.00"),  # price changed
                ("PINE-2", "Pine plank", "3.75"),  # unchanged
                ("ELM-4", "Elm plank", "5"),  # new
            ]
        ),
    )
    # ASH-3 is not in the file: kept. Barcode and container amount are not in the file:
    # the items keep theirs.
    assert second.as_dict() == {"created": 1, "updated": 1, "unchanged": 1, "kept": 1}
    assert items_of(in_tenant, tenant, supplier) == {
        "OAK-1": ("Oak plank", "4006381333931", Decimal("13.00"), 6),
        "PINE-2": ("Pine plank", "", Decimal("3.75"), 1),
        "ASH-3": ("Ash plank", "", Decimal("1234.50"), 12),
        "ELM-4": ("Elm plank", "", Decimal("5.00"), 1),
    }
    with in_tenant(tenant) as session:
        updated = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "catalogue_item.updated")
        ).all()
        assert [entry.changes for entry in updated] == [{"price": ["12.50", "13.00"]}]
        imported = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "catalogue.imported")
            .order_by(AuditEntry.created_at, AuditEntry.id)
        ).all()
        assert imported[-1].details == {
            "rows": 3,
            "created": 1,
            "updated": 1,
            "unchanged": 1,
            "kept": 1,
        }
        assert imported[-1].object_id == str(supplier.id)


def test_the_same_code_at_two_suppliers_is_two_items(app, in_tenant, tenant, world):
    with app.app_context():
        second = factories.make_supplier(tenant, "Second supplier")
        from portal.db import db

        db.session.commit()
    run_import(in_tenant, tenant, world["supplier"], xlsx(GOOD))
    summary = run_import(in_tenant, tenant, second, xlsx(GOOD))
    assert summary.created == 3
    assert len(items_of(in_tenant, tenant, second)) == 3


# --- matching --------------------------------------------------------------------------------


@pytest.fixture
def items(in_tenant, tenant, world):
    run_import(in_tenant, tenant, world["supplier"], xlsx(GOOD))
    with in_tenant(tenant) as session:
        return {
            item.supplier_code: item
            for item in session.scalars(
                select(CatalogueItem).where(CatalogueItem.supplier_id == world["supplier"].id)
            )
        }


def _get(session, model, obj):
    return session.get(model, (obj.tenant_id, obj.id))


def test_matching_replaces_and_unmatching_removes_the_clients_match(
    in_tenant, tenant, world, items, create_product
):
    first = create_product(tenant, world["store"], code="P-1", name="Plank")
    second = create_product(tenant, world["store"], code="P-2", name="Plank too")
    theirs = create_product(tenant, world["other"], code="P-1", name="Their plank")
    with in_tenant(tenant) as session:
        item = _get(session, CatalogueItem, items["OAK-1"])
        store = session.get(type(world["store"]), (tenant.id, world["store"].id))
        catalogue.match_item(item, _get(session, Product, first), store)
        catalogue.match_item(item, _get(session, Product, second))  # the product's client
        # Another client matches the same item to its own product: one match each.
        catalogue.match_item(item, _get(session, Product, theirs))
        session.commit()
        matches = {
            (m.client_id, m.product.code)
            for m in session.scalars(
                select(CatalogueMatch).where(CatalogueMatch.catalogue_item_id == item.id)
            )
        }
        assert matches == {(world["store"].id, "P-2"), (world["other"].id, "P-1")}
        changes = [
            e.changes["product"]
            for e in session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "catalogue_item.matched")
                .order_by(AuditEntry.created_at, AuditEntry.id)
            )
        ]
        assert changes == [[None, "P-1"], ["P-1", "P-2"], [None, "P-1"]]
        assert catalogue.unmatch(item, store) is True
        assert catalogue.unmatch(item, store) is False
        session.commit()
        assert catalogue.match_for(item, store.id) is None
        assert catalogue.match_for(item, world["other"].id) is not None


def test_a_client_cannot_match_to_another_clients_product(
    in_tenant, tenant, world, items, create_product
):
    theirs = create_product(tenant, world["other"], code="P-9")
    with in_tenant(tenant) as session:
        store = session.get(type(world["store"]), (tenant.id, world["store"].id))
        with pytest.raises(DomainError, match="P-9 does not belong to Store North"):
            catalogue.match_item(
                _get(session, CatalogueItem, items["OAK-1"]), _get(session, Product, theirs), store
            )


def test_a_client_that_is_no_customer_of_the_supplier_cannot_match(
    in_tenant, tenant, world, items, create_product
):
    own = create_product(tenant, world["stranger"], code="P-5")
    refused = pytest.raises(DomainError, match="Not a customer is not a customer of Timber Works")
    with in_tenant(tenant) as session, refused:
        catalogue.match_item(
            _get(session, CatalogueItem, items["OAK-1"]), _get(session, Product, own)
        )


def test_suggestions_by_barcode_else_by_code(in_tenant, tenant, world, items, create_product):
    create_product(tenant, world["store"], code="MINE-1", barcode="4006381333931")
    create_product(tenant, world["store"], code="OAK-1")
    create_product(tenant, world["store"], code="PINE-2")
    create_product(tenant, world["other"], code="ASH-3")
    with in_tenant(tenant) as session:

        def codes(code):
            item = _get(session, CatalogueItem, items[code])
            return [p.code for p in catalogue.suggest_matches(item, world["store"].id)]

        assert codes("OAK-1") == ["MINE-1"]  # the barcode wins over the code
        assert codes("PINE-2") == ["PINE-2"]  # no barcode: the code
        assert codes("ASH-3") == []  # another client's product is never suggested


# --- products from items ---------------------------------------------------------------------


def test_a_product_is_created_from_an_item_and_matched(in_tenant, tenant, world, items):
    with in_tenant(tenant) as session:
        store = session.get(type(world["store"]), (tenant.id, world["store"].id))
        item = _get(session, CatalogueItem, items["OAK-1"])
        product = catalogue.create_product_from_item(item, store)
        session.commit()
        assert (product.client_id, product.code, product.name, product.barcode, product.price) == (
            store.id,
            "OAK-1",
            "Oak plank",
            "4006381333931",
            Decimal("12.50"),
        )
        assert catalogue.match_for(item, store.id).product_id == product.id
        other = catalogue.create_product_from_item(
            _get(session, CatalogueItem, items["PINE-2"]), store, code="MY-PINE"
        )
        assert (other.code, other.barcode, other.price) == ("MY-PINE", None, Decimal("3.75"))


def test_a_taken_code_is_refused_by_name(in_tenant, tenant, world, items, create_product):
    create_product(tenant, world["store"], code="OAK-1")
    with in_tenant(tenant) as session:
        store = session.get(type(world["store"]), (tenant.id, world["store"].id))
        with pytest.raises(DomainError, match="A product with the code OAK-1 already exists"):
            catalogue.create_product_from_item(_get(session, CatalogueItem, items["OAK-1"]), store)
        session.rollback()
        assert session.scalar(select(func.count()).select_from(CatalogueMatch)) == 0


def test_barcode_and_price_are_updated_from_the_item_and_audited(
    in_tenant, tenant, world, items, create_product
):
    product = create_product(tenant, world["store"], code="P-1", barcode="96385074", price="10")
    with in_tenant(tenant) as session:
        store = session.get(type(world["store"]), (tenant.id, world["store"].id))
        match = catalogue.match_item(
            _get(session, CatalogueItem, items["OAK-1"]), _get(session, Product, product), store
        )
        assert catalogue.differences(match.item, match.product) == {
            "barcode": ("96385074", "4006381333931"),
            "price": (Decimal("10.00"), Decimal("12.50")),
        }
        assert catalogue.update_product_from_item(match, ("price",)) == {
            "price": ["10.00", "12.50"]
        }
        assert catalogue.differences(match.item, match.product) == {
            "barcode": ("96385074", "4006381333931")
        }
        assert catalogue.update_product_from_item(match) == {
            "barcode": ["96385074", "4006381333931"]
        }
        assert catalogue.update_product_from_item(match) == {}  # nothing left to copy
        session.commit()
        audited = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "product.updated", AuditEntry.object_id == str(product.id))
            .order_by(AuditEntry.created_at, AuditEntry.id)
        ).all()
        assert [entry.changes for entry in audited] == [
            {"price": ["10.00", "12.50"]},
            {"barcode": ["96385074", "4006381333931"]},
        ]


def test_empty_item_values_are_not_copied(in_tenant, tenant, world, items, create_product):
    product = create_product(tenant, world["store"], code="P-2", barcode="96385074")
    with in_tenant(tenant) as session:
        match = catalogue.match_item(
            _get(session, CatalogueItem, items["PINE-2"]), _get(session, Product, product)
        )
        catalogue.update_product_from_item(match)
        assert _get(session, Product, product).barcode == "96385074"


def test_uploads_nobody_confirmed_are_forgotten_after_a_day(in_tenant, tenant):
    from datetime import timedelta

    from portal.db import utcnow
    from portal.jobs.models import Job, JobStatus
    from portal.jobs.services import create_job

    with in_tenant(tenant) as session:
        ages = {
            "stale": timedelta(days=2),
            "fresh": timedelta(hours=2),
            "confirmed": timedelta(days=3),
        }
        for name, age in ages.items():
            job = create_job(
                "catalogue_import",
                data=b"x",
                name=f"{name}.xlsx",
                created_by_id=None,
                options={"confirmed": name == "confirmed"},
            )
            job.created_at = utcnow() - age
        session.flush()
        assert catalogue.forget_stale_previews() == 1
        session.flush()
        left = set(session.scalars(select(Job.input_name).where(Job.status == JobStatus.QUEUED)))
        assert left == {"fresh.xlsx", "confirmed.xlsx"}
        session.rollback()
