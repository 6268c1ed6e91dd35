"""camera sources' secrets kept outside the log (camera_secrets); sources already copied out of the log masked

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""
import json

import sqlalchemy as sa

from alembic import op
from infrastructure.camera_secrets import masked_source

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "camera_secrets",
        sa.Column("camera_id", sa.Uuid(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("camera_id"),
    )
    # Until now a camera's whole source, password and all, was copied out of the log into the workers' list of
    # cameras and into the timeline; both now hold it masked (the log itself stays as it was written).
    conn = op.get_bind()
    leases = sa.table("camera_leases", sa.column("camera_id", sa.Uuid()), sa.column("source", sa.Text()))
    for camera_id, source in conn.execute(sa.select(leases.c.camera_id, leases.c.source)).all():
        if masked_source(source) != source:
            conn.execute(sa.update(leases).where(leases.c.camera_id == camera_id).values(source=masked_source(source)))
    timeline = sa.table("rm_timeline", sa.column("originator_id", sa.Uuid()), sa.column("version", sa.Integer()),
                        sa.column("aggregate", sa.String()), sa.column("event", sa.String()), sa.column("params", sa.Text()))
    registered = sa.select(timeline.c.originator_id, timeline.c.version, timeline.c.params) \
        .where(timeline.c.aggregate == "Camera", timeline.c.event == "Registered")
    for originator_id, version, text in conn.execute(registered).all():
        params = json.loads(text)
        if isinstance(params.get("source"), str) and masked_source(params["source"]) != params["source"]:
            params["source"] = masked_source(params["source"])
            conn.execute(sa.update(timeline).where(timeline.c.originator_id == originator_id, timeline.c.version == version)
                         .values(params=json.dumps(params, ensure_ascii=False, separators=(",", ":"))))


def downgrade() -> None:
    op.drop_table("camera_secrets")
