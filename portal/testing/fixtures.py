"""Pytest fixtures for the portal and for plugin authors' test suites.

Activate with ``pytest_plugins = ["portal.testing.fixtures"]`` in a ``conftest.py``.

The database is SQLite in a temporary file by default. With ``PORTAL_TEST_DATABASE_URL``
pointing at a PostgreSQL server (an account that may create databases and roles), every run
creates a throwaway database, migrates it as its owner and runs the application as an
ordinary role that row-level security binds; the database is dropped at the end.

Every test that uses the database runs inside a transaction that is rolled back afterwards;
the code under test commits to savepoints inside it.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import scoped_session, sessionmaker

from portal.db import db
from portal.tenants.context import tenant_context
from portal.testing import factories

APP_ROLE = "portal_test_app"
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- databases -------------------------------------------------------------------------------


@dataclass
class TestDatabase:
    """A throwaway database: the URL the application uses, the owner's URL, and the secret
    key that every application on it shares (as every process of one installation must: on
    PostgreSQL the tenant proofs of row-level security are derived from it)."""

    app_url: str
    admin_url: str | None
    drop: Callable[[], None]
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(48))


def postgres_database(base_url: str) -> TestDatabase:
    base = make_url(base_url).set(drivername="postgresql+psycopg")
    name = f"portal_test_{uuid.uuid4().hex[:12]}"
    server = create_engine(base, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        exists = conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": APP_ROLE})
        if not exists:
            # An ordinary login role: not a superuser, no BYPASSRLS, owns no tables.
            conn.execute(
                text(f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '{APP_ROLE}'")
            )
    admin_url = base.set(database=name)
    # The password matters only where the server asks for one (it trusts 127.0.0.1 here).
    app_url = admin_url.set(username=APP_ROLE, password=APP_ROLE)

    def drop() -> None:
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()

    return TestDatabase(
        app_url.render_as_string(hide_password=False),
        admin_url.render_as_string(hide_password=False),
        drop,
    )


def postgres_server_url() -> str:
    """Return the PostgreSQL server for tests that always need PostgreSQL (row-level
    security, query plans, concurrent writers), whatever database the suite runs on."""
    suite = os.environ.get("PORTAL_TEST_DATABASE_URL", "")
    return (
        os.environ.get("PORTAL_TEST_POSTGRES_URL")
        or (suite if suite.startswith("postgresql") else "")
        or "postgresql://postgres@127.0.0.1:5432/postgres"
    )


def provision_database(directory) -> TestDatabase:
    """Create an empty database for one application under test."""
    url = os.environ.get("PORTAL_TEST_DATABASE_URL")
    if url and url.startswith("postgresql"):
        return postgres_database(url)
    path = directory / f"portal-{uuid.uuid4().hex[:8]}.db"
    return TestDatabase(f"sqlite:///{path}", None, lambda: path.unlink(missing_ok=True))


def close_app(application: Flask) -> None:
    """End the application's sessions and close its connection pool."""
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@contextmanager
def separate_app(database: TestDatabase, mail_port: int, **config) -> Iterator[Flask]:
    """Run a block with an application of its own on ``database``, dropped afterwards.

    For tests that need real commits, other settings, or PostgreSQL whatever the suite runs
    on; the ``db_session`` fixture is not used with it.
    """
    try:
        application = make_test_app(database, mail_port, **config)
    except BaseException:
        database.drop()
        raise
    try:
        yield application
    finally:
        close_app(application)
        database.drop()


def make_test_app(database: TestDatabase, mail_port: int, **config) -> Flask:
    """Build an application for tests on ``database`` and migrate it to the newest schema."""
    from flask_migrate import upgrade

    from portal import create_app

    environ = {
        "PORTAL_ENV": "development",
        "PORTAL_SECRET_KEY": database.secret_key,
        "PORTAL_DATABASE_URL": database.app_url,
        "PORTAL_DATABASE_ADMIN_URL": database.admin_url or "",
        "PORTAL_BASE_DOMAIN": "localhost",
        "PORTAL_MAIL_SERVER": "127.0.0.1",
        "PORTAL_MAIL_PORT": str(mail_port),
        "PORTAL_MAIL_TIMEOUT": "5",
        # Work runs in the test's process unless a test asks for Celery.
        "PORTAL_WORKER": "embedded",
        **config.pop("ENVIRON", {}),
    }
    config.setdefault("PORTAL_JOBS_EAGER", True)
    app = create_app({"ENVIRON": environ, "TESTING": True, **config})
    with app.app_context():
        upgrade()
    return app


# --- e-mail ----------------------------------------------------------------------------------


@dataclass
class Mailbox:
    """What an SMTP server on 127.0.0.1 received."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if address in m["To"]]


class _CollectingHandler:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        with self.mailbox.lock:
            self.mailbox.messages.append(message)
        return "250 Message accepted for delivery"


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[Mailbox]:
    """Run a real SMTP server on 127.0.0.1 for the whole test session."""
    from aiosmtpd.controller import Controller

    mailbox = Mailbox(port=free_port())
    controller = Controller(_CollectingHandler(mailbox), hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    yield mailbox
    controller.stop()


@pytest.fixture
def mailbox(smtp_server: Mailbox) -> Mailbox:
    """The test SMTP server's mailbox, emptied for this test."""
    smtp_server.clear()
    return smtp_server


# --- the application -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def app(tmp_path_factory, smtp_server) -> Iterator[Flask]:
    """The application under test, on a freshly migrated throwaway database."""
    database = provision_database(tmp_path_factory.mktemp("db"))
    with separate_app(database, smtp_server.port) as application:
        yield application


