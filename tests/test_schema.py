"""The schema keeps the tenancy rules of DESIGN.md, and migrations build exactly the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import (
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    MetaData,
    Table,
    UniqueConstraint,
    Uuid,
)

import portal.models  # noqa: F401 - the whole schema
from portal.db import db
from portal.tenants.scoping import TenantOwned


def tenancy_problems(tables) -> list[str]:
    """Return every breach of the composite-key rules in the tenant-owned ``tables``."""
    problems = []
    for table in tables:
        name = table.name
        if [c.name for c in table.primary_key.columns] != ["tenant_id", "id"]:
            problems.append(f"{name}: primary key is not (tenant_id, id)")
        for constraint in table.constraints:
            if isinstance(constraint, ForeignKeyConstraint):
                target = constraint.referred_table
                if target.info.get("platform"):
                    continue
                local = [c.name for c in constraint.columns]
                remote = [e.column.name for e in constraint.elements]
                if local[0] != "tenant_id" or remote[0] != "tenant_id":
                    problems.append(f"{name}: foreign key {local} -> {target.name} lacks tenant_id")
            if (
                isinstance(constraint, UniqueConstraint)
                and next(iter(constraint.columns)).name != "tenant_id"
            ):
                problems.append(f"{name}: unique {constraint.name} does not start with tenant_id")
        for index in table.indexes:
            if next(iter(index.columns)).name != "tenant_id":
                problems.append(f"{name}: index {index.name} does not start with tenant_id")
    return problems


def _tenant_tables():
    return [t for t in db.metadata.sorted_tables if not t.info.get("platform")]


def test_every_table_is_declared_platform_or_tenant_owned():
    owned = {
        mapper.local_table.name
        for mapper in db.Model.registry.mappers
        if issubclass(mapper.class_, TenantOwned)
    }
    for table in db.metadata.sorted_tables:
        if table.info.get("platform"):
            assert table.name not in owned
        else:
            assert table.name in owned, f"{table.name} is neither platform nor TenantOwned"


def test_tenant_tables_have_composite_keys_and_tenant_first_constraints():
    assert tenancy_problems(_tenant_tables()) == []


def test_the_check_finds_each_kind_of_breach():
    metadata = MetaData()
    parent = Table(
        "parents",
        metadata,
        Column("tenant_id", Uuid, primary_key=True),
        Column("id", Uuid, primary_key=True),
    )
    bad = Table(
        "bad",
        metadata,
        Column("id", Uuid, primary_key=True),
        Column("tenant_id", Uuid),
        Column("code", Uuid),
        Column("parent_id", Uuid, ForeignKey("parents.id")),
        UniqueConstraint("code", name="uq_bad_code"),
        Index("ix_bad_code", "code"),
    )
    assert sorted(tenancy_problems([parent, bad])) == sorted(
        [
            "bad: primary key is not (tenant_id, id)",
            "bad: unique uq_bad_code does not start with tenant_id",
            "bad: foreign key ['parent_id'] -> parents lacks tenant_id",
            "bad: index ix_bad_code does not start with tenant_id",
        ]
    )


def test_migrations_produce_exactly_the_models_schema(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []
