"""Password reset by e-mail, delivered through the outbox to a real SMTP server."""

import re
import time
from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import select

from portal.accounts import services
from portal.accounts.models import User, UserSession
from portal.audit.models import AuditEntry
from portal.db import utcnow
from portal.outbox.models import OutboxMessage, OutboxStatus
from portal.outbox.services import deliver_due
from portal.testing.factories import DEFAULT_PASSWORD
from portal.testing.fixtures import free_port, tenant_host

NEW_PASSWORD = "a fresh and long passphrase"
SENT_NOTICE = "If an account exists for this address, we have sent it a link"
INVALID_LINK = "This link is invalid or has expired."


@pytest.fixture
def deliver(app):
    """Return ``deliver()``: run the outbox worker once, as the worker does, and its count."""

    def run() -> int:
        with app.app_context():
            return deliver_due()

    return run


def request_reset(client, email: str):
    return client.post(
        "/password/forgot",
        data={"email": email, "csrf_token": client.csrf_token("/password/forgot")},
    )


def reset_link(message) -> str:
    text = message.get_body(("plain",)).get_content()
    match = re.search(r"https?://\S+/password/reset/\S+", text)
    assert match, text
    return match.group(0)


def choose_password(client, path: str, password: str, confirm: str | None = None):
    return client.post(
        path,
        data={
            "new_password": password,
            "confirm": password if confirm is None else confirm,
            # Any page gives the session's token; a refused link has no form to read it from.
            "csrf_token": client.csrf_token("/login"),
        },
    )


def path_of(link: str, tenant) -> str:
    prefix = f"http://{tenant_host(tenant)}"
    assert link.startswith(prefix + "/password/reset/"), link
    return link[len(prefix) :]


def token_for(in_tenant, tenant, user, monkeypatch, age: timedelta | None = None) -> str:
    """Return a reset token made through the service, ``age`` old."""
    with in_tenant(tenant) as session, monkeypatch.context() as patch:
        if age is not None:
            # itsdangerous stamps tokens with TimestampSigner.get_timestamp(); only the signing
            # happens in the past, the check later runs on the real clock.
            made_at = int(time.time() - age.total_seconds())
            patch.setattr(TimestampSigner, "get_timestamp", lambda self: made_at)
        fresh = session.scalar(select(User).where(User.id == user.id))
        return services.password_reset_token(fresh)


