"""read models

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 09:40:13.891395
"""

import sqlalchemy as sa

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "kpi_incident_facts",
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("report_month", sa.String(length=7), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_en_route_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_on_scene_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("category_reported", sa.String(length=32), nullable=False),
        sa.Column("priority_reported", sa.String(length=2), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.String(length=2), nullable=False),
        sa.Column("community", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("is_night", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("cancel_reason", sa.String(length=16), nullable=True),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("incident_id"),
    )
    with op.batch_alter_table("kpi_incident_facts", schema=None) as batch_op:
        batch_op.create_index("ix_kpi_incident_facts_month", ["report_month", "community"], unique=False)

    op.create_table(
        "kpi_visit_facts",
        sa.Column("visit_id", sa.Uuid(), nullable=False),
        sa.Column("box_id", sa.Uuid(), nullable=False),
        sa.Column("box_code", sa.String(length=24), nullable=False),
        sa.Column("community", sa.String(length=32), nullable=False),
        sa.Column("officer_id", sa.Uuid(), nullable=False),
        sa.Column("visited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("is_night_slot", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.PrimaryKeyConstraint("visit_id"),
    )
    with op.batch_alter_table("kpi_visit_facts", schema=None) as batch_op:
        batch_op.create_index("ix_kpi_visit_facts_box_day_slot", ["box_id", "local_day", "slot"], unique=False)
        batch_op.create_index("ix_kpi_visit_facts_day", ["local_day"], unique=False)

    op.create_table(
        "projection_positions",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "rm_camera_alerts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("camera_id", sa.Uuid(), nullable=False),
        sa.Column("camera_code", sa.String(length=24), nullable=False),
        sa.Column("community", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("zone", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("snapshot_digest", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("false_alarm_reason", sa.String(length=24), nullable=True),
        sa.Column("incident_id", sa.Uuid(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rm_camera_alerts", schema=None) as batch_op:
        batch_op.create_index("ix_rm_camera_alerts_camera", ["camera_id", "raised_at"], unique=False)
        batch_op.create_index("ix_rm_camera_alerts_raised_at", ["raised_at"], unique=False)
        batch_op.create_index("ix_rm_camera_alerts_status", ["status", "raised_at"], unique=False)

    op.create_table(
        "rm_incidents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=2), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("community", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("has_contact", sa.Boolean(), nullable=False),
        sa.Column("units", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("cancel_reason", sa.String(length=16), nullable=True),
        sa.Column("duplicate_of", sa.Uuid(), nullable=True),
        sa.Column("source_alert_id", sa.Uuid(), nullable=True),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.Column("notes_count", sa.Integer(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference"),
    )
    with op.batch_alter_table("rm_incidents", schema=None) as batch_op:
        batch_op.create_index("ix_rm_incidents_category", ["category", "reported_at"], unique=False)
        batch_op.create_index("ix_rm_incidents_channel", ["channel", "reported_at"], unique=False)
        batch_op.create_index("ix_rm_incidents_community", ["community", "reported_at"], unique=False)
        batch_op.create_index("ix_rm_incidents_priority", ["priority", "reported_at"], unique=False)
        batch_op.create_index("ix_rm_incidents_reported_at", ["reported_at"], unique=False)
        batch_op.create_index("ix_rm_incidents_status_priority", ["status", "priority", "reported_at"], unique=False)

    op.create_table(
        "rm_timeline",
        sa.Column("originator_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.BigInteger(), nullable=False),
        sa.Column("aggregate", sa.String(length=16), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("params", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("originator_id", "version"),
        sa.UniqueConstraint("notification_id"),
    )
    op.create_table(
        "rm_units",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("call_sign", sa.String(length=24), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=True),
        sa.Column("incident_reference", sa.String(length=20), nullable=True),
        sa.Column("officer_ids", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("call_sign"),
    )


def downgrade() -> None:

    op.drop_table("rm_units")
    op.drop_table("rm_timeline")
    with op.batch_alter_table("rm_incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_rm_incidents_status_priority")
        batch_op.drop_index("ix_rm_incidents_reported_at")
        batch_op.drop_index("ix_rm_incidents_priority")
        batch_op.drop_index("ix_rm_incidents_community")
        batch_op.drop_index("ix_rm_incidents_channel")
        batch_op.drop_index("ix_rm_incidents_category")

    op.drop_table("rm_incidents")
    with op.batch_alter_table("rm_camera_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_rm_camera_alerts_status")
        batch_op.drop_index("ix_rm_camera_alerts_raised_at")
        batch_op.drop_index("ix_rm_camera_alerts_camera")

    op.drop_table("rm_camera_alerts")
    op.drop_table("projection_positions")
    with op.batch_alter_table("kpi_visit_facts", schema=None) as batch_op:
        batch_op.drop_index("ix_kpi_visit_facts_day")
        batch_op.drop_index("ix_kpi_visit_facts_box_day_slot")

    op.drop_table("kpi_visit_facts")
    with op.batch_alter_table("kpi_incident_facts", schema=None) as batch_op:
        batch_op.drop_index("ix_kpi_incident_facts_month")

    op.drop_table("kpi_incident_facts")
