"""The rest of the supplier's side of the API: production, dispatch notices, documents, the
catalogue upload, the registration data per store and the mandatory data; each endpoint hides
other suppliers' and other tenants' ids, refuses bad input naming the field, and keeps its
OpenAPI document under fuzzing."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime, timedelta

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import func, select
from web.test_supplier_portal import load, make_trade, order_from, text_of
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from portal.audit.models import AuditEntry
from portal.core.purchasing import responses
from portal.core.purchasing.models import DispatchNotice, PurchaseOrder, PurchaseOrderDocument
from portal.core.purchasing.models import PurchaseOrderStatus as Status
from portal.core.suppliers.models import CatalogueItem, Supplier, SupplierClient
from portal.jobs.models import Job, JobStatus

PROBLEM = "application/problem+json"
SUPPLIER_SCOPES = [
    "purchase_orders:read",
    "purchase_orders:write",
    "catalogue:write",
    "stores:read",
    "stores:write",
]
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n"


def days(n: int) -> str:
    return (datetime.now(UTC) + timedelta(days=n)).date().isoformat()


def confirmed(app, in_tenant, trade, containers=None) -> object:
    po_id = order_from(app, in_tenant, trade, containers)
    with in_tenant(trade.tenant) as session:
        responses.confirm(session.get(PurchaseOrder, (trade.tenant.id, po_id)))
        session.commit()
    return po_id


def multipart(client, path, fields, **headers):
    """POST ``fields`` as multipart/form-data, encoded in memory (large files too)."""
    boundary, body = encode_multipart(fields)
    return client.post(
        path,
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=headers,
    )


def file_of(data: bytes, name: str) -> FileStorage:
    return FileStorage(io.BytesIO(data), filename=name)


def german(app, message: str) -> str:
    with app.test_request_context(), force_locale("de"):
        return gettext(message)


@pytest.fixture
def erp(trade, issue_token, api_client):
    return api_client(trade.tenant, issue_token(trade.supplier_user, trade.tenant, SUPPLIER_SCOPES))


# --- production and dispatch -----------------------------------------------------------------


def test_production_then_dispatch_in_parts(app, in_tenant, trade, erp):
    po_id = order_from(app, in_tenant, trade)
    base = f"/api/v1/purchase-orders/{po_id}"
    response = erp.post(f"{base}/production", json={})
    assert response.status_code == 409
    assert response.get_json()["code"] == "transition_refused"
    response = erp.post(f"{base}/dispatch-notices", json={})
    assert response.status_code == 409
    assert response.get_json()["detail"] == str(responses.DISPATCH_REFUSED)
    assert erp.post(f"{base}/confirm", json={}).status_code == 200
    response = erp.post(f"{base}/production", json={}, headers={"Idempotency-Key": "prod"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "in_production"
    assert response.get_json()["actions"]["dispatch"] is True

    lines = erp.get(base).get_json()["lines"]
    response = erp.post(
        f"{base}/dispatch-notices",
        json={
            "carrier": "DPD",
            "expected_date": days(1),
            "lines": [{"position": 2, "quantity": 4}],
        },
        headers={"Idempotency-Key": "asn-1"},
    )
    assert response.status_code == 201, response.get_json()
    again = erp.post(
        f"{base}/dispatch-notices",
        json={
            "carrier": "DPD",
            "expected_date": days(1),
            "lines": [{"position": 2, "quantity": 4}],
        },
        headers={"Idempotency-Key": "asn-1"},
    )
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == response.get_json()
    different = erp.post(
        f"{base}/dispatch-notices",
        json={"lines": [{"position": 2, "quantity": 5}]},
        headers={"Idempotency-Key": "asn-1"},
    )
    assert different.status_code == 422
    assert different.get_json()["code"] == "idempotency_key_reused"

    listing = erp.get(f"{base}/dispatch-notices").get_json()
    assert [(line["product_code"], line["open"]) for line in listing["lines"]] == [
        ("BOOT-1", 12),
        ("SOCK-1", 6),
    ]
    assert listing["status"] == "partially_dispatched"
    response = erp.post(
        f"{base}/dispatch-notices",
        json={
            "tracking_code": "T-2",
            "lines": [{"id": lines[0]["id"], "quantity": 12}, {"position": 2, "quantity": 6}],
        },
    )
    assert response.status_code == 201, response.get_json()
    assert erp.get(base).get_json()["status"] == "dispatched"
    assert erp.get(base).get_json()["actions"]["dispatch"] is False
    with in_tenant(trade.tenant) as session:
        notices = session.scalars(select(DispatchNotice)).all()
        assert sorted(sum(line.quantity for line in n.lines) for n in notices) == [4, 18]
        [entry] = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "purchase_order.in_production")
        ).all()
        assert entry.actor_id == trade.supplier_user.id
        assert entry.details["api_token_id"]


def test_a_bad_dispatch_is_refused_naming_the_field_in_english_and_german(
    app, in_tenant, trade, erp
):
    po_id = confirmed(app, in_tenant, trade)
    path = f"/api/v1/purchase-orders/{po_id}/dispatch-notices"
    bad = {
        "carrier": "x" * 101,
        "expected_date": "soon",
        "lines": [{"position": 1, "quantity": "many"}, {"quantity": 1}],
        "colour": "red",
    }
    english = erp.post(path, json=bad)
    deutsch = erp.post(path, json=bad, headers={"Accept-Language": "de"})
    for response in (english, deutsch):
        assert response.status_code == 422
        assert response.mimetype == PROBLEM
        assert response.get_json()["code"] == "validation_failed"
        assert {error["field"] for error in response.get_json()["errors"]} == {
            "carrier",
            "expected_date",
            "lines[0].quantity",
            "lines[1].id",
            "colour",
        }
    details = {e["field"]: e["detail"] for e in english.get_json()["errors"]}
    details_de = {e["field"]: e["detail"] for e in deutsch.get_json()["errors"]}
    assert details["expected_date"] == "Please enter the date as YYYY-MM-DD."
    assert details_de["expected_date"] == german(app, details["expected_date"])
    assert details_de["expected_date"] != details["expected_date"]
    assert deutsch.headers["Content-Language"] == "de"

    response = erp.post(path, json={"lines": [{"position": 1, "quantity": 13}]})
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["code"] == "invalid_lines"
    assert problem["errors"] == [
        {
            "field": "lines[0].quantity",
            "in": "body",
            "detail": "Line 1 (BOOT-1): only 12 units are still to be dispatched.",
        }
    ]
    response = erp.post(path, json={"expected_date": days(-2)})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "expected_date"
    response = erp.post(path, json={"lines": [{"position": 3, "quantity": 1}]})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "lines[0].position"
    response = erp.post(path, json={"lines": []}, headers={"Accept-Language": "de"})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "quantities"
    with in_tenant(trade.tenant) as session:
        assert session.scalar(select(func.count()).select_from(DispatchNotice)) == 0
    assert load(in_tenant, trade.tenant, po_id).status == Status.CONFIRMED


# --- documents -------------------------------------------------------------------------------


def png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(out, "PNG")
    return out.getvalue()


def test_documents_are_checked_by_content_and_the_store_gets_them(
    app, in_tenant, trade, erp, login_as
):
    po_id = order_from(app, in_tenant, trade)
    path = f"/api/v1/purchase-orders/{po_id}/documents"
    refusals = [
        ({"file": file_of(b"just text", "invoice.pdf")}, "file", "Only PDF files"),
        ({"file": file_of(b"", "empty.pdf")}, "file", "The file is empty."),
        (
            {"file": file_of(b"%PDF-" + b"0" * responses.MAX_DOCUMENT_BYTES, "big.pdf")},
            "file",
            "The file is larger than 10 MB.",
        ),
        ({"description": "no file"}, "file", "Please choose a file."),
        ({"file": file_of(PDF, "a.pdf"), "description": "x" * 201}, "description", ""),
        ({"file": file_of(PDF, "a.pdf"), "colour": "red"}, "colour", ""),
    ]
    for fields, field, words in refusals:
        response = multipart(erp, path, fields)
        assert response.status_code == 422, (field, response.get_json())
        assert response.mimetype == PROBLEM
        errors = response.get_json()["errors"]
        assert errors[0]["field"] == field, errors
        assert words in errors[0]["detail"]
    deutsch = multipart(erp, path, {"file": file_of(b"text", "x.pdf")}, **{"Accept-Language": "de"})
    assert deutsch.get_json()["errors"][0]["detail"] == german(
        app, "Only PDF files and PNG, JPEG or WebP images can be uploaded."
    )
    assert erp.get(path).get_json() == {"items": []}

    response = multipart(
        erp,
        path,
        {"file": file_of(png(), "../photo.jpg"), "description": "Packed pallet"},
        **{"Idempotency-Key": "photo"},
    )
    assert response.status_code == 201, response.get_json()
    photo = response.get_json()
    assert (photo["filename"], photo["content_type"]) == ("photo.png", "image/png")
    assert (
        multipart(
            erp,
            path,
            {"file": file_of(png(), "../photo.jpg"), "description": "Packed pallet"},
            **{"Idempotency-Key": "photo"},
        ).headers["Idempotent-Replayed"]
        == "true"
    )
    assert [item["id"] for item in erp.get(path).get_json()["items"]] == [photo["id"]]
    download = erp.get(photo["download"])
    assert download.status_code == 200
    assert download.mimetype == "image/png"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.data == png()
    store = login_as(trade.store_user, trade.tenant)
    assert "photo.png" in text_of(store.get(f"/purchase-orders/{po_id}"))
    assert store.get(f"/supplier/documents/{photo['id']}").data == png()


# --- catalogue -------------------------------------------------------------------------------


def csv(rows) -> bytes:
    return "\n".join(";".join(str(cell) for cell in row) for row in rows).encode()


def test_a_small_catalogue_is_imported_at_once_a_bad_one_not_at_all(app, in_tenant, trade, erp):
    path = "/api/v1/supplier/catalogue/imports"
    data = csv(
        [
            ("Artikelnummer", "Bezeichnung", "Preis"),
            ("F-BOOT", "Boots v2", "13,00"),
            ("F-HAT", "Factory hats", "4,50"),
        ]
    )
    response = multipart(erp, path, {"file": file_of(data, "liste.csv")})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "done"
    assert body["result"] == {"created": 1, "updated": 1, "unchanged": 0, "kept": 1}
    assert erp.get(f"{path}/{body['id']}").get_json()["status"] == "done"
    with in_tenant(trade.tenant) as session:
        names = dict(session.execute(select(CatalogueItem.supplier_code, CatalogueItem.name)).all())
        assert names == {"F-BOOT": "Boots v2", "F-SOCK": "Factory socks", "F-HAT": "Factory hats"}
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "catalogue.imported"))
        assert entry.actor_id == trade.supplier_user.id

    bad = csv([("code", "name", "price"), ("F-CAP", "Caps", "lots"), ("", "Nameless", "1")])
    response = multipart(erp, path, {"file": file_of(bad, "bad.csv")})
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["errors"][0]["field"] == "file"
    assert {error["field"] for error in problem["errors"][1:]} == {
        "file.rows[2]",
        "file.rows[3]",
    }
    response = multipart(erp, path, {"file": file_of(b"\x00\x01 nothing", "x.xlsx")})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "file"
    assert multipart(erp, path, {}).get_json()["errors"][0]["field"] == "file"
    with in_tenant(trade.tenant) as session:
        assert session.scalar(select(func.count()).select_from(CatalogueItem)) == 3


def test_a_big_catalogue_becomes_a_job_to_poll(app, in_tenant, trade, erp):
    from portal.web.catalogue import BACKGROUND_ROWS

    rows = [("code", "name", "price")] + [
        (f"C-{n:05d}", f"Item {n}", "1.00") for n in range(BACKGROUND_ROWS + 1)
    ]
    response = multipart(
        erp,
        "/api/v1/supplier/catalogue/imports",
        {"file": file_of(csv(rows), "big.csv")},
        **{"Idempotency-Key": "cat-1"},
    )
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["background"] is True
    location = response.headers["Location"]
    polled = erp.get(location).get_json()  # the tests run jobs eagerly: it is done already
    assert polled["status"] == "done", polled
    assert polled["result"]["created"] == BACKGROUND_ROWS + 1
    with in_tenant(trade.tenant) as session:
        assert session.scalar(select(func.count()).select_from(CatalogueItem)) == (
            BACKGROUND_ROWS + 3
        )
        job = session.scalar(select(Job))
        assert job.status == JobStatus.DONE
        assert job.input_data is None


# --- stores and mandatory data ---------------------------------------------------------------


def test_the_registration_data_per_store(app, in_tenant, trade, erp, login_as):
    page = erp.get("/api/v1/supplier/stores").get_json()
    [store] = page["items"]
    assert store["store"] == "Acme Store"
    assert store["customer_number"] == "C-4711"
    assert store["contact"]["email"] == "stella@acme.test"
    since = page["server_time"]
    path = f"/api/v1/supplier/stores/{store['id']}"
    response = erp.patch(path, json={"account_manager": "Fritz", "account_email": "F@Mill.test"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["account_email"] == "f@mill.test"
    response = erp.put(path, json={"payment_terms": "30 days"})
    assert response.get_json()["account_manager"] == ""
    assert response.get_json()["payment_terms"] == "30 days"
    changed = erp.get("/api/v1/supplier/stores", query_string={"updated_since": since})
    assert [item["id"] for item in changed.get_json()["items"]] == [store["id"]]
    for language in ("en", "de"):
        response = erp.patch(
            path,
            json={"account_email": "not an address", "supplier_notes": 7},
            headers={"Accept-Language": language},
        )
        assert response.status_code == 422
        assert {e["field"] for e in response.get_json()["errors"]} == {"supplier_notes"}
        response = erp.patch(
            path, json={"account_email": "not an address"}, headers={"Accept-Language": language}
        )
        assert response.status_code == 422
        assert response.get_json()["errors"][0]["field"] == "account_email"
    response = erp.patch(path, json={"account_phone": "1" * 41})
    assert response.get_json()["errors"][0]["field"] == "account_phone"
    with in_tenant(trade.tenant) as session:
        link = session.scalar(select(SupplierClient))
        assert (link.account_manager, link.payment_terms) == ("", "30 days")
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "supplier.registration_changed")
        ).all()
        assert len(entries) == 2
        assert all(entry.details["api_token_id"] for entry in entries)


def test_the_mandatory_data_that_applies(app, in_tenant, trade, erp):
    from portal.core.suppliers import services
    from portal.plugins.models import PluginActivation

    assert erp.get("/api/v1/supplier/mandatory-data").get_json() == {"rule_sets": []}
    with in_tenant(trade.tenant) as session:
        session.add(PluginActivation(name="required_fields", enabled=True))
        session.commit()
    with in_tenant(trade.tenant) as session, app.test_request_context():
        supplier = session.get(Supplier, (trade.tenant.id, trade.supplier.id))
        services.set_rule_sets(supplier, {"required_fields": {"required": ["reference"]}})
        session.commit()
    body = erp.get("/api/v1/supplier/mandatory-data").get_json()
    [rule_set] = body["rule_sets"]
    assert rule_set["key"] == "required_fields"
    assert rule_set["label"] == "Required fields"
    assert rule_set["available"] is True
    assert rule_set["settings"] == {"required": ["reference"]}
    required = next(field for field in rule_set["fields"] if field["name"] == "required")
    assert required["value"] == ["reference"]
    deutsch = erp.get("/api/v1/supplier/mandatory-data", headers={"Accept-Language": "de"})
    assert deutsch.get_json()["rule_sets"][0]["label"] == german(app, "Required fields")


# --- who reaches what ------------------------------------------------------------------------


def _id_rules(app):
    """Every supplier-scope rule that takes an id, from the URL map."""
    prefixes = ("api_purchase_orders.", "api_supplier_")
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith(prefixes) and any(a.endswith("_id") for a in rule.arguments)
    ]


def _partner_data(app, in_tenant, trade):
    """A confirmed order with a document and a catalogue import of ``trade``'s supplier."""
    po_id = confirmed(app, in_tenant, trade)
    with in_tenant(trade.tenant) as session, app.test_request_context():
        po = session.get(PurchaseOrder, (trade.tenant.id, po_id))
        document = responses.add_document(po, "note.pdf", PDF)
        job = Job(
            kind="catalogue_import",
            status=JobStatus.DONE,
            options={"supplier_id": str(trade.supplier.id), "rows": 1},
        )
        session.add(job)
        session.commit()
        return {
            "purchase_order_id": po_id,
            "document_id": document.id,
            "link_id": trade.link.id,
            "import_id": job.id,
        }


