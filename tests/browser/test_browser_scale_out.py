"""The scale-out set-up for real: PostgreSQL with the non-owner application role, Redis,
gunicorn with two worker processes and ``portal worker`` (Celery).

A purchase order sent in the browser reaches a supplier's HTTP server and a password-reset
e-mail reaches an SMTP server while the Celery worker is killed with SIGKILL in the middle of
the transfer and started again: each arrives exactly once, counted by idempotency key and
Message-ID. A 10,000-line order import started under gunicorn finishes after its worker was
killed and restarted, with all lines and no second order.

The supplier's integration is a small plugin written by the test into a folder on
``PYTHONPATH``, with the entry point metadata a pip-installed package would have: gunicorn
and the worker find it the way they find any third-party plugin.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.request import urlopen

import pytest
from openpyxl import Workbook
from playwright.sync_api import Page, expect
from sqlalchemy import func, select
from werkzeug.serving import make_server

from portal import create_app
from portal.core.orders.models import Order, OrderLine
from portal.core.products.models import Product
from portal.core.purchasing.models import PurchaseOrder
from portal.core.purchasing.models import PurchaseOrderStatus as Status
from portal.db import db
from portal.jobs.models import Job, JobStatus
from portal.tenants.context import tenant_context
from portal.tenants.models import Tenant
from portal.testing import factories
from portal.testing.fixtures import free_port, postgres_database, postgres_server_url
from portal.testing.sites import SiteTenant, SiteUser

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

BIN = Path(sys.executable).parent
REDIS_URL = os.environ.get("PORTAL_TEST_CELERY_REDIS_URL", "redis://127.0.0.1:6379/11")
IMPORT_LINES = 10_000

PLUGIN = '''
"""A supplier integration that POSTs the order as JSON to the supplier's URL."""
import json
import urllib.error
import urllib.request

from portal.plugins import (
    OutboundMessage, RetryableError, SupplierIntegration, TransmitOutcome, TransmitResult,
    hookimpl,
)

PORTAL_ENABLED_BY_DEFAULT = True


