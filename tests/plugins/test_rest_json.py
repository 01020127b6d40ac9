"""The bundled REST/JSON integration end to end.

Outbound: a real HTTP server on 127.0.0.1 plays the supplier's order API. It checks the
bearer token, the basic credentials or the Standard Webhooks signature, and answers as each
test tells it: received, confirmed with a changed price, rejected, 503 with Retry-After (the
outbox tries again with the same idempotency key), 400 (the transfer stops at once),
garbage, too slowly, or not at all.

Inbound: the supplier's signed POSTs to ``/integrations/<supplier id>/inbound`` through the
application's test client on the tenant's host: a confirmation with a changed price, a
dispatch notice, the same message twice (applied once), a wrong signature and a stale one
(401), another supplier's and another tenant's order, malformed JSON, a schema error and an
illegal transition (refused, kept on the log, nothing changed).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import portal_rest_json
import pytest
from sqlalchemy import func, select
from standardwebhooks import Webhook

from portal import PROJECT_ROOT
from portal.audit.models import AuditEntry
from portal.core.purchasing import responses
from portal.core.purchasing.models import DispatchNotice, PurchaseOrder
from portal.core.purchasing.models import PurchaseOrderStatus as Status
from portal.core.suppliers.models import Supplier
from portal.db import utcnow
from portal.outbox.models import OutboxMessage, OutboxStatus
from portal.outbox.services import deliver_due
from portal.plugins.models import InboundMessage, PluginActivation
from portal.testing.fixtures import free_port
from portal.testing.suppliers import _get, act, sent, state

TOKEN = "tok-" + "a" * 28
SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


# --- the supplier's order API ------------------------------------------------------------------


class SupplierApi:
    """Records each request; answers with the next scripted reply (default 202, empty)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.replies: list[tuple[int, dict[str, str], bytes, float]] = []
        self.port = free_port()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                api.requests.append(
                    {"path": self.path, "headers": dict(self.headers.items()), "body": body}
                )
                status, headers, reply, delay = (
                    api.replies.pop(0) if api.replies else (202, {}, b"", 0.0)
                )
                if delay:
                    time.sleep(delay)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/orders"

    def reply(self, status=200, body: dict | bytes | None = None, headers=None, delay=0.0):
        data = json.dumps(body).encode() if isinstance(body, dict) else (body or b"")
        kinds = {"Content-Type": "application/json"} if isinstance(body, dict) else {}
        self.replies.append((status, {**kinds, **(headers or {})}, data, delay))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def supplier_api():
    api = SupplierApi()
    yield api
    api.close()


@pytest.fixture
def rest(app, monkeypatch):
    # A bundled plugin: registered through its entry point like any installed package.
    assert "rest_json" in app.extensions["portal.plugins"].plugins
    monkeypatch.setitem(app.config, portal_rest_json.ALLOW_PRIVATE, True)
    return portal_rest_json


def use_rest(in_tenant, tenant, supplier_id, url, auth="bearer", **config):
    with in_tenant(tenant) as session:
        if (
            session.scalar(select(PluginActivation).where(PluginActivation.name == "rest_json"))
            is None
        ):
            session.add(PluginActivation(name="rest_json", enabled=True))
        supplier = _get(session, Supplier, supplier_id)
        supplier.integration_key = "rest_json"
        supplier.integration_config = {"url": url, "auth": auth, "timeout": 2, **config}
        supplier.integration_secrets = {
            "token": TOKEN,
            "password": "s3cret-pass",
            "signing_secret": SECRET,
        }
        session.commit()


@pytest.fixture
def world(supplier_world, rest, supplier_api, in_tenant):
    use_rest(in_tenant, supplier_world.tenant, supplier_world.supplier_id, supplier_api.url)
    return supplier_world


def deliver(app) -> int:
    with app.app_context():
        return deliver_due()


def outbox_of(in_tenant, world, po_id) -> OutboxMessage:
    with in_tenant(world.tenant) as session:
        return session.scalar(
            select(OutboxMessage).where(OutboxMessage.idempotency_key.contains(str(po_id)))
        )


