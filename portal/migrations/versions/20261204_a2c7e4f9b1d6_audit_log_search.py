"""audit log search

Indexes for the audit log's filters.

Revision ID: a2c7e4f9b1d6
Revises: f8b5d2e7a3c9
Create Date: 2026-12-04
"""

from alembic import op

revision = 'a2c7e4f9b1d6'
down_revision = 'f8b5d2e7a3c9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_entries_tenant_id_actor_id_id"),
            ["tenant_id", "actor_id", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_audit_entries_tenant_id_action_id"),
            ["tenant_id", "action", "id"],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_entries_tenant_id_action_id"))
        batch_op.drop_index(batch_op.f("ix_audit_entries_tenant_id_actor_id_id"))
