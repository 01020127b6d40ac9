"""Row-level security on PostgreSQL: the database's own wall between tenants.

Migrations call :func:`enable_row_level_security` for every tenant-owned table. The policy
admits a row only when its ``tenant_id`` equals the tenant of the current transaction as
``portal_current_tenant()`` tells it: the tenant id the application set with
``set_config('portal.tenant_id', ..., true)``, but only together with its proof
(``portal.tenant_proof``), a SHA-256 over a key and the id. The key is derived from the
application's secret key; migrations store it in the schema ``portal_private``, which the
application role cannot read, and the ``SECURITY DEFINER`` function compares. So an SQL
injection, which can change any setting but knows no secret key, can name another tenant's
id and still sees nothing of it.

Platform code that must look across tenants (the outbox worker, the sweep for lost jobs,
``/healthz``) asks the ``SECURITY DEFINER`` functions of :mod:`portal.tenants.platform`,
which answer with ids and counts only. The application connects as a role that does not own
the tables, so the policies bind it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

POLICY_NAME = "tenant_isolation"
#: The policy's condition since migration d4f2b8c6a1e3: the tenant that proved itself.
#: The sub-select makes PostgreSQL evaluate the function once per statement, not per row.
VISIBLE = "(tenant_id = (SELECT portal_current_tenant()))"
#: The condition before it, when the setting alone was trusted.
SETTING_ONLY = "(tenant_id = nullif(current_setting('portal.tenant_id', true), '')::uuid)"
#: The schema that holds the key; owned by the migrating role, closed to the application.
PRIVATE_SCHEMA = "portal_private"
CURRENT_TENANT_FUNCTION = "portal_current_tenant"
_KEY_PURPOSE = b"supplyport row-level security: tenant proof key"


def tenant_key(secret_key: str | bytes) -> bytes:
    """Return the key of the tenant proofs, derived from the application's secret key."""
    secret = secret_key.encode() if isinstance(secret_key, str) else secret_key
    return hmac.new(secret, _KEY_PURPOSE, hashlib.sha256).digest()


def tenant_proof(key: bytes, tenant_id: str) -> str:
    """Return the proof that goes with ``tenant_id`` (what ``portal_current_tenant()``
    recomputes from the stored key): hex SHA-256 over the key and the id."""
    return hashlib.sha256(key + tenant_id.encode()).hexdigest() if tenant_id else ""


def tenant_settings(key: bytes, tenant_id: str) -> dict[str, str]:
    """The parameters of :data:`SET_TENANT_SQL` for ``tenant_id`` ("" for none)."""
    return {"tenant_id": tenant_id, "tenant_proof": tenant_proof(key, tenant_id)}


#: Sets the tenant of the current transaction (``true``: it ends with the transaction).
SET_TENANT_SQL = (
    "SELECT set_config('portal.tenant_id', :tenant_id, true),"
    " set_config('portal.tenant_proof', :tenant_proof, true)"
)


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
    """Put ``table`` behind the tenant policy when the migration runs on PostgreSQL.

    Migrations older than the proof function get the condition of their time
    (:data:`SETTING_ONLY`); migration d4f2b8c6a1e3 replaces it on every table.
    """
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    proof_exists = bind.exec_driver_sql(
        f"SELECT to_regprocedure('{CURRENT_TENANT_FUNCTION}()') IS NOT NULL"
    ).scalar()
    for statement in policy_statements(table, VISIBLE if proof_exists else SETTING_ONLY):
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
