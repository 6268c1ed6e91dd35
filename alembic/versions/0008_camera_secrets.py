"""camera sources' secrets kept outside the log (camera_secrets); sources already copied out of the log masked

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

import json
import re

import sqlalchemy as sa

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# A frozen copy of infrastructure/camera_secrets.py's masked_source as it stood at this revision: a migration must
# do tomorrow what it did today, whatever becomes of the live code.
_MASK = "***"
_SECRET_PARAMETER = re.compile(
    r"([?&;#])([^=&;#]*(?:user|login|pass|pwd|secret|token|key|auth|sig|cred)[^=&;#]*)=([^&;#]*)", re.IGNORECASE
)


def masked_source(address: str) -> str:
    scheme, separator, rest = address.partition("://")
    if not separator:
        return address
    if "@" in rest:
        rest = f"{_MASK}@{rest.rpartition('@')[2]}"
    return f"{scheme}://{_SECRET_PARAMETER.sub(lambda m: f'{m[1]}{m[2]}={_MASK}', rest)}"


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
    timeline = sa.table(
        "rm_timeline",
        sa.column("originator_id", sa.Uuid()),
        sa.column("version", sa.Integer()),
        sa.column("aggregate", sa.String()),
        sa.column("event", sa.String()),
        sa.column("params", sa.Text()),
    )
    registered = sa.select(timeline.c.originator_id, timeline.c.version, timeline.c.params).where(
        timeline.c.aggregate == "Camera", timeline.c.event == "Registered"
    )
    for originator_id, version, text in conn.execute(registered).all():
        params = json.loads(text)
        if isinstance(params.get("source"), str) and masked_source(params["source"]) != params["source"]:
            params["source"] = masked_source(params["source"])
            conn.execute(
                sa.update(timeline)
                .where(timeline.c.originator_id == originator_id, timeline.c.version == version)
                .values(params=json.dumps(params, ensure_ascii=False, separators=(",", ":")))
            )


def downgrade() -> None:
    op.drop_table("camera_secrets")
