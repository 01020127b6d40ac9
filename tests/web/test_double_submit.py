"""Forms sent twice, one after the other or at the same moment: one effect, never a 500.

Each test runs against a live server with a thread per request, once on a SQLite file and
once on PostgreSQL, with real commits: the two requests of a double click really race.
Forms that create something carry a one-time submission token (portal/web/submissions.py);
status changes lock the row and check the status again (portal/core/locking.py).
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from html import unescape

import pytest
from flask import Flask
from live_http import LiveBrowser, Response
from sqlalchemy import func, select
from werkzeug.serving import make_server

from portal.accounts.models import User
from portal.audit.models import AuditEntry
from portal.core.clients.models import Client
from portal.core.orders.models import Order, OrderStatus, Shipment
from portal.core.purchasing import ordering
from portal.core.purchasing.models import PurchaseOrder
from portal.core.purchasing.models import PurchaseOrderStatus as POStatus
from portal.core.stock.models import StockLevel, StockMovement
from portal.core.suppliers.models import CatalogueItem, CatalogueMatch, Supplier, SupplierClient
from portal.db import db
from portal.outbox.models import OutboxMessage
from portal.tenants.context import TenantRef, tenant_context
from portal.tenants.models import Tenant
from portal.testing import factories, fixtures
from portal.testing.fixtures import (
    postgres_database,
    postgres_server_url,
    separate_app,
)
from portal.web.submissions import ALREADY_DONE, FormSubmission

TOKEN = re.compile(r'name="submission_token"[^>]*value="([^"]+)"')
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
VERSION = re.compile(r'name="version"[^>]*value="([^"]+)"')
ORDER_PAGE = re.compile(r"/orders/([0-9a-f-]{36})$")

STOCK = 50


@dataclass
class Portal:
    app: Flask
    port: int


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def portal(request, tmp_path_factory, smtp_server) -> Iterator[Portal]:
    """A server on 127.0.0.1 with a thread per request, on a database of its own."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("double-submit") / "portal.db"
        database = fixtures.TestDatabase(f"sqlite:///{path}", None, lambda: None)
    else:
        database = postgres_database(postgres_server_url())
    with separate_app(database, smtp_server.port) as app:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield Portal(app, server.server_port)
        finally:
            server.shutdown()
            thread.join(timeout=10)
            server.server_close()


@dataclass
class Shop:
    portal: Portal
    tenant: TenantRef
    client_email: str
    staff_email: str
    client_id: uuid.UUID
    product_id: uuid.UUID

    def browser(self, email: str | None = None) -> LiveBrowser:
        browser = LiveBrowser(self.portal.port, f"{self.tenant.slug}.localhost")
        answer = browser.login(email or self.client_email, factories.DEFAULT_PASSWORD)
        assert answer.status == 302
        return browser

    def query(self, statement):
        with self.portal.app.app_context(), tenant_context(self.tenant):
            return db.session.scalar(statement)

    def run(self, work):
        """Run ``work()`` in the tenant and commit; return its result."""
        with self.portal.app.app_context(), tenant_context(self.tenant):
            result = work()
            db.session.commit()
            return result

    def stock(self) -> tuple[int, int]:
        with self.portal.app.app_context(), tenant_context(self.tenant):
            level = db.session.scalar(
                select(StockLevel).where(StockLevel.product_id == self.product_id)
            )
            return level.on_hand, level.allocated


@pytest.fixture
def shop(portal) -> Shop:
    """A tenant with a client user, a staff user and one product with stock."""
    with portal.app.app_context():
        tenant = factories.make_tenant()
        client = factories.make_client(tenant, name="Double Shop")
        user = factories.make_user(tenant, "client", client=client)
        staff = factories.make_user(tenant, "staff")
        product = factories.make_product(tenant, client, code="DBL-1", stock=STOCK)
        shop = Shop(
            portal,
            TenantRef(id=tenant.id, slug=tenant.slug),
            user.email,
            staff.email,
            client.id,
            product.id,
        )
        db.session.commit()
    return shop


def hidden(pattern: re.Pattern, page: Response) -> str:
    match = pattern.search(page.text)
    assert match, page.text[:500]
    return unescape(match.group(1))


