"""Logging in: credentials, tenant boundaries, throttling, audit, password hashing, ``next``."""

import re

import pytest
from sqlalchemy import select

from portal.accounts.models import LoginAttempt, User, UserSession
from portal.accounts.services import AccountError
from portal.audit.models import AuditEntry
from portal.testing.factories import DEFAULT_PASSWORD

WRONG_CREDENTIALS = "The e-mail address or password is not correct."
ARGON2_HASH = re.compile(
    r"^\$argon2id\$v=(?P<v>\d+)\$m=(?P<m>\d+),t=(?P<t>\d+),p=(?P<p>\d+)\$[^$]+\$[^$]+$"
)


def post_login(client, email, password, *, ip=None, path="/login"):
    """Log in through the form, optionally from the address ``ip``, and return the response."""
    environ = {"REMOTE_ADDR": ip} if ip else {}
    token = client.csrf_token("/login")
    return client.post(
        path,
        data={"email": email, "password": password, "csrf_token": token},
        environ_base=environ,
    )


def assert_refused(response, message=WRONG_CREDENTIALS, status=200):
    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert message in page
    assert 'class="form-errors"' in page


def is_logged_in(client) -> bool:
    response = client.get("/dashboard")
    return response.status_code == 200


def hash_parameters(password_hash: str) -> dict[str, int]:
    match = ARGON2_HASH.match(password_hash)
    assert match, password_hash
    return {key: int(value) for key, value in match.groupdict().items()}


def stored_hash(in_tenant, tenant, user) -> str:
    with in_tenant(tenant) as session:
        return session.scalar(select(User.password_hash).where(User.id == user.id))


def audit_entries(in_tenant, tenant, action):
    with in_tenant(tenant) as session:
        return session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        ).all()


# --- credentials -------------------------------------------------------------------------


def test_login_with_the_right_password_opens_a_session(client_for, create_user, in_tenant, tenant):
    user = create_user(tenant, name="Rita Right")
    client = client_for(tenant)

    response = post_login(client, user.email, DEFAULT_PASSWORD)

    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard"
    dashboard = client.get("/dashboard")
    assert dashboard.status_code == 200
    assert "Rita Right" in dashboard.get_data(as_text=True)
    with in_tenant(tenant) as session:
        row = session.scalar(select(User).where(User.id == user.id))
        assert row.last_login_at is not None
        assert session.scalar(select(UserSession).where(UserSession.user_id == user.id))


def test_login_is_case_insensitive_in_the_email(client_for, create_user, tenant):
    user = create_user(tenant)
    client = client_for(tenant)
    response = post_login(client, "  " + user.email.upper() + " ", DEFAULT_PASSWORD)
    assert response.status_code == 302
    assert is_logged_in(client)


def test_wrong_password_shows_the_error_and_stays_on_the_page(client_for, create_user, tenant):
    user = create_user(tenant)
    client = client_for(tenant)

    response = post_login(client, user.email, "not the password at all")

    assert_refused(response)
    assert not is_logged_in(client)


def test_unknown_email_gets_the_same_message_as_a_wrong_password(client_for, create_user, tenant):
    user = create_user(tenant)
    wrong_password = post_login(client_for(tenant), user.email, "not the password at all")
    unknown = post_login(client_for(tenant), f"nobody@{tenant.slug}.test", DEFAULT_PASSWORD)

    assert_refused(unknown)
    assert_refused(wrong_password)

    def errors(response):
        return re.search(
            r'<div class="form-errors".*?</div>', response.get_data(as_text=True), re.S
        ).group(0)

    assert errors(unknown) == errors(wrong_password)


def test_inactive_user_is_refused_even_with_the_right_password(
    client_for, create_user, in_tenant, tenant
):
    user = create_user(tenant)
    with in_tenant(tenant) as session:
        session.scalar(select(User).where(User.id == user.id)).active = False
        session.commit()
    client = client_for(tenant)

    response = post_login(client, user.email, DEFAULT_PASSWORD)

    assert_refused(response)
    assert not is_logged_in(client)
    [failed] = audit_entries(in_tenant, tenant, "login.failed")
    assert failed.details["reason"] == "inactive"


def test_a_user_of_one_tenant_cannot_log_in_on_another_tenants_host(
    client_for, create_user, in_tenant, tenant, other_tenant
):
    user = create_user(tenant)
    client = client_for(other_tenant)

    response = post_login(client, user.email, DEFAULT_PASSWORD)

    assert_refused(response)
    assert not is_logged_in(client)
    # The account itself is fine: on its own host the same credentials work.
    assert post_login(client_for(tenant), user.email, DEFAULT_PASSWORD).status_code == 302
    with in_tenant(other_tenant) as session:
        assert session.scalars(select(UserSession)).all() == []


# --- audit -------------------------------------------------------------------------------


