"""The embedded SQLite database under concurrent writers: they wait their turn, none fails.

These tests run on a SQLite file of their own whatever database the suite uses, with real
commits (no savepoint around them), against a server on 127.0.0.1 with a thread per request.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from live_http import LiveBrowser
from sqlalchemy import func, select, text
from werkzeug.serving import make_server

from portal.core.orders.models import Order
from portal.db import db
from portal.mail import queue_email
from portal.outbox.models import OutboxMessage, OutboxStatus
from portal.outbox.services import deliver_due
from portal.tenants.context import TenantRef, tenant_context
from portal.testing import factories, fixtures
from portal.testing.fixtures import free_port, separate_app

CONCURRENT_ORDERS = 20


@dataclass
class Shop:
    app: Flask
    port: int
    tenant_id: uuid.UUID
    slug: str
    email: str

    def browser(self) -> LiveBrowser:
        browser = LiveBrowser(self.port, f"{self.slug}.localhost")
        assert browser.login(self.email, factories.DEFAULT_PASSWORD).status == 302
        return browser

    def orders(self) -> int:
        with self.app.app_context(), tenant_context(self.tenant()):
            return db.session.scalar(select(func.count()).select_from(Order))

    def tenant(self):
        return TenantRef(id=self.tenant_id, slug=self.slug)


class SlowMailbox:
    """An SMTP handler that takes a second per message, long enough for a request to collide."""

    def __init__(self) -> None:
        self.message_ids: list[str] = []
        self.receiving = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.receiving.set()
        await asyncio.sleep(1)
        for line in envelope.original_content.decode().splitlines():
            if line.lower().startswith("message-id:"):
                self.message_ids.append(line.split(":", 1)[1].strip())
        return "250 Message accepted for delivery"


@pytest.fixture
def slow_smtp() -> Iterator[tuple[SlowMailbox, int]]:
    mailbox = SlowMailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


@pytest.fixture
def shop(tmp_path, slow_smtp) -> Iterator[Shop]:
    """A client user with a product in stock, on a portal served from a SQLite file."""
    path = tmp_path / "portal.db"
    database = fixtures.TestDatabase(f"sqlite:///{path}", None, lambda: None)
    with separate_app(database, slow_smtp[1]) as app:
        with app.app_context():
            tenant = factories.make_tenant()
            client = factories.make_client(tenant, name="Busy Shop")
            user = factories.make_user(tenant, "client", client=client)
            factories.make_product(tenant, client, code="WID-1", stock=1000)
            shop_data = (tenant.id, tenant.slug, user.email)
            db.session.commit()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield Shop(app, server.server_port, *shop_data)
        finally:
            server.shutdown()
            thread.join(timeout=10)
            server.server_close()


def order_form(csrf_token: str, reference: str) -> dict[str, str]:
    return {
        "csrf_token": csrf_token,
        "action": "submit",
        "reference": reference,
        **factories.DEFAULT_ADDRESS,
        "lines-0-code": "WID-1",
        "lines-0-quantity": "1",
    }


def test_the_database_is_in_wal_mode_with_a_long_busy_timeout(shop):
    with shop.app.app_context():
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA busy_timeout")).scalar() >= 30_000


def test_concurrent_new_orders_all_succeed(shop):
    browser = shop.browser()
    token = browser.csrf_token("/orders/new")

    def create(number: int) -> int:
        return browser.post("/orders/new", order_form(token, f"RUSH-{number}")).status

    with ThreadPoolExecutor(CONCURRENT_ORDERS) as pool:
        statuses = list(pool.map(create, range(CONCURRENT_ORDERS)))

    assert statuses == [302] * CONCURRENT_ORDERS
    assert shop.orders() == CONCURRENT_ORDERS


def test_the_outbox_worker_and_a_request_write_at_the_same_time(shop, slow_smtp):
    mailbox, _port = slow_smtp
    with shop.app.app_context(), tenant_context(shop.tenant()):
        queue_email("someone@example.com", "Hello", "Text", key="collision-test")
        db.session.commit()
    browser = shop.browser()
    token = browser.csrf_token("/orders/new")
    errors: list[BaseException] = []

    def work() -> None:
        with shop.app.app_context():
            try:
                deliver_due()
            except BaseException as error:  # reported by the assertion below
                errors.append(error)

    worker = threading.Thread(target=work)
    worker.start()
    # The request arrives while the worker is in the middle of its delivery.
    assert mailbox.receiving.wait(10)
    response = browser.post("/orders/new", order_form(token, "WHILE-SENDING"))
    worker.join(30)

    assert not worker.is_alive()
    assert errors == []
    assert response.status == 302
    assert shop.orders() == 1
    with shop.app.app_context(), tenant_context(shop.tenant()):
        message = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.idempotency_key == "collision-test")
        )
        assert (message.status, message.attempts) == (OutboxStatus.SENT, 1)
    assert len([m for m in mailbox.message_ids if "collision-test" in m]) == 1