def order_form(page: Response, **extra: str) -> dict[str, str]:
    return {
        "csrf_token": hidden(CSRF, page),
        "submission_token": hidden(TOKEN, page),
        "action": "save",
        **factories.DEFAULT_ADDRESS,
        "lines-0-code": "DBL-1",
        "lines-0-quantity": "2",
        **extra,
    }


def at_once(*requests):
    """Send the requests from threads that start together; return their answers."""
    start = threading.Barrier(len(requests))

    def send(request):
        start.wait()
        return request()

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(send, requests))


def flashes(browser: LiveBrowser, path: str) -> str:
    return unescape(browser.get(path).text)


def make_order(shop: Shop, *, submit: bool, pick: bool = False) -> uuid.UUID:
    from portal.core.orders.services import LineInput, create_order, pick_order

    def work():
        client = db.session.get(Client, (shop.tenant.id, shop.client_id))
        order = create_order(
            client, [LineInput(shop.product_id, 3)], factories.DEFAULT_ADDRESS, submit=submit
        )
        if pick:
            pick_order(order)
        return order.id

    return shop.run(work)


def count(shop: Shop, model, *conditions) -> int:
    return shop.query(select(func.count()).select_from(model).where(*conditions))


# --- creating: the submission token ---------------------------------------------------------


def test_new_order_sent_twice_at_once_makes_one_order(shop):
    browser = shop.browser()
    form = order_form(browser.get("/orders/new"))

    answers = at_once(*[lambda: browser.post("/orders/new", form)] * 2)

    assert [answer.status for answer in answers] == [302, 302]
    locations = {answer.headers["Location"] for answer in answers}
    assert len(locations) == 1, locations
    assert ORDER_PAGE.search(locations.pop())
    assert count(shop, Order) == 1
    assert count(shop, FormSubmission) == 1


def test_new_order_sent_again_later_shows_the_first_order(shop):
    browser = shop.browser()
    form = order_form(browser.get("/orders/new"), action="submit")
    first = browser.post("/orders/new", form)
    assert first.status == 302
    browser.get(first.headers["Location"])  # shows and clears the first message

    # The back button and the same form again.
    again = browser.post("/orders/new", form)

    assert again.status == 302
    assert again.headers["Location"] == first.headers["Location"]
    assert str(ALREADY_DONE) in flashes(browser, again.headers["Location"])
    assert count(shop, Order) == 1
    assert shop.stock() == (STOCK, 2)


def test_a_refused_form_can_be_sent_again_with_the_same_token(shop):
    browser = shop.browser()
    form = order_form(browser.get("/orders/new"), **{"lines-0-code": "NO-SUCH-CODE"})
    refused = browser.post("/orders/new", form)
    assert refused.status == 200
    assert hidden(TOKEN, refused) == form["submission_token"]

    corrected = browser.post("/orders/new", {**form, "lines-0-code": "DBL-1"})

    assert corrected.status == 302
    assert ORDER_PAGE.search(corrected.headers["Location"])
    assert count(shop, Order) == 1


def test_a_form_without_a_token_is_a_first_submission(shop):
    browser = shop.browser()
    form = order_form(browser.get("/orders/new"))
    del form["submission_token"]

    assert browser.post("/orders/new", form).status == 302
    assert browser.post("/orders/new", form).status == 302
    assert count(shop, Order) == 2
    assert count(shop, FormSubmission) == 0


def test_duplicate_sent_twice_at_once_makes_one_copy(shop):
    order_id = make_order(shop, submit=False)
    browser = shop.browser()
    page = browser.get(f"/orders/{order_id}")
    form = {
        "csrf_token": hidden(CSRF, page),
        "version": hidden(VERSION, page),
        "submission_token": hidden(TOKEN, page),
    }

    answers = at_once(*[lambda: browser.post(f"/orders/{order_id}/duplicate", form)] * 2)

    assert [answer.status for answer in answers] == [302, 302]
    assert len({answer.headers["Location"] for answer in answers}) == 1
    assert count(shop, Order) == 2


