"""one-time passwords: which accounts must choose a new password at their next sign-in

Revision ID: 0018_one_time_passwords
Revises: 0017_search_handover
Create Date: 2026-12-08
"""

import sqlalchemy as sa

from alembic import op

revision = "0018_one_time_passwords"
down_revision = "0017_search_handover"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "one_time_passwords",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )


def downgrade() -> None:
    op.drop_table("one_time_passwords")
