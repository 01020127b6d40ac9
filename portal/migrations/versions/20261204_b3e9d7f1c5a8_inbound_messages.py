"""inbound messages

The inbound calls from suppliers' systems that have been applied, by message id per tenant
and source (supplier and integration), so that a repeated delivery changes nothing.

Revision ID: b3e9d7f1c5a8
Revises: a2c7e4f9b1d6
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

import portal.db
from portal.tenants.rls import disable_row_level_security, enable_row_level_security

revision = 'b3e9d7f1c5a8'
down_revision = 'a2c7e4f9b1d6'
branch_labels = None
depends_on = None

TENANT_TABLES = ("inbound_messages",)


def upgrade():
    op.create_table('inbound_messages',
    sa.Column('supplier_id', sa.Uuid(), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('message_id', sa.String(length=200), nullable=False),
    sa.Column('purchase_order_number', sa.String(length=32), nullable=False),
    sa.Column('kinds', sa.String(length=200), nullable=False),
    sa.Column('received_at', portal.db.UTCDateTime(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['suppliers.tenant_id', 'suppliers.id'], name=op.f('fk_inbound_messages_tenant_id_supplier_id_suppliers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_inbound_messages_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_inbound_messages')),
    sa.UniqueConstraint('tenant_id', 'supplier_id', 'source', 'message_id', name=op.f('uq_inbound_messages_tenant_id_supplier_id_source_message_id'))
    )

    for table in TENANT_TABLES:
        enable_row_level_security(op, table)


def downgrade():
    for table in TENANT_TABLES:
        disable_row_level_security(op, table)
    op.drop_table('inbound_messages')
