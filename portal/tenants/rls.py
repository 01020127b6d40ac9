"""Row-level security on PostgreSQL: the database's own wall between tenants.

Migrations call :func:`enable_row_level_security` for every tenant-owned table. The policy
admits a row only when its ``tenant_id`` equals the tenant the application set for the
current transaction; no other setting widens it. Platform code that must look across tenants
(the outbox worker, the sweep for lost jobs, ``/healthz``) asks the ``SECURITY DEFINER``
functions of :mod:`portal.tenants.platform`, which answer with ids and counts only. The
application connects as a role that does not own the tables, so the policies bind it.
"""

from __future__ import annotations

from collections.abc import Iterable

POLICY_NAME = "tenant_isolation"
VISIBLE = "(tenant_id = nullif(current_setting('portal.tenant_id', true), '')::uuid)"


def policy_statements(table: str, visible: str = VISIBLE) -> list[str]:
    """Return the SQL that puts ``table`` behind the tenant policy.

    ``visible`` is the policy's condition; a migration that must keep producing the same
    policy after this module changed passes its own copy.
    """
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"CREATE POLICY {POLICY_NAME} ON {table} USING {visible} WITH CHECK {visible}",
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


def grant_statements(role: str, tables: list[str], functions: Iterable[str] = ()) -> list[str]:
    """Return the GRANTs that let the application ``role`` work on ``tables`` and call the
    platform ``functions`` (each named with its argument types, as ``regprocedure`` prints it)."""
    quoted = '"' + role.replace('"', '""') + '"'
    statements = [f"GRANT USAGE ON SCHEMA public TO {quoted}"]
    statements += [f"GRANT EXECUTE ON FUNCTION {function} TO {quoted}" for function in functions]
    for table in tables:
        if table == "alembic_version":
            statements.append(f"GRANT SELECT ON {table} TO {quoted}")
        elif table in APPEND_ONLY_TABLES:
            statements.append(f"GRANT SELECT, INSERT ON {table} TO {quoted}")
        else:
            statements.append(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {quoted}")
    return statements
