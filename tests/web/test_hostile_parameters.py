"""Hostile input never gives a server error: every GET route of the URL map, opened with each
query parameter it reads set to NUL bytes, very long text, wrong types, broken pagination
cursors and awkward unicode, answers 200 or 4xx; so do forms with NUL bytes in their fields.

The parameters a route reads are found by watching ``request.args`` during a plain visit
(the views' own reads and the templates'); a fixed list of common names is sent as well, all
at once, so a parameter read only under some condition is still tried.
"""

from __future__ import annotations

import base64
import io
import json
import re
import threading
import traceback
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest
from flask import Request
from sqlalchemy import select
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing.converters import AnyConverter, UUIDConverter

from portal.core.products.models import Product
from portal.core.suppliers.models import Supplier, SupplierClient
from portal.testing.suppliers import draft, sent

COMMON_PARAMETERS = (
    "q",
    "after",
    "before",
    "status",
    "page",
    "size",
    "sort",
    "from",
    "to",
    "date",
    "client",
    "supplier",
    "warehouse",
    "product",
    "kind",
    "format",
    "next",
    "locale",
)


def _cursor(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


#: One value of each hostile kind; the keys name the kind in failure reports.
HOSTILE_VALUES = {
    "nul": "a\x00b",
    "only nul": "\x00",
    "control": "x\x1by\x7f",
    "very long": "x" * 10_000,
    "not a number": "abc",
    "huge number": "9" * 30,
    "negative": "-1",
    "not a uuid": "not-a-uuid",
    "impossible date": "2026-13-45",
    "garbage cursor": "!!not*base64~~",
    "cursor too long": _cursor([1, 2, 3, 4, 5, 6, 7]),
    "cursor of one wrong type": _cursor([{"a": 1}]),
    "cursor of two wrong types": _cursor([[1, 2], True]),
    "cursor of numbers": _cursor([1.5, 7]),
    "cursor of nulls": _cursor([None, None]),
    "cursor with nul": _cursor(["a\x00b", str(uuid.uuid4())]),
    "cursor of a dict": _cursor({"id": str(uuid.uuid4())}),
    "cursor of deep lists": _cursor([[[[[[]]]]]]),
    "rtl marks": "\u202eabc\u200f\u200e",
    "emoji": "\U0001f4a9\U0001f3f3\ufe0f\u200d\U0001f308",
    "combining": "e\u0301\u0308\u20dd" * 20,
}

#: The kinds sent in every common parameter at once (the walk's wide, shallow pass).
BROAD_KINDS = (
    "nul",
    "very long",
    "not a number",
    "huge number",
    "not a uuid",
    "impossible date",
    "garbage cursor",
    "cursor of one wrong type",
    "cursor of two wrong types",
    "emoji",
)

ROLES = ("admin", "staff", "client", "supplier", "anonymous")


class _Seen:
    """The query parameter names read during the current request (one test at a time)."""

    local = threading.local()

    @classmethod
    def start(cls) -> set[str]:
        cls.local.keys = set()
        return cls.local.keys

    @classmethod
    def add(cls, key) -> None:
        keys = getattr(cls.local, "keys", None)
        if keys is not None:
            keys.add(str(key))


class WatchedArgs(ImmutableMultiDict):
    """Query parameters that remember which names the request read."""

    def __getitem__(self, key):
        _Seen.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None, type=None):
        _Seen.add(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):
        _Seen.add(key)
        return super().getlist(key, type)

    def __contains__(self, key):
        _Seen.add(key)
        return super().__contains__(key)


class WatchedRequest(Request):
    parameter_storage_class = WatchedArgs


@dataclass
class RouteResult:
    rule: str
    openers: list[str] = field(default_factory=list)
    read: dict[str, set[str]] = field(default_factory=dict)


@pytest.fixture
def world(
    app,
    supplier_world,
    in_tenant,
    create_user,
    create_product,
    create_order,
    create_shipment,
    create_address,
):
    tenant, store = supplier_world.tenant, supplier_world.client
    product = create_product(tenant, store, code="HOSTILE-1", stock=20)
    order = create_order(tenant, store, [(product, 1)])
    shipment = create_shipment(tenant, store, [(product, 1)])
    address = create_address(tenant, store)
    po_id = sent(in_tenant, supplier_world)
    draft_id = draft(in_tenant, supplier_world)
    with in_tenant(tenant) as session:
        factory = session.scalar(select(Supplier).where(Supplier.id == supplier_world.supplier_id))
        link = session.scalar(
            select(SupplierClient).where(SupplierClient.supplier_id == factory.id)
        )
        boots = session.scalar(select(Product).where(Product.code == "BOOT-1"))
        link_id, boots_id = link.id, boots.id
    users = {
        "admin": create_user(tenant, "admin"),
        "staff": create_user(tenant, "staff"),
        "client": create_user(tenant, "client", client=store),
    }
    with in_tenant(tenant) as session:
        factory = session.merge(factory)
    users["supplier"] = create_user(tenant, "supplier", supplier=factory)
    ids = {
        "address_id": address.id,
        "user_id": users["client"].id,
        "supplier_id": supplier_world.supplier_id,
        "catalogue_item_id": supplier_world.item_ids[0],
        "client_id": store.id,
        "order_id": order.id,
        "product_id": boots_id,
        "purchase_order_id": po_id,
        "shipment_id": shipment.id,
        "link_id": link_id,
    }
    return tenant, users, ids, draft_id, product


