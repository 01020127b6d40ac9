"""The ``portal`` command: tenants, users, the demo, serving, and errors as one line."""

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Role, User
from portal.core.clients.models import Client
from portal.core.suppliers.models import Supplier
from portal.db import db
from portal.demo import DEMO_PASSWORD, DEMO_TENANTS
from portal.tenants.context import tenant_context
from portal.tenants.models import Tenant
from portal.testing.factories import unique_slug
from portal.testing.fixtures import HostClient, free_port, provision_database, separate_app

PORTAL = str(Path(sys.executable).with_name("portal"))
STRONG_PASSWORD = "a long command line passphrase"


@pytest.fixture
def cli(app, db_session):
    """Return ``cli(*args, input=None)``: run a ``portal`` command against the test app."""
    runner = app.test_cli_runner()

    def invoke(*args, input=None):
        return runner.invoke(args=list(args), input=input)

    return invoke


def one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    # Alembic's progress log (``portal demo`` migrates first) is not part of the error.
    lines = [
        line for line in result.stderr.strip().splitlines() if not line.startswith("INFO  [alembic")
    ]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.output
    return lines[0]


def tenant_named(app, slug: str) -> Tenant | None:
    with app.app_context():
        return db.session.scalar(select(Tenant).where(Tenant.slug == slug))


def user_of(app, tenant, email: str) -> User | None:
    with app.app_context(), tenant_context(tenant):
        return db.session.scalar(select(User).where(User.email == email))


# --- tenant create / list ------------------------------------------------------------------


def test_tenant_create(app, cli, client_for):
    slug = unique_slug("cli")

    result = cli("tenant", "create", slug, "--name", "Command Line Co.", "--locale", "de")

    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"Created tenant {slug}: http://{slug}.localhost/"
    tenant = tenant_named(app, slug)
    assert tenant.name == "Command Line Co."
    assert str(tenant.default_locale) == "de"
    page = client_for(tenant).get("/login")
    assert page.status_code == 200
    assert "Command Line Co." in page.get_data(as_text=True)


def test_tenant_create_normalises_the_slug(app, cli):
    slug = unique_slug("cli")
    assert cli("tenant", "create", f"  {slug.upper()} ", "--name", "Upper").exit_code == 0
    assert tenant_named(app, slug) is not None


def test_tenant_create_refuses_a_duplicate_slug(app, cli, tenant):
    result = cli("tenant", "create", tenant.slug, "--name", "Copy Cat")

    error = one_line_error(result)
    assert tenant.slug in error
    assert "already exists" in error
    assert tenant_named(app, tenant.slug).name == tenant.name


@pytest.mark.parametrize(
    ("slug", "words"),
    [
        ("Not_Valid!", "not valid"),
        ("-leading-hyphen", "not valid"),
        ("trailing-", "not valid"),
        ("a" * 64, "not valid"),
        ("two.parts", "not valid"),
        ("www", "reserved"),
        ("admin", "reserved"),
    ],
)
def test_tenant_create_refuses_bad_slugs(app, cli, slug, words):
    result = cli("tenant", "create", "--name", "Bad Slug", "--", slug)
    assert words in one_line_error(result)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Tenant)) == 0


def test_tenant_create_refuses_a_language_it_does_not_offer(app, cli):
    slug = unique_slug("cli")
    result = cli("tenant", "create", slug, "--name", "Français", "--locale", "fr")
    assert "fr" in one_line_error(result)
    assert tenant_named(app, slug) is None


def test_tenant_create_needs_a_name(cli):
    result = cli("tenant", "create", unique_slug("cli"))
    assert result.exit_code == 2
    assert "--name" in result.output