BODIES = {
    "reject": {"reason": "x"},
    "create_dispatch_notice": {},
    "put_store": {"payment_terms": "x"},
    "patch_store": {"payment_terms": "x"},
}


def test_another_suppliers_and_another_tenants_ids_are_not_found(
    app, in_tenant, trade, tenant, other_tenant, create_client, create_user, create_product, erp
):
    mine = _partner_data(app, in_tenant, trade)
    other = make_trade(
        app,
        in_tenant,
        tenant,
        create_client,
        create_user,
        create_product,
        store="Other Store",
        name="Other Mill",
    )
    foreign = make_trade(app, in_tenant, other_tenant, create_client, create_user, create_product)
    theirs, abroad = _partner_data(app, in_tenant, other), _partner_data(app, in_tenant, foreign)
    rules = _id_rules(app)
    endpoints = {rule.endpoint for rule in rules}
    assert {
        "api_supplier_dispatch.create_dispatch_notice",
        "api_supplier_documents.download_document",
        "api_supplier_stores.put_store",
        "api_supplier_catalogue.get_import",
        "api_purchase_orders.production",
    } <= endpoints
    checked = 0
    for strangers in (theirs, abroad):
        for rule in rules:
            # Each id of the path in turn is the stranger's, the others are the token's own.
            for foreign_arg in [a for a in rule.arguments if a.endswith("_id")]:
                ids = {**mine, foreign_arg: strangers[foreign_arg]}
                path = rule.rule
                for name in rule.arguments:
                    path = path.replace(f"<uuid:{name}>", str(ids[name]))
                for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                    body = BODIES.get(rule.endpoint.rsplit(".", 1)[-1], {})
                    if rule.endpoint.endswith("upload_document"):
                        response = multipart(erp, path, {"file": file_of(PDF, "x.pdf")})
                    else:
                        response = erp.open(
                            path, method=method, json=body if method != "GET" else None
                        )
                    assert response.status_code == 404, (method, path, response.get_json())
                    assert response.mimetype == PROBLEM
                    checked += 1
    assert checked >= 2 * 14
    with in_tenant(tenant) as session:
        assert session.scalar(select(func.count()).select_from(DispatchNotice)) == 0
        assert session.scalar(select(func.count()).select_from(PurchaseOrderDocument)) == 2
        link = session.get(SupplierClient, (tenant.id, other.link.id))
        assert link.payment_terms == ""
    # The token's own ids are found.
    for path in (
        f"/api/v1/purchase-orders/{mine['purchase_order_id']}/documents/{mine['document_id']}",
        f"/api/v1/supplier/stores/{mine['link_id']}",
        f"/api/v1/supplier/catalogue/imports/{mine['import_id']}",
    ):
        assert erp.get(path).status_code == 200, path
    listed = erp.get("/api/v1/supplier/stores").get_json()["items"]
    assert [item["id"] for item in listed] == [str(mine["link_id"])]