def make_due(in_tenant, world, po_id) -> None:
    with in_tenant(world.tenant) as session:
        message = session.scalar(
            select(OutboxMessage).where(OutboxMessage.idempotency_key.contains(str(po_id)))
        )
        message.next_attempt_at = utcnow()
        session.commit()


def log_of(in_tenant, tenant, object_id, action) -> list[AuditEntry]:
    with in_tenant(tenant) as session:
        return list(
            session.scalars(
                select(AuditEntry).where(
                    AuditEntry.object_id == str(object_id), AuditEntry.action == action
                )
            )
        )


# --- outbound ----------------------------------------------------------------------------------


@pytest.mark.parametrize("auth", ["bearer", "basic", "signature"])
def test_the_order_reaches_the_supplier_authenticated_with_its_idempotency_key(
    app, in_tenant, world, supplier_api, auth
):
    use_rest(in_tenant, world.tenant, world.supplier_id, supplier_api.url, auth, username="portal")
    po_id = sent(in_tenant, world)
    assert deliver(app) == 1
    po = state(in_tenant, world, po_id)
    assert po.status == Status.TRANSFERRED
    [request] = supplier_api.requests
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["idempotency-key"] == f"po-transfer:{world.tenant.id}:{po_id}:1"
    assert headers["content-type"] == "application/json"
    if auth == "bearer":
        assert headers["authorization"] == f"Bearer {TOKEN}"
    elif auth == "basic":
        expected = base64.b64encode(b"portal:s3cret-pass").decode()
        assert headers["authorization"] == f"Basic {expected}"
    else:
        assert "authorization" not in headers
        assert headers["webhook-id"] == headers["idempotency-key"]
        Webhook(SECRET).verify(request["body"], headers)  # raises when the signature is wrong
    document = json.loads(request["body"])
    assert document["schema_version"] == 1
    assert document["number"] == po.number
    assert document["customer_number"] == "C-12"
    assert [
        (line["position"], line["supplier_code"], line["quantity"], line["unit_price"])
        for line in document["lines"]
    ] == [(1, "F-BOOT", 12, "20.00"), (2, "F-SOCK", 12, "1.50")]


def test_an_immediate_confirmation_with_a_changed_price_confirms_the_order(
    app, in_tenant, world, supplier_api
):
    po_id = sent(in_tenant, world)
    number = state(in_tenant, world, po_id).number
    supplier_api.reply(
        200,
        {
            "status": "confirmed",
            "order_number": number,
            "supplier_order_number": "SO-991",
            "lines": [{"position": 1, "unit_price": "18.50"}],
        },
    )
    deliver(app)
    po = state(in_tenant, world, po_id)
    assert po.status == Status.CONFIRMED
    assert po.supplier_order_number == "SO-991"
    assert po.lines[0].unit_price == Decimal("18.50")
    assert po.lines[1].unit_price == Decimal("1.50")
    # A repeated answer to the same key (the supplier's idempotency) is not applied twice.
    with in_tenant(world.tenant) as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(
                    AuditEntry.object_id == str(po_id),
                    AuditEntry.action == "purchase_order.confirmed_with_changes",
                )
            )
            == 1
        )


def test_an_immediate_rejection_rejects_the_order_with_the_reason(
    app, in_tenant, world, supplier_api
):
    po_id = sent(in_tenant, world)
    supplier_api.reply(
        200,
        {"status": "rejected", "reason": "Out of stock until March"},  # the order just sent
    )
    deliver(app)
    po = state(in_tenant, world, po_id)
    assert po.status == Status.REJECTED
    assert "Out of stock until March" in po.rejection_reason


