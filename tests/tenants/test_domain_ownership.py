"""Proof of ownership of custom domains: a domain serves the portal only once its tenant has
published its token in DNS or in a well-known file, checked by the worker against a real DNS
server and a real web server on 127.0.0.1."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.config import ConfigError, load_settings
from portal.db import UTCDateTime, db, utcnow
from portal.tenants import domains
from portal.tenants.models import DomainStatus, TenantDomain
from portal.testing.domains import dns_server, web_server

PAGE = "/admin/branding"
ADD = "/admin/branding/domains"
CHECK = "/admin/branding/domains/check"
REMOVE = "/admin/branding/domains/remove"


@pytest.fixture
def dns(app, monkeypatch):
    """A real DNS server on 127.0.0.1 that the portal's checks ask."""
    with dns_server() as server:
        monkeypatch.setitem(app.config, "PORTAL_DNS_NAMESERVERS", [("127.0.0.1", server.port)])
        monkeypatch.setitem(app.config, "PORTAL_DOMAIN_CHECK_TIMEOUT", 2)
        yield server


@pytest.fixture
def web(app, monkeypatch, dns):
    """A real web server on 127.0.0.1 that the file check fetches from (over http)."""
    with web_server() as server:
        monkeypatch.setitem(app.config, "PORTAL_DOMAIN_CHECK_HTTP_SCHEMES", ("http",))
        monkeypatch.setitem(app.config, "PORTAL_DOMAIN_CHECK_HTTP_PORT", server.port)
        monkeypatch.setitem(app.config, "PORTAL_DOMAIN_CHECK_PRIVATE_ADDRESSES", True)
        yield server


class BrandingPage:
    """The branding page in the hands of a user: its forms posted with their CSRF token."""

    def __init__(self, client) -> None:
        self.client = client

    def get(self):
        return self.client.get(PAGE)

    def post(self, path: str, **fields):
        token = self.client.csrf_token(PAGE)
        return self.client.post(path, data={"csrf_token": token, **fields})


@pytest.fixture
def branding(login_as, create_user, tenant) -> BrandingPage:
    """The branding page of ``tenant``, in the hands of its admin."""
    return BrandingPage(login_as(create_user(tenant, "admin"), tenant))


def domain_errors(response) -> str:
    match = re.search(
        r'<ul class="errors" id="domain-errors">(.*?)</ul>', response.get_data(as_text=True), re.S
    )
    return match.group(1) if match else ""


def entry_of(app, name: str) -> TenantDomain | None:
    with app.app_context():
        entry = db.session.get(TenantDomain, name)
        if entry is not None:
            db.session.refresh(entry)
        return entry


def audit(in_tenant, tenant, action: str) -> list[AuditEntry]:
    with in_tenant(tenant) as session:
        return list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        )


def check(branding, name: str):
    """Press "check now" for ``name``; the test app runs the worker's check at once."""
    return branding.post(CHECK, domain=name)


def test_an_added_domain_is_pending_with_its_own_token_and_not_served(
    app, branding, tenant, client_for
):
    response = branding.post(ADD, domain="Shop.Example.COM.")
    assert response.status_code == 302
    branding.post(ADD, domain="second.example.com")
    entry = entry_of(app, "shop.example.com")
    assert entry.status == DomainStatus.PENDING
    assert re.fullmatch(r"[0-9a-f]{32}", entry.verification_token)
    assert entry.verification_token != entry_of(app, "second.example.com").verification_token
    assert entry.next_check_at > utcnow()  # the worker checks it by itself, later

    page = branding.get().get_data(as_text=True)
    assert "Pending verification" in page
    assert "_supplyport-challenge.shop.example.com" in page
    assert f"supplyport-verification={entry.verification_token}" in page
    assert (
        f"http://shop.example.com/.well-known/supplyport-verification/{entry.verification_token}"
        in page
    )
    assert "Not checked yet." in page
    # Unproved, the domain is an unknown host, its well-known path included.
    for path in ("/login", f"/.well-known/supplyport-verification/{entry.verification_token}"):
        response = client_for("shop.example.com").get(path)
        assert response.status_code == 404
        assert tenant.name not in response.get_data(as_text=True)


