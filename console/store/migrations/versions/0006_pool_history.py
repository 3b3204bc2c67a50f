"""pool_vms, pool_refills: the warm pool; step_runs: step durations for the ETA

Revision ID: 0006
Revises: 0005 (this revision touches no other table)
Create Date: 2026-12-02 03:30:00
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pool_vms",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("vm_id", sa.String(), nullable=True),
        sa.Column("engine", sa.String(), nullable=False),
        sa.Column("pool_key", sa.String(), nullable=False),
        sa.Column("template_name", sa.String(), nullable=False),
        sa.Column("template_id", sa.String(), nullable=False),
        sa.Column("template_version", sa.Integer(), nullable=False),
        sa.Column("cluster", sa.String(), nullable=False),
        sa.Column("storage_domain", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("job_id", sa.String(), nullable=True),
        sa.Column("order_id", sa.String(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("ready_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("taken_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    for column in ("vm_id", "pool_key", "template_id", "state", "job_id"):
        op.create_index(f"ix_pool_vms_{column}", "pool_vms", [column])
    op.create_table(
        "pool_refills",
        sa.Column("pool_key", sa.String(), nullable=False),
        sa.Column("holder", sa.String(), nullable=True),
        sa.Column("lease_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_action", sa.String(), nullable=False),
        sa.Column("last_action_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("pool_key"),
    )
    op.create_table(
        "step_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(), nullable=False),
        sa.Column("step", sa.String(), nullable=False),
        sa.Column("template_name", sa.String(), nullable=False),
        sa.Column("disk_gib", sa.Integer(), nullable=False),
        sa.Column("storage_domain", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_step_runs_job_id", "step_runs", ["job_id"])
    op.create_index("ix_step_runs_step", "step_runs", ["step"])


def downgrade() -> None:
    op.drop_index("ix_step_runs_step", table_name="step_runs")
    op.drop_index("ix_step_runs_job_id", table_name="step_runs")
    op.drop_table("step_runs")
    op.drop_table("pool_refills")
    for column in ("vm_id", "pool_key", "template_id", "state", "job_id"):
        op.drop_index(f"ix_pool_vms_{column}", table_name="pool_vms")
    op.drop_table("pool_vms")
