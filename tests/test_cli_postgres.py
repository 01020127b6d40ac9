"""Every ``portal`` command on PostgreSQL, as the application role that row-level security
binds, with objects expired at each commit as in production.

These tests always run on PostgreSQL (PORTAL_TEST_POSTGRES_URL, default the local server):
the suite's own fixtures keep objects alive across commits and may run on SQLite, which is
how a crash after the commit went unnoticed.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.accounts.models import Role, User
from portal.db import db
from portal.demo import DEMO_TENANTS
from portal.tenants.context import tenant_context
from portal.tenants.models import Tenant
from portal.testing.fixtures import HostClient, postgres_database, postgres_server_url, separate_app

pytestmark = pytest.mark.postgres

PASSWORD = "a long command line passphrase"


@pytest.fixture(scope="module")
def pg_app():
    """An application on a throwaway PostgreSQL database, as the non-owner role."""
    with separate_app(postgres_database(postgres_server_url()), mail_port=1) as app:
        assert app.config["SQLALCHEMY_DATABASE_URI"].split("://")[1].startswith("portal_test_app")
        with app.app_context():
            # Production sessions forget loaded state at every commit; so must these.
            assert db.session().expire_on_commit is True
        app.test_client_class = HostClient
        yield app


@pytest.fixture
def portal(pg_app):
    runner = pg_app.test_cli_runner()

    def invoke(*args: str):
        result = runner.invoke(args=list(args))
        assert result.exit_code == 0, (result.output, result.exception)
        return result.output

    return invoke


def test_demo_tenant_and_plugin_commands(pg_app, portal):
    assert "Demo data created." in portal("demo", "--no-serve")
    assert "already present" in portal("demo", "--no-serve")
    listed = portal("tenant", "list")
    for slug, name in DEMO_TENANTS:
        assert slug in listed
        assert name in listed
    plugins = portal("plugins", "list", "--tenant", "acme")
    assert "enabled" in plugins


def test_tenant_create_and_list(pg_app, portal):
    created = portal("tenant", "create", "clico", "--name", "Cli Co", "--domain", "cli.example")
    assert created.strip() == "Created tenant clico: http://clico.localhost/"
    assert "[cli.example]" in portal("tenant", "list")


@pytest.mark.parametrize("role", [role.value for role in Role])
def test_user_create_for_every_role(pg_app, portal, role):
    slug = f"users-{role}"
    portal("tenant", "create", slug, "--name", f"Users {role}")
    email = f"{role}@{slug}.test"

    output = portal(
        "user", "create", "--tenant", slug, "--email", email, "--role", role,
        "--name", "Command Line", "--password", PASSWORD,
    )  # fmt: skip

    assert output.strip() == f"Created {role} {email} for tenant {slug}."
    with pg_app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        with tenant_context(tenant):
            user = db.session.scalar(select(User).where(User.email == email))
            assert (user.role.value, user.name) == (role, "Command Line")
        db.session.rollback()
    browser = pg_app.test_client()
    browser.host = f"{slug}.localhost"
    assert browser.login(email, PASSWORD).status_code == 302