def test_503_with_retry_after_is_retried_later_with_the_same_key(
    app, in_tenant, world, supplier_api
):
    po_id = sent(in_tenant, world)
    supplier_api.reply(503, b"busy", headers={"Retry-After": "120"})
    assert deliver(app) == 0
    po = state(in_tenant, world, po_id)
    assert po.status == Status.SENT
    assert "503" in po.transfer_error
    message = outbox_of(in_tenant, world, po_id)
    assert message.status == OutboxStatus.PENDING
    assert message.next_attempt_at - utcnow() >= timedelta(seconds=110)
    assert deliver(app) == 0  # not due yet: the supplier asked for two minutes
    assert len(supplier_api.requests) == 1
    make_due(in_tenant, world, po_id)
    supplier_api.reply(200, {"status": "received", "supplier_order_number": "SO-5"})
    assert deliver(app) == 1
    po = state(in_tenant, world, po_id)
    assert (po.status, po.supplier_order_number, po.transfer_error) == (
        Status.TRANSFERRED,
        "SO-5",
        "",
    )
    keys = [r["headers"]["Idempotency-Key"] for r in supplier_api.requests]
    assert keys == [f"po-transfer:{world.tenant.id}:{po_id}:1"] * 2
    assert [r["headers"]["X-Attempt"] for r in supplier_api.requests] == ["1", "2"]


def test_400_stops_the_transfer_at_once_with_the_suppliers_words(
    app, in_tenant, world, supplier_api
):
    po_id = sent(in_tenant, world)
    supplier_api.reply(400, {"detail": "unknown article F-SOCK"})
    deliver(app)
    po = state(in_tenant, world, po_id)
    assert po.status == Status.SENT
    assert "400" in po.transfer_error
    assert "unknown article F-SOCK" in po.transfer_error
    message = outbox_of(in_tenant, world, po_id)
    assert (message.status, message.attempts) == (OutboxStatus.FAILED, 1)
    make_due(in_tenant, world, po_id)
    deliver(app)
    assert len(supplier_api.requests) == 1
    assert log_of(in_tenant, world.tenant, po_id, "purchase_order.transfer_failed")


def test_wrong_credentials_are_a_configuration_error(app, in_tenant, world, supplier_api):
    po_id = sent(in_tenant, world)
    supplier_api.reply(401, b"no")
    deliver(app)
    po = state(in_tenant, world, po_id)
    assert "ConfigurationError" in po.transfer_error
    assert "credentials" in po.transfer_error
    assert outbox_of(in_tenant, world, po_id).status == OutboxStatus.FAILED


@pytest.mark.parametrize("fault", ["refused", "timeout", "500"])
def test_an_unreachable_slow_or_failing_supplier_is_retried(
    app, in_tenant, world, supplier_api, fault
):
    if fault == "refused":
        use_rest(in_tenant, world.tenant, world.supplier_id, f"http://127.0.0.1:{free_port()}/x")
    elif fault == "timeout":
        supplier_api.reply(202, b"", delay=3.5)  # the supplier's timeout is 2 seconds
    else:
        supplier_api.reply(500, b"<html>Internal Server Error</html>")
    po_id = sent(in_tenant, world)
    assert deliver(app) == 0
    po = state(in_tenant, world, po_id)
    assert po.status == Status.SENT
    assert po.transfer_error
    assert outbox_of(in_tenant, world, po_id).status == OutboxStatus.PENDING


def test_a_garbage_answer_with_2xx_still_counts_as_transferred(app, in_tenant, world, supplier_api):
    po_id = sent(in_tenant, world)
    supplier_api.reply(200, b"\x00\xffnot json at all")
    assert deliver(app) == 1
    assert state(in_tenant, world, po_id).status == Status.TRANSFERRED


def test_private_addresses_are_refused_unless_the_operator_allows_them(
    app, in_tenant, world, supplier_api, monkeypatch
):
    monkeypatch.setitem(app.config, portal_rest_json.ALLOW_PRIVATE, False)
    po_id = sent(in_tenant, world)
    deliver(app)
    assert "private network" in state(in_tenant, world, po_id).transfer_error
    assert supplier_api.requests == []


# --- inbound -----------------------------------------------------------------------------------


def sign(body: bytes, message_id: str | None = None, at: datetime | None = None, secret=SECRET):
    message_id = message_id or f"msg_{uuid.uuid4().hex}"
    at = at or datetime.now(UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
        "Content-Type": "application/json",
    }