@pytest.fixture
def db_session(app: Flask) -> Iterator[None]:
    """Run the test inside one outer transaction that is rolled back at the end.

    Every application context gets a session on the same connection that commits to a
    savepoint, so requests, factories and assertions all see the same data.
    """
    with app.app_context():
        connection = db.engine.connect()
    outer = connection.begin()
    original = db.session
    db.session = scoped_session(
        sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        ),
        scopefunc=_app_ctx_id,
    )
    try:
        yield
    finally:
        # Each application context removed its own session when it ended.
        db.session = original
        outer.rollback()
        connection.close()


@contextmanager
def _committing(app: Flask):
    with app.app_context():
        yield
        db.session.commit()


@pytest.fixture
def create_tenant(app, db_session):
    """Return ``create_tenant(**overrides)``: a committed tenant with a unique slug."""

    def create(**overrides):
        with _committing(app):
            return factories.make_tenant(**overrides)

    return create


@pytest.fixture
def create_user(app, db_session):
    """Return ``create_user(tenant, role="staff", **overrides)``: a committed user."""

    def create(tenant, role="staff", **overrides):
        with _committing(app):
            return factories.make_user(tenant, role, **overrides)

    return create


@pytest.fixture
def tenant(create_tenant):
    """A tenant."""
    return create_tenant()


@pytest.fixture
def other_tenant(create_tenant):
    """A second tenant, for isolation tests."""
    return create_tenant()


@pytest.fixture
def in_tenant(app, db_session):
    """Return a context manager: ``with in_tenant(tenant): ...`` queries as that tenant."""

    @contextmanager
    def enter(tenant):
        with app.app_context(), tenant_context(tenant):
            yield db.session

    return enter


@pytest.fixture
def register_plugin(app):
    """Return ``register(name, module)``: a plugin on the test application for this test only.

    Returns the host's PluginInfo, or None when the host refused the plugin (the reason is in
    ``current_host().failures[name]``). Plugin authors use it to try their module without
    installing it.
    """
    host = app.extensions["portal.plugins"]
    names: list[str] = []

    def register(name: str, module):
        names.append(name)
        return host.register(name, module)

    yield register
    for name in names:
        host.unregister(name)


# --- HTTP clients ----------------------------------------------------------------------------


class HostClient(FlaskClient):
    """A test client that sends every request to one host, like a browser on that host."""

    host = "localhost"
    scheme = "http"

    def open(self, *args, **kwargs):
        kwargs.setdefault("base_url", f"{self.scheme}://{self.host}")
        return super().open(*args, **kwargs)

    def csrf_token(self, path: str = "/login") -> str:
        """Return a CSRF token of this client's session, read from the form at ``path``."""
        page = self.get(path)
        match = _CSRF.search(page.get_data(as_text=True))
        assert match, f"no CSRF token in {path} (status {page.status_code})"
        return match.group(1)

    def login(self, email: str, password: str = factories.DEFAULT_PASSWORD):
        """Log in through the login form and return the response."""
        token = self.csrf_token("/login")
        return self.post("/login", data={"email": email, "password": password, "csrf_token": token})


def tenant_host(tenant) -> str:
    return f"{tenant.slug}.localhost"


@pytest.fixture
def client_for(app, db_session):
    """Return ``client_for(tenant_or_host)``: a test client on that tenant's host."""

    def make(target, scheme: str = "http") -> HostClient:
        app.test_client_class = HostClient
        client = app.test_client()
        client.host = target if isinstance(target, str) else tenant_host(target)
        client.scheme = scheme
        return client

    return make


@pytest.fixture
def login_as(client_for):
    """Return ``login_as(user, tenant)``: a client on the tenant's host, logged in as user."""

    def login(user, tenant, password: str = factories.DEFAULT_PASSWORD) -> HostClient:
        client = client_for(tenant)
        response = client.login(user.email, password)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return login


@pytest.fixture
def create_client(app, db_session):
    """Return ``create_client(tenant, **overrides)``: a committed client company."""

    def create(tenant, **overrides):
        with _committing(app):
            return factories.make_client(tenant, **overrides)

    return create


@pytest.fixture
def create_product(app, db_session):
    """Return ``create_product(tenant, client, stock=0, **overrides)``: a committed product."""

    def create(tenant, client, **overrides):
        with _committing(app):
            return factories.make_product(tenant, client, **overrides)

    return create


@pytest.fixture
def create_order(app, db_session):
    """Return ``create_order(tenant, client, [(product, qty)], submit=True)``."""

    def create(tenant, client, lines, **overrides):
        with _committing(app):
            return factories.make_order(tenant, client, lines, **overrides)

    return create


@pytest.fixture
def create_shipment(app, db_session):
    """Return ``create_shipment(tenant, client, [(product, qty)])``: an order picked and
    shipped (``carrier``, ``tracking_code`` optional); the shipment."""

    def create(tenant, client, lines, **overrides):
        with _committing(app):
            return factories.make_shipment(tenant, client, lines, **overrides)

    return create


@pytest.fixture
def create_address(app, db_session):
    """Return ``create_address(tenant, client, **fields)``: an address book entry."""

    def create(tenant, client, **overrides):
        with _committing(app):
            return factories.make_address(tenant, client, **overrides)

    return create


class QueryCounter:
    """Counts the SQL statements sent while it is active (see :func:`count_queries`)."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app):
    """Return a context manager counting statements: ``with count_queries() as counter:``.

    Use it to assert that a list page's queries do not grow with its rows (no N+1).
    """
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @contextmanager
    def counting():
        counter = QueryCounter()

        def before(conn, cursor, statement, parameters, context, executemany):
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
                counter.statements.append(statement)

        event.listen(Engine, "before_cursor_execute", before)
        try:
            yield counter
        finally:
            event.remove(Engine, "before_cursor_execute", before)

    return counting
