"""Login sessions: fresh at login, ended at logout and password change, timeouts, cookies."""

from datetime import timedelta
from http.cookies import SimpleCookie

import pytest
from sqlalchemy import select

from portal.accounts.models import User, UserSession
from portal.audit.models import AuditEntry
from portal.db import db, utcnow
from portal.testing import factories
from portal.testing.fixtures import HostClient, provision_database, separate_app, tenant_host

NEW_PASSWORD = "a brand new passphrase"


def session_cookie(client, tenant) -> str | None:
    cookie = client.get_cookie("session", domain=tenant_host(tenant))
    return cookie.value if cookie else None


def client_with_cookie(client_for, tenant, value: str):
    """Return a fresh client on the tenant's host that sends ``value`` as its session cookie."""
    client = client_for(tenant)
    client.set_cookie("session", value, domain=tenant_host(tenant))
    return client


def decode_session(app, value: str) -> dict:
    return dict(app.session_interface.get_signing_serializer(app).loads(value))


def is_logged_in(client) -> bool:
    response = client.get("/dashboard")
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/login")
        return False
    assert response.status_code == 200
    return True


def sessions_of(in_tenant, tenant, user) -> list[UserSession]:
    with in_tenant(tenant) as session:
        return session.scalars(
            select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id)
        ).all()


def set_cookie_header(response, name: str = "session") -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    assert len(headers) == 1, response.headers.getlist("Set-Cookie")
    return headers[0]


def cookie_attributes(header: str) -> dict[str, str]:
    """Return the attributes of one Set-Cookie header, names lower-cased."""
    parts = [part.strip() for part in header.split(";")[1:]]
    return {p.split("=", 1)[0].lower(): (p.split("=", 1)[1] if "=" in p else "") for p in parts}


# --- a new session at login --------------------------------------------------------------


def test_login_replaces_the_session_but_keeps_the_chosen_language(
    app, client_for, create_user, in_tenant, tenant
):
    user = create_user(tenant)
    client = client_for(tenant)
    switched = client.post(
        "/language",
        data={"locale": "de", "next": "/login", "csrf_token": client.csrf_token("/login")},
    )
    assert switched.status_code == 302
    with client.session_transaction(base_url=f"http://{tenant_host(tenant)}") as flask_session:
        flask_session["planted"] = "set before the login"
    before = session_cookie(client, tenant)
    before_data = decode_session(app, before)
    assert before_data["locale"] == "de"
    assert before_data["planted"] == "set before the login"
    assert "csrf_token" in before_data

    assert client.login(user.email).status_code == 302

    after = session_cookie(client, tenant)
    assert after != before
    after_data = decode_session(app, after)
    assert "planted" not in after_data
    assert after_data.get("csrf_token") != before_data["csrf_token"]
    assert after_data["locale"] == "de"
    [login] = sessions_of(in_tenant, tenant, user)
    assert after_data["_user_id"] == str(login.id)
    assert '<html lang="de"' in client.get("/dashboard").get_data(as_text=True)
    # The cookie from before the login never became a logged-in session.
    assert not is_logged_in(client_with_cookie(client_for, tenant, before))


def test_every_login_opens_its_own_session_row(app, client_for, create_user, in_tenant, tenant):
    user = create_user(tenant)
    first, second = client_for(tenant), client_for(tenant)
    first.login(user.email)
    second.login(user.email)

    rows = sessions_of(in_tenant, tenant, user)
    assert len(rows) == 2
    assert all(row.ended_at is None for row in rows)
    ids = {decode_session(app, session_cookie(c, tenant))["_user_id"] for c in (first, second)}
    assert ids == {str(row.id) for row in rows}
    assert rows[0].user_agent
    assert rows[0].ip_address == "127.0.0.1"


# --- logout --------------------------------------------------------------------------------


def test_logout_ends_the_session_and_the_old_cookie_stops_working(
    client_for, login_as, create_user, in_tenant, tenant
):
    user = create_user(tenant)
    client = login_as(user, tenant)
    copy = client_with_cookie(client_for, tenant, session_cookie(client, tenant))
    assert is_logged_in(copy)

    response = client.post("/logout", data={"csrf_token": client.csrf_token("/dashboard")})

    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert not is_logged_in(client)
    assert not is_logged_in(copy)
    [row] = sessions_of(in_tenant, tenant, user)
    assert row.ended_at is not None
    with in_tenant(tenant) as session:
        assert session.scalar(select(AuditEntry).where(AuditEntry.action == "logout"))


