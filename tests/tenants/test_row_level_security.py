"""PostgreSQL row-level security: the database's own wall between tenants.

These tests always run on PostgreSQL (PORTAL_TEST_POSTGRES_URL, default the local server),
whatever database the rest of the suite uses, because SQLite has no such wall.
"""

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import QueuePool

from portal.db import db
from portal.tenants.context import TenantRef, tenant_context
from portal.tenants.rls import POLICY_NAME
from portal.testing import factories
from portal.testing.fixtures import APP_ROLE, postgres_database, postgres_server_url, separate_app

pytestmark = pytest.mark.postgres

SERVER = postgres_server_url()


@pytest.fixture(scope="module")
def pg():
    database = postgres_database(SERVER)
    with separate_app(database, mail_port=1) as app:
        with app.app_context():
            tenants = []
            for _ in range(2):
                tenant = factories.make_tenant()
                factories.make_user(tenant)
                factories.make_user(tenant)
                tenants.append(TenantRef(id=tenant.id, slug=tenant.slug))
            db.session.commit()
        yield app, database, tenants


def _tenant_tables(app):
    with app.app_context():
        return sorted(t.name for t in db.metadata.sorted_tables if not t.info.get("platform"))


def test_every_tenant_table_has_the_policy(pg):
    app, database, _ = pg
    engine = create_engine(database.admin_url)
    with engine.connect() as conn:
        enabled = {
            name
            for name, on in conn.execute(
                text("SELECT relname, relrowsecurity FROM pg_class WHERE relkind = 'r'")
            )
            if on
        }
        policies = {
            row[0]
            for row in conn.execute(
                text("SELECT tablename FROM pg_policies WHERE policyname = :p"), {"p": POLICY_NAME}
            )
        }
    engine.dispose()
    tables = set(_tenant_tables(app))
    assert tables <= enabled
    assert tables <= policies


def test_the_application_role_is_bound_by_the_policies(pg):
    app, database, _ = pg
    engine = create_engine(database.admin_url)
    with engine.connect() as conn:
        role = conn.execute(
            text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :r"), {"r": APP_ROLE}
        ).one()
        owners = set(
            conn.scalars(
                text("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
            )
        )
    engine.dispose()
    assert role == (False, False)
    assert APP_ROLE not in owners
    assert make_url(app.config["SQLALCHEMY_DATABASE_URI"]).username == APP_ROLE


def test_raw_sql_without_a_tenant_sees_nothing(pg):
    app, _, tenants = pg
    with app.app_context(), db.engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM users")) == 0
        conn.execute(
            text("SELECT set_config('portal.tenant_id', :t, true)"), {"t": str(tenants[0].id)}
        )
        assert conn.scalar(text("SELECT count(*) FROM users")) == 2
        assert (
            conn.scalar(
                text("SELECT count(*) FROM users WHERE tenant_id = :t"), {"t": tenants[1].id}
            )
            == 0
        )


def test_the_setting_ends_with_the_transaction_on_a_pooled_connection(pg):
    _, database, tenants = pg
    # One pooled connection: the second transaction gets the very same connection back.
    engine = create_engine(database.app_url, poolclass=QueuePool, pool_size=1, max_overflow=0)
    with engine.begin() as conn:
        pid = conn.scalar(text("SELECT pg_backend_pid()"))
        conn.execute(
            text("SELECT set_config('portal.tenant_id', :t, true)"), {"t": str(tenants[0].id)}
        )
        assert conn.scalar(text("SELECT count(*) FROM users")) == 2
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT pg_backend_pid()")) == pid
        assert conn.scalar(text("SELECT count(*) FROM users")) == 0
    engine.dispose()


def test_rows_cannot_be_written_into_another_tenant(pg):
    app, _, tenants = pg
    with app.app_context(), db.engine.connect() as conn:
        conn.execute(
            text("SELECT set_config('portal.tenant_id', :t, true)"), {"t": str(tenants[0].id)}
        )
        with pytest.raises(Exception, match="row-level security"):
            conn.execute(
                text(
                    "INSERT INTO clients (tenant_id, id, name, portal_access, created_at, updated_at)"
                    " VALUES (:t, gen_random_uuid(), 'x', true, now(), now())"
                ),
                {"t": tenants[1].id},
            )


def test_orm_sessions_set_the_tenant_per_transaction(pg):
    app, _, tenants = pg
    with app.app_context(), tenant_context(tenants[1]):
        setting = db.session.scalar(text("SELECT current_setting('portal.tenant_id', true)"))
        assert setting == str(tenants[1].id)
        db.session.commit()
    with app.app_context():
        setting = db.session.scalar(text("SELECT current_setting('portal.tenant_id', true)"))
        assert setting in ("", None)


def test_the_audit_log_is_append_only_for_the_application(pg):
    app, _, tenants = pg
    with app.app_context(), db.engine.connect() as conn:
        conn.execute(
            text("SELECT set_config('portal.tenant_id', :t, true)"), {"t": str(tenants[0].id)}
        )
        with pytest.raises(Exception, match="permission denied"):
            conn.execute(text("UPDATE audit_entries SET action = 'forged'"))