class HttpSupplier(SupplierIntegration):
    key = "test_http.post"
    label = "HTTP POST (test)"

    def prepare(self, order):
        return OutboundMessage(body=json.dumps({"number": order.number}).encode())

    def transmit(self, message, idempotency_key, attempt):
        request = urllib.request.Request(
            self.config["url"], data=message.body, method="POST",
            headers={"Content-Type": "application/json", "Idempotency-Key": idempotency_key},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                number = json.loads(response.read())["order_number"]
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise RetryableError(str(error)) from error
        return TransmitResult(TransmitOutcome.TRANSFERRED, supplier_order_number=number)


@hookimpl
def portal_supplier_integrations():
    return [HttpSupplier]
'''


@dataclass
class SupplierServer:
    """The supplier's order API on 127.0.0.1: holds the first call until told to answer."""

    port: int = 0
    keys: list[str] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def __call__(self, environ, start_response):
        key = environ.get("HTTP_IDEMPOTENCY_KEY", "")
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        first = not self.keys
        self.keys.append(key)
        if first:
            self.arrived.set()
            self.release.wait(30)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"order_number": "SUP-1"}).encode()]


@dataclass
class Deployment:
    """The running set-up: its environment, the processes, and an application to look in."""

    env: dict[str, str]
    port: int
    workdir: Path
    app: object
    supplier: SupplierServer
    worker: subprocess.Popen | None = None
    processes: list[subprocess.Popen] = field(default_factory=list)

    def start_worker(self) -> None:
        with (self.workdir / "worker.log").open("ab") as log:
            self.worker = subprocess.Popen(
                [str(BIN / "portal"), "worker", "--concurrency", "2", "--loglevel", "INFO"],
                env=self.env,
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: main process and pool
            )
        self.processes.append(self.worker)

    def kill_worker(self) -> None:
        """SIGKILL the whole worker: the main process and every pool process at once."""
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait(timeout=10)

    def log(self, name: str) -> str:
        path = self.workdir / name
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


def wait_for(condition: Callable[[], object], seconds: float, what: str, deployment=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    logs = ""
    if deployment is not None:
        logs = f"\nworker log:\n{deployment.log('worker.log')}\ngunicorn log:\n{deployment.log('gunicorn.log')}"
    raise AssertionError(f"gave up waiting for {what} after {seconds} s{logs}")


def write_plugin(folder: Path) -> None:
    (folder / "portal_test_http_supplier.py").write_text(textwrap.dedent(PLUGIN))
    meta = folder / "portal_test_http_supplier-1.0.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: portal-test-http-supplier\nVersion: 1.0\n"
    )
    (meta / "entry_points.txt").write_text(
        "[portal.plugins]\nhttp_supplier = portal_test_http_supplier\n"
    )


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, smtp_server) -> Iterator[Deployment]:
    if os.environ.get("PORTAL_TEST_DATABASE_URL", "").startswith("postgresql"):
        pytest.skip("runs on PostgreSQL in the default pass already; once per CI run is enough")
    workdir = tmp_path_factory.mktemp("scale-out")
    write_plugin(workdir)
    database = postgres_database(postgres_server_url())
    supplier = SupplierServer()
    http = make_server("127.0.0.1", 0, supplier, threaded=True)
    supplier.port = http.server_port
    threading.Thread(target=http.serve_forever, daemon=True).start()
    flush_redis()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PORTAL_", "PYTHON")) and key != "PYTEST_CURRENT_TEST"
    }
    env.update(
        {
            "PORTAL_ENV": "development",
            # The same key as the test's own application on this database: one installation.
            "PORTAL_SECRET_KEY": database.secret_key,
            "PORTAL_DATABASE_URL": database.app_url,
            "PORTAL_DATABASE_ADMIN_URL": database.admin_url,
            "PORTAL_REDIS_URL": REDIS_URL,
            "PORTAL_WORKER": "celery",
            "PORTAL_WORKER_INTERVAL": "1",
            "PORTAL_MAIL_SERVER": "127.0.0.1",
            "PORTAL_MAIL_PORT": str(smtp_server.port),
            "PORTAL_MAIL_TIMEOUT": "5",
            "PYTHONPATH": str(workdir),
        }
    )
    port = free_port()
    deployment = None
    try:
        subprocess.run(
            [str(BIN / "portal"), "db", "upgrade"], env=env, cwd=workdir, check=True, timeout=120
        )
        app = create_app({"ENVIRON": {**env, "PORTAL_WORKER": "embedded"}})
        deployment = Deployment(env, port, workdir, app, supplier)
        with (workdir / "gunicorn.log").open("ab") as log:
            gunicorn = subprocess.Popen(
                [
                    str(BIN / "gunicorn"),
                    "--workers",
                    "2",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--timeout",
                    "120",
                    "portal.wsgi:app",
                ],
                env=env,
                cwd=workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deployment.processes.append(gunicorn)
        deployment.start_worker()

        def serving():
            try:
                with urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    return response.status == 200
            except OSError:
                return False

        wait_for(serving, 60, "gunicorn to serve", deployment)
        yield deployment
    finally:
        http.shutdown()
        if deployment is not None:
            for process in deployment.processes:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
            for process in deployment.processes:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
            with deployment.app.app_context():
                db.session.remove()
                db.engine.dispose()
        database.drop()
        flush_redis()


@pytest.fixture(scope="module")
def world(deployment):
    """A tenant with a store (client user), its supplier on the HTTP integration, and the
    10,000 products of the import."""
    app = deployment.app
    slug = factories.unique_slug("scale")
    with app.app_context():
        tenant = factories.make_tenant(slug=slug, name=f"Scale {slug}")
        site = SiteTenant(
            tenant.id, slug, tenant.name, f"http://{slug}.localhost:{deployment.port}"
        )
        password = factories.DEFAULT_PASSWORD
        store = factories.make_user(tenant, "client", password=password)
        maker = factories.make_user(tenant, "supplier", password=password)
        with tenant_context(tenant):
            users = (
                SiteUser(store.email, password, store.display_name, site),
                SiteUser(maker.email, password, maker.display_name, site),
            )
            client, supplier = store.client, maker.supplier
            supplier.integration_key = "test_http.post"
            supplier.integration_config = {"url": f"http://127.0.0.1:{deployment.supplier.port}/"}
            from decimal import Decimal

            from portal.core.purchasing import ordering

            product = factories.make_product(tenant, client, code="CHAIR-1", name="Oak chair")
            factories.make_supplier_link(tenant, supplier.id, client.id, "K-1")
            item = factories.make_matched_item(
                tenant,
                supplier.id,
                product,
                supplier_code="OAK",
                price=Decimal("40.00"),
                container_amount=4,
            )
            ordering.add_to_cart(client, item, 3)
            db.session.add_all(
                Product(client_id=client.id, code=f"IMP-{n:05d}", name=f"Item {n}")
                for n in range(IMPORT_LINES)
            )
            db.session.commit()
    return site, users


def po_state(deployment, tenant_id) -> tuple[str, str] | None:
    with deployment.app.app_context():
        tenant = db.session.get(Tenant, tenant_id)
        with tenant_context(tenant):
            po = db.session.scalar(select(PurchaseOrder))
            result = (po.status, po.supplier_order_number or "") if po else None
        db.session.rollback()
    return result


def import_workbook() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(
        ["Quantity", "Product code", "Name", "Street", "Postcode", "City", "State", "Country"]
    )
    sheet.append([1, "IMP-00000", "Ana Lima", "Rua A 1", "01000-000", "São Paulo", "SP", "BR"])
    for n in range(1, IMPORT_LINES):
        sheet.append([1, f"IMP-{n:05d}"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_deliveries_survive_a_killed_worker_and_arrive_once(
    page: Page, deployment, world, visit, submit, log_in_as, mailbox, new_context
):
    site, (store, _maker) = world
    log_in_as(page, store)
    visit(page, site.url("/purchase-orders/cart"))
    submit(page, page.get_by_role("button", name="Create purchase order"))
    expect(page.locator("h1")).to_contain_text("Order data of PO-")
    submit(page, page.get_by_role("button", name="Save and send to the supplier"))
    expect(page.locator(".flash-success")).to_contain_text("was sent to")

    # The worker picks the transfer up; the supplier's server holds the call.
    assert deployment.supplier.arrived.wait(60), deployment.log("worker.log")
    # Meanwhile someone asks for a password reset: the other pool process sends the e-mail.
    visitor = new_context().new_page()
    visit(visitor, site.url("/password/forgot"))
    visitor.get_by_label("E-mail address").fill(store.email)
    submit(visitor, visitor.get_by_role("button", name="Send link"))
    wait_for(lambda: mailbox.to(store.email), 30, "the password-reset e-mail", deployment)

    deployment.kill_worker()  # in the middle of the transfer
    deployment.supplier.release.set()
    assert po_state(deployment, site.id)[0] == Status.SENT
    deployment.start_worker()

    state = wait_for(
        lambda: (s := po_state(deployment, site.id)) and s[0] == Status.TRANSFERRED and s,
        60,
        "the transfer after the restart",
        deployment,
    )
    assert state[1] == "SUP-1"
    keys = deployment.supplier.keys
    assert len(keys) >= 2, "the interrupted transfer was not repeated"
    assert len(set(keys)) == 1, keys  # one order, one key, however often it was sent
    reset_ids = {message["Message-ID"] for message in mailbox.to(store.email)}
    assert len(reset_ids) == 1


def test_an_import_finishes_after_its_worker_was_killed(
    page: Page, deployment, world, visit, submit, log_in_as
):
    site, (store, _maker) = world
    log_in_as(page, store)
    visit(page, site.url("/orders/import"))
    page.get_by_label("Excel file (.xlsx)").set_input_files(
        {
            "name": "big.xlsx",
            "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "buffer": import_workbook(),
        }
    )
    submit(page, page.get_by_role("button", name="Import"))
    app = deployment.app

    def job() -> Job | None:
        with app.app_context():
            with tenant_context(db.session.get(Tenant, site.id)):
                found = db.session.scalar(select(Job))
                if found is not None:
                    db.session.expunge(found)
            db.session.rollback()
        return found

    wait_for(lambda: (j := job()) and j.status == JobStatus.RUNNING, 60, "the import to start")
    deployment.kill_worker()
    assert job().status == JobStatus.RUNNING, "the import ended before the worker was killed"
    deployment.start_worker()

    finished = wait_for(
        lambda: (j := job()) and j.finished and j, 240, "the import to finish", deployment
    )
    assert finished.status == JobStatus.DONE, finished.errors
    assert finished.attempts == 2
    with app.app_context():
        with tenant_context(db.session.get(Tenant, site.id)):
            assert db.session.scalar(select(func.count()).select_from(Order)) == 1
            order_id = uuid.UUID(finished.result["order_id"])
            lines = db.session.scalar(
                select(func.count()).select_from(OrderLine).where(OrderLine.order_id == order_id)
            )
            assert lines == IMPORT_LINES
        db.session.rollback()