def test_a_txt_record_on_a_real_dns_server_verifies_the_domain(
    app, branding, tenant, client_for, dns, in_tenant
):
    branding.post(ADD, domain="portal.shop.example")
    token = entry_of(app, "portal.shop.example").verification_token
    assert client_for("portal.shop.example").get("/login").status_code == 404
    dns.publish_token("portal.shop.example", token)

    response = check(branding, "portal.shop.example")
    assert response.status_code == 302
    assert ("_supplyport-challenge.portal.shop.example", "TXT") in dns.queries
    entry = entry_of(app, "portal.shop.example")
    assert entry.status == DomainStatus.VERIFIED
    assert entry.verified_at is not None
    assert entry.next_check_at is None
    page = branding.get().get_data(as_text=True)
    assert "Verified on" in page
    served = client_for("portal.shop.example").get("/login")
    assert served.status_code == 200
    assert tenant.name in served.get_data(as_text=True)
    [verified] = audit(in_tenant, tenant, "tenant.domain_verified")
    assert verified.details == {"domain": "portal.shop.example", "method": "dns"}
    assert verified.changes == {"status": ["pending", "verified"]}

    # Removing it takes effect at once, although the host was cached when it was served.
    branding.post(REMOVE, domain="portal.shop.example")
    assert client_for("portal.shop.example").get("/login").status_code == 404
    [removed] = audit(in_tenant, tenant, "tenant.domain_removed")
    assert removed.details == {"status": "verified"}


def test_a_well_known_file_on_a_real_web_server_verifies_the_domain(
    app, branding, tenant, client_for, dns, web, in_tenant
):
    branding.post(ADD, domain="www.factory.example")
    token = entry_of(app, "www.factory.example").verification_token
    dns.records[("www.factory.example", "A")] = ["127.0.0.1"]
    web.serve(f"/.well-known/supplyport-verification/{token}", token.encode() + b"\n")

    check(branding, "www.factory.example")
    assert ("www.factory.example", f"/.well-known/supplyport-verification/{token}") in [
        (host.split(":")[0], path) for host, path in web.requests
    ]
    assert entry_of(app, "www.factory.example").status == DomainStatus.VERIFIED
    served = client_for("www.factory.example").get("/login")
    assert served.status_code == 200
    assert tenant.name in served.get_data(as_text=True)
    [verified] = audit(in_tenant, tenant, "tenant.domain_verified")
    assert verified.details["method"] == "file"


def test_a_wrong_token_leaves_the_domain_pending_with_the_reasons(
    app, branding, client_for, dns, web
):
    branding.post(ADD, domain="wrong.example.org")
    token = entry_of(app, "wrong.example.org").verification_token
    dns.publish_token("wrong.example.org", "0" * 32)
    dns.records[("wrong.example.org", "A")] = ["127.0.0.1"]
    # A server that answers every address with a page naming it must not pass either.
    web.serve(
        f"/.well-known/supplyport-verification/{token}",
        f"<html>Page /.well-known/supplyport-verification/{token}</html>".encode(),
    )

    before = utcnow()
    check(branding, "wrong.example.org")
    entry = entry_of(app, "wrong.example.org")
    assert entry.status == DomainStatus.PENDING
    assert entry.checked_at >= before
    assert entry.check_count == 1
    assert entry.next_check_at > entry.checked_at
    assert [finding["code"] for finding in entry.findings] == [
        "dns_wrong_value",
        "http_wrong_content",
    ]
    page = branding.get().get_data(as_text=True)
    assert "Last checked:" in page
    assert (
        "DNS: the TXT record _supplyport-challenge.wrong.example.org does not hold this "
        "domain&#39;s value." in page
    )
    assert "does not contain this domain&#39;s token." in page
    assert client_for("wrong.example.org").get("/login").status_code == 404