def test_logout_ends_only_the_current_session(login_as, create_user, in_tenant, tenant):
    user = create_user(tenant)
    leaving = login_as(user, tenant)
    staying = login_as(user, tenant)

    leaving.post("/logout", data={"csrf_token": leaving.csrf_token("/dashboard")})

    assert not is_logged_in(leaving)
    assert is_logged_in(staying)
    assert sorted(row.ended_at is None for row in sessions_of(in_tenant, tenant, user)) == [
        False,
        True,
    ]


def test_logout_needs_a_post_with_csrf_token(login_as, create_user, tenant):
    user = create_user(tenant)
    client = login_as(user, tenant)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert is_logged_in(client)


# --- password change ---------------------------------------------------------------------


def change_password(client, current: str, new: str):
    return client.post(
        "/account/password",
        data={
            "current_password": current,
            "new_password": new,
            "confirm": new,
            "csrf_token": client.csrf_token("/account/password"),
        },
    )


def test_a_password_change_ends_the_other_sessions_but_not_this_one(
    client_for, login_as, create_user, in_tenant, tenant
):
    user = create_user(tenant)
    changing = login_as(user, tenant)
    other = login_as(user, tenant)
    someone_else = create_user(tenant)
    bystander = login_as(someone_else, tenant)

    response = change_password(changing, factories.DEFAULT_PASSWORD, NEW_PASSWORD)

    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    assert is_logged_in(changing)
    assert not is_logged_in(other)
    assert is_logged_in(bystander)
    assert [row.ended_at is None for row in sessions_of(in_tenant, tenant, user)] == [True, False]
    # The new password works, the old one does not.
    assert client_for(tenant).login(user.email, NEW_PASSWORD).status_code == 302
    assert client_for(tenant).login(user.email).status_code == 200


def test_a_wrong_current_password_changes_nothing(login_as, create_user, in_tenant, tenant):
    user = create_user(tenant)
    changing = login_as(user, tenant)
    other = login_as(user, tenant)

    response = change_password(changing, "not my password", NEW_PASSWORD)

    assert response.status_code == 200
    assert "The current password is not correct." in response.get_data(as_text=True)
    assert is_logged_in(other)
    assert all(row.ended_at is None for row in sessions_of(in_tenant, tenant, user))


def test_a_common_new_password_is_refused(login_as, create_user, tenant):
    user = create_user(tenant)
    client = login_as(user, tenant)
    response = change_password(client, factories.DEFAULT_PASSWORD, "password123")
    assert response.status_code == 200
    assert "too common" in response.get_data(as_text=True)


# --- timeouts -------------------------------------------------------------------------------


def _age_session(in_tenant, tenant, user, **ages: timedelta) -> None:
    with in_tenant(tenant) as session:
        row = session.scalar(select(UserSession).where(UserSession.user_id == user.id))
        for column, age in ages.items():
            setattr(row, column, utcnow() - age)
        session.commit()


@pytest.mark.parametrize(
    ("column", "setting", "unit"),
    [
        ("last_seen_at", "PORTAL_SESSION_IDLE_MINUTES", "minutes"),
        ("created_at", "PORTAL_SESSION_MAX_HOURS", "hours"),
    ],
    ids=["idle", "absolute"],
)
def test_a_session_times_out(app, login_as, create_user, in_tenant, tenant, column, setting, unit):
    user = create_user(tenant)
    client = login_as(user, tenant)
    limit = timedelta(**{unit: app.config[setting]})

    # Just inside the limit the session lives on.
    _age_session(in_tenant, tenant, user, **{column: limit - timedelta(minutes=1)})
    assert is_logged_in(client)

    _age_session(in_tenant, tenant, user, **{column: limit + timedelta(minutes=1)})
    response = client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")

    [row] = sessions_of(in_tenant, tenant, user)
    assert row.ended_at is not None
    with in_tenant(tenant) as session:
        expired = session.scalar(select(AuditEntry).where(AuditEntry.action == "session.expired"))
        assert expired.object_id == str(user.id)
    # Even with the limit back in reach the ended session stays ended.
    _age_session(in_tenant, tenant, user, created_at=timedelta(0), last_seen_at=timedelta(0))
    assert not is_logged_in(client)