def post(client, supplier_id, data: dict | bytes, headers=None, **sign_kwargs):
    body = json.dumps(data).encode() if isinstance(data, dict) else data
    headers = headers if headers is not None else sign(body, **sign_kwargs)
    return client.post(f"/integrations/{supplier_id}/inbound", data=body, headers=headers)


@pytest.fixture
def transferred_order(app, in_tenant, world):
    po_id = sent(in_tenant, world)
    deliver(app)
    po = state(in_tenant, world, po_id)
    assert po.status == Status.TRANSFERRED
    return po


def test_a_signed_confirmation_with_a_changed_price_then_a_dispatch_notice(
    app, in_tenant, world, client_for, transferred_order
):
    client = client_for(world.tenant)
    po = transferred_order
    answer = post(
        client,
        world.supplier_id,
        {
            "type": "order.confirmed",
            "order_number": po.number,
            "supplier_order_number": "SO-7",
            "lines": [{"position": 2, "unit_price": "1.40", "delivery_date": "2027-01-15"}],
        },
        message_id="msg_confirm_1",
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.json == {
        "status": "applied",
        "message_id": "msg_confirm_1",
        "order_number": po.number,
    }
    now = state(in_tenant, world, po.id)
    assert now.status == Status.CONFIRMED
    assert now.supplier_order_number == "SO-7"
    assert now.lines[1].unit_price == Decimal("1.40")
    assert str(now.lines[1].delivery_date) == "2027-01-15"

    notice = {
        "type": "order.dispatched",
        "order_number": po.number,
        "dispatch": {
            "carrier": "DHL",
            "tracking_code": "JD0001",
            "expected_date": "2027-01-16",
            "lines": [{"position": 1, "quantity": 12}, {"position": 2, "quantity": 12}],
        },
    }
    first = post(client, world.supplier_id, notice, message_id="msg_dispatch_1")
    assert first.status_code == 200
    assert first.json["status"] == "applied"
    # The same message again, even with a fresh signature: applied once.
    again = post(client, world.supplier_id, notice, message_id="msg_dispatch_1")
    assert again.status_code == 200
    assert again.json["status"] == "duplicate"
    with in_tenant(world.tenant) as session:
        assert session.scalar(select(func.count()).select_from(DispatchNotice)) == 1
        notices = session.scalars(select(DispatchNotice)).all()
        assert (notices[0].carrier, notices[0].tracking_code) == ("DHL", "JD0001")
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 2
    assert state(in_tenant, world, po.id).status == Status.DISPATCHED


@pytest.mark.parametrize("fault", ["wrong secret", "stale", "no headers", "changed body"])
def test_an_unverified_call_is_refused_with_401_and_changes_nothing(
    app, in_tenant, world, client_for, transferred_order, fault
):
    body = json.dumps(
        {"type": "order.rejected", "order_number": transferred_order.number, "reason": "no"}
    ).encode()
    if fault == "wrong secret":
        other = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        headers = sign(body, secret=other)
    elif fault == "stale":
        headers = sign(body, at=datetime.now(UTC) - timedelta(minutes=10))
    elif fault == "no headers":
        headers = {"Content-Type": "application/json"}
    else:
        headers = sign(body)
        body = body.replace(b"no", b"yes")
    answer = post(client_for(world.tenant), world.supplier_id, body, headers=headers)
    assert answer.status_code == 401
    assert answer.mimetype == "application/problem+json"
    assert answer.json["code"] == "invalid_signature"
    assert state(in_tenant, world, transferred_order.id).status == Status.TRANSFERRED
    with in_tenant(world.tenant) as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 0


def test_malformed_json_is_refused_with_400_and_kept_on_the_suppliers_log(
    app, in_tenant, world, client_for, transferred_order
):
    answer = post(client_for(world.tenant), world.supplier_id, b'{"type": "order.confir')
    assert answer.status_code == 400
    assert answer.json["code"] == "unreadable_message"
    assert "not valid JSON" in answer.json["detail"]
    [entry] = log_of(in_tenant, world.tenant, world.supplier_id, "supplier.inbound_refused")
    assert "not valid JSON" in entry.details["reason"]
    assert state(in_tenant, world, transferred_order.id).status == Status.TRANSFERRED


def test_a_schema_error_names_the_field_and_is_kept_on_the_orders_log(
    app, in_tenant, world, client_for, transferred_order
):
    po = transferred_order
    answer = post(
        client_for(world.tenant),
        world.supplier_id,
        {
            "type": "order.confirmed",
            "order_number": po.number,
            "lines": [{"position": 1, "quantity": "twelve"}, {"unit_price": 1.5}],
        },
    )
    assert answer.status_code == 422
    fields = {error["field"] for error in answer.json["errors"]}
    assert fields == {"lines[0].quantity", "lines[1].position", "lines[1].unit_price"}
    [entry] = log_of(in_tenant, world.tenant, po.id, "purchase_order.inbound_refused")
    assert "lines[0].quantity" in entry.details["reason"]
    assert state(in_tenant, world, po.id).status == Status.TRANSFERRED
    # A refused message id is not spent: the corrected message with the same id is applied.
    with in_tenant(world.tenant) as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 0


def test_an_illegal_transition_is_refused_and_shown_on_the_orders_history(
    app, in_tenant, world, client_for, transferred_order, create_user, login_as
):
    po = transferred_order
    act(in_tenant, world, po.id, responses.confirm)
    answer = post(
        client_for(world.tenant),
        world.supplier_id,
        {"type": "order.rejected", "order_number": po.number, "reason": "changed our mind"},
    )
    assert answer.status_code == 422
    assert answer.json["code"] == "transition_refused"
    assert state(in_tenant, world, po.id).status == Status.CONFIRMED
    [entry] = log_of(in_tenant, world.tenant, po.id, "purchase_order.inbound_refused")
    staff = login_as(create_user(world.tenant, "staff"), world.tenant)
    page = staff.get(f"/purchase-orders/{po.id}").get_data(as_text=True)
    history = page[page.index("Status history") :].replace("&#39;", "'")
    assert "Message from the supplier's system refused" in history, history
    assert entry.details["reason"] in history


def test_another_suppliers_order_is_unknown_here(
    app, in_tenant, world, client_for, transferred_order, supplier_api
):
    with in_tenant(world.tenant) as session:
        other = Supplier(name="Other Factory", email="o@factory.test")
        session.add(other)
        session.commit()
        other_id = other.id
    use_rest(in_tenant, world.tenant, other_id, supplier_api.url)
    answer = post(
        client_for(world.tenant),
        other_id,
        {"type": "order.rejected", "order_number": transferred_order.number, "reason": "x"},
    )
    assert answer.status_code == 422
    assert answer.json["code"] == "unknown_order"
    assert transferred_order.number in answer.json["detail"]
    assert state(in_tenant, world, transferred_order.id).status == Status.TRANSFERRED
    assert log_of(in_tenant, world.tenant, other_id, "supplier.inbound_refused")


def test_another_tenants_supplier_and_order_are_not_reachable(
    app, in_tenant, world, client_for, transferred_order, other_tenant, supplier_api
):
    with in_tenant(other_tenant) as session:
        stranger = Supplier(name="Stranger", email="s@else.test")
        session.add(stranger)
        session.commit()
        stranger_id = stranger.id
    use_rest(in_tenant, other_tenant, stranger_id, supplier_api.url)
    message = {"type": "order.rejected", "order_number": transferred_order.number, "reason": "x"}
    # Our supplier's address on the other tenant's host: no such supplier there.
    assert post(client_for(other_tenant), world.supplier_id, message).status_code == 404
    # The other tenant's supplier naming our order on its own host: an order it does not have.
    answer = post(client_for(other_tenant), stranger_id, message)
    assert answer.status_code == 422
    assert answer.json["code"] == "unknown_order"
    # The other tenant's supplier on our host: not found either.
    assert post(client_for(world.tenant), stranger_id, message).status_code == 404
    assert state(in_tenant, world, transferred_order.id).status == Status.TRANSFERRED


def test_unknown_ids_and_suppliers_without_inbound_calls_are_not_found(
    app, in_tenant, world, client_for, transferred_order
):
    client = client_for(world.tenant)
    body = {"type": "order.acknowledged", "order_number": transferred_order.number}
    assert post(client, "not-a-uuid", body).status_code == 404
    assert post(client_for("localhost"), world.supplier_id, body).status_code == 404  # no tenant
    assert post(client, uuid.uuid4(), body).status_code == 404
    with in_tenant(world.tenant) as session:
        _get(session, Supplier, world.supplier_id).integration_key = "manual"
        session.commit()
    assert post(client, world.supplier_id, body).status_code == 404
    # The plugin switched off for the tenant: its inbound address is gone too.
    use_rest(in_tenant, world.tenant, world.supplier_id, "http://127.0.0.1:1/")
    with in_tenant(world.tenant) as session:
        session.scalar(
            select(PluginActivation).where(PluginActivation.name == "rest_json")
        ).enabled = False
        session.commit()
    assert post(client, world.supplier_id, body).status_code == 404


def test_a_status_update_sets_the_suppliers_situation(
    app, in_tenant, world, client_for, transferred_order
):
    answer = post(
        client_for(world.tenant),
        world.supplier_id,
        {
            "type": "order.status",
            "order_number": transferred_order.number,
            "situation": "Packed, waiting for the carrier",
        },
    )
    assert answer.status_code == 200, answer.json
    po = state(in_tenant, world, transferred_order.id)
    assert po.supplier_situation == "Packed, waiting for the carrier"


def test_without_a_signing_secret_nothing_is_accepted(
    app, in_tenant, world, client_for, transferred_order
):
    with in_tenant(world.tenant) as session:
        supplier = _get(session, Supplier, world.supplier_id)
        supplier.integration_secrets = {"token": TOKEN}
        session.commit()
    body = {"type": "order.acknowledged", "order_number": transferred_order.number}
    assert post(client_for(world.tenant), world.supplier_id, body).status_code == 401


def test_the_settings_form_keeps_secrets_and_validates_the_url():
    from werkzeug.datastructures import MultiDict

    form = portal_rest_json.RestJsonConfig(MultiDict({"url": "not a url", "auth": "bearer"}))
    assert not form.validate()
    assert "url" in form.errors
    form = portal_rest_json.RestJsonConfig(
        MultiDict({"url": "https://api.factory.test/orders", "auth": "signature", "timeout": "15"})
    )
    assert form.validate(), form.errors
    assert isinstance(form.signing_secret, portal_rest_json.SecretField)


def test_prepare_is_pure_and_stable(app):
    from portal.plugins import LineData, PurchaseOrderData

    order = PurchaseOrderData(
        number="PO-1",
        status="booked",
        supplier_name="Acme",
        lines=(LineData(1, "A", "Boots", 6, 1, 6, unit_price=Decimal("2.50")),),
    )
    integration = portal_rest_json.RestJsonIntegration({"url": "https://x.test"}, {})
    assert integration.prepare(order) == integration.prepare(order)


# --- twenty deliveries of one message at once, on a live server --------------------------------

CONCURRENT = 20


@pytest.fixture(params=["sqlite", "postgresql"])
def live_portal(request, tmp_path, smtp_server):
    """A portal served on 127.0.0.1 (a thread per request, real commits) with the REST/JSON
    plugin, and a purchase order transferred to a REST/JSON supplier."""
    from werkzeug.serving import make_server

    from portal.core.purchasing import ordering
    from portal.db import db
    from portal.tenants.context import tenant_context
    from portal.testing import factories, fixtures

    if request.param == "sqlite":
        path = tmp_path / "portal.db"
        database = fixtures.TestDatabase(f"sqlite:///{path}", None, lambda: None)
    else:
        database = fixtures.postgres_database(fixtures.postgres_server_url())
    api = SupplierApi()
    with fixtures.separate_app(
        database,
        smtp_server.port,
        PORTAL_PLUGINS={"rest_json": portal_rest_json},
        **{portal_rest_json.ALLOW_PRIVATE: True},
    ) as app:
        with app.app_context():
            tenant = factories.make_tenant()
            client = factories.make_client(tenant, name="Corner Store")
            boots = factories.make_product(tenant, client, code="BOOT-1", name="Boots")
            with tenant_context(tenant):
                db.session.add(PluginActivation(name="rest_json", enabled=True))
                supplier = Supplier(
                    name="Shoe Factory",
                    email="orders@factory.test",
                    integration_key="rest_json",
                    integration_config={"url": api.url, "auth": "bearer", "timeout": 5},
                    integration_secrets={"token": TOKEN, "signing_secret": SECRET},
                )
                db.session.add(supplier)
                db.session.flush()
                factories.make_supplier_link(tenant, supplier.id, client.id, "C-12")
                item = factories.make_matched_item(
                    tenant, supplier.id, boots, supplier_code="F-BOOT", container_amount=6
                )
                ordering.add_to_cart(client, item, 2)
                po = ordering.create_from_cart(client, supplier)
                ordering.book(po)
                ordering.send(po)
                db.session.commit()
                ids = (tenant.id, tenant.slug, supplier.id, po.id, po.number)
            deliver_due()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield app, server.server_port, ids
        finally:
            server.shutdown()
            thread.join(timeout=10)
            server.server_close()
            api.close()


def test_the_same_confirmation_twenty_times_at_once_is_applied_once(live_portal):
    import http.client
    from concurrent.futures import ThreadPoolExecutor

    from portal.db import db
    from portal.tenants.context import TenantRef, tenant_context

    app, port, (tenant_id, slug, supplier_id, po_id, number) = live_portal
    body = json.dumps(
        {
            "type": "order.confirmed",
            "order_number": number,
            "lines": [{"position": 1, "unit_price": "17.25"}],
        }
    ).encode()
    headers = {**sign(body, message_id="msg_burst"), "Host": f"{slug}.localhost"}

    def deliver_once(_n: int) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            connection.request(
                "POST", f"/integrations/{supplier_id}/inbound", body=body, headers=headers
            )
            answer = connection.getresponse()
            data = answer.read()
            return answer.status, json.loads(data).get("status", data.decode()[:200])
        finally:
            connection.close()

    with ThreadPoolExecutor(CONCURRENT) as pool:
        results = list(pool.map(deliver_once, range(CONCURRENT)))
    assert sorted(results) == [(200, "applied")] + [(200, "duplicate")] * (CONCURRENT - 1)
    with app.app_context(), tenant_context(TenantRef(id=tenant_id, slug=slug)):
        po = db.session.get(PurchaseOrder, (tenant_id, po_id))
        assert po.status == Status.CONFIRMED
        assert po.lines[0].unit_price == Decimal("17.25")
        confirmations = db.session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.object_id == str(po_id), AuditEntry.action.like("%confirmed%"))
        )
        assert confirmations == 2  # the status change and the changed price, once each
        assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 1


