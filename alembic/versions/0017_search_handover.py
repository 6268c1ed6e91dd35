"""read models: free-text search of incidents (pg_trgm on PostgreSQL) and the supervisors' shift handovers

Revision ID: 0017_search_handover
Revises: 0016_map
Create Date: 2026-12-08
"""

import sqlalchemy as sa

from alembic import op

revision = "0017_search_handover"
down_revision = "0016_map"
branch_labels = None
depends_on = None

_TRIGRAM_INDEXES = {"ix_rm_incidents_location_trgm": "location", "ix_rm_incidents_description_trgm": "description"}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Trigrams work for Thai, whose words are not separated by spaces (a full-text parser sees one word per
        # phrase): an ILIKE '%word%' is answered from these indexes. pg_trgm is a trusted extension (PostgreSQL
        # 13+): the database's owner, who runs the migrations, may create it. SQLite searches the same columns
        # with LIKE (a year of incidents is a few tens of thousands of rows).
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, column in _TRIGRAM_INDEXES.items():
            op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON rm_incidents USING gin ({column} gin_trgm_ops)")
    op.create_table(
        "rm_handovers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("shift_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shift_to", sa.DateTime(timezone=True), nullable=False),
        sa.Column("briefing", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),  # JSON: the figures the outgoing supervisor saw
        sa.Column("handed_by", sa.Uuid(), nullable=False),
        sa.Column("handed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_by", sa.Uuid()),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True)),
        sa.Column("acknowledgement", sa.Text()),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_rm_handovers_handed_at", "rm_handovers", ["handed_at"])


def downgrade() -> None:
    op.drop_index("ix_rm_handovers_handed_at", table_name="rm_handovers")
    op.drop_table("rm_handovers")
    if op.get_bind().dialect.name == "postgresql":
        for name in _TRIGRAM_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
