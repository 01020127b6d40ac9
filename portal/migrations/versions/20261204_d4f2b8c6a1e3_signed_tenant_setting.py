"""signed tenant setting

The tenant policy admitted the rows of whatever tenant id ``portal.tenant_id`` named, and
the application role may set that to any value: an SQL injection that learnt another
tenant's id could read that tenant's rows. Now the policy asks ``portal_current_tenant()``,
a SECURITY DEFINER function that returns the id only when ``portal.tenant_proof`` holds the
SHA-256 of a key and the id. The key lives in the schema ``portal_private``, which the
application role cannot use; ``portal/migrations/env.py`` writes it (derived from the
application's secret key) after every upgrade, so the application computes the same proof
in Python and nobody without the secret key can.

The policy evaluates the function once per statement (a sub-select), where it read the
setting per row before.

The conditions and the function body are written out here, not imported, so that this
revision keeps doing the same thing when the application's code moves on.

Revision ID: d4f2b8c6a1e3
Revises: c1d0a7e3b5f2
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from portal.tenants.rls import POLICY_NAME, policy_statements

revision = "d4f2b8c6a1e3"
down_revision = "c1d0a7e3b5f2"
branch_labels = None
depends_on = None

SETTING_ONLY = "(tenant_id = nullif(current_setting('portal.tenant_id', true), '')::uuid)"
PROVEN = "(tenant_id = (SELECT portal_current_tenant()))"

CURRENT_TENANT = """
    SELECT nullif(current_setting('portal.tenant_id', true), '')::uuid
      FROM portal_private.tenant_key AS k
     WHERE k.id = 1
       AND current_setting('portal.tenant_proof', true) = encode(
             sha256(k.key || convert_to(current_setting('portal.tenant_id', true), 'UTF8')),
             'hex')
"""


def _tenant_tables(bind) -> list[str]:
    # Tenant-owned tables are those whose primary key holds tenant_id.
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
    op.execute("CREATE SCHEMA IF NOT EXISTS portal_private")
    op.execute("REVOKE ALL ON SCHEMA portal_private FROM PUBLIC")
    op.execute(
        "CREATE TABLE portal_private.tenant_key ("
        " id smallint PRIMARY KEY CHECK (id = 1),"
        " key bytea NOT NULL CHECK (length(key) = 32))"
    )
    op.execute(
        "CREATE FUNCTION portal_current_tenant() RETURNS uuid"
        " LANGUAGE sql STABLE SECURITY DEFINER"
        " SET search_path = pg_catalog, pg_temp"
        f" AS $body${CURRENT_TENANT}$body$"
    )
    # migrations/env.py grants it to the application role alone.
    op.execute("REVOKE ALL ON FUNCTION portal_current_tenant() FROM PUBLIC")
    _replace_policies(bind, PROVEN)


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    _replace_policies(bind, SETTING_ONLY)
    op.execute("DROP FUNCTION IF EXISTS portal_current_tenant()")
    op.execute("DROP SCHEMA IF EXISTS portal_private CASCADE")
