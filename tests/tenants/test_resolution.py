"""Host -> tenant: subdomains, custom domains, the platform's own page, and nothing else."""

from portal.db import db
from portal.tenants.models import Tenant, TenantStatus


def test_a_tenant_subdomain_serves_that_tenant(client_for, tenant):
    page = client_for(tenant).get("/login")
    assert page.status_code == 200
    assert tenant.name in page.get_data(as_text=True)


def test_port_and_case_do_not_matter(client_for, tenant):
    page = client_for(f"{tenant.slug.upper()}.LOCALHOST:8000").get("/login")
    assert page.status_code == 200
    assert tenant.name in page.get_data(as_text=True)


def test_unknown_hosts_get_404_and_no_tenant(client_for, tenant):
    for host in ("nobody.localhost", "evil.example.com", f"x.{tenant.slug}.localhost", "127.0.0.1"):
        response = client_for(host).get("/login")
        assert response.status_code == 404, host
        assert tenant.name not in response.get_data(as_text=True)


def test_the_base_domain_serves_the_platform_page(client_for, tenant):
    page = client_for("localhost").get("/")
    assert page.status_code == 200
    assert tenant.name not in page.get_data(as_text=True)
    assert client_for("localhost").get("/login").status_code == 404


def test_a_custom_domain_serves_its_tenant(client_for, create_tenant):
    tenant = create_tenant(domains=["portal.example-shop.com"])
    page = client_for("portal.example-shop.com").get("/login")
    assert page.status_code == 200
    assert tenant.name in page.get_data(as_text=True)


def test_a_suspended_tenant_shows_a_clear_page(app, client_for, tenant, create_user):
    user = create_user(tenant)
    with app.app_context():
        db.session.get(Tenant, tenant.id).status = TenantStatus.SUSPENDED
        db.session.commit()
    client = client_for(tenant)
    for path in ("/", "/login", "/account"):
        page = client.get(path)
        assert page.status_code == 503
        assert "unavailable" in page.get_data(as_text=True)
    response = client.post("/login", data={"email": user.email, "password": "x"})
    assert response.status_code == 503


def test_responses_vary_on_host(client_for, tenant):
    assert "Host" in client_for(tenant).get("/login").headers["Vary"]
