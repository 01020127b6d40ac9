"""The ``portal`` command: Flask's CLI group with the portal's own commands.

Errors are one clear line on standard error and exit code 1.
"""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from portal.config import ConfigError


def _create_app() -> Flask:
    from portal import create_app

    return create_app()


def main() -> None:
    """Run the ``portal`` console script."""
    cli = FlaskGroup(
        create_app=_create_app,
        add_version_option=False,
        load_dotenv=False,
        help="Run and manage the supplier and fulfilment portal.",
    )
    try:
        cli.main(prog_name="portal")
    except ConfigError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(1)
    except DBAPIError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        click.echo(
            f"Error: the database cannot be used ({reason}). Is it running, and did "
            "'portal db upgrade' run?",
            err=True,
        )
        sys.exit(1)


def _fail(error: Exception) -> click.ClickException:
    return click.ClickException(str(error))


def _tenant_by_slug(slug: str):
    from portal.db import db
    from portal.tenants.models import Tenant

    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug.strip().lower()))
    if tenant is None:
        raise click.ClickException(f"There is no tenant with the slug {slug!r}.")
    return tenant


@click.group("tenant", help="Create and list tenants.")
def tenant_group() -> None:
    pass


@tenant_group.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="The tenant's display name.")
@click.option("--domain", "domains", multiple=True, help="A custom domain (repeatable).")
@click.option(
    "--locale",
    "default_locale",
    default="en",
    show_default=True,
    help="The tenant's default language.",
)
@click.option(
    "--timezone", default="UTC", show_default=True, help="IANA time zone, e.g. Europe/Berlin."
)
@with_appcontext
def tenant_create(
    slug: str, name: str, domains: tuple[str, ...], default_locale: str, timezone: str
) -> None:
    """Create a tenant served at SLUG.<PORTAL_BASE_DOMAIN>."""
    from portal.db import db
    from portal.tenants.services import TenantError, create_tenant

    try:
        tenant = create_tenant(
            slug, name, domains=list(domains), default_locale=default_locale, timezone=timezone
        )
    except TenantError as error:
        raise _fail(error) from None
    db.session.commit()
    click.echo(f"Created tenant {tenant.slug}: {_tenant_url(tenant.slug)}")


def _tenant_url(slug: str, port: int | None = None) -> str:
    base = current_app.config["PORTAL_BASE_DOMAIN"]
    return f"http://{slug}.{base}{f':{port}' if port else ''}/"


@tenant_group.command("list")
@with_appcontext
def tenant_list() -> None:
    """List the tenants with their status and domains."""
    from portal.db import db
    from portal.tenants.models import Tenant

    tenants = db.session.scalars(select(Tenant).order_by(Tenant.slug)).all()
    if not tenants:
        click.echo("No tenants yet. Create one with: portal tenant create SLUG --name NAME")
        return
    for tenant in tenants:
        domains = ", ".join(d.domain for d in tenant.domains)
        click.echo(
            f"{tenant.slug:<20} {tenant.status.value:<10} {tenant.name}"
            + (f"  [{domains}]" if domains else "")
        )


@click.group("user", help="Create users.")
def user_group() -> None:
    pass


@user_group.command("create")
@click.option("--tenant", "slug", required=True, help="The tenant's slug.")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(["admin", "staff", "client", "supplier"]), required=True)
@click.option("--name", default="", help="The user's name.")
@click.option(
    "--company",
    default=None,
    help="For client and supplier users: the client or supplier company "
    "(created when missing; default: the e-mail's domain).",
)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_appcontext
def user_create(
    slug: str, email: str, role: str, name: str, company: str | None, password: str
) -> None:
    """Create a user of a tenant; without --password it prompts for one."""
    from portal.accounts.models import Role
    from portal.accounts.services import AccountError, create_user, normalise_email
    from portal.core.clients.models import Client
    from portal.core.suppliers.models import Supplier
    from portal.db import db
    from portal.tenants.context import tenant_context

    tenant = _tenant_by_slug(slug)
    with tenant_context(tenant):
        try:
            email = normalise_email(email)
            client = supplier = None
            if role in ("client", "supplier"):
                model = Client if role == "client" else Supplier
                company_name = (company or email.split("@")[1]).strip()
                found = db.session.scalar(select(model).where(model.name == company_name))
                if found is None:
                    found = model(name=company_name)
                    db.session.add(found)
                client, supplier = (found, None) if role == "client" else (None, found)
            user = create_user(
                email, password, Role(role), name=name, client=client, supplier=supplier
            )
        except AccountError as error:
            raise _fail(error) from None
        # Read before the commit expires the objects: reloading the user outside the tenant
        # context would find no row under PostgreSQL's row-level security.
        done = f"Created {role} {user.email} for tenant {tenant.slug}."
        db.session.commit()
    click.echo(done)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@with_appcontext