def test_activity_keeps_an_idle_session_alive(app, login_as, create_user, in_tenant, tenant):
    user = create_user(tenant)
    client = login_as(user, tenant)
    idle = timedelta(minutes=app.config["PORTAL_SESSION_IDLE_MINUTES"])
    _age_session(in_tenant, tenant, user, last_seen_at=idle - timedelta(minutes=1))

    assert is_logged_in(client)  # touches last_seen_at

    [row] = sessions_of(in_tenant, tenant, user)
    assert utcnow() - row.last_seen_at < timedelta(minutes=1)


# --- deactivation --------------------------------------------------------------------------


def test_deactivating_a_user_ends_their_sessions(login_as, create_user, in_tenant, tenant):
    admin = create_user(tenant, "admin")
    user = create_user(tenant, name="Soon Gone")
    admin_client = login_as(admin, tenant)
    user_clients = [login_as(user, tenant), login_as(user, tenant)]
    assert all(is_logged_in(c) for c in user_clients)

    response = admin_client.post(
        f"/admin/users/{user.id}",
        data={
            "name": "Soon Gone",
            "email": user.email,
            "role": "staff",
            "csrf_token": admin_client.csrf_token(f"/admin/users/{user.id}"),
        },
    )

    assert response.status_code == 302
    assert all(row.ended_at is not None for row in sessions_of(in_tenant, tenant, user))
    assert not any(is_logged_in(c) for c in user_clients)
    with in_tenant(tenant) as session:
        assert session.scalar(select(User.active).where(User.id == user.id)) is False
    assert is_logged_in(admin_client)


# --- cookies -----------------------------------------------------------------------------


def test_the_session_cookie_is_host_only_httponly_and_lax(client_for, create_user, tenant):
    user = create_user(tenant)
    client = client_for(tenant)

    response = client.login(user.email)

    header = set_cookie_header(response)
    attributes = cookie_attributes(header)
    assert "httponly" in attributes
    assert attributes["samesite"] == "Lax"
    assert "domain" not in attributes
    assert attributes["path"] == "/"
    # Local development (the test app) runs over plain HTTP.
    assert "secure" not in attributes
    # A host-only cookie: parsed like a browser would, it names no domain.
    morsel = SimpleCookie(header)["session"]
    assert morsel["domain"] == ""


def test_a_session_cookie_of_one_tenant_is_worthless_on_another(
    client_for, login_as, create_user, tenant, other_tenant
):
    user = create_user(tenant)
    client = login_as(user, tenant)
    stolen = session_cookie(client, tenant)

    elsewhere = client_with_cookie(client_for, other_tenant, stolen)

    assert not is_logged_in(elsewhere)
    assert is_logged_in(client)


@pytest.fixture(scope="module")
def production_app(tmp_path_factory, smtp_server):
    """An application configured for production, on its own database, with one user."""
    database = provision_database(tmp_path_factory.mktemp("production"))
    with separate_app(
        database, smtp_server.port, ENVIRON={"PORTAL_ENV": "production"}
    ) as application:
        with application.app_context():
            tenant = factories.make_tenant()
            user = factories.make_user(tenant)
            login = (tenant_host(tenant), user.email)
            db.session.commit()
        application.extensions["test_login"] = login
        application.test_client_class = HostClient
        yield application


def test_the_session_cookie_is_secure_in_production(production_app):
    host, email = production_app.extensions["test_login"]
    assert production_app.config["PORTAL_ENV"] == "production"
    client = production_app.test_client()
    client.host, client.scheme = host, "https"

    form = client.get("/login")
    assert "secure" in cookie_attributes(set_cookie_header(form))

    # Over HTTPS, Flask-WTF also wants a same-origin Referer, as browsers send it.
    response = client.post(
        "/login",
        data={
            "email": email,
            "password": factories.DEFAULT_PASSWORD,
            "csrf_token": client.csrf_token("/login"),
        },
        headers={"Referer": f"https://{host}/login"},
    )

    assert response.status_code == 302
    attributes = cookie_attributes(set_cookie_header(response))
    assert "secure" in attributes
    assert "httponly" in attributes
    assert attributes["samesite"] == "Lax"
    assert "domain" not in attributes
    assert client.get("/dashboard").status_code == 200
