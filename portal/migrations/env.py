"""Alembic environment: migrations run as the owner of the tables.

With ``PORTAL_DATABASE_ADMIN_URL`` set, migrations connect with it (the tables' owner), and
afterwards grant the application's role (the user of ``PORTAL_DATABASE_URL``) what it needs,
so that the application never owns the tables and row-level security binds it. On
PostgreSQL it also stores the key of the tenant proofs (``portal/tenants/rls.py``).
"""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app
from sqlalchemy import create_engine, inspect, make_url, text

from portal.tenants.platform import FUNCTIONS as PLATFORM_FUNCTIONS
from portal.tenants.rls import grant_statements, tenant_key

config = context.config
if config.config_file_name:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_metadata = current_app.extensions["migrate"].db.metadata
app_url = current_app.config["SQLALCHEMY_DATABASE_URI"]
admin_url = current_app.config.get("PORTAL_DATABASE_ADMIN_URL") or app_url


def render_item(type_, obj, autogen_context):
    # Our column types live in portal.db; render them with their module path.
    if type_ == "type" and obj.__class__.__module__ == "portal.db":
        return f"portal.db.{obj.__class__.__name__}()"
    return False


def run_migrations_offline():
    context.configure(
        url=admin_url, target_metadata=target_metadata, literal_binds=True, render_item=render_item
    )
    with context.begin_transaction():
        context.run_migrations()


def _grant_to_application_role(connection) -> None:
    app_user = make_url(app_url).username
    admin_user = make_url(admin_url).username
    if connection.dialect.name != "postgresql" or not app_user or app_user == admin_user:
        return
    tables = inspect(connection).get_table_names()
    # Only the platform functions that exist at the revision just reached.
    functions = list(
        connection.scalars(
            text(
                "SELECT p.oid::regprocedure::text FROM pg_proc AS p"
                " WHERE p.pronamespace = current_schema()::regnamespace"
                " AND p.proname = ANY(:names)"
            ),
            {"names": list(PLATFORM_FUNCTIONS)},
        )
    )
    for statement in grant_statements(app_user, tables, functions):
        connection.execute(text(statement))
    logger.info(
        "Granted the application role %s access to %d tables and %d functions",
        app_user,
        len(tables),
        len(functions),
    )


def _store_tenant_key(connection) -> None:
    """Write the key of the tenant proofs (portal/tenants/rls.py), derived from this
    application's secret key, where only the tables' owner can read it. After every upgrade,
    so a changed secret key takes effect with the next ``portal db upgrade``."""
    if connection.dialect.name != "postgresql":
        return
    if not connection.scalar(text("SELECT to_regclass('portal_private.tenant_key') IS NOT NULL")):
        return
    connection.execute(
        text(
            "INSERT INTO portal_private.tenant_key (id, key) VALUES (1, :key)"
            " ON CONFLICT (id) DO UPDATE SET key = excluded.key"
        ),
        {"key": tenant_key(current_app.config["SECRET_KEY"])},
    )


def run_migrations_online():
    engine = create_engine(admin_url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_item=render_item,
            compare_type=True,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
            _store_tenant_key(connection)
            _grant_to_application_role(connection)
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