def assert_refused_link(client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"] == "/password/forgot"
    assert INVALID_LINK in client.get("/password/forgot").get_data(as_text=True)


def can_log_in(client_for, tenant, email: str, password: str) -> bool:
    return client_for(tenant).login(email, password).status_code == 302


# --- the whole way -----------------------------------------------------------------------


def test_a_reset_mail_lets_the_user_choose_a_new_password(
    app, client_for, create_user, in_tenant, tenant, mailbox, deliver
):
    user = create_user(tenant, name="Forgetful Fay")
    client = client_for(tenant)

    response = request_reset(client, user.email)

    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert SENT_NOTICE in client.get("/login").get_data(as_text=True)
    assert mailbox.messages == []  # nothing leaves before the worker runs
    assert deliver() == 1

    [message] = mailbox.messages
    assert message["To"] == user.email
    assert tenant.name in message["Subject"]
    [sender] = message["From"].addresses
    assert sender.display_name == tenant.name
    assert sender.addr_spec == app.config["MAIL_SENDER"]
    assert message["Message-ID"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Forgetful Fay" in text
    link = reset_link(message)
    assert link in text
    assert f'href="{link}"' in html
    path = path_of(link, tenant)

    form = client_for(tenant).get(path)
    assert form.status_code == 200
    assert "Choose a new password" in form.get_data(as_text=True)
    chooser = client_for(tenant)
    response = choose_password(chooser, path, NEW_PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"

    assert can_log_in(client_for, tenant, user.email, NEW_PASSWORD)
    assert not can_log_in(client_for, tenant, user.email, DEFAULT_PASSWORD)
    with in_tenant(tenant) as session:
        actions = set(session.scalars(select(AuditEntry.action)))
        assert {"password.reset_requested", "password.reset"} <= actions
        [sent] = session.scalars(select(OutboxMessage)).all()
        assert sent.status == OutboxStatus.SENT
        assert sent.attempts == 1


def test_the_link_works_only_once(client_for, create_user, tenant, mailbox, deliver):
    user = create_user(tenant)
    request_reset(client_for(tenant), user.email)
    deliver()
    path = path_of(reset_link(mailbox.to(user.email)[0]), tenant)
    client = client_for(tenant)
    assert choose_password(client, path, NEW_PASSWORD).status_code == 302

    assert_refused_link(client, path)
    assert choose_password(client, path, "yet another passphrase").status_code == 302
    assert can_log_in(client_for, tenant, user.email, NEW_PASSWORD)
    assert not can_log_in(client_for, tenant, user.email, "yet another passphrase")


def test_the_new_password_must_be_acceptable_and_repeated(
    client_for, create_user, tenant, in_tenant, monkeypatch
):
    user = create_user(tenant)
    path = f"/password/reset/{token_for(in_tenant, tenant, user, monkeypatch)}"
    client = client_for(tenant)

    mismatch = choose_password(client, path, NEW_PASSWORD, confirm=NEW_PASSWORD + "!")
    assert mismatch.status_code == 200
    assert "The two passwords do not match." in mismatch.get_data(as_text=True)
    common = choose_password(client, path, "iloveyou1")
    assert common.status_code == 200
    assert "too common" in common.get_data(as_text=True)
    short = choose_password(client, path, "Xq7#vb2")
    assert short.status_code == 200

    assert can_log_in(client_for, tenant, user.email, DEFAULT_PASSWORD)
    # The link is still good after refused attempts.
    assert choose_password(client, path, NEW_PASSWORD).status_code == 302


# --- refused tokens ----------------------------------------------------------------------


def test_an_expired_token_is_refused(app, client_for, create_user, in_tenant, tenant, monkeypatch):
    user = create_user(tenant)
    hours = app.config["PORTAL_PASSWORD_RESET_HOURS"]
    expired = token_for(in_tenant, tenant, user, monkeypatch, timedelta(hours=hours, minutes=1))
    recent = token_for(in_tenant, tenant, user, monkeypatch, timedelta(hours=hours, minutes=-1))
    client = client_for(tenant)

    assert_refused_link(client, f"/password/reset/{expired}")
    assert choose_password(client, f"/password/reset/{expired}", NEW_PASSWORD).status_code == 302
    assert can_log_in(client_for, tenant, user.email, DEFAULT_PASSWORD)

    # A token just inside the time limit still works: the refusal above is about its age.
    assert client.get(f"/password/reset/{recent}").status_code == 200


def test_a_token_of_another_tenants_user_is_refused(
    client_for, create_user, in_tenant, tenant, other_tenant, monkeypatch
):
    email = f"same@{tenant.slug}.test"
    create_user(tenant, email=email)
    theirs = create_user(other_tenant, email=email)
    token = token_for(in_tenant, other_tenant, theirs, monkeypatch)

    assert_refused_link(client_for(tenant), f"/password/reset/{token}")
    response = choose_password(client_for(tenant), f"/password/reset/{token}", NEW_PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/password/forgot"
    assert can_log_in(client_for, tenant, email, DEFAULT_PASSWORD)
    assert can_log_in(client_for, other_tenant, email, DEFAULT_PASSWORD)
    # On its own tenant's host the same token is fine.
    assert client_for(other_tenant).get(f"/password/reset/{token}").status_code == 200


def test_a_token_is_bound_to_the_tenant_it_was_made_for(
    app, client_for, create_user, in_tenant, tenant, other_tenant
):
    user = create_user(tenant)
    with in_tenant(tenant) as session:
        mine = session.scalar(select(User).where(User.id == user.id))
    # Made while another tenant was in context, for a user of this one: the user id alone
    # would match here, the tenant stamped into the token does not.
    with in_tenant(other_tenant):
        token = services.password_reset_token(mine)

    assert_refused_link(client_for(tenant), f"/password/reset/{token}")


@pytest.mark.parametrize("token", ["garbage", "eyJ1IjoiMSJ9.Zz9xYQ.c2lnbmF0dXJl"])
def test_a_forged_token_is_refused(client_for, tenant, token):
    assert_refused_link(client_for(tenant), f"/password/reset/{token}")


def test_a_token_of_a_deactivated_user_is_refused(
    client_for, create_user, in_tenant, tenant, monkeypatch
):
    user = create_user(tenant)
    token = token_for(in_tenant, tenant, user, monkeypatch)
    with in_tenant(tenant) as session:
        session.scalar(select(User).where(User.id == user.id)).active = False
        session.commit()
    assert_refused_link(client_for(tenant), f"/password/reset/{token}")


# --- no account, no mail -----------------------------------------------------------------


def test_an_unknown_address_gets_the_same_answer_and_no_mail(
    client_for, create_user, in_tenant, tenant, other_tenant, mailbox, deliver
):
    known = create_user(tenant)
    # An account of another tenant is as unknown here as a made-up address.
    foreign = create_user(other_tenant)
    answers = []
    for email in (known.email, f"nobody@{tenant.slug}.test", foreign.email):
        client = client_for(tenant)
        response = request_reset(client, email)
        notice = re.search(
            r'<div class="flashes".*?</div>', client.get("/login").get_data(as_text=True), re.S
        )
        answers.append((response.status_code, response.headers["Location"], notice.group(0)))

    assert answers[0] == answers[1] == answers[2]
    # Every request queues the same row (test_reset_timing.py); the worker drops those of
    # addresses without an account here.
    assert deliver() == 3
    assert [m["To"] for m in mailbox.messages] == [known.email]
    with in_tenant(other_tenant) as session:
        assert session.scalars(select(OutboxMessage)).all() == []


def test_a_deactivated_user_gets_no_mail(
    client_for, create_user, in_tenant, tenant, mailbox, deliver
):
    user = create_user(tenant)
    with in_tenant(tenant) as session:
        session.scalar(select(User).where(User.id == user.id)).active = False
        session.commit()
    assert request_reset(client_for(tenant), user.email).status_code == 302
    deliver()
    assert mailbox.messages == []


# --- sessions ----------------------------------------------------------------------------


def test_a_reset_ends_the_users_sessions(
    client_for, login_as, create_user, in_tenant, tenant, monkeypatch
):
    user = create_user(tenant)
    logged_in = login_as(user, tenant)
    assert logged_in.get("/dashboard").status_code == 200

    path = f"/password/reset/{token_for(in_tenant, tenant, user, monkeypatch)}"
    assert choose_password(client_for(tenant), path, NEW_PASSWORD).status_code == 302

    response = logged_in.get("/dashboard")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    with in_tenant(tenant) as session:
        rows = session.scalars(select(UserSession).where(UserSession.user_id == user.id)).all()
        assert rows
        assert all(row.ended_at is not None for row in rows)


# --- the outbox retries ------------------------------------------------------------------


def test_mail_waits_in_the_outbox_while_smtp_is_down(
    app, client_for, create_user, in_tenant, tenant, mailbox, deliver, monkeypatch
):
    user = create_user(tenant)
    request_reset(client_for(tenant), user.email)

    with monkeypatch.context() as patch:
        patch.setitem(app.config, "MAIL_PORT", free_port())  # nothing listens there
        started = utcnow()
        assert deliver() == 0

    with in_tenant(tenant) as session:
        [message] = session.scalars(select(OutboxMessage)).all()
        assert message.status == OutboxStatus.PENDING
        assert message.attempts == 1
        assert message.last_error
        assert "Connection" in message.last_error or "refused" in message.last_error.lower()
        assert message.next_attempt_at > started
        assert message.sent_at is None
    assert mailbox.messages == []

    # SMTP is back, but the retry is not due yet: the worker leaves the row alone.
    assert deliver() == 0
    assert mailbox.messages == []

    with in_tenant(tenant) as session:
        row = session.scalar(select(OutboxMessage).where(OutboxMessage.id == message.id))
        row.next_attempt_at = utcnow() - timedelta(seconds=1)  # the backoff has passed
        session.commit()
    assert deliver() == 1

    assert [m["To"] for m in mailbox.messages] == [user.email]
    with in_tenant(tenant) as session:
        row = session.scalar(select(OutboxMessage).where(OutboxMessage.id == message.id))
        assert row.status == OutboxStatus.SENT
        assert row.attempts == 2
        assert row.last_error is None
        assert row.sent_at is not None
    assert deliver() == 0
    assert len(mailbox.messages) == 1
