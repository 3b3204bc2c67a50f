"""templates: what the catalog cache needs to stand in for the engine's list

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 19:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("templates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("apps", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(
            sa.Column("is_windows", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("storage_domain_ids", sa.JSON(), nullable=False, server_default="[]")
        )


def downgrade() -> None:
    with op.batch_alter_table("templates", schema=None) as batch_op:
        batch_op.drop_column("storage_domain_ids")
        batch_op.drop_column("is_windows")
        batch_op.drop_column("apps")
