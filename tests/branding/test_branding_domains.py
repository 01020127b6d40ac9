"""Custom domains on the branding page: add, refuse, remove; each change audited."""

from __future__ import annotations

import re

from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.testing.domains import verify_domain_for_tests

DOMAINS = "/admin/branding/domains"
REMOVE = "/admin/branding/domains/remove"


def domain_errors(response) -> str:
    match = re.search(
        r'<ul class="errors" id="domain-errors">(.*?)</ul>', response.get_data(as_text=True), re.S
    )
    return match.group(1) if match else ""


def audit_changes(in_tenant, tenant, action: str) -> list[dict]:
    with in_tenant(tenant) as session:
        return [
            entry.changes
            for entry in session.scalars(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        ]


def test_an_added_domain_is_listed_and_serves_the_portal_once_verified(
    app, branding, tenant, client_for, in_tenant
):
    assert client_for("portal.shop-one.example").get("/login").status_code == 404
    response = branding.post(DOMAINS, domain="Portal.Shop-One.example.")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/branding#domains"
    page = branding.get().get_data(as_text=True)
    assert "The domain portal.shop-one.example was added." in page
    assert '<span class="domain-name">portal.shop-one.example</span>' in page
    # Pending until proved (tests/tenants/test_domain_ownership.py proves it for real).
    assert "Pending verification" in page
    assert client_for("portal.shop-one.example").get("/login").status_code == 404
    with app.app_context():
        verify_domain_for_tests("portal.shop-one.example")
    custom = client_for("portal.shop-one.example").get("/login")
    assert custom.status_code == 200
    assert tenant.name in custom.get_data(as_text=True)
    assert audit_changes(in_tenant, tenant, "tenant.domain_added") == [
        {"domain": [None, "portal.shop-one.example"]}
    ]


def test_a_domain_that_is_not_one_or_is_taken_is_refused_on_the_field(
    branding, create_tenant, tenant, in_tenant
):
    create_tenant(domains=["taken.example.com"])
    response = branding.post(DOMAINS, domain="not a domain")
    assert response.status_code == 422
    assert "not a domain is not a domain name." in domain_errors(response)

    response = branding.post(DOMAINS, domain="taken.example.com")
    assert response.status_code == 422
    assert "The domain taken.example.com is already in use." in domain_errors(response)

    response = branding.post(DOMAINS, domain="")
    assert response.status_code == 422
    assert domain_errors(response)

    branding.post(DOMAINS, domain="mine.example.com")
    response = branding.post(DOMAINS, domain="MINE.example.com")
    assert "The domain mine.example.com is already in use." in domain_errors(response)
    assert len(audit_changes(in_tenant, tenant, "tenant.domain_added")) == 1


def test_a_removed_domain_no_longer_serves_the_portal(app, branding, tenant, client_for, in_tenant):
    branding.post(DOMAINS, domain="old.example.org")
    with app.app_context():
        verify_domain_for_tests("old.example.org")
    assert client_for("old.example.org").get("/login").status_code == 200  # cached now
    response = branding.post(REMOVE, domain="old.example.org")
    assert response.status_code == 302
    page = branding.get().get_data(as_text=True)
    assert "The domain old.example.org was removed." in page
    assert "No custom domain yet." in page
    assert client_for("old.example.org").get("/login").status_code == 404
    assert audit_changes(in_tenant, tenant, "tenant.domain_removed") == [
        {"domain": ["old.example.org", None]}
    ]


def test_another_tenants_domain_cannot_be_removed(
    branding, create_tenant, client_for, tenant, in_tenant
):
    create_tenant(domains=["theirs.example.net"])
    response = branding.post(REMOVE, domain="theirs.example.net")
    assert response.status_code == 302
    assert "theirs.example.net is not a domain of this portal." in branding.get().get_data(
        as_text=True
    )
    assert client_for("theirs.example.net").get("/login").status_code == 200
    assert audit_changes(in_tenant, tenant, "tenant.domain_removed") == []


def test_the_domain_in_use_cannot_be_removed(create_tenant, create_user, client_for):
    tenant = create_tenant(domains=["here.example.com"])
    admin = create_user(tenant, "admin")
    client = client_for("here.example.com")
    assert client.login(admin.email).status_code == 302
    page = client.get("/admin/branding").get_data(as_text=True)
    assert "(in use right now)" in page
    response = client.post(
        REMOVE,
        data={"csrf_token": client.csrf_token("/admin/branding"), "domain": "here.example.com"},
    )
    assert response.status_code == 302
    assert "You are using here.example.com right now" in client.get("/admin/branding").get_data(
        as_text=True
    )
