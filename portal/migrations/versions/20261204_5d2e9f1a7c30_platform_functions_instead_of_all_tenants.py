"""platform functions instead of all_tenants

The tenant policy no longer admits every row when ``portal.all_tenants`` is on: any role may
set that, the application's included. Cross-tenant questions of platform code go through
SECURITY DEFINER functions that answer with ids and counts only (portal/tenants/platform.py).

The policy conditions and function bodies are written out here, not imported, so that this
revision keeps doing the same thing when the application's code moves on.

Revision ID: 5d2e9f1a7c30
Revises: 3c1f8a2d9b70
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from portal.tenants.rls import POLICY_NAME, policy_statements

revision = '5d2e9f1a7c30'
down_revision = '3c1f8a2d9b70'
branch_labels = None
depends_on = None

TENANT_ONLY = "(tenant_id = nullif(current_setting('portal.tenant_id', true), '')::uuid)"
TENANT_OR_ALL = (
    "(current_setting('portal.all_tenants', true) = 'on'"
    " OR tenant_id = nullif(current_setting('portal.tenant_id', true), '')::uuid)"
)

# name(argument types) -> (arguments, result, body)
FUNCTIONS = {
    "portal_due_outbox_messages(timestamptz, integer)": (
        "due_by timestamptz, max_rows integer",
        "TABLE (tenant_id uuid, id uuid)",
        """
        SELECT m.tenant_id, m.id
          FROM outbox_messages AS m
         WHERE m.status = 'pending' AND m.next_attempt_at <= due_by
         ORDER BY m.next_attempt_at
         LIMIT max_rows
        """,
    ),
    "portal_waiting_work(timestamptz)": (
        "due_by timestamptz",
        "TABLE (deliveries bigint, jobs bigint)",
        """
        SELECT (SELECT count(*)
                  FROM outbox_messages AS m
                 WHERE m.status = 'pending' AND m.next_attempt_at <= due_by),
               (SELECT count(*)
                  FROM jobs AS j
                 WHERE j.status = 'running'
                    OR (j.status = 'queued' AND j.dispatched_at IS NOT NULL))
        """,
    ),
    "portal_jobs_to_recover(timestamptz, timestamptz)": (
        "started_before timestamptz, dispatched_before timestamptz",
        "TABLE (tenant_id uuid, id uuid)",
        """
        SELECT j.tenant_id, j.id
          FROM jobs AS j
         WHERE (j.status = 'running' AND j.started_at < started_before)
            OR (j.status = 'queued' AND j.dispatched_at < dispatched_before)
        """,
    ),
}


def _tenant_tables(bind) -> list[str]:
    # Tenant-owned tables are those whose primary key holds tenant_id; tenant_domains has
    # the column too, but it is a platform table without the policy.
    return list(
        bind.scalars(
            sa.text(
                "SELECT tc.table_name"
                "  FROM information_schema.table_constraints AS tc"
                "  JOIN information_schema.key_column_usage AS kcu"
                "    ON kcu.constraint_schema = tc.constraint_schema"
                "   AND kcu.constraint_name = tc.constraint_name"
                " WHERE tc.constraint_type = 'PRIMARY KEY'"
                "   AND tc.table_schema = current_schema()"
                "   AND kcu.column_name = 'tenant_id'"
                " ORDER BY tc.table_name"
            )
        )
    )


def _replace_policies(bind, visible: str) -> None:
    for table in _tenant_tables(bind):
        op.execute(f"DROP POLICY IF EXISTS {POLICY_NAME} ON {table}")
        for statement in policy_statements(table, visible):
            op.execute(statement)


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    _replace_policies(bind, TENANT_ONLY)
    schema = bind.scalar(sa.text("SELECT quote_ident(current_schema())"))
    for signature, (arguments, result, body) in FUNCTIONS.items():
        name = signature.partition("(")[0]
        op.execute(
            f"CREATE FUNCTION {name}({arguments}) RETURNS {result}"
            f" LANGUAGE sql STABLE SECURITY DEFINER"
            f" SET search_path = {schema}, pg_temp"
            f" AS $body${body}$body$"
        )
        # Functions are executable by everyone unless revoked; migrations/env.py grants the
        # application role alone.
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for signature in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    _replace_policies(bind, TENANT_OR_ALL)
