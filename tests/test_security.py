"""Security headers, CSRF protection, trusted hosts and proxy headers."""

import re

import pytest
from sqlalchemy import select

from portal.accounts.models import LoginAttempt, User, UserSession
from portal.audit.models import AuditEntry
from portal.db import db
from portal.outbox.services import deliver_due
from portal.tenants.context import TenantRef, tenant_context
from portal.testing import factories
from portal.testing.fixtures import HostClient, provision_database, separate_app, tenant_host

SAFE_REFERRER_POLICIES = {
    "no-referrer",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
}
FORGED = "198.51.100.77"


def csp_directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    directives = {}
    for part in policy.split(";"):
        name, _, value = part.strip().partition(" ")
        if name:
            directives[name] = value.strip()
    return directives


def assert_security_headers(response, *, page: bool = True) -> None:
    headers = response.headers
    csp = csp_directives(response)
    assert csp["object-src"] == "'none'"
    assert csp["base-uri"] == "'none'"
    assert csp["frame-ancestors"] == "'none'"
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
    assert "*" not in csp.get("script-src", csp.get("default-src"))
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] in SAFE_REFERRER_POLICIES
    assert "host" in {v.strip().lower() for v in headers.get("Vary", "").split(",")}
    if page:
        assert "no-store" in headers["Cache-Control"]


@pytest.fixture
def pages(client_for, login_as, create_user, tenant):
    """Return one response of each kind of page."""
    user = create_user(tenant)
    logged_in = login_as(user, tenant)
    anonymous = client_for(tenant)
    return {
        "login": anonymous.get("/login"),
        "forgot password": anonymous.get("/password/forgot"),
        "login redirect": anonymous.get("/dashboard"),
        "dashboard": logged_in.get("/dashboard"),
        "account": logged_in.get("/account"),
        "forbidden": logged_in.get("/admin/users"),
        "not found": logged_in.get("/no-such-page"),
        "unknown host": client_for("unknown.example").get("/login"),
        "platform": client_for("localhost").get("/"),
        "platform not found": client_for("localhost").get("/login"),
    }


EXPECTED_STATUS = {
    "login": 200,
    "forgot password": 200,
    "login redirect": 302,
    "dashboard": 200,
    "account": 200,
    "forbidden": 403,
    "not found": 404,
    "unknown host": 404,
    "platform": 200,
    "platform not found": 404,
}


@pytest.mark.parametrize("kind", list(EXPECTED_STATUS))
def test_every_page_has_the_security_headers(pages, kind):
    response = pages[kind]
    assert response.status_code == EXPECTED_STATUS[kind]
    assert_security_headers(response)


def test_the_platform_page_is_the_platform_page(client_for, tenant):
    page = client_for("localhost").get("/").get_data(as_text=True)
    assert "Supplier and fulfilment portal" in page
    assert tenant.name not in page


def test_static_files_and_health_have_the_headers_but_may_be_cached(client_for, tenant):
    static = client_for(tenant).get("/static/css/portal.css")
    assert static.status_code == 200
    assert_security_headers(static, page=False)
    assert "no-store" not in static.headers.get("Cache-Control", "")
    static.close()
    health = client_for("localhost").get("/healthz")
    assert health.headers["X-Content-Type-Options"] == "nosniff"


def test_hsts_only_over_https(client_for, tenant):
    plain = client_for(tenant).get("/login")
    secure = client_for(tenant, scheme="https").get("/login")

    assert "Strict-Transport-Security" not in plain.headers
    hsts = secure.headers["Strict-Transport-Security"]
    max_age = int(re.search(r"max-age=(\d+)", hsts).group(1))
    assert max_age >= 365 * 24 * 3600
    assert_security_headers(secure)


def test_unknown_hosts_are_refused(client_for, create_user, tenant):
    user = create_user(tenant)
    for host in ("evil.example", f"{tenant.slug}.evil.example", f"x.{tenant.slug}.localhost"):
        response = client_for(host).post(
            "/login", data={"email": user.email, "password": factories.DEFAULT_PASSWORD}
        )
        assert response.status_code == 404, host


# --- CSRF ----------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "forged-token"], ids=["missing", "forged"])
def test_login_without_a_valid_csrf_token_is_refused_and_does_nothing(
    client_for, create_user, in_tenant, tenant, token
):
    user = create_user(tenant)
    client = client_for(tenant)
    client.get("/login")  # the session has a token; the form just does not send it
    data = {"email": user.email, "password": factories.DEFAULT_PASSWORD}
    if token:
        data["csrf_token"] = token

    response = client.post("/login", data=data)

    assert response.status_code == 400
    assert_security_headers(response)
    assert client.get("/dashboard").status_code == 302
    with in_tenant(tenant) as session:
        assert session.scalars(select(LoginAttempt)).all() == []
        assert session.scalars(select(UserSession)).all() == []
        actions = set(session.scalars(select(AuditEntry.action)))
        assert not actions & {"login.succeeded", "login.failed"}


def test_a_token_of_another_session_is_refused(client_for, create_user, tenant):
    user = create_user(tenant)
    stolen = client_for(tenant).csrf_token("/login")
    victim = client_for(tenant)
    victim.get("/login")
    response = victim.post(
        "/login",
        data={"email": user.email, "password": factories.DEFAULT_PASSWORD, "csrf_token": stolen},
    )
    assert response.status_code == 400


