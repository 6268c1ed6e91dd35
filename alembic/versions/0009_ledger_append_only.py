"""the event log append-only: triggers refuse UPDATE, DELETE and TRUNCATE of stored events (made first if absent)

Revision ID: 0009_ledger
Revises: 0008
Create Date: 2026-12-07
"""
from alembic import context, op
from infrastructure import append_only
from infrastructure.settings import Settings

revision = "0009_ledger"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    append_only.install(op.get_bind(), context.config.attributes.get("settings") or Settings())


def downgrade() -> None:
    append_only.uninstall(op.get_bind())
