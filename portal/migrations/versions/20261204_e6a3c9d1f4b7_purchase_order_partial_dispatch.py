"""purchase order partial dispatch

Purchase orders that are partly dispatched.

Revision ID: e6a3c9d1f4b7
Revises: d4f2b8c6a1e3
Create Date: 2026-12-04
"""

revision = 'e6a3c9d1f4b7'
down_revision = 'd4f2b8c6a1e3'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