def test_logins_are_audited_with_the_address(client_for, create_user, in_tenant, tenant):
    user = create_user(tenant)

    post_login(client_for(tenant), user.email, "not the password at all", ip="192.0.2.10")
    post_login(client_for(tenant), f"ghost@{tenant.slug}.test", "whatever-it-is", ip="192.0.2.11")
    post_login(client_for(tenant), user.email, DEFAULT_PASSWORD, ip="192.0.2.12")

    failed = audit_entries(in_tenant, tenant, "login.failed")
    assert [(e.ip_address, e.details["email"]) for e in failed] == [
        ("192.0.2.10", user.email),
        ("192.0.2.11", f"ghost@{tenant.slug}.test"),
    ]
    assert failed[0].object_id == str(user.id)
    assert failed[0].details["reason"] == "credentials"
    assert failed[1].object_id is None
    [succeeded] = audit_entries(in_tenant, tenant, "login.succeeded")
    assert succeeded.ip_address == "192.0.2.12"
    assert succeeded.actor_id == user.id
    assert succeeded.object_id == str(user.id)
    with in_tenant(tenant) as session:
        login = session.scalar(select(UserSession).where(UserSession.user_id == user.id))
        assert succeeded.details["session"] == str(login.id)
        assert login.ip_address == "192.0.2.12"


# --- throttling --------------------------------------------------------------------------


def test_failed_logins_are_throttled_per_account(
    app, client_for, create_user, in_tenant, tenant, monkeypatch
):
    monkeypatch.setitem(app.config, "PORTAL_LOGIN_DELAY_SECONDS", 17)
    limit = app.config["PORTAL_LOGIN_ATTEMPTS_PER_ACCOUNT"]
    user = create_user(tenant)
    # From different addresses, so only the per-account limit can apply.
    for attempt in range(limit):
        response = post_login(
            client_for(tenant), user.email, f"wrong guess {attempt}", ip=f"198.51.100.{attempt}"
        )
        assert_refused(response)

    client = client_for(tenant)
    response = post_login(client, user.email, DEFAULT_PASSWORD, ip="198.51.100.200")

    # A wait, not a lock for the whole window (tests/accounts/test_throttling.py).
    assert_refused(response, "Please try again in 17 seconds", status=429)
    assert response.headers["Retry-After"] == "17"
    assert WRONG_CREDENTIALS not in response.get_data(as_text=True)
    assert not is_logged_in(client)
    assert audit_entries(in_tenant, tenant, "login.throttled")
    # Another account is not affected.
    other = create_user(tenant)
    assert post_login(client_for(tenant), other.email, DEFAULT_PASSWORD).status_code == 302


def test_one_failure_less_than_the_limit_is_not_throttled(app, client_for, create_user, tenant):
    limit = app.config["PORTAL_LOGIN_ATTEMPTS_PER_ACCOUNT"]
    user = create_user(tenant)
    for attempt in range(limit - 1):
        assert_refused(post_login(client_for(tenant), user.email, f"wrong guess {attempt}"))
    assert post_login(client_for(tenant), user.email, DEFAULT_PASSWORD).status_code == 302


def test_failed_logins_are_throttled_per_address(app, client_for, create_user, tenant, monkeypatch):
    monkeypatch.setitem(app.config, "PORTAL_LOGIN_ATTEMPTS_PER_ADDRESS", 4)
    user = create_user(tenant)
    # Many accounts tried from one address, none of them often enough for its own limit.
    for number in range(4):
        response = post_login(
            client_for(tenant), f"guess{number}@{tenant.slug}.test", "hunter22", ip="203.0.113.7"
        )
        assert_refused(response)

    blocked = client_for(tenant)
    response = post_login(blocked, user.email, DEFAULT_PASSWORD, ip="203.0.113.7")
    assert_refused(response, "Too many failed attempts.", status=429)
    assert not is_logged_in(blocked)

    elsewhere = client_for(tenant)
    assert post_login(elsewhere, user.email, DEFAULT_PASSWORD, ip="203.0.113.8").status_code == 302


def test_a_successful_login_resets_the_account_counter(
    app, client_for, create_user, in_tenant, tenant
):
    limit = app.config["PORTAL_LOGIN_ATTEMPTS_PER_ACCOUNT"]
    user = create_user(tenant)

    for attempt in range(limit - 1):
        assert_refused(post_login(client_for(tenant), user.email, f"wrong {attempt}"))
    assert post_login(client_for(tenant), user.email, DEFAULT_PASSWORD).status_code == 302
    for attempt in range(limit - 1):
        assert_refused(post_login(client_for(tenant), user.email, f"wrong again {attempt}"))

    # 2 * (limit - 1) failures in the window, but only limit - 1 since the last success.
    assert post_login(client_for(tenant), user.email, DEFAULT_PASSWORD).status_code == 302
    with in_tenant(tenant) as session:
        attempts = session.scalars(select(LoginAttempt).where(LoginAttempt.email == user.email))
        assert sum(not a.succeeded for a in attempts) == 2 * (limit - 1)


def test_throttling_counts_per_tenant(app, client_for, create_user, tenant, other_tenant):
    limit = app.config["PORTAL_LOGIN_ATTEMPTS_PER_ACCOUNT"]
    email = f"shared@{tenant.slug}.test"
    create_user(tenant, email=email)
    create_user(other_tenant, email=email)
    for attempt in range(limit):
        assert_refused(post_login(client_for(other_tenant), email, f"wrong {attempt}"))
    assert post_login(client_for(tenant), email, DEFAULT_PASSWORD).status_code == 302