# --- schemas, docs, test connection ------------------------------------------------------------


def test_the_orders_sent_match_the_published_schema(app, in_tenant, world, supplier_api):
    import jsonschema
    from portal_rest_json import schemas

    sent(in_tenant, world)
    deliver(app)
    document = json.loads(supplier_api.requests[0]["body"])
    jsonschema.Draft202012Validator(schemas.ORDER).validate(document)
    for example in (
        {"type": "order.confirmed", "order_number": "PO-1", "lines": [{"position": 1}]},
        {"type": "order.dispatched", "order_number": "PO-1", "dispatch": {"carrier": "DHL"}},
    ):
        jsonschema.Draft202012Validator(schemas.INBOUND).validate(example)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schemas.INBOUND).validate(
            {"type": "order.rejected", "order_number": "PO-1"}
        )


def test_the_docs_publish_the_schemas_as_the_code_has_them():
    from portal_rest_json import schemas

    page = (PROJECT_ROOT / "docs" / "integrations-rest.md").read_text(encoding="utf-8")
    for schema in schemas.ALL.values():
        assert json.dumps(schema, indent=2, ensure_ascii=False) in page


def test_test_connection_reaches_the_supplier_or_says_why_not(app, supplier_api):
    from portal.plugins import ConfigurationError, RetryableError

    integration = portal_rest_json.RestJsonIntegration(
        {"url": supplier_api.url, "auth": "bearer"}, {"token": TOKEN}
    )
    with app.test_request_context():
        integration.test_connection()
        closed = portal_rest_json.RestJsonIntegration(
            {"url": f"http://127.0.0.1:{free_port()}/", "auth": "bearer"}, {"token": TOKEN}
        )
        with pytest.raises(RetryableError):
            closed.test_connection()
        without_token = portal_rest_json.RestJsonIntegration({"url": supplier_api.url}, {})
        with pytest.raises(ConfigurationError, match="bearer token"):
            without_token.test_connection()


