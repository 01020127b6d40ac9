"""Second factors: the authenticator app (TOTP) and recovery codes at login, the secret
at rest, replays, throttling, the tenant's requirement, the admin's reset and the audit."""

import re
import time

import pyotp
import pytest
from sqlalchemy import select, text

from portal.accounts import second_factor
from portal.accounts.models import (
    PasskeyCredential,
    RecoveryCode,
    TotpAuthenticator,
    User,
    UserSession,
)
from portal.audit.models import AuditEntry
from portal.tenants.models import SecondFactorPolicy, Tenant
from portal.testing.factories import DEFAULT_PASSWORD

WRONG_CODE = "This code is not correct, or it was already used. Please try again."
STEP = second_factor.STEP_SECONDS


def enrol(in_tenant, tenant, user, *, seconds_ago: int = 2 * STEP) -> tuple[str, list[str]]:
    """Give ``user`` a confirmed authenticator app, confirmed with a code of a past step
    (so that the current code is still unused); return its secret and recovery codes."""
    moment = time.time() - seconds_ago
    with in_tenant(tenant) as session:
        row = session.get(User, (tenant.id, user.id))
        secret = second_factor.secret_of(second_factor.start_authenticator(row))
        code = pyotp.TOTP(secret).at(moment)
        codes = second_factor.confirm_authenticator(row, code, now=moment)
        session.commit()
    return secret, codes


def actions(in_tenant, tenant, prefix="second_factor.") -> list[str]:
    with in_tenant(tenant) as session:
        return list(
            session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.action.startswith(prefix))
                .order_by(AuditEntry.id)
            )
        )


def password_step(client, user):
    response = client.login(user.email)
    assert response.status_code == 302
    return response


def send_code(client, code):
    token = client.csrf_token("/login/second-factor")
    return client.post("/login/second-factor", data={"code": code, "csrf_token": token})


def is_logged_in(client) -> bool:
    return client.get("/dashboard").status_code == 200


@pytest.fixture
def log_in_with_code(client_for, in_tenant):
    """Return ``log_in(user, tenant)``: a client logged in through both steps (the user
    has an authenticator app)."""

    def log_in(user, tenant):
        with in_tenant(tenant) as session:
            row = session.scalar(
                select(TotpAuthenticator).where(TotpAuthenticator.user_id == user.id)
            )
            secret = second_factor.secret_of(row)
        client = client_for(tenant)
        password_step(client, user)
        assert send_code(client, pyotp.TOTP(secret).now()).status_code == 302
        return client

    return log_in


def set_policy(in_tenant, tenant, policy):
    with in_tenant(tenant) as session:
        session.get(Tenant, tenant.id).second_factor_policy = policy
        session.commit()


# --- enrolment --------------------------------------------------------------------------


def test_enrolment_shows_a_qr_code_and_the_secret_and_gives_ten_recovery_codes(
    login_as, create_user, in_tenant, tenant
):
    user = create_user(tenant)
    client = login_as(user, tenant)
    token = client.csrf_token("/account/second-factor")
    assert (
        client.post("/account/second-factor/app/start", data={"csrf_token": token}).status_code
        == 302
    )

    page = client.get("/account/second-factor/app").get_data(as_text=True)
    with in_tenant(tenant) as session:
        pending = session.scalar(
            select(TotpAuthenticator).where(TotpAuthenticator.user_id == user.id)
        )
        secret = second_factor.secret_of(pending)
        assert pending.confirmed_at is None
    assert "<svg" in page
    assert "<script" not in page
    assert second_factor.grouped_secret(secret) in page

    wrong = client.post(
        "/account/second-factor/app", data={"code": "000000", "csrf_token": token}
    ).get_data(as_text=True)
    assert "This code is not correct. Enter the code your app shows now." in wrong

    done = client.post(
        "/account/second-factor/app",
        data={"code": pyotp.TOTP(secret).now(), "csrf_token": token},
    )
    codes = re.findall(
        r"<code>([a-z2-7]{4}(?:-[a-z2-7]{4}){3})</code>", done.get_data(as_text=True)
    )
    assert done.status_code == 200
    assert len(set(codes)) == second_factor.RECOVERY_CODE_COUNT
    with in_tenant(tenant) as session:
        hashes = set(session.scalars(select(RecoveryCode.code_hash)))
        assert len(hashes) == second_factor.RECOVERY_CODE_COUNT
        assert not any(code in hashes or code.replace("-", "") in hashes for code in codes)
    assert actions(in_tenant, tenant) == [
        "second_factor.enrolled",
        "second_factor.recovery_codes_issued",
    ]


