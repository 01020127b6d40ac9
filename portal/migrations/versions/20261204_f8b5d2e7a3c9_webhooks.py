"""webhooks

Outbound webhook endpoints and their deliveries.

Revision ID: f8b5d2e7a3c9
Revises: e6a3c9d1f4b7
Create Date: 2026-12-04
"""

revision = 'f8b5d2e7a3c9'
down_revision = 'e6a3c9d1f4b7'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