def test_stock_correction_sent_twice_at_once_corrects_once(shop):
    browser = shop.browser(shop.staff_email)
    page = browser.get(f"/products/{shop.product_id}")
    warehouse = re.search(r'name="warehouse_id"[^>]*>\s*<option[^>]*value="([^"]+)"', page.text)
    assert warehouse, page.text[:500]
    form = {
        "csrf_token": hidden(CSRF, page),
        "submission_token": hidden(TOKEN, page),
        "warehouse_id": warehouse.group(1),
        "quantity": "5",
        "note": "stocktaking difference",
    }
    movements = count(shop, StockMovement)

    answers = at_once(
        *[lambda: browser.post(f"/stock/products/{shop.product_id}/corrections", form)] * 2
    )

    assert [answer.status for answer in answers] == [302, 302]
    assert len({answer.headers["Location"] for answer in answers}) == 1
    assert count(shop, StockMovement) == movements + 1
    assert shop.stock() == (STOCK + 5, 0)


def test_an_invitation_sent_twice_at_once_invites_once(shop, smtp_server):
    browser = shop.browser(shop.staff_email)
    page = browser.get(f"/clients/{shop.client_id}")
    token = re.search(r'name="invite-submission_token"[^>]*value="([^"]+)"', page.text)
    assert token, page.text[:500]
    form = {
        "invite-csrf_token": hidden(CSRF, page),
        "csrf_token": hidden(CSRF, page),
        "invite-submission_token": unescape(token.group(1)),
        "invite-email": "new.colleague@double.test",
        "invite-name": "New Colleague",
    }
    users = count(shop, User)

    answers = at_once(*[lambda: browser.post(f"/clients/{shop.client_id}/users", form)] * 2)

    assert [answer.status for answer in answers] == [302, 302], [a.text[:300] for a in answers]
    assert count(shop, User) == users + 1
    assert count(shop, FormSubmission) == 1


def test_a_domain_added_twice_at_once_is_added_once(shop):
    from portal.tenants.models import TenantDomain

    with shop.portal.app.app_context():
        admin = factories.make_user(db.session.get(Tenant, shop.tenant.id), "admin")
        email = admin.email  # read before the commit expires it (and the tenant context ended)
        db.session.commit()
    browser = shop.browser(email)
    page = browser.get("/admin/branding")
    tokens = TOKEN.findall(page.text)
    assert tokens, page.text[:500]
    form = {
        "csrf_token": hidden(CSRF, page),
        # The domain form is the page's last form with a token.
        "submission_token": unescape(tokens[-1]),
        "domain": f"portal.{shop.tenant.slug}-shop.example",
    }

    answers = at_once(*[lambda: browser.post("/admin/branding/domains", form)] * 2)

    assert [answer.status for answer in answers] == [302, 302], [a.text[:300] for a in answers]
    with shop.portal.app.app_context():
        added = db.session.scalars(
            select(TenantDomain).where(TenantDomain.tenant_id == shop.tenant.id)
        ).all()
    assert [entry.domain for entry in added] == [form["domain"]]


# --- status changes: the row lock -----------------------------------------------------------


def ship_form(page: Response, *, token: bool) -> dict[str, str]:
    form = {
        "csrf_token": hidden(CSRF, page),
        "version": hidden(VERSION, page),
        "carrier": "DHL",
        "tracking_code": "TRACK-1",
    }
    if token:
        form["submission_token"] = hidden(TOKEN, page)
    return form


@pytest.mark.parametrize("token", [True, False], ids=["one-page", "two-tabs"])
def test_ship_clicked_twice_at_once_ships_once(shop, token):
    order_id = make_order(shop, submit=True, pick=True)
    first, second = shop.browser(shop.staff_email), shop.browser(shop.staff_email)
    path = f"/orders/{order_id}"
    form = ship_form(first.get(path), token=token)
    if token:  # a double click: the same form twice
        second, other = first, form
    else:  # two tabs, each with the page it showed before either click
        other = ship_form(second.get(path), token=False)

    answers = at_once(
        lambda: first.post(f"{path}/ship", form), lambda: second.post(f"{path}/ship", other)
    )

    assert [answer.status for answer in answers] == [302, 302], [a.text for a in answers]
    assert count(shop, Shipment) == 1
    assert shop.stock() == (STOCK - 3, 0)
    assert shop.query(select(Order.status).where(Order.id == order_id)) == OrderStatus.SHIPPED
    if token:
        # One browser: the answer that arrives last sets the session cookie with its message.
        message = flashes(first, path)
        assert "was shipped with shipment" in message or str(ALREADY_DONE) in message
    else:
        messages = flashes(first, path) + flashes(second, path)
        assert "was shipped with shipment" in messages
        assert "Only a picked order can be shipped." in messages


