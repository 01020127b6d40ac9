"""Logins at the same moment, against a live server with a thread per request, on SQLite and
on PostgreSQL: parallel guesses get no more passwords checked than the limit, nobody gets a
server error, and parallel correct logins all succeed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from flask import Flask
from live_http import LiveBrowser, Response
from sqlalchemy import func, select
from werkzeug.serving import make_server

from portal.accounts.models import LoginAttempt
from portal.db import db
from portal.tenants.context import TenantRef, tenant_context
from portal.testing import factories, fixtures
from portal.testing.fixtures import separate_app

WRONG_CREDENTIALS = "The e-mail address or password is not correct."
TOO_MANY = "Too many failed attempts"
PARALLEL_GUESSES = 16
PARALLEL_LOGINS = 8


@dataclass
class LivePortal:
    app: Flask
    port: int
    tenant: TenantRef
    email: str

    def browser(self) -> LiveBrowser:
        return LiveBrowser(self.port, f"{self.tenant.slug}.localhost")

    def failed_attempts(self) -> int:
        with self.app.app_context(), tenant_context(self.tenant):
            return db.session.scalar(
                select(func.count())
                .select_from(LoginAttempt)
                .where(LoginAttempt.email == self.email, LoginAttempt.succeeded.is_(False))
            )


def _database(kind: str, tmp_path) -> fixtures.TestDatabase:
    if kind == "postgresql":
        return fixtures.postgres_database(fixtures.postgres_server_url())
    return fixtures.TestDatabase(f"sqlite:///{tmp_path / 'portal.db'}", None, lambda: None)


@pytest.fixture(params=["sqlite", "postgresql"])
def live_portal(request, tmp_path, smtp_server) -> Iterator[Callable]:
    """Return ``start(**config)``: a portal with one user, served on 127.0.0.1 with real
    commits, on SQLite or PostgreSQL."""
    stack: list[tuple] = []

    def start(**config) -> LivePortal:
        context = separate_app(_database(request.param, tmp_path), smtp_server.port, **config)
        app = context.__enter__()
        stack.append((context, None, None))
        with app.app_context():
            tenant = factories.make_tenant()
            user = factories.make_user(tenant)
            portal = (TenantRef(id=tenant.id, slug=tenant.slug), user.email)
            db.session.commit()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        stack[-1] = (context, server, thread)
        return LivePortal(app, server.server_port, *portal)

    yield start
    for context, server, thread in reversed(stack):
        if server is not None:
            server.shutdown()
            thread.join(timeout=10)
            server.server_close()
        context.__exit__(None, None, None)


def parallel_logins(portal: LivePortal, passwords: list[str]) -> list[Response]:
    """Post the login form once per password, all at the same moment, each from a browser
    of its own (its own session and CSRF token)."""
    browsers = [portal.browser() for _password in passwords]
    tokens = [browser.csrf_token("/login") for browser in browsers]
    start = threading.Barrier(len(passwords))

    def attempt(number: int) -> Response:
        start.wait(30)
        form = {"email": portal.email, "password": passwords[number], "csrf_token": tokens[number]}
        return browsers[number].post("/login", form)

    with ThreadPoolExecutor(len(passwords)) as pool:
        return list(pool.map(attempt, range(len(passwords))))


def test_parallel_wrong_passwords_all_get_the_wrong_password_answer(live_portal):
    portal = live_portal(PORTAL_LOGIN_ATTEMPTS_PER_ACCOUNT=PARALLEL_GUESSES)

    answers = parallel_logins(portal, [f"guess {n}" for n in range(PARALLEL_GUESSES)])

    assert [a.status for a in answers] == [200] * PARALLEL_GUESSES
    assert all(WRONG_CREDENTIALS in a.text for a in answers)
    assert portal.failed_attempts() == PARALLEL_GUESSES


def test_parallel_guesses_get_no_more_passwords_checked_than_the_limit(
    live_portal, checked_passwords
):
    portal = live_portal()
    limit = portal.app.config["PORTAL_LOGIN_ATTEMPTS_PER_ACCOUNT"]
    guesses = [f"guess {n}" for n in range(PARALLEL_GUESSES)]

    answers = parallel_logins(portal, guesses)

    assert sorted({a.status for a in answers}) == [200, 429]
    wrong = [a for a in answers if WRONG_CREDENTIALS in a.text]
    throttled = [a for a in answers if TOO_MANY in a.text]
    assert (len(wrong), len(throttled)) == (limit, PARALLEL_GUESSES - limit)
    assert all(a.status == 429 and int(a.headers["Retry-After"]) > 0 for a in throttled)
    assert len(checked_passwords) == limit
    assert portal.failed_attempts() == limit


def test_parallel_correct_logins_all_succeed(live_portal):
    # Every attempt counts as a failure until its password is checked (so that parallel
    # guesses count each other); logins in parallel beyond the free failures could then be
    # told to wait, depending on how long the checks take. Within them, all must get in.
    portal = live_portal(PORTAL_LOGIN_ATTEMPTS_PER_ACCOUNT=PARALLEL_LOGINS)

    answers = parallel_logins(portal, [factories.DEFAULT_PASSWORD] * PARALLEL_LOGINS)

    assert [a.status for a in answers] == [302] * PARALLEL_LOGINS
    assert {a.headers["Location"] for a in answers} == {"/dashboard"}
    assert portal.failed_attempts() == 0
