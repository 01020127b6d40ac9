"""PostgreSQL row-level security: the database's own wall between tenants.

These tests always run on PostgreSQL (PORTAL_TEST_POSTGRES_URL, default the local server),
whatever database the rest of the suite uses, because SQLite has no such wall.
"""

import re
from datetime import timedelta

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, func, make_url, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import QueuePool

from portal.db import db, utcnow
from portal.jobs.models import JobStatus
from portal.jobs.services import create_job
from portal.outbox.services import enqueue
from portal.tenants import platform
from portal.tenants.context import TenantRef, tenant_context
from portal.tenants.rls import POLICY_NAME, SET_TENANT_SQL, tenant_key, tenant_proof
from portal.tenants.scoping import database_tenant_settings
from portal.testing import factories
from portal.testing.fixtures import (
    APP_ROLE,
    close_app,
    postgres_database,
    postgres_server_url,
    separate_app,
)

pytestmark = pytest.mark.postgres

SERVER = postgres_server_url()


def set_tenant(conn, app, tenant_id, proof=None) -> None:
    """Set the tenant of the transaction as the application does: the id with its proof."""
    with app.app_context():
        settings = dict(database_tenant_settings(tenant_id))
    if proof is not None:
        settings["tenant_proof"] = proof
    conn.execute(text(SET_TENANT_SQL), settings)


@pytest.fixture(scope="module")
def pg():
    database = postgres_database(SERVER)
    with separate_app(database, mail_port=1) as app:
        with app.app_context():
            tenants = []
            for _ in range(2):
                tenant = factories.make_tenant()
                factories.make_user(tenant)
                author = factories.make_user(tenant)
                with tenant_context(tenant):
                    # Work that platform code looks for across tenants.
                    enqueue("email", {"to": "a@example.test", "subject": "s", "text": "t"})
                    job = create_job(
                        "order_import", data=b"x", name="o.xlsx", created_by_id=author.id
                    )
                    job.status = JobStatus.RUNNING
                    job.started_at = utcnow() - timedelta(hours=1)
                    db.session.commit()
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
        set_tenant(conn, app, tenants[0].id)
        assert conn.scalar(text("SELECT count(*) FROM users")) == 2
        assert (
            conn.scalar(
                text("SELECT count(*) FROM users WHERE tenant_id = :t"), {"t": tenants[1].id}
            )
            == 0
        )


def test_the_setting_ends_with_the_transaction_on_a_pooled_connection(pg):
    app, database, tenants = pg
    # One pooled connection: the second transaction gets the very same connection back.
    engine = create_engine(database.app_url, poolclass=QueuePool, pool_size=1, max_overflow=0)
    with engine.begin() as conn:
        pid = conn.scalar(text("SELECT pg_backend_pid()"))
        set_tenant(conn, app, tenants[0].id)
        assert conn.scalar(text("SELECT count(*) FROM users")) == 2
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT pg_backend_pid()")) == pid
        assert conn.scalar(text("SELECT count(*) FROM users")) == 0
    engine.dispose()


def test_rows_cannot_be_written_into_another_tenant(pg):
    app, _, tenants = pg
    with app.app_context(), db.engine.connect() as conn:
        set_tenant(conn, app, tenants[0].id)
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
        set_tenant(conn, app, tenants[0].id)
        with pytest.raises(Exception, match="permission denied"):
            conn.execute(text("UPDATE audit_entries SET action = 'forged'"))


# --- nothing the application role may set lifts the wall ---------------------------------------

# Settings an attacker with SQL injection would try; every portal.* placeholder the session
# knows is added to these.
TEMPTING_SETTINGS = ("portal.all_tenants", "portal.platform", "portal.bypass", "portal.role")


def _set_everything_tempting(conn) -> None:
    known = set(conn.scalars(text("SELECT name FROM pg_settings WHERE name LIKE 'portal.%'")))
    for name in sorted(known | set(TEMPTING_SETTINGS)):
        if name != "portal.tenant_id":
            conn.execute(text("SELECT set_config(:n, 'on', false)"), {"n": name})


def _count(conn, table, *where) -> int:
    return conn.scalar(select(func.count()).select_from(table).where(*where))