def test_tenant_create_with_a_custom_domain_serves_the_tenant_there(app, cli, client_for):
    slug = unique_slug("cli")

    result = cli(
        "tenant", "create", slug, "--name", "Custom Domain Ltd", "--domain", "Custom.Example"
    )

    assert result.exit_code == 0, result.output
    with app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        assert [d.domain for d in tenant.domains] == ["custom.example"]
    page = client_for("custom.example").get("/login")
    assert page.status_code == 200
    assert "Custom Domain Ltd" in page.get_data(as_text=True)
    # Other domains stay unknown.
    assert client_for("other.example").get("/login").status_code == 404


def test_tenant_create_refuses_a_domain_in_use_or_malformed(app, cli):
    first = unique_slug("cli")
    assert (
        cli("tenant", "create", first, "--name", "First", "--domain", "taken.example").exit_code
        == 0
    )
    for domain, words in [("taken.example", "already in use"), ("no_domain", "not a domain")]:
        slug = unique_slug("cli")
        result = cli("tenant", "create", slug, "--name", "Second", "--domain", domain)
        assert words in one_line_error(result)
        assert tenant_named(app, slug) is None


def test_tenant_list(cli, create_tenant):
    first = create_tenant(name="Alpha Fulfilment")
    second = create_tenant(name="Beta Wholesale", domains=["beta.example", "b.example"])

    result = cli("tenant", "list")

    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.strip().splitlines()}
    assert set(lines) == {first.slug, second.slug}
    assert "active" in lines[first.slug]
    assert "Alpha Fulfilment" in lines[first.slug]
    assert lines[second.slug].endswith("[b.example, beta.example]")


# --- user create -----------------------------------------------------------------------------