def test_missing_proofs_and_refused_fetches_are_named(app, branding, dns, web, monkeypatch):
    branding.post(ADD, domain="nothing.example.org")
    token = entry_of(app, "nothing.example.org").verification_token
    dns.records[("nothing.example.org", "A")] = ["127.0.0.1"]
    web.serve(
        f"/.well-known/supplyport-verification/{token}",
        b"",
        status=302,
        Location=f"http://elsewhere.example/{token}",
    )
    check(branding, "nothing.example.org")
    codes = [f["code"] for f in entry_of(app, "nothing.example.org").findings]
    assert codes == ["dns_no_record", "http_redirect"]
    assert not any(host.startswith("elsewhere") for host, _path in web.requests)

    # By default a domain that points to a local address is not fetched from at all.
    monkeypatch.setitem(app.config, "PORTAL_DOMAIN_CHECK_PRIVATE_ADDRESSES", False)
    web.requests.clear()
    check(branding, "nothing.example.org")
    findings = entry_of(app, "nothing.example.org").findings
    assert findings[1] == {
        "code": "http_private_address",
        "domain": "nothing.example.org",
        "address": "127.0.0.1",
    }
    assert web.requests == []
    page = branding.get().get_data(as_text=True)
    assert "points to a private or local address (127.0.0.1)" in page


def test_the_check_is_idempotent(app, branding, tenant, dns, in_tenant):
    branding.post(ADD, domain="twice.example.net")
    token = entry_of(app, "twice.example.net").verification_token
    dns.publish_token("twice.example.net", token)
    check(branding, "twice.example.net")
    verified_at = entry_of(app, "twice.example.net").verified_at
    with app.app_context():
        # A repeated task, or a second worker with the same finding: nothing changes.
        assert domains.record_outcome("twice.example.net", token, domains.Proof("dns")) is None
        assert domains.check_due_domains(app) == 0
    response = check(branding, "twice.example.net")
    assert response.status_code == 302
    assert "twice.example.net is verified already." in branding.get().get_data(as_text=True)
    assert entry_of(app, "twice.example.net").verified_at == verified_at
    assert len(audit(in_tenant, tenant, "tenant.domain_verified")) == 1


def test_the_worker_rechecks_with_backoff_then_gives_up_and_check_now_restarts(
    app, branding, tenant, dns, in_tenant, client_for
):
    assert [domains.next_delay(n) for n in range(4)] == [
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=4),
        timedelta(minutes=8),
    ]
    assert domains.next_delay(30) == domains.MAX_DELAY
    branding.post(ADD, domain="late.example.com")
    with app.app_context():
        assert domains.check_due_domains(app) == 0  # not due yet
        entry = db.session.get(TenantDomain, "late.example.com")
        entry.next_check_at = utcnow() - timedelta(seconds=1)
        entry.pending_since = utcnow() - timedelta(days=8)
        db.session.commit()
        assert domains.check_due_domains(app) == 1  # the worker's periodic round
    entry = entry_of(app, "late.example.com")
    assert entry.status == DomainStatus.FAILED
    assert entry.next_check_at is None
    assert entry.findings[-1] == {"code": "expired", "days": 7}
    [failed] = audit(in_tenant, tenant, "tenant.domain_failed")
    assert failed.changes == {"status": ["pending", "failed"]}
    page = branding.get().get_data(as_text=True)
    assert "Not verified: the checks have stopped" in page
    assert "No proof was found within 7 days" in page

    # The tenant sets the record after all and presses "check now": a new period, and proof.
    dns.publish_token("late.example.com", entry.verification_token)
    check(branding, "late.example.com")
    assert entry_of(app, "late.example.com").status == DomainStatus.VERIFIED
    assert len(audit(in_tenant, tenant, "tenant.domain_check_restarted")) == 1
    assert client_for("late.example.com").get("/login").status_code == 200


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("localhost", "belongs to this platform"),
        ("LOCALHOST.", "belongs to this platform"),
        ("nordic.localhost", "belongs to this platform"),
        ("Deep.Nordic.LocalHost.", "belongs to this platform"),
        ("127.0.0.1", "is an IP address"),
        ("10.0.1", "is an IP address"),
        ("::1", "is an IP address"),
        ("[2001:db8::1]", "is an IP address"),
        ("intranet", "is not a complete domain name"),
        ("bad_name.example", "is not a domain name"),
    ],
)
def test_names_that_cannot_be_a_tenants_domain_are_refused_on_the_field(app, branding, name, words):
    response = branding.post(ADD, domain=name)
    assert response.status_code == 422
    assert words in domain_errors(response)
    with app.app_context():
        assert db.session.scalars(select(TenantDomain.domain)).all() == []


