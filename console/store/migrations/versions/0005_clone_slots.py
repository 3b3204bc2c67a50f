"""clone_slots: full clones in flight per storage domain (zero-wait provisioning)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 03:40:00
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clone_slots",
        sa.Column("engine", sa.String(), nullable=False),
        sa.Column("storage_domain", sa.String(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(), nullable=False),
        sa.Column("taken_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("engine", "storage_domain", "slot"),
    )
    op.create_index("ix_clone_slots_job_id", "clone_slots", ["job_id"])


def downgrade() -> None:
    op.drop_index("ix_clone_slots_job_id", table_name="clone_slots")
    op.drop_table("clone_slots")