def test_no_setting_the_application_may_change_shows_another_tenants_rows(pg):
    app, database, (mine, _theirs) = pg
    tables = [db.metadata.tables[name] for name in _tenant_tables(app)]
    engine = create_engine(database.app_url, poolclass=QueuePool, pool_size=1, max_overflow=0)
    with engine.connect() as conn:
        # Session level, as an injected statement would do it: it outlives the transaction.
        _set_everything_tempting(conn)
        conn.commit()
        assert conn.scalar(text("SELECT current_setting('portal.all_tenants')")) == "on"
        for table in tables:
            assert _count(conn, table) == 0, table.name
        conn.rollback()

        set_tenant(conn, app, mine.id)
        for table in tables:
            assert _count(conn, table, table.c.tenant_id != mine.id) == 0, table.name
        # The walk is not vacuous: the tenant's own rows are there.
        for name in ("users", "outbox_messages", "jobs"):
            assert _count(conn, db.metadata.tables[name]) > 0, name
        conn.rollback()
    engine.dispose()


def test_turning_row_security_off_is_an_error_not_a_way_round(pg):
    _, database, _ = pg
    engine = create_engine(database.app_url)
    with engine.connect() as conn:
        conn.execute(text("SET row_security = off"))
        with pytest.raises(DBAPIError, match="row-level security"):
            conn.execute(text("SELECT count(*) FROM users"))
        conn.rollback()
        with pytest.raises(DBAPIError, match="permission denied"):
            conn.execute(text("SET ROLE postgres"))
    engine.dispose()


def test_the_policies_read_no_setting_but_the_tenant(pg):
    app, database, _ = pg
    engine = create_engine(database.admin_url)
    with engine.connect() as conn:
        policies = conn.execute(
            text(
                "SELECT tablename, policyname, permissive, qual, with_check FROM pg_policies"
                " WHERE schemaname = current_schema()"
            )
        ).all()
    engine.dispose()
    # Permissive policies add up: one more on a table could admit rows of its own accord.
    assert sorted(row.tablename for row in policies) == _tenant_tables(app)
    for row in policies:
        assert (row.policyname, row.permissive) == (POLICY_NAME, "PERMISSIVE")
        for condition in (row.qual, row.with_check):
            # No setting is read by the policy itself: only the function that checks the proof.
            assert "current_setting" not in condition, (row.tablename, condition)
            assert re.fullmatch(
                r"\(tenant_id = \( SELECT portal_current_tenant\(\) AS portal_current_tenant\)\)",
                condition,
            ), (row.tablename, condition)


def test_another_tenants_id_without_its_proof_shows_nothing(pg):
    """An SQL injection may set portal.tenant_id to any id it learnt; without the proof, which
    needs the application's secret key, the id opens nothing."""
    app, database, (mine, theirs) = pg
    tables = [db.metadata.tables[name] for name in _tenant_tables(app)]
    engine = create_engine(database.app_url, poolclass=QueuePool, pool_size=1, max_overflow=0)
    with app.app_context():
        my_proof = database_tenant_settings(mine.id)["tenant_proof"]
    forgeries = {
        "no proof": "",
        "my proof": my_proof,
        "a made-up key": tenant_proof(b"x" * 32, str(theirs.id)),
        "the proof under the secret key itself": tenant_proof(
            app.config["SECRET_KEY"].encode(), str(theirs.id)
        ),
    }
    with engine.connect() as conn:
        for forgery, proof in forgeries.items():
            set_tenant(conn, app, theirs.id, proof=proof)
            for table in tables:
                assert _count(conn, table) == 0, (forgery, table.name)
            with pytest.raises(DBAPIError, match="row-level security"):
                conn.execute(
                    text(
                        "INSERT INTO clients (tenant_id, id, name, portal_access, created_at,"
                        " updated_at) VALUES (:t, gen_random_uuid(), 'x', true, now(), now())"
                    ),
                    {"t": theirs.id},
                )
            conn.rollback()
        # Their own proof opens their rows: the check above is not vacuous.
        set_tenant(conn, app, theirs.id)
        assert _count(conn, db.metadata.tables["users"]) == 2
        conn.rollback()
    engine.dispose()


def test_the_application_role_cannot_read_the_key(pg):
    app, database, _ = pg
    engine = create_engine(database.app_url)
    with engine.connect() as conn:
        with pytest.raises(DBAPIError, match="permission denied"):
            conn.execute(text("SELECT key FROM portal_private.tenant_key"))
        conn.rollback()
        # The function's source, which anyone may read, holds no key.
        source = conn.scalar(
            text("SELECT prosrc FROM pg_proc WHERE proname = 'portal_current_tenant'")
        )
        assert "portal_private.tenant_key" in source
        assert tenant_key(app.config["SECRET_KEY"]).hex() not in source
        # Nor can it replace the function or put a key of its own in place.
        with pytest.raises(DBAPIError, match=r"must be owner|permission denied"):
            conn.execute(
                text(
                    "CREATE OR REPLACE FUNCTION portal_current_tenant() RETURNS uuid"
                    " LANGUAGE sql AS $$ SELECT NULL::uuid $$"
                )
            )
        conn.rollback()
    engine.dispose()
    admin = create_engine(database.admin_url)
    with admin.connect() as conn:
        stored = conn.scalar(text("SELECT key FROM portal_private.tenant_key"))
    admin.dispose()
    assert bytes(stored) == tenant_key(app.config["SECRET_KEY"])


