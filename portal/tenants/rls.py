"""Row-level security on PostgreSQL: the database's own wall between tenants.

Migrations call :func:`enable_row_level_security` for every tenant-owned table. The policy
admits a row when its ``tenant_id`` equals the tenant the application set for the current
transaction, or when platform code explicitly works across all tenants. The application
connects as a role that does not own the tables, so the policies bind it.
"""

from __future__ import annotations

POLICY_NAME = "tenant_isolation"
VISIBLE = (
    "(current_setting('portal.all_tenants', true) = 'on'"
    " OR tenant_id = nullif(current_setting('portal.tenant_id', true), '')::uuid)"
)


def policy_statements(table: str) -> list[str]:
    """Return the SQL that puts ``table`` behind the tenant policy."""
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"CREATE POLICY {POLICY_NAME} ON {table} USING {VISIBLE} WITH CHECK {VISIBLE}",
    ]


def enable_row_level_security(op, table: str) -> None:
    """Put ``table`` behind the tenant policy when the migration runs on PostgreSQL."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in policy_statements(table):
        op.execute(statement)


def disable_row_level_security(op, table: str) -> None:
    """Undo :func:`enable_row_level_security` (for downgrades)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP POLICY IF EXISTS {POLICY_NAME} ON {table}")
    op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")


# Tables the application role may only read and append to: the audit trail is never rewritten.
APPEND_ONLY_TABLES = ("audit_entries", "stock_movements")


def grant_statements(role: str, tables: list[str]) -> list[str]:
    """Return the GRANTs that let the application ``role`` work on ``tables``."""
    quoted = '"' + role.replace('"', '""') + '"'
    statements = [f"GRANT USAGE ON SCHEMA public TO {quoted}"]
    for table in tables:
        if table == "alembic_version":
            statements.append(f"GRANT SELECT ON {table} TO {quoted}")
        elif table in APPEND_ONLY_TABLES:
            statements.append(f"GRANT SELECT, INSERT ON {table} TO {quoted}")
        else:
            statements.append(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {quoted}")
    return statements
