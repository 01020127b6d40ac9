"""Throttle the guesser, not the owner: growing waits instead of a lock-out, no password
checked while a wait runs, the owner's known browser still gets in, and the owner hears
about it by e-mail once per window."""

from __future__ import annotations

from datetime import timedelta
from http.cookies import SimpleCookie

import pytest
from flask import Response
from sqlalchemy import select

from portal.accounts.devices import COOKIE_PREFIX, cookie_name, remember_device
from portal.accounts.models import LoginAttempt, User
from portal.audit.models import AuditEntry
from portal.outbox.models import OutboxMessage
from portal.tenants.context import tenant_context
from portal.testing.factories import DEFAULT_PASSWORD

WRONG_CREDENTIALS = "The e-mail address or password is not correct."
TOO_MANY = "Too many failed attempts."


def post_login(client, email, password, *, ip="192.0.2.1"):
    token = client.csrf_token("/login")
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": ip},
    )


def fail(client_for, tenant, email, times, *, ip=None):
    """Fail ``times`` logins for ``email``, each from a browser and address of its own
    unless ``ip`` is given."""
    for number in range(times):
        response = post_login(
            client_for(tenant), email, f"wrong guess {number}", ip=ip or f"198.51.100.{number}"
        )
        assert response.status_code == 200
        assert WRONG_CREDENTIALS in response.get_data(as_text=True)


def age_attempts(in_tenant, tenant, seconds: float) -> None:
    """Move every login attempt of the tenant ``seconds`` into the past."""
    with in_tenant(tenant) as session:
        for attempt in session.scalars(select(LoginAttempt)):
            attempt.created_at -= timedelta(seconds=seconds)
        session.commit()


@pytest.fixture
def delay(app, monkeypatch) -> int:
    monkeypatch.setitem(app.config, "PORTAL_LOGIN_DELAY_SECONDS", 20)
    return 20


def known_browser(client_for, tenant, user):
    """A browser that logged in as ``user`` once and logged out again."""
    client = client_for(tenant)
    assert post_login(client, user.email, DEFAULT_PASSWORD).status_code == 302
    assert client.get_cookie(cookie_name(user.id), domain=f"{tenant.slug}.localhost")
    client.post("/logout", data={"csrf_token": client.csrf_token("/dashboard")})
    return client


# --- growing waits -----------------------------------------------------------------------


def test_the_wait_doubles_with_every_failure_beyond_the_free_ones(
    app, client_for, create_user, in_tenant, tenant, delay
):
    limit = app.config["PORTAL_LOGIN_ATTEMPTS_PER_ACCOUNT"]
    user = create_user(tenant)
    fail(client_for, tenant, user.email, limit)
    waits = []
    for _round in range(3):
        refused = post_login(client_for(tenant), user.email, DEFAULT_PASSWORD, ip="203.0.113.1")
        assert refused.status_code == 429
        assert TOO_MANY in refused.get_data(as_text=True)
        waits.append(int(refused.headers["Retry-After"]))
        # The wait has passed: one more guess is checked, and it fails.
        age_attempts(in_tenant, tenant, waits[-1] + 1)
        fail(client_for, tenant, user.email, 1, ip="203.0.113.2")

    assert waits == [delay, 2 * delay, 4 * delay]


def test_the_wait_never_exceeds_the_window(
    app, client_for, create_user, in_tenant, tenant, monkeypatch
):
    monkeypatch.setitem(app.config, "PORTAL_LOGIN_DELAY_SECONDS", 600)
    monkeypatch.setitem(app.config, "PORTAL_LOGIN_WINDOW_MINUTES", 15)
    limit = app.config["PORTAL_LOGIN_ATTEMPTS_PER_ACCOUNT"]
    user = create_user(tenant)
    fail(client_for, tenant, user.email, limit)
    age_attempts(in_tenant, tenant, 601)
    fail(client_for, tenant, user.email, 1)

    refused = post_login(client_for(tenant), user.email, DEFAULT_PASSWORD)
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60


def test_a_throttled_attempt_checks_no_password(
    app, client_for, create_user, tenant, delay, checked_passwords
):
    limit = app.config["PORTAL_LOGIN_ATTEMPTS_PER_ACCOUNT"]
    user = create_user(tenant)
    fail(client_for, tenant, user.email, limit)
    checked_passwords.clear()

    for _attempt in range(3):
        refused = post_login(client_for(tenant), user.email, DEFAULT_PASSWORD, ip="203.0.113.9")
        assert refused.status_code == 429

    assert checked_passwords == []