def test_logged_in_forms_need_the_token_too(login_as, create_user, in_tenant, tenant):
    user = create_user(tenant, name="Unchanged")
    client = login_as(user, tenant)
    for path, data in [
        ("/account", {"name": "Changed", "email": user.email}),
        ("/account/password", {"current_password": factories.DEFAULT_PASSWORD}),
        ("/language", {"locale": "de"}),
        ("/logout", {}),
    ]:
        assert client.post(path, data=data).status_code == 400, path
    with in_tenant(tenant) as session:
        saved = session.scalar(select(User).where(User.id == user.id))
        assert (saved.name, saved.locale) == ("Unchanged", None)
    assert client.get("/dashboard").status_code == 200


# --- proxy headers ---------------------------------------------------------------------------

PROXY_HEADERS = {
    "X-Forwarded-For": FORGED,
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "evil.example",
}


def test_forwarded_headers_are_ignored_without_a_proxy(
    app, client_for, in_tenant, tenant, other_tenant
):
    assert app.config["PORTAL_PROXY_COUNT"] == 0
    client = client_for(tenant)
    headers = {**PROXY_HEADERS, "X-Forwarded-Host": tenant_host(other_tenant)}

    page = client.get("/login", headers=headers)
    assert page.status_code == 200
    assert "Strict-Transport-Security" not in page.headers
    assert tenant.name in page.get_data(as_text=True)
    assert other_tenant.name not in page.get_data(as_text=True)

    response = client.post(
        "/login",
        headers=headers,
        data={
            "email": f"nobody@{tenant.slug}.test",
            "password": "some password",
            "csrf_token": client.csrf_token("/login"),
        },
    )
    assert response.status_code == 200
    with in_tenant(tenant) as session:
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "login.failed"))
        [attempt] = session.scalars(select(LoginAttempt))
    assert entry.ip_address == "127.0.0.1"
    assert attempt.ip_address == "127.0.0.1"


def test_a_forged_forwarded_host_does_not_reach_the_reset_link(
    app, client_for, create_user, tenant, mailbox
):
    user = create_user(tenant)
    client = client_for(tenant)
    client.post(
        "/password/forgot",
        headers=PROXY_HEADERS,
        data={"email": user.email, "csrf_token": client.csrf_token("/password/forgot")},
    )
    with app.app_context():
        assert deliver_due() == 1
    text = mailbox.to(user.email)[0].get_body(("plain",)).get_content()
    assert f"http://{tenant_host(tenant)}/password/reset/" in text
    assert "evil.example" not in text


@pytest.fixture(scope="module")
def proxied_app(tmp_path_factory, smtp_server):
    """An application behind one trusted proxy, on its own database, with one tenant."""
    database = provision_database(tmp_path_factory.mktemp("proxied"))
    with separate_app(
        database, smtp_server.port, ENVIRON={"PORTAL_PROXY_COUNT": "1"}
    ) as application:
        with application.app_context():
            tenant = factories.make_tenant()
            ref = TenantRef(id=tenant.id, slug=tenant.slug)
            db.session.commit()
        application.test_client_class = HostClient
        application.extensions["test_tenant"] = ref
        yield application


def proxied_client(application, host: str) -> HostClient:
    client = application.test_client()
    client.host = host
    return client


def test_forwarded_headers_are_honoured_behind_a_configured_proxy(proxied_app):
    tenant = proxied_app.extensions["test_tenant"]
    host = tenant_host(tenant)
    # The proxy reaches the application under an internal name and passes the real one on.
    client = proxied_client(proxied_app, "portal-backend.internal")
    forwarded = {"X-Forwarded-Host": host}

    assert client.get("/login").status_code == 404
    page = client.get("/login", headers={**forwarded, "X-Forwarded-Proto": "https"})
    assert page.status_code == 200
    assert "Strict-Transport-Security" in page.headers

    browser = proxied_client(proxied_app, host)
    response = browser.post(
        "/login",
        headers={"X-Forwarded-For": f"203.0.113.1, {FORGED}"},
        data={
            "email": f"nobody@{tenant.slug}.test",
            "password": "some password",
            "csrf_token": browser.csrf_token("/login"),
        },
    )
    assert response.status_code == 200
    with proxied_app.app_context(), tenant_context(tenant):
        addresses = set(db.session.scalars(select(LoginAttempt.ip_address)))
        audited = set(
            db.session.scalars(
                select(AuditEntry.ip_address).where(AuditEntry.action == "login.failed")
            )
        )
    # Only the hop the trusted proxy added counts; the client's own claim is ignored.
    assert addresses == {FORGED}
    assert audited == {FORGED}


# --- open redirects ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "location"),
    [("/login?x=1", "/login?x=1"), ("http://evil.example/", "/"), ("//evil.example", "/")],
)
def test_the_language_switcher_redirects_only_on_this_host(client_for, tenant, target, location):
    client = client_for(tenant)
    response = client.post(
        "/language",
        data={"locale": "de", "next": target, "csrf_token": client.csrf_token("/login")},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == location