def test_scopes_and_partners_are_enforced(app, in_tenant, trade, issue_token, api_client):
    po_id = confirmed(app, in_tenant, trade)
    answers_only = api_client(trade.tenant, issue_token(trade.supplier_user, trade.tenant))
    reader = api_client(
        trade.tenant,
        issue_token(trade.supplier_user, trade.tenant, ["purchase_orders:read", "stores:read"]),
    )
    store = api_client(
        trade.tenant, issue_token(trade.store_user, trade.tenant, ["purchase_orders:read"])
    )
    link = f"/api/v1/supplier/stores/{trade.link.id}"
    upload = "/api/v1/supplier/catalogue/imports"
    for client, method, path, code in (
        (answers_only, "GET", link, "insufficient_scope"),
        (answers_only, "GET", "/api/v1/supplier/mandatory-data", "insufficient_scope"),
        (answers_only, "POST", upload, "insufficient_scope"),
        (reader, "PATCH", link, "insufficient_scope"),
        (reader, "POST", f"/api/v1/purchase-orders/{po_id}/dispatch-notices", "insufficient_scope"),
        (reader, "POST", f"/api/v1/purchase-orders/{po_id}/production", "insufficient_scope"),
        (store, "GET", f"/api/v1/purchase-orders/{po_id}/dispatch-notices", "not_a_supplier"),
        (store, "GET", f"/api/v1/purchase-orders/{po_id}/documents", "not_a_supplier"),
    ):
        response = client.open(path, method=method, json={} if method != "GET" else None)
        assert response.status_code == 403, (method, path, response.get_json())
        assert response.get_json()["code"] == code
    assert reader.get(link).status_code == 200
    assert load(in_tenant, trade.tenant, po_id).status == Status.CONFIRMED