def serve(host: str, port: int, threads: int) -> None:
    """Serve the portal with a production WSGI server (waitress) and the in-process worker."""
    _serve(current_app._get_current_object(), host, port, threads)


def _serve(app: Flask, host: str, port: int, threads: int) -> None:
    import waitress

    from portal.db import db
    from portal.worker.embedded import EmbeddedWorker
    from portal.worker.services import mode

    # The command's own session must not keep a transaction open while the threads serve:
    # on SQLite it holds a lock that makes the requests' writes fail (portal/db.py).
    db.session.remove()
    # With Celery, `portal worker` delivers; this process only hands work over.
    worker = EmbeddedWorker(app).start() if mode(app) == "embedded" else None
    try:
        waitress.serve(app, host=host, port=port, threads=threads, ident="portal")
    finally:
        if worker is not None:
            worker.stop()


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Create and seed the database, then stop.")
@with_appcontext
def demo(host: str, port: int, no_serve: bool) -> None:
    """Create the database if needed, seed the demo tenants, print their logins and serve."""
    from flask_migrate import upgrade

    from portal.demo import DEMO_PASSWORD, DEMO_TENANTS, DemoRefused, seed_demo

    app = current_app._get_current_object()
    upgrade()
    try:
        created = seed_demo()
    except DemoRefused as error:
        raise _fail(error) from None
    click.echo("Demo data " + ("created." if created else "already present."))
    for slug, _name in DEMO_TENANTS:
        click.echo(f"\n  {_tenant_url(slug, port)}")
        for role in ("admin", "staff", "client", "supplier"):
            click.echo(f"    {role + ':':<10} {role}@{slug}.test / {DEMO_PASSWORD}")
    if no_serve:
        return
    # The demo is served over plain HTTP on this machine: cookies cannot be Secure-only.
    app.config["SESSION_COOKIE_SECURE"] = False
    click.echo(f"\nServing on http://{host}:{port}/ (Ctrl+C to stop)")
    _serve(app, host, port, 8)


@click.group("plugins", help="Show the installed plugins.")
def plugins_group() -> None:
    pass


@plugins_group.command("list")
@click.option(
    "--tenant", "slug", default=None, help="Also show whether each plugin is enabled for it."
)
@with_appcontext
def plugins_list(slug: str | None) -> None:
    """List the loaded plugins and what they offer; plugins that failed go to stderr."""
    from portal.plugins.host import current_host
    from portal.tenants.context import tenant_context

    host = current_host()
    enabled: set[str] | None = None
    if slug is not None:
        tenant = _tenant_by_slug(slug)
        with tenant_context(tenant):
            enabled = host.enabled_names()
    if not host.plugins:
        click.echo("No plugins are loaded.")
    for name, info in sorted(host.plugins.items()):
        package = f"{info.distribution} {info.version}".strip() or "-"
        offers = []
        if info.integrations:
            offers.append("integrations: " + ", ".join(cls.key for cls in info.integrations))
        if info.rule_sets:
            offers.append("rule sets: " + ", ".join(cls.key for cls in info.rule_sets))
        line = f"{name:<20} {package:<20} {'; '.join(offers) or 'offers nothing'}"
        if enabled is not None:
            line += "  [" + ("enabled" if name in enabled else "disabled") + "]"
        elif info.default_enabled:
            line += "  [enabled by default]"
        click.echo(line)
    for name, reason in sorted(host.failures.items()):
        click.echo(f"failed: {name}: {reason}", err=True)


def register_commands(app: Flask) -> None:
    from portal.worker.cli import worker

    for command in (tenant_group, user_group, plugins_group, serve, demo, worker):
        app.cli.add_command(command)
