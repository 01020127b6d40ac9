"""Central tenant scoping: every tenant-owned row is filtered, stamped and walled off.

Three walls, so that a forgotten filter in one query cannot leak another tenant's data:

1. ORM reads, updates and deletes of tenant-owned models get ``tenant_id = <current>`` added
   to every statement (``with_loader_criteria``), aliases and joins included.
2. New rows are stamped with the current tenant; a row of another tenant is refused at flush.
3. On PostgreSQL, row-level security policies check the tenant set per transaction with
   ``set_config(..., true)``, which ends with the transaction and never rides a pooled
   connection into the next request, together with its proof (:mod:`portal.tenants.rls`).

The execution option :data:`ALL_TENANTS_OPTION` lifts the first wall for one statement and
nothing else: on PostgreSQL the policies still bind, so cross-tenant questions go through
:mod:`portal.tenants.platform`, which uses the option only on SQLite.
"""

from __future__ import annotations

import uuid
from functools import lru_cache

from flask import current_app, has_app_context
from sqlalchemy import ForeignKey, event, text
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    mapped_column,
    relationship,
    with_loader_criteria,
)
from sqlalchemy.sql.util import find_tables

from portal.db import db, uuid7
from portal.tenants import rls
from portal.tenants.context import TenantContextMissing, current_tenant, require_tenant

#: Execution option that skips the ORM's tenant filter for one statement (SQLite platform
#: queries); the database's policies are not affected by it.
ALL_TENANTS_OPTION = "all_tenants"


class TenantMismatch(RuntimeError):
    """Raised when code tries to write a row that belongs to another tenant."""


class TenantOwned:
    """Mixin for tenant-owned models: primary key ``(tenant_id, id)``, scoped automatically.

    Foreign keys to other tenant-owned tables must include ``tenant_id``; unique constraints
    and indexes must start with it. ``tests/test_schema.py`` walks the metadata and fails on
    a table that breaks these rules.
    """

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)


@event.listens_for(TenantOwned, "init", propagate=True)
def _stamp_on_init(target, args, kwargs) -> None:
    # Ids and tenant are known from construction on, so related rows can refer to them
    # before the first flush.
    kwargs.setdefault("id", uuid7())
    tenant = current_tenant()
    if tenant is not None and "tenant_id" not in kwargs:
        kwargs["tenant_id"] = tenant.id


def _tenant_tables() -> frozenset:
    return frozenset(
        mapper.local_table
        for mapper in db.Model.registry.mappers
        if issubclass(mapper.class_, TenantOwned)
    )


def _touches_tenant_data(statement) -> bool:
    # Walks the whole statement (subqueries, joins, FROMs inferred from columns): a count
    # over a tenant table touches tenant data as much as a select of its entities.
    tenant_tables = _tenant_tables()
    return any(
        table in tenant_tables
        for table in find_tables(statement, include_aliases=True, include_crud=True)
    )


@event.listens_for(Session, "do_orm_execute")
def _scope_statement(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        # Loads that follow a scoped parent row; the composite foreign keys keep them inside
        # the parent's tenant.
        return
    if state.execution_options.get(ALL_TENANTS_OPTION):
        return
    tenant = current_tenant()
    if tenant is None:
        if _touches_tenant_data(state.statement):
            require_tenant()
        return
    # Read into a local first: the criteria lambda may not call functions. The criteria
    # reach every tenant-owned table of the statement, whether it appears as an entity, in
    # select_from() or only through a column.
    tenant_id = tenant.id
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantOwned,
            lambda cls: cls.tenant_id == tenant_id,
            include_aliases=True,
        )
    )


@event.listens_for(Session, "before_flush")
def _stamp_and_check(session: Session, flush_context, instances) -> None:
    tenant = current_tenant()
    for obj in session.new:
        if not isinstance(obj, TenantOwned):
            continue
        if obj.tenant_id is None:
            if tenant is None:
                raise TenantContextMissing(
                    f"cannot save a new {type(obj).__name__} without a tenant context"
                )
            obj.tenant_id = tenant.id
        elif tenant is not None and obj.tenant_id != tenant.id:
            raise TenantMismatch(f"{type(obj).__name__} belongs to another tenant")
    for obj in session.dirty:
        if isinstance(obj, TenantOwned) and tenant is not None and obj.tenant_id != tenant.id:
            raise TenantMismatch(f"{type(obj).__name__} belongs to another tenant")


_SET_TENANT = text(rls.SET_TENANT_SQL)


@lru_cache(maxsize=8)
def _key(secret_key: str | bytes) -> bytes:
    return rls.tenant_key(secret_key)


@lru_cache(maxsize=4096)
def _settings(key: bytes, tenant_id: str) -> dict[str, str]:
    return rls.tenant_settings(key, tenant_id)


def database_tenant_settings(tenant_id: uuid.UUID | str | None) -> dict[str, str]:
    """The parameters of :data:`portal.tenants.rls.SET_TENANT_SQL` for ``tenant_id``: the id
    and its proof under this application's secret key (``{"tenant_id": "", ...}`` for none)."""
    return _settings(_key(current_app.config["SECRET_KEY"]), str(tenant_id) if tenant_id else "")


def _tenant_settings() -> dict[str, str]:
    tenant = current_tenant()
    return database_tenant_settings(tenant.id if tenant else None)


@event.listens_for(Session, "after_begin")
def _set_database_tenant(session: Session, transaction, connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(_SET_TENANT, _tenant_settings())


def apply_database_tenant() -> None:
    """Tell PostgreSQL about a tenant context entered inside an open transaction."""
    if not has_app_context():
        return
    session = db.session()
    if not session.in_transaction():
        return
    for connection in _open_connections(session):
        if connection.dialect.name == "postgresql":
            connection.execute(_SET_TENANT, _tenant_settings())


def _open_connections(session: Session):
    transaction = session.get_transaction()
    if transaction is None:
        return []
    return [conn for conn, *_ in transaction._connections.values()]


def ensure_tenant(obj: TenantOwned) -> None:
    """Raise unless ``obj`` belongs to the tenant in context."""
    if obj.tenant_id != require_tenant().id:
        raise TenantMismatch(f"{type(obj).__name__} belongs to another tenant")


def tenant_relationship(target: str, foreign_key: str, **kwargs):
    """Return a many-to-one relationship over a composite ``(tenant_id, id)`` foreign key.

    ``foreign_key`` is ``"Owner.column"``. Only that column is written by the relationship:
    the shared ``tenant_id`` belongs to the row's primary key and is never blanked out or
    overwritten when the related object changes.
    """
    owner, column = foreign_key.split(".")
    kwargs.setdefault("overlaps", "tenant_id")
    return relationship(
        target,
        primaryjoin=(
            f"and_({target}.tenant_id == {owner}.tenant_id, "
            f"{target}.id == foreign({owner}.{column}))"
        ),
        **kwargs,
    )


def tenant_collection(parent: str, foreign_key: str, **kwargs):
    """Return a one-to-many relationship from ``parent`` to ``"Child.column"`` rows.

    The children share the parent's ``tenant_id``; it is part of the join, so a collection
    never reaches into another tenant.
    """
    child, column = foreign_key.split(".")
    kwargs.setdefault("overlaps", "tenant_id")
    return relationship(
        child,
        primaryjoin=(
            f"and_({child}.tenant_id == {parent}.tenant_id, {child}.{column} == {parent}.id)"
        ),
        foreign_keys=f"[{child}.tenant_id, {child}.{column}]",
        **kwargs,
    )