# --- the platform functions --------------------------------------------------------------------


def test_the_platform_functions_answer_with_ids_and_counts_only(pg):
    _, database, _ = pg
    engine = create_engine(database.admin_url)
    with engine.connect() as conn:
        functions = conn.execute(
            text(
                "SELECT p.proname, p.oid::regprocedure::text AS signature, p.proconfig,"
                "       pg_get_userbyid(p.proowner) AS owner, p.proacl::text[] AS acl,"
                "       coalesce((SELECT array_agg(format_type(t, NULL) ORDER BY n)"
                "          FROM unnest(p.proallargtypes, p.proargmodes) WITH ORDINALITY"
                "               AS a(t, m, n) WHERE m = 't'),"
                "         ARRAY[format_type(p.prorettype, NULL)]) AS columns"
                "  FROM pg_proc AS p"
                " WHERE p.pronamespace = current_schema()::regnamespace AND p.prosecdef"
            )
        ).all()
        owner = conn.scalar(text("SELECT tableowner FROM pg_tables WHERE tablename = 'jobs'"))
        executable = {
            row.proname: conn.scalar(
                text("SELECT has_function_privilege(:r, :f, 'EXECUTE')"),
                {"r": APP_ROLE, "f": row.signature},
            )
            for row in functions
        }
    engine.dispose()
    # A new SECURITY DEFINER function is a new hole in the wall: it must be listed and checked.
    assert sorted(row.proname for row in functions) == sorted(platform.FUNCTIONS)
    for row in functions:
        assert row.owner == owner
        assert any(entry.startswith("search_path=") for entry in row.proconfig), row.proname
        assert set(row.columns) <= {"uuid", "bigint"}, row.proname
        # Not executable by PUBLIC (an ACL entry "=X/owner"), only by the application role.
        assert not any(entry.startswith("=") for entry in row.acl), row.proname
        assert executable[row.proname], row.proname


def test_the_application_role_reaches_every_tenant_only_through_the_functions(pg):
    app, _, tenants = pg
    with app.app_context():
        assert db.session.get_bind().dialect.name == "postgresql"
        later = utcnow() + timedelta(minutes=1)
        due = platform.due_outbox_messages(later, 50)
        lost = platform.jobs_to_recover(started_before=later, dispatched_before=later)
        waiting = platform.waiting_work(later)
        db.session.rollback()
    assert {tenant_id for tenant_id, _ in due} == {t.id for t in tenants}
    assert {tenant_id for tenant_id, _ in lost} == {t.id for t in tenants}
    assert (waiting.deliveries, waiting.jobs) == (2, 2)


def test_downgrade_brings_back_the_old_policy_and_drops_the_functions():
    database = postgres_database(SERVER)
    with separate_app(database, mail_port=1) as app, app.app_context():
        engine = create_engine(database.admin_url)

        def state():
            with engine.connect() as conn:
                conditions = set(conn.scalars(text("SELECT qual FROM pg_policies")))
                names = set(
                    conn.scalars(text("SELECT proname FROM pg_proc WHERE prosecdef"))
                ) & set(platform.FUNCTIONS)
            return any("portal.all_tenants" in c for c in conditions), names

        try:
            assert state() == (False, set(platform.FUNCTIONS))
            downgrade(revision="3c1f8a2d9b70")
            assert state() == (True, set())
            upgrade()
            assert state() == (False, set(platform.FUNCTIONS))
        finally:
            engine.dispose()


def test_a_process_with_another_secret_key_is_reported_not_served_empty(pg):
    """Processes of one installation must share the secret key: one that does not sees no
    tenant's rows, so /healthz answers 503 and says why instead of serving empty pages."""
    from portal import create_app

    app, database, _ = pg
    assert app.test_client().get("/healthz").status_code == 200
    stranger = create_app(
        {
            "ENVIRON": {
                "PORTAL_ENV": "development",
                "PORTAL_SECRET_KEY": "another-secret-key-of-this-installation-0123",
                "PORTAL_DATABASE_URL": database.app_url,
                "PORTAL_WORKER": "embedded",
            },
            "TESTING": True,
        }
    )
    try:
        response = stranger.test_client().get("/healthz")
        assert response.status_code == 503
        assert "secret key" in response.get_json()["database"]
    finally:
        close_app(stranger)