def _path_for(rule, ids) -> str:
    values = {}
    for name, converter in rule._converters.items():
        if name in ids:
            values[name] = ids[name]
        elif isinstance(converter, UUIDConverter):
            values[name] = uuid.uuid4()
        elif isinstance(converter, AnyConverter):
            values[name] = sorted(converter.items)[0]
        elif name == "theme":
            values[name] = "default"
        elif name == "filename":
            values[name] = "portal.css"
        else:
            values[name] = "x"
    return rule.build(values, append_unknown=False)[1]


def _get_routes(app):
    seen = set()
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or rule.rule in seen:
            continue
        seen.add(rule.rule)
        yield rule


@pytest.fixture
def watched(app):
    original = app.request_class
    app.request_class = WatchedRequest
    yield
    app.request_class = original


def test_no_get_route_fails_on_hostile_query_parameters(app, world, login_as, client_for, watched):
    tenant, users, ids, _draft_id, _product = world
    browsers = {role: login_as(user, tenant) for role, user in users.items()}
    browsers["anonymous"] = client_for(tenant)
    failures: list[str] = []

    def visit(role: str, path: str, query: dict[str, str] | None = None, note: str = ""):
        url = f"{path}?{urlencode(query)}" if query else path
        keys = _Seen.start()
        try:
            response = browsers[role].get(url)
        except Exception:  # the app propagates errors while testing: that is a 500
            failures.append(f"{role} {path} {note}: {traceback.format_exc(limit=-3)}")
            return None, keys
        finally:
            _Seen.local.keys = None
        if response.status_code >= 500:
            failures.append(f"{role} {path} {note}: {response.status_code}")
        return response.status_code, keys

    results = []
    for rule in _get_routes(app):
        path = _path_for(rule, ids)
        result = RouteResult(rule.rule)
        for role in ROLES:
            status, keys = visit(role, path, note="plain")
            if status == 200:
                result.openers.append(role)
                result.read[role] = set(keys)
        if not result.openers:
            # Nobody may open it (or it redirects): hostile values must still not break it.
            result.openers = ["anonymous", "admin"]
            result.read = {"anonymous": set(), "admin": set()}
        results.append((rule, path, result))

    requests = 0
    for _rule, path, result in results:
        kinds = list(HOSTILE_VALUES.items())
        # Every common parameter at once, one request per kind of value, roles taking turns.
        for index, kind in enumerate(BROAD_KINDS):
            role = result.openers[index % len(result.openers)]
            query = dict.fromkeys(COMMON_PARAMETERS, HOSTILE_VALUES[kind])
            visit(role, path, query, f"all common={kind}")
            requests += 1
        # Each parameter the route read on its own, by the roles that read it, taking turns.
        names = sorted(set().union(*result.read.values()))
        for name in names:
            readers = [role for role in result.openers if name in result.read[role]]
            for index, (kind, value) in enumerate(kinds):
                role = readers[index % len(readers)]
                visit(role, path, {name: value}, f"{name}={kind}")
                requests += 1
    assert len(results) > 50
    assert requests > 2000
    assert not failures, f"{len(failures)} server errors:\n" + "\n".join(failures[:40])


def test_the_parameters_the_lists_read_are_found(app, world, login_as, watched):
    """The walk above relies on seeing what a route reads; make sure it sees something."""
    tenant, users, _ids, _draft_id, _product = world
    browser = login_as(users["staff"], tenant)
    keys = _Seen.start()
    try:
        assert browser.get("/orders/").status_code == 200
    finally:
        _Seen.local.keys = None
    assert {"q", "status", "client", "after", "size"} <= keys


def test_a_nul_byte_in_a_search_is_a_bad_request_with_a_clear_page(world, login_as):
    tenant, users, _ids, _draft_id, _product = world
    client = login_as(users["client"], tenant)
    for path in ("/addresses/", "/orders/products.json", "/exports/orders.csv", "/orders/"):
        response = client.get(f"{path}?q=%00")
        assert response.status_code == 400, path
        assert "control character" in response.get_data(as_text=True)
    supplier = login_as(users["supplier"], tenant)
    assert supplier.get("/supplier/orders?q=a%00").status_code == 400


def test_a_nul_byte_in_the_address_is_a_bad_request(world, client_for):
    tenant = world[0]
    assert client_for(tenant).get("/login/%00").status_code == 400
    assert client_for(tenant).get("/static/%00.css").status_code == 400


def test_tabs_and_line_breaks_stay_allowed(world, login_as):
    tenant, users, _ids, _draft_id, _product = world
    client = login_as(users["client"], tenant)
    assert client.get("/addresses/?q=a%09b%0D%0Ac").status_code == 200


