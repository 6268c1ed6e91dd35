"""the event log append-only: triggers refuse UPDATE, DELETE and TRUNCATE of stored events (made first if absent);
the ledger's tables: leaves, perfect subtrees, signed checkpoints

Revision ID: 0009_ledger
Revises: 0008
Create Date: 2026-12-07
"""

import sqlalchemy as sa

from alembic import context, op
from infrastructure import append_only
from infrastructure.settings import Settings

revision = "0009_ledger"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    append_only.install(op.get_bind(), context.config.attributes.get("settings") or Settings())
    op.create_table(
        "ledger_leaves",
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("notification_id", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("position"),
    )
    op.create_index("ix_ledger_leaves_notification", "ledger_leaves", ["notification_id"], unique=True)
    op.create_table(
        "ledger_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "position"),
    )
    op.create_table(
        "ledger_checkpoints",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tree_size"),
    )
    append_only.install_on_checkpoints(op.get_bind())


def downgrade() -> None:
    append_only.uninstall(op.get_bind())
    op.drop_table("ledger_checkpoints")
    op.drop_table("ledger_nodes")
    op.drop_index("ix_ledger_leaves_notification", table_name="ledger_leaves")
    op.drop_table("ledger_leaves")