def test_the_admin_configures_the_integration_and_sees_the_inbound_address(
    app, in_tenant, world, create_user, login_as, supplier_api
):
    admin = login_as(create_user(world.tenant, "admin"), world.tenant)
    path = f"/suppliers/{world.supplier_id}/integration"
    page = admin.get(path).get_data(as_text=True)
    assert f"http://{world.tenant.slug}.localhost/integrations/{world.supplier_id}/inbound" in page
    assert SECRET not in page
    assert TOKEN not in page
    new_secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    response = admin.post(
        path,
        data={
            "csrf_token": admin.csrf_token(path),
            "config-url": "https://api.factory.example/orders",
            "config-auth": "signature",
            "config-username": "",
            "config-timeout": "15",
            "config-signing_secret": new_secret,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    with in_tenant(world.tenant) as session:
        supplier = _get(session, Supplier, world.supplier_id)
        assert supplier.integration_config["url"] == "https://api.factory.example/orders"
        assert supplier.integration_config["auth"] == "signature"
        assert supplier.integration_secrets["signing_secret"] == new_secret
        assert supplier.integration_secrets["token"] == TOKEN  # left empty: kept
    # Bad settings are refused field by field and change nothing.
    response = admin.post(
        path,
        data={
            "csrf_token": admin.csrf_token(path),
            "config-url": "not an address",
            "config-auth": "carrier-pigeon",
            "config-timeout": "500",
            "config-signing_secret": "whsec_not!base64",
        },
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "at least 24 random bytes" in page
    with in_tenant(world.tenant) as session:
        supplier = _get(session, Supplier, world.supplier_id)
        assert supplier.integration_config["url"] == "https://api.factory.example/orders"


def test_a_line_the_order_does_not_have_is_refused(
    app, in_tenant, world, client_for, transferred_order
):
    po = transferred_order
    answer = post(
        client_for(world.tenant),
        world.supplier_id,
        {
            "type": "order.confirmed",
            "order_number": po.number,
            "lines": [{"position": 1, "unit_price": "19.00"}, {"position": 7, "quantity": 1}],
        },
    )
    assert answer.status_code == 422
    assert answer.json["code"] == "refused"
    assert "has no line 7" in answer.json["detail"]
    assert answer.json["errors"][0]["field"] == "lines"
    now = state(in_tenant, world, po.id)
    assert now.status == Status.TRANSFERRED
    assert now.lines[0].unit_price == Decimal("20.00")
    assert log_of(in_tenant, world.tenant, po.id, "purchase_order.inbound_refused")


def test_an_immediate_answer_the_order_refuses_leaves_the_transfer_done_and_is_logged(
    app, in_tenant, world, supplier_api
):
    po_id = sent(in_tenant, world)
    number = state(in_tenant, world, po_id).number
    supplier_api.reply(
        200, {"status": "confirmed", "order_number": number, "lines": [{"position": 9}]}
    )
    assert deliver(app) == 1
    po = state(in_tenant, world, po_id)
    assert po.status == Status.ACKNOWLEDGED
    [entry] = log_of(in_tenant, world.tenant, po_id, "purchase_order.inbound_refused")
    assert "has no line 9" in entry.details["reason"]
    assert outbox_of(in_tenant, world, po_id).status == OutboxStatus.SENT
