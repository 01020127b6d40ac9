"""Fixtures of the webhook tests: a real HTTP receiver on 127.0.0.1, a store trading with a
factory, integration tokens."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from web.test_supplier_portal import make_trade

from portal.accounts.models import User
from portal.api import tokens


@dataclass
class Receiver:
    """What the receiver got, and what it answers next (status, headers), in order."""

    port: int
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/portal?source=test"

    def answer(self, *statuses, **headers) -> None:
        with self.lock:
            self.answers.extend((status, dict(headers)) for status in statuses)


@pytest.fixture
def receiver():
    """A threaded HTTP server on 127.0.0.1 that records each POST; answers 200 by default."""
    found = Receiver(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with found.lock:
                found.requests.append((dict(self.headers.items()), body))
                status, headers = found.answers.pop(0) if found.answers else (200, {})
            reply = f"answer {status}".encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    found.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def allow_private(app, monkeypatch):
    """Let webhooks reach 127.0.0.1, as an operator's setting would."""
    monkeypatch.setitem(app.config, "PORTAL_WEBHOOKS_ALLOW_PRIVATE", True)


@pytest.fixture
def deny_private(app, monkeypatch):
    monkeypatch.setitem(app.config, "PORTAL_WEBHOOKS_ALLOW_PRIVATE", False)


@pytest.fixture
def trade(app, in_tenant, tenant, create_client, create_user, create_product):
    return make_trade(app, in_tenant, tenant, create_client, create_user, create_product)


@pytest.fixture
def issue_token(in_tenant):
    """Return ``issue_token(user, tenant, scopes)``: the secret of a new token."""

    def issue(user, tenant, scopes=("purchase_orders:read",)) -> str:
        with in_tenant(tenant) as session:
            owner = session.get(User, (tenant.id, user.id))
            issued = tokens.create_token(owner, "ERP", list(scopes))
            session.commit()
            return issued.secret

    return issue


@pytest.fixture
def api_client(client_for):
    def make(tenant, secret: str, **headers):
        client = client_for(tenant)
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
        for name, value in headers.items():
            client.environ_base["HTTP_" + name.upper()] = value
        return client

    return make
