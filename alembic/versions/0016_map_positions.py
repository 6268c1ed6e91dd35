"""read models: where incidents were reported and where units were last seen (the map, the nearest unit)

Revision ID: 0016_map
Revises: 0014_personal_data
Create Date: 2026-12-08
"""

import sqlalchemy as sa

from alembic import op

revision = "0016_map"
down_revision = "0014_personal_data"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("rm_incidents", sa.Column("lat", sa.Float()))
    op.add_column("rm_incidents", sa.Column("lon", sa.Float()))
    op.add_column("rm_units", sa.Column("lat", sa.Float()))
    op.add_column("rm_units", sa.Column("lon", sa.Float()))
    op.add_column("rm_units", sa.Column("accuracy_m", sa.Float()))
    op.add_column("rm_units", sa.Column("position_at", TS))
    # The two read models replay the log from its start to fill the new columns (their rows are upserted in order).
    op.execute("UPDATE projection_positions SET position = 0 WHERE name IN ('incidents', 'units')")


def downgrade() -> None:
    for column in ("lat", "lon", "accuracy_m", "position_at"):
        op.drop_column("rm_units", column)
    for column in ("lat", "lon"):
        op.drop_column("rm_incidents", column)