def test_unknown_addresses_are_throttled_like_known_ones(app, client_for, tenant, delay):
    limit = app.config["PORTAL_LOGIN_ATTEMPTS_PER_ACCOUNT"]
    ghost = f"ghost@{tenant.slug}.test"
    fail(client_for, tenant, ghost, limit)
    refused = post_login(client_for(tenant), ghost, DEFAULT_PASSWORD, ip="203.0.113.3")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == str(delay)


def test_after_the_wait_the_owner_gets_in_from_a_new_browser(
    app, client_for, create_user, in_tenant, tenant, delay
):
    limit = app.config["PORTAL_LOGIN_ATTEMPTS_PER_ACCOUNT"]
    user = create_user(tenant)
    fail(client_for, tenant, user.email, limit)
    assert post_login(client_for(tenant), user.email, DEFAULT_PASSWORD).status_code == 429

    age_attempts(in_tenant, tenant, delay + 1)
    assert post_login(client_for(tenant), user.email, DEFAULT_PASSWORD).status_code == 302


# --- known devices -----------------------------------------------------------------------


def test_the_owners_known_browser_gets_in_while_the_account_is_throttled(
    app, client_for, create_user, tenant, delay
):
    limit = app.config["PORTAL_LOGIN_ATTEMPTS_PER_ACCOUNT"]
    user = create_user(tenant)
    mine = known_browser(client_for, tenant, user)
    fail(client_for, tenant, user.email, limit)

    assert post_login(client_for(tenant), user.email, DEFAULT_PASSWORD).status_code == 429
    response = post_login(mine, user.email, DEFAULT_PASSWORD)
    assert response.status_code == 302
    assert mine.get("/dashboard").status_code == 200


def test_the_owners_login_from_a_known_browser_does_not_reset_the_guessers_wait(
    app, client_for, create_user, tenant, delay
):
    limit = app.config["PORTAL_LOGIN_ATTEMPTS_PER_ACCOUNT"]
    user = create_user(tenant)
    mine = known_browser(client_for, tenant, user)
    fail(client_for, tenant, user.email, limit)

    assert post_login(mine, user.email, DEFAULT_PASSWORD).status_code == 302

    # The guesser gets no fresh free attempts from the owner's login.
    guess = post_login(client_for(tenant), user.email, "wrong guess again", ip="203.0.113.9")
    assert guess.status_code == 429
    assert TOO_MANY in guess.get_data(as_text=True)


def test_a_known_browser_still_needs_the_right_password(
    app, client_for, create_user, tenant, delay
):
    limit = app.config["PORTAL_LOGIN_ATTEMPTS_PER_ACCOUNT"]
    user = create_user(tenant)
    mine = known_browser(client_for, tenant, user)
    fail(client_for, tenant, user.email, limit)

    refused = post_login(mine, user.email, "not my password")
    assert refused.status_code == 200
    assert WRONG_CREDENTIALS in refused.get_data(as_text=True)


def test_a_known_browser_gets_in_from_an_address_blocked_by_others_guessing(
    app, client_for, create_user, tenant, monkeypatch
):
    monkeypatch.setitem(app.config, "PORTAL_LOGIN_ATTEMPTS_PER_ADDRESS", 4)
    user = create_user(tenant)
    mine = known_browser(client_for, tenant, user)
    office = "203.0.113.50"
    # Someone in the same office tries fresh made-up addresses.
    for number in range(4):
        fail(client_for, tenant, f"guess{number}@{tenant.slug}.test", 1, ip=office)

    assert post_login(client_for(tenant), user.email, DEFAULT_PASSWORD, ip=office).status_code == (
        429
    )
    assert post_login(mine, user.email, DEFAULT_PASSWORD, ip=office).status_code == 302


def test_a_known_browser_has_a_limit_of_its_own(app, client_for, create_user, tenant, monkeypatch):
    user = create_user(tenant)
    mine = known_browser(client_for, tenant, user)
    monkeypatch.setitem(app.config, "PORTAL_RATE_LIMIT_LOGIN", "2 per 15 minutes")
    for _attempt in range(2):
        assert post_login(mine, user.email, "not my password").status_code == 200
    refused = post_login(mine, user.email, DEFAULT_PASSWORD)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0


