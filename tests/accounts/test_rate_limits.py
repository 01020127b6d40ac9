"""Rate limits (Flask-Limiter) on logins, password-reset requests, invitations and uploads:
a 429 page in the visitor's language with Retry-After; counts in Redis when configured."""

from __future__ import annotations

import redis
from sqlalchemy import select

from portal.db import db
from portal.outbox.models import OutboxMessage
from portal.outbox.services import deliver_due
from portal.testing import factories
from portal.testing.factories import DEFAULT_PASSWORD
from portal.testing.fixtures import provision_database, separate_app, tenant_host

REDIS_URL = "redis://127.0.0.1:6379/9"


def forgot(client, email: str, ip: str, language: str = "en"):
    return client.post(
        "/password/forgot",
        data={"email": email, "csrf_token": client.csrf_token("/password/forgot")},
        environ_base={"REMOTE_ADDR": ip},
        headers={"Accept-Language": language},
    )


def assert_too_many(response, title="Too many requests"):
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    page = response.get_data(as_text=True)
    assert f"<h1>{title}</h1>" in page
    assert "Error 429" in page or "429" in page


def test_fifteen_reset_requests_do_not_deliver_fifteen_emails(
    app, client_for, create_user, tenant, mailbox
):
    user = create_user(tenant)
    per_recipient = int(app.config["PORTAL_RATE_LIMIT_PASSWORD_RESET_PER_RECIPIENT"].split()[0])
    # From fifteen addresses, so that only the limit per recipient can stop them.
    answers = [forgot(client_for(tenant), user.email, f"198.51.100.{n}") for n in range(15)]

    assert [a.status_code for a in answers[:per_recipient]] == [302] * per_recipient
    for refused in answers[per_recipient:]:
        assert_too_many(refused)
    with app.app_context():
        deliver_due()
    assert len(mailbox.to(user.email)) == per_recipient


def test_reset_requests_are_limited_per_client_address(app, client_for, tenant, in_tenant):
    per_address = int(app.config["PORTAL_RATE_LIMIT_PASSWORD_RESET"].split()[0])
    answers = [
        forgot(client_for(tenant), f"someone{n}@{tenant.slug}.test", "203.0.113.30")
        for n in range(per_address + 2)
    ]
    assert [a.status_code for a in answers] == [302] * per_address + [429, 429]
    with in_tenant(tenant) as session:
        assert len(session.scalars(select(OutboxMessage)).all()) == per_address
    # Another address is not held up.
    assert forgot(client_for(tenant), f"x@{tenant.slug}.test", "203.0.113.31").status_code == 302


def test_an_unknown_recipient_is_limited_exactly_like_a_known_one(
    app, client_for, create_user, tenant
):
    user = create_user(tenant)
    per_recipient = int(app.config["PORTAL_RATE_LIMIT_PASSWORD_RESET_PER_RECIPIENT"].split()[0])

    def statuses(email):
        return [
            forgot(client_for(tenant), email, f"192.0.2.{n}").status_code
            for n in range(per_recipient + 1)
        ]

    assert statuses(user.email) == statuses(f"nobody@{tenant.slug}.test")


def test_the_429_page_is_in_the_visitors_language(app, client_for, create_user, tenant):
    user = create_user(tenant)
    per_recipient = int(app.config["PORTAL_RATE_LIMIT_PASSWORD_RESET_PER_RECIPIENT"].split()[0])
    for n in range(per_recipient):
        forgot(client_for(tenant), user.email, f"192.0.2.{n}")
    refused = forgot(client_for(tenant), user.email, "192.0.2.99", language="de")
    assert_too_many(refused, title="Zu viele Anfragen")
    assert 'lang="de"' in refused.get_data(as_text=True)


def test_refused_logins_are_limited_per_client_address(app, client_for, tenant, monkeypatch):
    monkeypatch.setitem(app.config, "PORTAL_RATE_LIMIT_LOGIN", "3 per 15 minutes")
    monkeypatch.setitem(app.config, "PORTAL_LOGIN_ATTEMPTS_PER_ADDRESS", 1000)

    def attempt(number, ip="203.0.113.40"):
        client = client_for(tenant)
        return client.post(
            "/login",
            data={
                "email": f"guess{number}@{tenant.slug}.test",
                "password": "hunter22",
                "csrf_token": client.csrf_token("/login"),
            },
            environ_base={"REMOTE_ADDR": ip},
        )

    assert [attempt(n).status_code for n in range(3)] == [200, 200, 200]
    assert_too_many(attempt(3))
    assert attempt(4, ip="203.0.113.41").status_code == 200


def test_successful_logins_do_not_count_towards_the_login_limit(
    app, client_for, create_user, tenant, monkeypatch
):
    monkeypatch.setitem(app.config, "PORTAL_RATE_LIMIT_LOGIN", "2 per 15 minutes")
    user = create_user(tenant)
    for _login in range(4):
        assert client_for(tenant).login(user.email).status_code == 302


def test_invitations_are_limited_per_user(
    app, login_as, create_user, create_client, tenant, monkeypatch
):
    monkeypatch.setitem(app.config, "PORTAL_RATE_LIMIT_INVITATIONS", "2 per hour")
    staff = create_user(tenant, "staff")
    shop = create_client(tenant)
    client = login_as(staff, tenant)

    def invite(number):
        return client.post(
            f"/clients/{shop.id}/users",
            data={
                "invite-email": f"new{number}@{tenant.slug}.test",
                "invite-name": f"New {number}",
                "csrf_token": client.csrf_token(f"/clients/{shop.id}"),
            },
        )

    assert [invite(n).status_code for n in range(2)] == [302, 302]
    assert_too_many(invite(2))


def test_uploads_are_limited_per_user(app, login_as, create_user, tenant, monkeypatch):
    monkeypatch.setitem(app.config, "PORTAL_RATE_LIMIT_UPLOADS", "2 per hour")
    staff = create_user(tenant, "staff")
    client = login_as(staff, tenant)

    def upload():
        return client.post(
            "/orders/import", data={"csrf_token": client.csrf_token("/orders/import")}
        )

    assert [upload().status_code for _n in range(2)] != [429, 429]
    assert_too_many(upload())


def test_limits_count_in_redis_under_the_installations_prefix(tmp_path, smtp_server):
    store = redis.Redis.from_url(REDIS_URL)
    store.flushdb()
    prefix = "portal-limits-test:"
    try:
        with separate_app(
            provision_database(tmp_path),
            smtp_server.port,
            ENVIRON={"PORTAL_REDIS_URL": REDIS_URL, "PORTAL_REDIS_PREFIX": prefix},
        ) as app:
            with app.app_context():
                tenant = factories.make_tenant()
                email = factories.make_user(tenant).email
                host = f"http://{tenant_host(tenant)}"
                db.session.commit()
            client = app.test_client()
            page = client.get("/password/forgot", base_url=host).get_data(as_text=True)
            token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
            response = client.post(
                "/password/forgot",
                base_url=host,
                data={"email": email, "csrf_token": token},
            )
            assert response.status_code == 302
            keys = [key.decode() for key in store.keys("*")]
            limit_keys = [key for key in keys if "RATE_LIMIT" in key]
            assert limit_keys
            assert all(key.startswith(prefix + "limits") for key in limit_keys)
            assert DEFAULT_PASSWORD not in " ".join(keys)
    finally:
        store.flushdb()
        store.close()
