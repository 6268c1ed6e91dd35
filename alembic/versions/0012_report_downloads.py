"""report downloads: who downloaded which edition of a monthly partner report

Revision ID: 0012_report_downloads
Revises: 0010_kpi
Create Date: 2026-12-08
"""

import sqlalchemy as sa

from alembic import op

revision = "0012_report_downloads"
down_revision = "0010_kpi"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_downloads",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("edition", sa.Integer(), nullable=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("file", sa.String(8), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("sector", sa.String(24), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_report_downloads_month", "report_downloads", ["month", "at"])
    op.create_index("ix_report_downloads_user", "report_downloads", ["user_id", "at"])


def downgrade() -> None:
    op.drop_table("report_downloads")
