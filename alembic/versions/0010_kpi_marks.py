"""read models: the KPI marks (each KPI event with its log position, for figures as of a position)

Revision ID: 0010_kpi
Revises: 0009_ledger
Create Date: 2026-12-07
"""

import sqlalchemy as sa

from alembic import op

revision = "0010_kpi"
down_revision = "0009_ledger"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kpi_marks",
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("mark", sa.String(16), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("community", sa.String(32)),
        sa.Column("category", sa.String(32)),
        sa.Column("priority", sa.String(2)),
        sa.Column("channel", sa.String(16)),
        sa.Column("value", sa.String(32)),
        sa.Column("label", sa.String(24)),
        sa.Column("parent_id", sa.Uuid()),
        sa.PrimaryKeyConstraint("position"),
    )
    op.create_index("ix_kpi_marks_mark_at", "kpi_marks", ["mark", "occurred_at"])
    op.create_index("ix_kpi_marks_subject", "kpi_marks", ["subject_id", "position"])
    # The first event and the cut-off as of a position: read from the end of an index, not by a scan of the table.
    op.create_index("ix_kpi_marks_occurred_at", "kpi_marks", ["occurred_at"])
    op.create_index("ix_kpi_marks_recorded_at", "kpi_marks", ["recorded_at"])


def downgrade() -> None:
    op.drop_table("kpi_marks")