def test_user_create_with_a_password(app, cli, client_for, tenant):
    email = f"cli.admin@{tenant.slug}.test"

    result = cli(
        "user", "create", "--tenant", tenant.slug, "--email", email, "--role", "admin",
        "--name", "Cli Admin", "--password", STRONG_PASSWORD,
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"Created admin {email} for tenant {tenant.slug}."
    user = user_of(app, tenant, email)
    assert (user.role, user.name) == (Role.ADMIN, "Cli Admin")
    client = client_for(tenant)
    assert client.login(email, STRONG_PASSWORD).status_code == 302
    assert client.get("/admin/users").status_code == 200


def test_user_create_prompts_for_the_password(app, cli, client_for, tenant):
    email = f"prompted@{tenant.slug}.test"

    result = cli(
        "user", "create", "--tenant", tenant.slug, "--email", email, "--role", "staff",
        input=f"{STRONG_PASSWORD}\n{STRONG_PASSWORD}\n",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "Password" in result.output
    assert STRONG_PASSWORD not in result.output  # hidden input
    assert client_for(tenant).login(email, STRONG_PASSWORD).status_code == 302


def test_user_create_asks_again_when_the_repeated_password_differs(cli, client_for, tenant):
    email = f"typo@{tenant.slug}.test"
    result = cli(
        "user", "create", "--tenant", tenant.slug, "--email", email, "--role", "staff",
        input=f"{STRONG_PASSWORD}\nsomething else\n{STRONG_PASSWORD}\n{STRONG_PASSWORD}\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output
    assert client_for(tenant).login(email, STRONG_PASSWORD).status_code == 302


def test_user_create_for_an_unknown_tenant(cli):
    result = cli(
        "user", "create", "--tenant", "no-such-tenant", "--email", "a@b.test", "--role", "staff",
        "--password", STRONG_PASSWORD,
    )  # fmt: skip
    error = one_line_error(result)
    assert "no-such-tenant" in error


@pytest.mark.parametrize("email", ["not-an-address", "two@@at.test", "spaces in@x.test"])
def test_user_create_with_an_invalid_email(app, cli, tenant, email):
    result = cli(
        "user", "create", "--tenant", tenant.slug, "--email", email, "--role", "staff",
        "--password", STRONG_PASSWORD,
    )  # fmt: skip
    assert "not a valid e-mail address" in one_line_error(result)
    with app.app_context(), tenant_context(tenant):
        assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_user_create_refuses_a_weak_password_and_a_taken_address(app, cli, create_user, tenant):
    taken = create_user(tenant)
    weak = cli(
        "user", "create", "--tenant", tenant.slug, "--email", f"weak@{tenant.slug}.test",
        "--role", "client", "--password", "password1",
    )  # fmt: skip
    assert "too common" in one_line_error(weak)
    duplicate = cli(
        "user", "create", "--tenant", tenant.slug, "--email", taken.email, "--role", "staff",
        "--password", STRONG_PASSWORD,
    )  # fmt: skip
    assert "already exists" in one_line_error(duplicate)
    with app.app_context(), tenant_context(tenant):
        # The refused client user left no company behind.
        assert db.session.scalar(select(func.count()).select_from(Client)) == 0


def test_client_users_get_a_company_and_share_it(app, cli, client_for, tenant):
    emails = [f"first@{tenant.slug}.test", f"second@{tenant.slug}.test"]
    for email in emails:
        result = cli(
            "user", "create", "--tenant", tenant.slug, "--email", email, "--role", "client",
            "--company", "Corner Shop", "--password", STRONG_PASSWORD,
        )  # fmt: skip
        assert result.exit_code == 0, result.output

    with app.app_context(), tenant_context(tenant):
        [company] = db.session.scalars(select(Client)).all()
        assert company.name == "Corner Shop"
        users = db.session.scalars(select(User).where(User.email.in_(emails))).all()
        assert {u.client_id for u in users} == {company.id}
        assert {u.role for u in users} == {Role.CLIENT}
    dashboard = client_for(tenant)
    dashboard.login(emails[0], STRONG_PASSWORD)
    assert "Corner Shop" in dashboard.get("/dashboard").get_data(as_text=True)


def test_a_supplier_users_company_defaults_to_the_mail_domain(app, cli, tenant):
    result = cli(
        "user", "create", "--tenant", tenant.slug, "--email", "orders@factory.test",
        "--role", "supplier", "--password", STRONG_PASSWORD,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with app.app_context(), tenant_context(tenant):
        [supplier] = db.session.scalars(select(Supplier)).all()
        assert supplier.name == "factory.test"
        user = db.session.scalar(select(User).where(User.email == "orders@factory.test"))
        assert user.supplier_id == supplier.id
        assert user.client_id is None


# --- demo, on an application of its own --------------------------------------------------


@pytest.fixture
def fresh_app(tmp_path, smtp_server):
    """An application on an empty, migrated database of its own (no savepoint around it)."""
    database = provision_database(tmp_path)
    with separate_app(database, smtp_server.port) as application:
        application.test_client_class = HostClient
        yield application


def test_demo_seeds_two_tenants_whose_users_can_log_in(fresh_app):
    runner = fresh_app.test_cli_runner()
    assert "No tenants yet" in runner.invoke(args=["tenant", "list"]).output

    result = runner.invoke(args=["demo", "--no-serve"])

    assert result.exit_code == 0, result.output
    # Purchase orders to suppliers in every state, for the supplier's demo login to answer.
    from portal.core.purchasing.models import PurchaseOrder, PurchaseOrderStatus

    with fresh_app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == "acme"))
        with tenant_context(tenant):
            states = set(
                db.session.scalars(
                    select(PurchaseOrder.status).where(PurchaseOrder.supplier_id.is_not(None))
                )
            )
        db.session.rollback()
    assert states == set(PurchaseOrderStatus)
    assert "Demo data created." in result.output
    for slug, name in DEMO_TENANTS:
        assert f"http://{slug}.localhost:8000/" in result.output
        with fresh_app.app_context():
            tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
            assert tenant.name == name
            with tenant_context(tenant):
                roles = {u.email: u.role for u in db.session.scalars(select(User))}
        assert {f"{role.value}@{slug}.test": role for role in Role}.items() <= roles.items()
        for role in Role:
            email = f"{role.value}@{slug}.test"
            assert f"{email} / {DEMO_PASSWORD}" in result.output
            client = fresh_app.test_client()
            client.host = f"{slug}.localhost"
            response = client.login(email, DEMO_PASSWORD)
            assert response.status_code == 302, (email, response.get_data(as_text=True)[:300])
            assert client.get("/dashboard").status_code == 200
    # A user of one demo tenant is unknown on the other.
    client = fresh_app.test_client()
    client.host = "nordic.localhost"
    assert client.login("admin@acme.test", DEMO_PASSWORD).status_code == 200

    again = runner.invoke(args=["demo", "--no-serve"])
    assert again.exit_code == 0, again.output
    assert "already present" in again.output
    with fresh_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Tenant)) == 2