def test_another_tenants_domain_cannot_be_added_checked_or_removed(
    app, branding, create_tenant, create_user, login_as, tenant, in_tenant
):
    other = create_tenant(name="Rival Trading")
    BrandingPage(login_as(create_user(other, "admin"), other)).post(ADD, domain="rival.example.com")
    before = entry_of(app, "rival.example.com")
    assert before.status == DomainStatus.PENDING

    response = branding.post(ADD, domain="RIVAL.example.com.")
    assert response.status_code == 422
    errors = domain_errors(response)
    assert "The domain rival.example.com is already in use." in errors
    assert "Rival" not in errors
    assert other.slug not in errors
    for path in (CHECK, REMOVE):
        response = branding.post(path, domain="rival.example.com")
        assert response.status_code == 302
        assert "rival.example.com is not a domain of this portal." in branding.get().get_data(
            as_text=True
        )
    after = entry_of(app, "rival.example.com")
    assert (after.tenant_id, after.status, after.next_check_at) == (
        other.id,
        DomainStatus.PENDING,
        before.next_check_at,
    )
    for action in ("tenant.domain_added", "tenant.domain_removed"):
        assert audit(in_tenant, tenant, action) == []


def test_only_admins_may_add_check_or_remove_domains(app, create_user, login_as, tenant, branding):
    branding.post(ADD, domain="admins.example.com")
    staff = login_as(create_user(tenant, "staff"), tenant)
    client_user = login_as(create_user(tenant, "client"), tenant)
    supplier = login_as(create_user(tenant, "supplier"), tenant)
    for user_client in (staff, client_user, supplier):
        token = user_client.csrf_token("/account")
        for path in (ADD, CHECK, REMOVE):
            response = user_client.post(
                path, data={"csrf_token": token, "domain": "admins.example.com"}
            )
            assert response.status_code == 403, path
    assert entry_of(app, "admins.example.com").status == DomainStatus.PENDING


def test_a_domain_added_by_the_operator_is_verified_at_once(app, create_tenant, client_for):
    create_tenant(domains=["operator.example.com"])
    assert entry_of(app, "operator.example.com").status == DomainStatus.VERIFIED
    assert client_for("operator.example.com").get("/login").status_code == 200


def test_the_check_settings_are_read_from_the_environment(tmp_path):
    settings = load_settings(
        tmp_path,
        {
            "PORTAL_DNS_NAMESERVERS": "192.0.2.53, 127.0.0.1:5353,[2001:db8::53]:5300",
            "PORTAL_DOMAIN_CHECK_HTTP_SCHEMES": "http",
            "PORTAL_DOMAIN_CHECK_HTTP_PORT": "8080",
            "PORTAL_DOMAIN_CHECK_DAYS": "3",
        },
    )
    assert settings["PORTAL_DNS_NAMESERVERS"] == [
        ("192.0.2.53", 53),
        ("127.0.0.1", 5353),
        ("2001:db8::53", 5300),
    ]
    assert settings["PORTAL_DOMAIN_CHECK_HTTP_SCHEMES"] == ("http",)
    assert settings["PORTAL_DOMAIN_CHECK_HTTP_PORT"] == 8080
    assert settings["PORTAL_DOMAIN_CHECK_DAYS"] == 3
    defaults = load_settings(tmp_path, {})
    assert defaults["PORTAL_DNS_NAMESERVERS"] == []
    assert defaults["PORTAL_DOMAIN_CHECK_PRIVATE_ADDRESSES"] is False
    for name, value in [
        ("PORTAL_DNS_NAMESERVERS", "ns.example.com"),
        ("PORTAL_DNS_NAMESERVERS", "127.0.0.1:99999"),
        ("PORTAL_DOMAIN_CHECK_HTTP_SCHEMES", "ftp"),
    ]:
        with pytest.raises(ConfigError, match=name):
            load_settings(tmp_path, {name: value})


