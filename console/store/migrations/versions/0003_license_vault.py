"""license_keys: the license vault (references, masked tails, state; never the keys)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 00:40:00
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ACTIVE = "state IN ('reserved', 'bound')"


def upgrade() -> None:
    op.create_table(
        "license_keys",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("product", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("masked", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("secret_name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("order_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("vm_name", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("imported_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("imported_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("reserved_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("booted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("fingerprint"),
    )
    with op.batch_alter_table("license_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_license_keys_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_license_keys_order_id"), ["order_id"], unique=False)
        batch_op.create_index("license_stock", ["kind", "state", "product"], unique=False)
        batch_op.create_index(
            "one_active_key_per_order_kind",
            ["order_id", "kind"],
            unique=True,
            sqlite_where=sa.text(_ACTIVE),
            postgresql_where=sa.text(_ACTIVE),
        )


def downgrade() -> None:
    with op.batch_alter_table("license_keys", schema=None) as batch_op:
        batch_op.drop_index("one_active_key_per_order_kind")
        batch_op.drop_index("license_stock")
        batch_op.drop_index(batch_op.f("ix_license_keys_order_id"))
        batch_op.drop_index(batch_op.f("ix_license_keys_kind"))
    op.drop_table("license_keys")