def test_demo_refuses_a_database_with_other_tenants(fresh_app):
    runner = fresh_app.test_cli_runner()
    assert runner.invoke(args=["tenant", "create", "realco", "--name", "Real Co"]).exit_code == 0

    result = runner.invoke(args=["demo", "--no-serve"])

    error = one_line_error(result)
    assert "realco" in error
    with fresh_app.app_context():
        assert list(db.session.scalars(select(Tenant.slug))) == ["realco"]


# --- the real console script ---------------------------------------------------------------


def portal_environment(tmp_path, **settings) -> dict[str, str]:
    """Return an environment for the ``portal`` script: ours, no stray PORTAL_* settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PORTAL_")}
    env.update(
        PORTAL_ENV="development",
        PORTAL_SECRET_KEY=secrets.token_urlsafe(48),
        PORTAL_DATABASE_URL=f"sqlite:///{tmp_path / 'portal.db'}",
    )
    env.update(settings)
    return env


def run_portal(env, *args, timeout=60):
    return subprocess.run(
        [PORTAL, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_portal_serve_answers_health_checks(tmp_path):
    env = portal_environment(tmp_path)
    upgraded = run_portal(env, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [PORTAL, "serve", "--host", "127.0.0.1", "--port", str(port), "--threads", "2"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 15
        response = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                response = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        assert response is not None, f"no answer within 15 seconds:\n{log.read_text()}"
        with response:
            assert response.status == 200
            assert response.headers["Server"] == "portal"
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            body = json.loads(response.read())
            assert (body["status"], body["database"]) == ("ok", "ok")
        # `portal serve` runs the embedded worker: it beats within moments of the start.
        deadline = time.monotonic() + 10
        while body["worker"] != "ok" and time.monotonic() < deadline:
            time.sleep(0.2)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as again:
                body = json.loads(again.read())
        assert body["worker"] == "ok", body
        # The platform page is served on the base domain; an unknown host gets 404.
        with urllib.request.urlopen(
            urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": "localhost"}),
            timeout=5,
        ) as page:
            assert page.status == 200
            assert "Supplier and fulfilment portal" in page.read().decode()
        with pytest.raises(urllib.error.HTTPError) as unknown:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
        assert unknown.value.code == 404
        unknown.value.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def test_a_wrong_setting_stops_the_command_with_one_line(tmp_path):
    env = portal_environment(tmp_path, PORTAL_MAIL_PORT="abc")

    result = run_portal(env, "tenant", "list")

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "PORTAL_MAIL_PORT" in lines[0]
    assert "'abc'" in lines[0]
    assert result.stdout == ""


def test_an_unusable_database_stops_the_command_with_one_line(tmp_path):
    env = portal_environment(
        tmp_path, PORTAL_DATABASE_URL=f"sqlite:///{tmp_path / 'missing' / 'portal.db'}"
    )

    result = run_portal(env, "tenant", "list")

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: the database cannot be used")


def test_the_cli_lists_its_commands(tmp_path):
    result = run_portal(portal_environment(tmp_path), "--help")
    assert result.returncode == 0, result.stderr
    for command in ("tenant", "user", "serve", "demo", "db"):
        assert f"  {command}" in result.stdout