def test_the_secret_is_encrypted_at_rest(app, in_tenant, create_user, tenant):
    user = create_user(tenant)
    secret, _codes = enrol(in_tenant, tenant, user)
    with in_tenant(tenant) as session:
        stored = session.execute(
            text("SELECT secret FROM totp_authenticators WHERE user_id = :user"),
            {"user": user.id if session.bind.dialect.name == "postgresql" else user.id.hex},
        ).scalar_one()
        assert secret not in stored
        assert secret.lower() not in stored.lower()
        row = session.scalar(select(TotpAuthenticator).where(TotpAuthenticator.user_id == user.id))
        assert second_factor.secret_of(row) == secret


# --- the second step ----------------------------------------------------------------------


def test_login_needs_the_code_after_the_password(client_for, create_user, in_tenant, tenant):
    user = create_user(tenant)
    secret, _codes = enrol(in_tenant, tenant, user)
    client = client_for(tenant)

    response = password_step(client, user)

    assert response.headers["Location"] == "/login/second-factor"
    assert not is_logged_in(client)
    with in_tenant(tenant) as session:
        assert session.scalar(select(UserSession).where(UserSession.user_id == user.id)) is None
    before = client.get_cookie("session", domain=client.host).value
    done = send_code(client, pyotp.TOTP(secret).now())
    assert done.status_code == 302
    assert done.headers["Location"] == "/dashboard"
    assert is_logged_in(client)
    assert client.get_cookie("session", domain=client.host).value != before
    assert "second_factor.used" in actions(in_tenant, tenant)


def test_a_wrong_code_is_refused_with_a_clear_message(client_for, create_user, in_tenant, tenant):
    user = create_user(tenant)
    enrol(in_tenant, tenant, user)
    client = client_for(tenant)
    password_step(client, user)

    response = send_code(client, "123456")

    assert response.status_code == 200
    assert WRONG_CODE in response.get_data(as_text=True)
    assert not is_logged_in(client)
    assert "second_factor.failed" in actions(in_tenant, tenant)


def test_a_code_cannot_be_replayed_within_its_time_step(in_tenant, create_user, tenant):
    user = create_user(tenant)
    secret, _codes = enrol(in_tenant, tenant, user)
    now = time.time()
    code = pyotp.TOTP(secret).at(now)
    with in_tenant(tenant) as session:
        row = session.get(User, (tenant.id, user.id))
        assert second_factor.verify_code(row, code, now=now) == "totp"
        with pytest.raises(second_factor.SecondFactorRefused):
            second_factor.verify_code(row, code, now=now + 1)
        # Nor the code of the step before, which was still tolerated a moment ago.
        with pytest.raises(second_factor.SecondFactorRefused):
            second_factor.verify_code(row, pyotp.TOTP(secret).at(now - STEP), now=now + 1)
        # The next step's code works.
        assert (
            second_factor.verify_code(row, pyotp.TOTP(secret).at(now + STEP), now=now + STEP)
            == "totp"
        )


def test_repeated_wrong_codes_are_throttled(
    app, client_for, create_user, in_tenant, tenant, monkeypatch
):
    monkeypatch.setitem(app.config, "PORTAL_RATE_LIMIT_SECOND_FACTOR", "3 per 5 minutes")
    user = create_user(tenant)
    secret, _codes = enrol(in_tenant, tenant, user)
    client = client_for(tenant)
    password_step(client, user)
    for _ in range(3):
        assert send_code(client, "000000").status_code == 200

    throttled = send_code(client, pyotp.TOTP(secret).now())

    assert throttled.status_code == 429
    assert "Too many codes were tried." in throttled.get_data(as_text=True)
    assert int(throttled.headers["Retry-After"]) > 0
    assert not is_logged_in(client)
    assert "second_factor.throttled" in actions(in_tenant, tenant)


def test_a_recovery_code_works_once(client_for, create_user, in_tenant, tenant):
    user = create_user(tenant)
    _secret, codes = enrol(in_tenant, tenant, user)
    client = client_for(tenant)
    password_step(client, user)

    assert send_code(client, codes[0].upper()).status_code == 302
    assert is_logged_in(client)
    assert "second_factor.recovery_code_used" in actions(in_tenant, tenant)

    again = client_for(tenant)
    password_step(again, user)
    assert WRONG_CODE in send_code(again, codes[0]).get_data(as_text=True)
    assert send_code(again, codes[1]).status_code == 302


def test_without_a_second_factor_the_password_is_enough(client_for, create_user, tenant):
    user = create_user(tenant)
    client = client_for(tenant)
    assert password_step(client, user).headers["Location"] == "/dashboard"


# --- the tenant's requirement -----------------------------------------------------------------


