"""domain ownership

Custom domains work only after the tenant proves it controls them: each domain gets a
status (pending, verified, failed), a random verification token and the times of its checks.

The custom domains already in the database were set up by platform operators before this
change, who had checked them; they are marked verified here (with the time of the upgrade
as their verification time), so every one of them keeps serving its tenant after the
upgrade. Each still gets a token of its own, in case it is ever checked again.

Revision ID: c1d0a7e3b5f2
Revises: b7d3f5a9c1e2
Create Date: 2026-12-04
"""

import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import portal.db

revision = "c1d0a7e3b5f2"
down_revision = "b7d3f5a9c1e2"
branch_labels = None
depends_on = None

_domains = sa.table(
    "tenant_domains",
    sa.column("domain", sa.String(253)),
    sa.column("status", sa.String(20)),
    sa.column("verification_token", sa.String(64)),
    sa.column("added_at", portal.db.UTCDateTime()),
    sa.column("pending_since", portal.db.UTCDateTime()),
    sa.column("verified_at", portal.db.UTCDateTime()),
    sa.column("check_count", sa.Integer()),
)


def upgrade():
    with op.batch_alter_table("tenant_domains", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "status",
                sa.Enum(
                    "pending",
                    "verified",
                    "failed",
                    name="domainstatus",
                    native_enum=False,
                    length=20,
                ),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("verification_token", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("added_at", portal.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("pending_since", portal.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("verified_at", portal.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("checked_at", portal.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("next_check_at", portal.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("check_count", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("findings", sa.JSON(), nullable=True))

    connection = op.get_bind()
    now = datetime.now(UTC)
    for (domain,) in connection.execute(sa.select(_domains.c.domain)).all():
        connection.execute(
            _domains.update()
            .where(_domains.c.domain == domain)
            .values(
                status="verified",
                verification_token=secrets.token_hex(16),
                added_at=now,
                pending_since=now,
                verified_at=now,
                check_count=0,
            )
        )

    with op.batch_alter_table("tenant_domains", schema=None) as batch_op:
        for name in ("status", "verification_token", "added_at", "pending_since", "check_count"):
            batch_op.alter_column(name, nullable=False)
        batch_op.create_index(
            batch_op.f("ix_tenant_domains_next_check_at"), ["next_check_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("tenant_domains", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tenant_domains_next_check_at"))
        for name in (
            "findings",
            "check_count",
            "next_check_at",
            "checked_at",
            "verified_at",
            "pending_since",
            "added_at",
            "verification_token",
            "status",
        ):
            batch_op.drop_column(name)
