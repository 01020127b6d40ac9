"""api tokens

Integration tokens (only the SHA-256 of the secret is stored) and the remembered responses
of POSTs sent with an Idempotency-Key.

Revision ID: b7d3f5a9c1e2
Revises: 9c7d1e3f5a20
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

import portal.db
from portal.tenants.rls import disable_row_level_security, enable_row_level_security

revision = 'b7d3f5a9c1e2'
down_revision = '9c7d1e3f5a20'
branch_labels = None
depends_on = None

TENANT_TABLES = ("api_tokens", "api_idempotent_requests")


def upgrade():
    op.create_table('api_tokens',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('owner_id', sa.Uuid(), nullable=False),
    sa.Column('supplier_id', sa.Uuid(), nullable=True),
    sa.Column('client_id', sa.Uuid(), nullable=True),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('lookup_id', sa.String(length=16), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', portal.db.UTCDateTime(), nullable=False),
    sa.Column('expires_at', portal.db.UTCDateTime(), nullable=True),
    sa.Column('last_used_at', portal.db.UTCDateTime(), nullable=True),
    sa.Column('revoked_at', portal.db.UTCDateTime(), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'client_id'], ['clients.tenant_id', 'clients.id'], name=op.f('fk_api_tokens_tenant_id_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'owner_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_api_tokens_tenant_id_owner_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['suppliers.tenant_id', 'suppliers.id'], name=op.f('fk_api_tokens_tenant_id_supplier_id_suppliers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_api_tokens_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('tenant_id', 'lookup_id', name=op.f('uq_api_tokens_tenant_id_lookup_id'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_tenant_id_client_id'), ['tenant_id', 'client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_api_tokens_tenant_id_owner_id'), ['tenant_id', 'owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_api_tokens_tenant_id_supplier_id'), ['tenant_id', 'supplier_id'], unique=False)

    op.create_table('api_idempotent_requests',
    sa.Column('token_id', sa.Uuid(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('created_at', portal.db.UTCDateTime(), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.LargeBinary(), nullable=True),
    sa.Column('response_type', sa.String(length=100), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'token_id'], ['api_tokens.tenant_id', 'api_tokens.id'], name=op.f('fk_api_idempotent_requests_tenant_id_token_id_api_tokens'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_api_idempotent_requests_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_api_idempotent_requests')),
    sa.UniqueConstraint('tenant_id', 'token_id', 'key', name=op.f('uq_api_idempotent_requests_tenant_id_token_id_key'))
    )
    with op.batch_alter_table('api_idempotent_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_idempotent_requests_tenant_id_created_at'), ['tenant_id', 'created_at'], unique=False)

    for table in TENANT_TABLES:
        enable_row_level_security(op, table)


def downgrade():
    for table in TENANT_TABLES:
        disable_row_level_security(op, table)
    with op.batch_alter_table('api_idempotent_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_idempotent_requests_tenant_id_created_at'))

    op.drop_table('api_idempotent_requests')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_tenant_id_supplier_id'))
        batch_op.drop_index(batch_op.f('ix_api_tokens_tenant_id_owner_id'))
        batch_op.drop_index(batch_op.f('ix_api_tokens_tenant_id_client_id'))

    op.drop_table('api_tokens')
