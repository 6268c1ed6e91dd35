"""credentials and reporter keys, outside the event log

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credentials",
        sa.Column("user_id", sa.Uuid, primary_key=True),
        sa.Column("username", sa.String(32), nullable=False, unique=True),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "reporter_keys",
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("subject", sa.String(64), nullable=True, unique=True),
        sa.Column("key", sa.LargeBinary, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("erased_by", sa.Uuid, nullable=True),
        sa.Column("erasure_reason", sa.Text, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("reporter_keys")
    op.drop_table("credentials")