def test_submit_clicked_twice_at_once_submits_once(shop):
    order_id = make_order(shop, submit=False)
    first, second = shop.browser(), shop.browser()
    path = f"/orders/{order_id}"
    forms = [
        {"csrf_token": hidden(CSRF, page), "version": hidden(VERSION, page)}
        for page in (first.get(path), second.get(path))
    ]

    answers = at_once(
        lambda: first.post(f"{path}/submit", forms[0]),
        lambda: second.post(f"{path}/submit", forms[1]),
    )

    assert [answer.status for answer in answers] == [302, 302]
    assert shop.query(select(Order.status).where(Order.id == order_id)) == OrderStatus.PROCESSING
    assert shop.stock() == (STOCK, 3)
    submitted = AuditEntry.action == "order.submitted"
    assert count(shop, AuditEntry, submitted, AuditEntry.object_id == str(order_id)) == 1
    messages = flashes(first, path) + flashes(second, path)
    assert "was submitted" in messages
    assert "Only a draft can be submitted." in messages


def booked_purchase_order(shop: Shop) -> uuid.UUID:
    """A booked purchase order of the shop to a supplier with the manual integration."""

    def work():
        client = db.session.get(Client, (shop.tenant.id, shop.client_id))
        supplier = Supplier(name="Double Factory", email="orders@double.test")
        db.session.add(supplier)
        db.session.flush()
        db.session.add(SupplierClient(supplier_id=supplier.id, client_id=client.id))
        item = CatalogueItem(
            supplier_id=supplier.id,
            supplier_code="F-DBL",
            name="Double",
            container_amount=6,
            price=Decimal("2.50"),
        )
        db.session.add(item)
        db.session.flush()
        db.session.add(
            CatalogueMatch(
                catalogue_item_id=item.id, client_id=client.id, product_id=shop.product_id
            )
        )
        ordering.add_to_cart(client, item, 2)
        po = ordering.create_from_cart(client, supplier)
        ordering.book(po)
        return po.id

    return shop.run(work)


def test_send_clicked_twice_at_once_queues_one_transfer(shop):
    po_id = booked_purchase_order(shop)
    first, second = shop.browser(), shop.browser()
    path = f"/purchase-orders/{po_id}"
    forms = [
        {"csrf_token": hidden(CSRF, page), "version": hidden(VERSION, page)}
        for page in (first.get(path), second.get(path))
    ]

    answers = at_once(
        lambda: first.post(f"{path}/send", forms[0]),
        lambda: second.post(f"{path}/send", forms[1]),
    )

    assert all(answer.status < 500 for answer in answers), [a.status for a in answers]
    transfers = OutboxMessage.idempotency_key.like(f"po-transfer:%:{po_id}:%")
    assert count(shop, OutboxMessage, transfers) == 1
    assert shop.query(select(PurchaseOrder.status).where(PurchaseOrder.id == po_id)) == (
        POStatus.SENT
    )
    messages = flashes(first, path) + flashes(second, path)
    assert "was sent to Double Factory" in messages
    # Depending on whether the second request read the order before the first one's commit.
    assert str(ordering.SEND_REFUSED) in messages or "Someone else changed this" in messages


def test_tokens_of_forms_shown_over_a_week_ago_are_forgotten(shop):
    from portal.web.submissions import KEEP_DAYS

    user_id = shop.query(select(User.id).where(User.email == shop.client_email))
    days_ago = int((time.time() - (KEEP_DAYS + 1) * 86400) * 1000)
    old = uuid.UUID(int=(days_ago << 80) | (0x7 << 76) | (0b10 << 62) | 12345)
    shop.run(lambda: db.session.add(FormSubmission(id=old, user_id=user_id)))
    browser = shop.browser()

    sent = browser.post("/orders/new", order_form(browser.get("/orders/new")))

    assert sent.status == 302
    assert count(shop, FormSubmission, FormSubmission.id == old) == 0
    assert count(shop, FormSubmission) == 1
