"""domain ownership

Custom domains work only after the tenant proves it controls them.

Revision ID: c1d0a7e3b5f2
Revises: b7d3f5a9c1e2
Create Date: 2026-12-04
"""

revision = 'c1d0a7e3b5f2'
down_revision = 'b7d3f5a9c1e2'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