@pytest.mark.parametrize(
    "cursor",
    [
        _cursor(["Jane", "not-a-uuid"]),
        _cursor([["Jane"], str(uuid.uuid4())]),
        _cursor(["Jane", 12]),
        _cursor([None, str(uuid.uuid4())]),
        _cursor(["Ja\x00ne", str(uuid.uuid4())]),
        _cursor([True, str(uuid.uuid4())]),
        _cursor({"name": "Jane"}),
        _cursor(["Jane"]),
        "%%%",
    ],
)
def test_a_cursor_of_the_wrong_shape_is_a_bad_request(world, login_as, cursor):
    tenant, users, _ids, _draft_id, _product = world
    client = login_as(users["client"], tenant)
    response = client.get("/addresses/", query_string={"after": cursor})
    assert response.status_code == 400


def test_a_cursor_of_the_right_shape_still_pages(world, login_as, create_address):
    tenant, users, _ids, _draft_id, _product = world
    client = login_as(users["client"], tenant)
    cursor = _cursor(["A", str(uuid.uuid4())])
    response = client.get("/addresses/", query_string={"after": cursor, "size": "1"})
    assert response.status_code == 200
    assert "Jane Receiver" in response.get_data(as_text=True)


# --- forms -----------------------------------------------------------------------------------


def _token(browser, path: str) -> str:
    return browser.csrf_token(path)


@pytest.mark.parametrize("field_name", ["email", "password"])
def test_a_nul_byte_in_the_login_form_is_a_bad_request(world, client_for, field_name):
    tenant, users, _ids, _draft_id, _product = world
    browser = client_for(tenant)
    data = {
        "email": users["client"].email,
        "password": "correct horse battery staple",
        "csrf_token": _token(browser, "/login"),
    }
    data[field_name] = data[field_name] + "\x00"
    response = browser.post("/login", data=data)
    assert response.status_code == 400
    assert "control character" in response.get_data(as_text=True)


def test_a_nul_byte_in_forgot_password_is_a_bad_request(world, client_for):
    tenant = world[0]
    browser = client_for(tenant)
    response = browser.post(
        "/password/forgot",
        data={"email": "a\x00@example.com", "csrf_token": _token(browser, "/password/forgot")},
    )
    assert response.status_code == 400


def test_a_nul_byte_in_a_form_field_name_or_csrf_token_is_no_server_error(world, client_for):
    tenant = world[0]
    browser = client_for(tenant)
    token = _token(browser, "/login")
    response = browser.post("/login", data={"email\x00": "x", "csrf_token": token})
    assert response.status_code == 400
    response = browser.post("/login", data={"email": "x@example.com", "csrf_token": "\x00"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("role", "path", "fields"),
    [
        ("client", "/addresses/new", {"name": "Jane\x00", "city": "Amsterdam"}),
        ("staff", "/suppliers/new", {"name": "Factory\x00"}),
        ("admin", "/clients/new", {"name": "Store\x00"}),
        ("client", "/account", {"name": "Me\x00"}),
        ("client", "/orders/new", {"reference": "R\x00", "delivery_name": "x"}),
    ],
)
def test_a_nul_byte_in_a_logged_in_form_is_a_bad_request(world, login_as, role, path, fields):
    tenant, users, _ids, _draft_id, _product = world
    browser = login_as(users[role], tenant)
    response = browser.post(path, data={**fields, "csrf_token": _token(browser, path)})
    assert response.status_code == 400, response.get_data(as_text=True)[:2000]


def test_a_nul_byte_in_an_uploaded_file_name_is_a_bad_request(world, login_as):
    tenant, users, _ids, _draft_id, _product = world
    browser = login_as(users["client"], tenant)
    response = browser.post(
        "/orders/import",
        data={
            "csrf_token": _token(browser, "/orders/import"),
            "file": (io.BytesIO(b"not a spreadsheet"), "orders\x00.xlsx"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400


def test_the_bad_request_page_says_what_was_wrong(world, client_for):
    tenant = world[0]
    page = client_for(tenant).get("/login?next=%00").get_data(as_text=True)
    assert re.search(r"<h1>Characters that are not allowed</h1>", page)
    assert "Error 400" in page


def test_a_refused_export_goes_back_without_taking_url_for_options_from_the_query(
    app, world, login_as, monkeypatch
):
    """The way back from a refused export keeps the filters, but only as query parameters:
    ``endpoint`` or ``_external``/``_scheme`` in the query are not options of ``url_for``."""
    tenant, users, ids, _draft_id, _product = world
    monkeypatch.setitem(app.config, "PORTAL_EXPORT_MAX_ROWS", 0)
    browser = login_as(users["staff"], tenant)
    client = str(ids["client_id"])
    for options in ({"endpoint": "web.index"}, {"_external": "1", "_scheme": "ftp"}):
        response = browser.get("/exports/orders.csv", query_string={"client": client, **options})
        assert response.status_code == 302
        location = response.headers["Location"]
        assert location.startswith("/orders/?")
        assert f"client={client}" in location