def test_another_users_or_tenants_device_cookie_does_not_count(
    app, client_for, create_user, tenant, other_tenant, delay
):
    limit = app.config["PORTAL_LOGIN_ATTEMPTS_PER_ACCOUNT"]
    user = create_user(tenant)
    colleague = create_user(tenant)
    shared = known_browser(client_for, tenant, colleague)
    fail(client_for, tenant, user.email, limit)
    assert post_login(shared, user.email, DEFAULT_PASSWORD).status_code == 429

    # The colleague's cookie, renamed as if it were the user's.
    value = shared.get_cookie(cookie_name(colleague.id), domain=f"{tenant.slug}.localhost").value
    forged = client_for(tenant)
    forged.set_cookie(cookie_name(user.id), value, domain=f"{tenant.slug}.localhost")
    assert post_login(forged, user.email, DEFAULT_PASSWORD).status_code == 429


def test_the_device_cookie_is_httponly_lax_long_lived_and_secure_like_the_session(
    app, client_for, create_user, tenant, monkeypatch
):
    user = create_user(tenant)

    def device_cookie(client):
        response = post_login(client, user.email, DEFAULT_PASSWORD)
        assert response.status_code == 302
        [header] = [
            h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE_PREFIX)
        ]
        [morsel] = SimpleCookie(header).values()
        return morsel

    plain = device_cookie(client_for(tenant))
    assert plain["httponly"]
    assert plain["samesite"] == "Lax"
    assert not plain["domain"]
    assert int(plain["max-age"]) == app.config["PORTAL_KNOWN_DEVICE_DAYS"] * 24 * 3600
    assert bool(plain["secure"]) == app.config["SESSION_COOKIE_SECURE"]

    # Served over HTTPS in production, the cookie is Secure like the session cookie.
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)
    with (
        app.test_request_context(base_url=f"https://{tenant.slug}.localhost/"),
        tenant_context(tenant),
    ):
        response = Response()
        remember_device(response, user)
    [morsel] = SimpleCookie(response.headers["Set-Cookie"]).values()
    assert morsel["secure"]
    assert morsel["httponly"]


# --- the owner is told -------------------------------------------------------------------


def failure_notices(in_tenant, tenant, email):
    with in_tenant(tenant) as session:
        return [
            row
            for row in session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "email"))
            if row.payload["to"] == email
        ]


def test_the_owner_is_emailed_once_per_window_in_their_language(
    app, client_for, create_user, in_tenant, tenant, delay
):
    limit = app.config["PORTAL_LOGIN_ATTEMPTS_PER_ACCOUNT"]
    user = create_user(tenant, locale="de", name="Greta Guarded")
    fail(client_for, tenant, user.email, limit - 1)
    assert failure_notices(in_tenant, tenant, user.email) == []

    fail(client_for, tenant, user.email, 1)
    [notice] = failure_notices(in_tenant, tenant, user.email)
    assert tenant.name in notice.payload["subject"]
    assert notice.payload["sender_name"] == tenant.name
    assert "Greta Guarded" in notice.payload["text"]
    # In the user's language: the link's words come from the German catalogue.
    assert "Neues Passwort festlegen" in notice.payload["html"]
    assert f"http://{tenant.slug}.localhost/password/forgot" in notice.payload["text"]

    # More failures in the same window, also after a successful login: no second e-mail.
    age_attempts(in_tenant, tenant, delay + 1)
    fail(client_for, tenant, user.email, 1)
    age_attempts(in_tenant, tenant, 2 * delay + 1)
    assert post_login(client_for(tenant), user.email, DEFAULT_PASSWORD).status_code == 302
    fail(client_for, tenant, user.email, limit)
    assert len(failure_notices(in_tenant, tenant, user.email)) == 1
    with in_tenant(tenant) as session:
        reported = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "login.failures_reported")
        ).all()
        assert [entry.object_id for entry in reported] == [str(user.id)]


def test_no_notice_goes_to_an_inactive_or_unknown_account(
    app, client_for, create_user, in_tenant, tenant
):
    limit = app.config["PORTAL_LOGIN_ATTEMPTS_PER_ACCOUNT"]
    user = create_user(tenant)
    with in_tenant(tenant) as session:
        session.scalar(select(User).where(User.id == user.id)).active = False
        session.commit()
    fail(client_for, tenant, user.email, limit)
    fail(client_for, tenant, f"ghost@{tenant.slug}.test", limit)
    with in_tenant(tenant) as session:
        assert session.scalars(select(OutboxMessage)).all() == []