# --- fuzzing ---------------------------------------------------------------------------------


def test_the_supplier_endpoints_keep_their_document(
    app, monkeypatch, in_tenant, trade, issue_token
):
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    from portal.testing.fixtures import tenant_host
    from portal.web.limits import API_SETTING

    monkeypatch.setitem(app.config, API_SETTING, "1000000 per minute")
    _partner_data(app, in_tenant, trade)
    order_from(app, in_tenant, trade, {"socks": 4})
    host = tenant_host(trade.tenant)
    headers = {
        "Host": host,
        "Authorization": f"Bearer {issue_token(trade.supplier_user, trade.tenant, SUPPLIER_SCOPES)}",
    }
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers={"Host": host})
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        if "/supplier/" in result.ok().path
        or any(
            part in result.ok().path for part in ("/dispatch-notices", "/documents", "/production")
        )
    ]
    assert len(operations) >= 10

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def check(case):
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        check()


def test_the_lists_need_the_same_queries_for_more_rows(
    app, in_tenant, trade, erp, create_client, count_queries
):
    from portal.core.suppliers import services

    po_id = confirmed(app, in_tenant, trade)
    notices = f"/api/v1/purchase-orders/{po_id}/dispatch-notices"
    documents = f"/api/v1/purchase-orders/{po_id}/documents"
    stores = "/api/v1/supplier/stores"
    assert erp.post(notices, json={"lines": [{"position": 1, "quantity": 6}]}).status_code == 201
    assert multipart(erp, documents, {"file": file_of(PDF, "a.pdf")}).status_code == 201

    def counts() -> list[int]:
        found = []
        for path in (notices, documents, stores):
            with count_queries() as counter:
                assert erp.get(path).status_code == 200
            found.append(counter.count)
        return found

    few = counts()
    assert erp.post(notices, json={"lines": [{"position": 1, "quantity": 6}]}).status_code == 201
    assert erp.post(notices, json={}).status_code == 201
    for name in ("b.pdf", "c.pdf"):
        assert multipart(erp, documents, {"file": file_of(PDF, name)}).status_code == 201
    for store in ("Beta Store", "Gamma Store"):
        client = create_client(trade.tenant, name=store)
        with in_tenant(trade.tenant) as session, app.test_request_context():
            supplier = session.get(Supplier, (trade.tenant.id, trade.supplier.id))
            services.link_client(supplier, client.id, customer_number=store[:4])
            session.commit()
    assert len(erp.get(stores).get_json()["items"]) == 3
    assert len(erp.get(notices).get_json()["items"]) == 3
    assert counts() == few


