"""webhooks

Outbound webhook endpoints and their deliveries.

Revision ID: f8b5d2e7a3c9
Revises: d4f2b8c6a1e3
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

import portal.db
import portal.plugins.secrets
from portal.tenants.rls import disable_row_level_security, enable_row_level_security

revision = 'f8b5d2e7a3c9'
down_revision = 'd4f2b8c6a1e3'
branch_labels = None
depends_on = None

TENANT_TABLES = ("webhook_endpoints", "webhook_deliveries")


def upgrade():
    op.create_table('webhook_endpoints',
    sa.Column('owner_kind', sa.Enum('tenant', 'client', 'supplier', name='ownerkind', native_enum=False, length=20), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=True),
    sa.Column('supplier_id', sa.Uuid(), nullable=True),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('event_types', sa.JSON(), nullable=False),
    sa.Column('secrets', portal.plugins.secrets.EncryptedJSON(), nullable=True),
    sa.Column('previous_secret_until', portal.db.UTCDateTime(), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('disabled_reason', sa.Enum('manual', 'gone', 'failing', name='disabledreason', native_enum=False, length=20), nullable=True),
    sa.Column('disabled_at', portal.db.UTCDateTime(), nullable=True),
    sa.Column('failing_since', portal.db.UTCDateTime(), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', portal.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', portal.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'client_id'], ['clients.tenant_id', 'clients.id'], name=op.f('fk_webhook_endpoints_tenant_id_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['suppliers.tenant_id', 'suppliers.id'], name=op.f('fk_webhook_endpoints_tenant_id_supplier_id_suppliers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_webhook_endpoints_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_webhook_endpoints'))
    )
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_endpoints_tenant_id_client_id'), ['tenant_id', 'client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_endpoints_tenant_id_owner_kind_enabled'), ['tenant_id', 'owner_kind', 'enabled'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_endpoints_tenant_id_supplier_id'), ['tenant_id', 'supplier_id'], unique=False)

    op.create_table('webhook_deliveries',
    sa.Column('endpoint_id', sa.Uuid(), nullable=False),
    sa.Column('event_id', sa.String(length=40), nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'succeeded', 'failed', name='deliverystatus', native_enum=False, length=20), nullable=False),
    sa.Column('attempt_count', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.JSON(), nullable=False),
    sa.Column('created_at', portal.db.UTCDateTime(), nullable=False),
    sa.Column('next_attempt_at', portal.db.UTCDateTime(), nullable=True),
    sa.Column('last_attempt_at', portal.db.UTCDateTime(), nullable=True),
    sa.Column('succeeded_at', portal.db.UTCDateTime(), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'endpoint_id'], ['webhook_endpoints.tenant_id', 'webhook_endpoints.id'], name=op.f('fk_webhook_deliveries_tenant_id_endpoint_id_webhook_endpoints'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_webhook_deliveries_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_webhook_deliveries')),
    sa.UniqueConstraint('tenant_id', 'endpoint_id', 'event_id', name=op.f('uq_webhook_deliveries_tenant_id_endpoint_id_event_id'))
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_deliveries_tenant_id_endpoint_id_created_at'), ['tenant_id', 'endpoint_id', 'created_at'], unique=False)

    for table in TENANT_TABLES:
        enable_row_level_security(op, table)


def downgrade():
    for table in TENANT_TABLES:
        disable_row_level_security(op, table)
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_deliveries_tenant_id_endpoint_id_created_at'))

    op.drop_table('webhook_deliveries')
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_endpoints_tenant_id_supplier_id'))
        batch_op.drop_index(batch_op.f('ix_webhook_endpoints_tenant_id_owner_kind_enabled'))
        batch_op.drop_index(batch_op.f('ix_webhook_endpoints_tenant_id_client_id'))

    op.drop_table('webhook_endpoints')