def test_the_migration_marks_the_existing_domains_verified(tmp_path, smtp_server):
    """Domains set up by operators before proofs existed keep serving their tenants."""
    import secrets
    import uuid

    import sqlalchemy as sa
    from flask_migrate import upgrade

    from portal import create_app
    from portal.testing.fixtures import close_app, provision_database

    database = provision_database(tmp_path)
    app = create_app(
        {
            "ENVIRON": {
                "PORTAL_ENV": "development",
                "PORTAL_SECRET_KEY": secrets.token_urlsafe(48),
                "PORTAL_DATABASE_URL": database.app_url,
                "PORTAL_DATABASE_ADMIN_URL": database.admin_url or "",
                "PORTAL_MAIL_PORT": str(smtp_server.port),
                "PORTAL_WORKER": "embedded",
            },
            "TESTING": True,
        }
    )
    try:
        with app.app_context():
            upgrade(revision="b7d3f5a9c1e2")
            now = utcnow()
            tenant_id = uuid.uuid4()
            # The tables as they were at that revision.
            tenants = sa.table(
                "tenants",
                sa.column("id", sa.Uuid()),
                *(sa.column(name, sa.String()) for name in ("slug", "name", "status")),
                sa.column("default_locale", sa.String()),
                sa.column("enabled_locales", sa.JSON()),
                sa.column("theme_settings", sa.JSON()),
                sa.column("created_at", UTCDateTime()),
                sa.column("updated_at", UTCDateTime()),
            )
            old_domains = sa.table(
                "tenant_domains",
                sa.column("domain", sa.String()),
                sa.column("tenant_id", sa.Uuid()),
            )
            with db.engine.begin() as connection:
                connection.execute(
                    tenants.insert().values(
                        id=tenant_id,
                        slug="before",
                        name="Before Ltd",
                        status="active",
                        default_locale="en",
                        enabled_locales=["en"],
                        theme_settings={},
                        created_at=now,
                        updated_at=now,
                    )
                )
                for name in ("old-one.example.com", "old-two.example.com"):
                    connection.execute(
                        old_domains.insert().values(domain=name, tenant_id=tenant_id)
                    )
            upgrade()
            rows = db.session.scalars(select(TenantDomain).order_by(TenantDomain.domain)).all()
            assert [(row.domain, row.status) for row in rows] == [
                ("old-one.example.com", DomainStatus.VERIFIED),
                ("old-two.example.com", DomainStatus.VERIFIED),
            ]
            assert all(row.verified_at is not None for row in rows)
            assert rows[0].verification_token != rows[1].verification_token
            db.session.remove()
        served = app.test_client().get("/login", headers={"Host": "old-one.example.com"})
        assert served.status_code == 200
        assert "Before Ltd" in served.get_data(as_text=True)
    finally:
        close_app(app)
        database.drop()


def test_the_embedded_workers_round_checks_the_due_domains(app, branding, dns, monkeypatch):
    from portal.worker.embedded import EmbeddedWorker

    branding.post(ADD, domain="swept.example.com")
    with app.app_context():
        entry = db.session.get(TenantDomain, "swept.example.com")
        dns.publish_token("swept.example.com", entry.verification_token)
        entry.next_check_at = utcnow()  # due: as the worker finds it minutes later
        db.session.commit()
        worker = EmbeddedWorker(app)
        worker.sweep()
    assert entry_of(app, "swept.example.com").status == DomainStatus.VERIFIED


def test_the_celery_worker_has_the_domain_check_task(app, monkeypatch):
    from portal.worker.celery import create_celery

    monkeypatch.setitem(app.config, "PORTAL_REDIS_URL", "redis://127.0.0.1:6379/15")
    celery = create_celery(app)
    assert domains.CHECK_DOMAINS_TASK in celery.tasks


def test_hostile_domain_values_are_refused_without_a_server_error(app, branding):
    for value in ("\x00", "shop\x00.example.com", "a" * 300 + ".example.com", "ünï.example"):
        response = branding.post(ADD, domain=value)
        # 400: a NUL byte is refused before any view; 422: the field names what is wrong.
        assert response.status_code in (400, 422), value
        for path in (CHECK, REMOVE):
            response = branding.post(path, domain=value)
            assert response.status_code in (302, 400), (path, value)
    with app.app_context():
        assert db.session.scalars(select(TenantDomain.domain)).all() == []


def test_a_tenant_may_register_a_bounded_number_of_domains(app, branding, tenant):
    from portal.tenants.models import Tenant
    from portal.tenants.services import MAX_DOMAINS, add_domain

    with app.app_context():
        owner = db.session.get(Tenant, tenant.id)
        for number in range(MAX_DOMAINS):
            add_domain(owner, f"shop{number}.example.com")
        db.session.commit()
    response = branding.post(ADD, domain="one-more.example.com")
    assert response.status_code == 422
    assert f"A portal can have at most {MAX_DOMAINS} custom domains." in domain_errors(response)