def test_an_idempotent_upload_is_known_by_its_content_not_its_boundary(app, in_tenant, trade, erp):
    po_id = order_from(app, in_tenant, trade)
    path = f"/api/v1/purchase-orders/{po_id}/documents"
    key = {"Idempotency-Key": "note-1"}
    first = multipart(erp, path, {"file": file_of(PDF, "note.pdf")}, **key)
    assert first.status_code == 201
    # curl draws a new boundary for every request: a retry is the same request all the same.
    again = multipart(erp, path, {"file": file_of(PDF, "note.pdf")}, **key)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    other = multipart(erp, path, {"file": file_of(PDF + b"%", "note.pdf")}, **key)
    assert other.status_code == 422
    assert other.get_json()["code"] == "idempotency_key_reused"
    with in_tenant(trade.tenant) as session:
        assert session.scalar(select(func.count()).select_from(PurchaseOrderDocument)) == 1


# --- the examples of docs/api.md, run as written ------------------------------------------------


def test_the_docs_examples_run_as_written(app, in_tenant, trade, issue_token, tmp_path):
    import re
    import shutil
    import subprocess
    import threading
    from pathlib import Path

    from werkzeug.serving import make_server

    from portal.testing.fixtures import tenant_host

    if not (shutil.which("curl") and shutil.which("jq") and shutil.which("bash")):
        pytest.skip("the examples need bash, curl and jq")
    text = (Path(__file__).parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
    blocks = dict(re.findall(r"<!-- supplier-example: ([a-z-]+) -->\n```sh\n(.*?)```", text, re.S))
    assert set(blocks) == {"dispatch", "document"}
    po_id = confirmed(app, in_tenant, trade)
    secret = issue_token(trade.supplier_user, trade.tenant, SUPPLIER_SCOPES)
    # One request at a time: the test database is the test's own.
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host = tenant_host(trade.tenant)
    (tmp_path / ".curlrc").write_text(f"resolve = {host}:{server.server_port}:127.0.0.1\n")
    (tmp_path / "delivery-note.pdf").write_bytes(PDF)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "CURL_HOME": str(tmp_path),
        "PORTAL": f"http://{host}:{server.server_port}",
        "TOKEN": secret,
        "PO": str(po_id),
    }

    def run(block: str) -> str:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            cwd=tmp_path,
            check=False,
        )
        assert result.returncode == 0, (result.stdout, result.stderr)
        return result.stdout

    try:
        out = run(blocks["dispatch"])
        assert "BOOT-1 open 0" in out
        assert "SOCK-1 open 10" in out
        assert run(blocks["document"]).strip() == "delivery-note.pdf"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
    assert load(in_tenant, trade.tenant, po_id).status == Status.PARTIALLY_DISPATCHED


def test_a_supplier_ticks_the_new_permissions_on_the_integration_page(trade, login_as, api_client):
    from api.test_tokens import SECRET, form_token

    browser = login_as(trade.supplier_user, trade.tenant)
    page = text_of(browser.get("/integration/"))
    assert "Upload the catalogue" in page
    assert "Change the registration data per store (includes reading it)" in page
    created = browser.post(
        "/integration/",
        data={
            "csrf_token": form_token(browser, "/integration/"),
            "name": "Catalogue sync",
            "catalogue_write": "y",
            "stores_write": "y",
        },
    )
    secret = SECRET.search(text_of(created)).group(1)
    client = api_client(trade.tenant, secret)
    assert client.get("/api/v1/me").get_json()["scopes"] == [
        "catalogue:write",
        "stores:read",
        "stores:write",
    ]
    assert client.get("/api/v1/supplier/stores").status_code == 200
    assert client.get("/api/v1/purchase-orders").status_code == 403