def test_admin_sets_who_must_have_a_second_factor(login_as, create_user, in_tenant, tenant):
    admin = create_user(tenant, role="admin")
    client = login_as(admin, tenant)
    token = client.csrf_token("/admin/login-security")

    response = client.post("/admin/login-security", data={"policy": "staff", "csrf_token": token})

    assert response.status_code == 302
    with in_tenant(tenant) as session:
        assert session.get(Tenant, tenant.id).second_factor_policy == SecondFactorPolicy.STAFF
    assert "tenant.second_factor_policy" in actions(in_tenant, tenant, "tenant.")


def test_a_staff_user_without_one_is_held_until_enrolled(
    client_for, create_user, in_tenant, tenant, create_client
):
    set_policy(in_tenant, tenant, SecondFactorPolicy.STAFF)
    staff = create_user(tenant, role="staff")
    client = client_for(tenant)

    assert password_step(client, staff).headers["Location"] == "/account/second-factor"
    assert client.get("/dashboard").status_code == 302
    token = client.csrf_token("/account/second-factor")
    client.post("/account/second-factor/app/start", data={"csrf_token": token})
    with in_tenant(tenant) as session:
        row = session.scalar(select(TotpAuthenticator).where(TotpAuthenticator.user_id == staff.id))
        secret = second_factor.secret_of(row)
    done = client.post(
        "/account/second-factor/app",
        data={"code": pyotp.TOTP(secret).now(), "csrf_token": token},
    )
    assert done.status_code == 200
    assert "Your recovery codes" in done.get_data(as_text=True)
    assert is_logged_in(client)


def test_a_session_from_before_the_requirement_is_sent_to_enrolment(
    login_as, create_user, in_tenant, tenant
):
    staff = create_user(tenant, role="staff")
    client = login_as(staff, tenant)
    assert is_logged_in(client)
    set_policy(in_tenant, tenant, SecondFactorPolicy.STAFF)

    response = client.get("/dashboard")

    assert response.status_code == 302
    assert response.headers["Location"] == "/account/second-factor"


def test_client_users_are_free_when_only_staff_must(
    client_for, create_user, create_client, in_tenant, tenant
):
    set_policy(in_tenant, tenant, SecondFactorPolicy.STAFF)
    store = create_client(tenant)
    user = create_user(tenant, role="client", client=store)
    assert password_step(client_for(tenant), user).headers["Location"] == "/dashboard"


# --- the admin's reset ------------------------------------------------------------------------


def test_admin_resets_a_second_factor_only_with_their_own_password(
    login_as, log_in_with_code, create_user, in_tenant, tenant
):
    admin = create_user(tenant, role="admin")
    user = create_user(tenant)
    enrol(in_tenant, tenant, user)
    users_browser = log_in_with_code(user, tenant)
    admin_client = login_as(admin, tenant)
    page = f"/admin/users/{user.id}"
    token = admin_client.csrf_token(page)
    reset = f"/admin/users/{user.id}/second-factor/reset"

    refused = admin_client.post(reset, data={"password": "not my password", "csrf_token": token})
    assert refused.status_code == 302
    assert "The password is not correct." in admin_client.get(page).get_data(as_text=True)
    with in_tenant(tenant) as session:
        assert session.scalar(select(TotpAuthenticator).where(TotpAuthenticator.user_id == user.id))

    done = admin_client.post(reset, data={"password": DEFAULT_PASSWORD, "csrf_token": token})

    assert done.status_code == 302
    with in_tenant(tenant) as session:
        assert (
            session.scalar(select(TotpAuthenticator).where(TotpAuthenticator.user_id == user.id))
            is None
        )
        assert session.scalar(select(RecoveryCode).where(RecoveryCode.user_id == user.id)) is None
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "second_factor.reset"))
        assert entry.actor_id == admin.id
        assert entry.object_id == str(user.id)
    assert not is_logged_in(users_browser)


def test_another_users_passkey_cannot_be_removed(login_as, create_user, in_tenant, tenant):
    owner = create_user(tenant)
    with in_tenant(tenant) as session:
        passkey = PasskeyCredential(
            user_id=owner.id, credential_id="a2V5", public_key=b"-", name="Owner's key"
        )
        session.add(passkey)
        session.commit()
        passkey_id = passkey.id
    client = login_as(create_user(tenant), tenant)
    token = client.csrf_token("/account/second-factor")

    response = client.post(
        f"/account/second-factor/passkeys/{passkey_id}/remove",
        data={"password": DEFAULT_PASSWORD, "csrf_token": token},
    )

    assert response.status_code == 404
    with in_tenant(tenant) as session:
        assert session.get(PasskeyCredential, (tenant.id, passkey_id)) is not None