# --- password hashing --------------------------------------------------------------------


def test_passwords_are_stored_as_argon2id_with_strong_parameters(create_user, in_tenant, tenant):
    user = create_user(tenant)
    password_hash = stored_hash(in_tenant, tenant, user)

    assert DEFAULT_PASSWORD not in password_hash
    parameters = hash_parameters(password_hash)
    assert parameters["v"] == 19
    assert parameters["m"] >= 19456
    assert parameters["t"] >= 2
    assert parameters["p"] >= 1
    # A salt per hash: the same password never hashes the same way twice.
    other = create_user(tenant)
    assert stored_hash(in_tenant, tenant, other) != password_hash


def test_the_hash_is_renewed_at_login_when_the_parameters_rise(
    app, client_for, create_user, in_tenant, tenant, monkeypatch
):
    user = create_user(tenant)
    before = stored_hash(in_tenant, tenant, user)
    old_time_cost = hash_parameters(before)["t"]

    monkeypatch.setitem(app.config, "PORTAL_ARGON2_TIME_COST", old_time_cost + 1)
    assert post_login(client_for(tenant), user.email, DEFAULT_PASSWORD).status_code == 302

    after = stored_hash(in_tenant, tenant, user)
    assert after != before
    assert hash_parameters(after)["t"] == old_time_cost + 1
    # The renewed hash still belongs to the same password.
    assert post_login(client_for(tenant), user.email, DEFAULT_PASSWORD).status_code == 302
    assert stored_hash(in_tenant, tenant, user) == after


def test_the_hash_stays_when_the_parameters_are_unchanged(
    client_for, create_user, in_tenant, tenant
):
    user = create_user(tenant)
    before = stored_hash(in_tenant, tenant, user)
    assert post_login(client_for(tenant), user.email, DEFAULT_PASSWORD).status_code == 302
    assert stored_hash(in_tenant, tenant, user) == before


@pytest.mark.parametrize("password", ["password", "Password123", "qwertyuiop", "12345678"])
def test_a_common_password_is_refused(create_user, tenant, password):
    with pytest.raises(AccountError) as refused:
        create_user(tenant, password=password)
    assert refused.value.field == "password"
    assert "too common" in str(refused.value.message)


def test_a_too_short_password_is_refused(create_user, tenant):
    with pytest.raises(AccountError) as refused:
        create_user(tenant, password="Xq7#vb2")
    assert refused.value.field == "password"
    assert "at least 8 characters" in str(refused.value.message)
    # Eight characters that are not common are enough.
    assert create_user(tenant, password="Xq7#vb2!").email


def test_the_email_address_is_refused_as_password(create_user, tenant):
    with pytest.raises(AccountError) as refused:
        create_user(tenant, email="longname@example.test", password="longname@example.test")
    assert refused.value.field == "password"


def test_refused_passwords_create_no_user(create_user, in_tenant, tenant):
    with pytest.raises(AccountError):
        create_user(tenant, email=f"weak@{tenant.slug}.test", password="password")
    with in_tenant(tenant) as session:
        assert session.scalar(select(User).where(User.email == f"weak@{tenant.slug}.test")) is None


# --- next ----------------------------------------------------------------------------------


def test_a_protected_page_sends_to_login_with_next(client_for, tenant):
    response = client_for(tenant).get("/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert "%2Faccount" in response.headers["Location"]


def test_a_relative_next_is_honoured(client_for, create_user, tenant):
    user = create_user(tenant)
    client = client_for(tenant)
    response = post_login(client, user.email, DEFAULT_PASSWORD, path="/login?next=/account")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    assert client.get("/account").status_code == 200


@pytest.mark.parametrize(
    "target",
    [
        "http://evil.example/steal",
        "https://evil.example",
        "//evil.example/steal",
        "/\\evil.example",
        # Browsers drop tabs and newlines inside URLs: these are "//evil.example" to them.
        "/\t/evil.example",
        "/\r\n/evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "http://localhost/",
    ],
)
def test_an_absolute_or_foreign_next_is_ignored(client_for, create_user, tenant, target):
    user = create_user(tenant)
    client = client_for(tenant)
    response = client.post(
        "/login",
        query_string={"next": target},
        data={
            "email": user.email,
            "password": DEFAULT_PASSWORD,
            "csrf_token": client.csrf_token("/login"),
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard"


def test_next_to_another_tenant_is_ignored(client_for, create_user, tenant, other_tenant):
    user = create_user(tenant)
    client = client_for(tenant)
    response = client.post(
        "/login",
        query_string={"next": f"http://{other_tenant.slug}.localhost/admin/users"},
        data={
            "email": user.email,
            "password": DEFAULT_PASSWORD,
            "csrf_token": client.csrf_token("/login"),
        },
    )
    assert response.headers["Location"] == "/dashboard"


def test_a_logged_in_user_visiting_login_goes_to_the_dashboard(login_as, create_user, tenant):
    user = create_user(tenant)
    client = login_as(user, tenant)
    response = client.get("/login")
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard"
