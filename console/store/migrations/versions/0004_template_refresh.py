"""template_refreshes: persisted template refresh jobs (template upkeep)

Revision ID: 0004
Revises: 0002 (re-chain to 0003 when 0003_license_vault is merged)
Create Date: 2026-12-02 01:30:00
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "template_refreshes",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("engine", sa.String(), nullable=False),
        sa.Column("template_name", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("failed_step", sa.String(), nullable=True),
        sa.Column("source_template_id", sa.String(), nullable=True),
        sa.Column("source_version", sa.Integer(), nullable=True),
        sa.Column("base_template_id", sa.String(), nullable=True),
        sa.Column("build_vm_id", sa.String(), nullable=True),
        sa.Column("build_vm_name", sa.String(), nullable=False),
        sa.Column("new_template_id", sa.String(), nullable=True),
        sa.Column("new_version_number", sa.Integer(), nullable=True),
        sa.Column("new_version_name", sa.String(), nullable=True),
        sa.Column("error_code", sa.String(), nullable=True),
        sa.Column("error_message", sa.String(), nullable=True),
        sa.Column("error_hint", sa.String(), nullable=True),
        sa.Column("correlation_id", sa.String(), nullable=False),
        sa.Column("owner", sa.String(), nullable=True),
        sa.Column("owner_pid", sa.Integer(), nullable=True),
        sa.Column("heartbeat_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_template_refreshes_template_name", "template_refreshes", ["template_name"])
    op.create_index("ix_template_refreshes_state", "template_refreshes", ["state"])


def downgrade() -> None:
    op.drop_index("ix_template_refreshes_state", table_name="template_refreshes")
    op.drop_index("ix_template_refreshes_template_name", table_name="template_refreshes")
    op.drop_table("template_refreshes")
