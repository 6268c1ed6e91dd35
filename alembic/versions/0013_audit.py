"""read models: the auditor's indexes on the timeline (the log browser's filters, keyset-paged in notification
order; the state of an aggregate at an instant; the zone's board at an instant)

Revision ID: 0013_audit
Revises: 0012_report_downloads
Create Date: 2026-12-08
"""

from alembic import op

revision = "0013_audit"
down_revision = "0012_report_downloads"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_rm_timeline_aggregate": ["aggregate", "notification_id"],
    "ix_rm_timeline_kind": ["aggregate", "event", "notification_id"],
    # The board at an instant: each kind's opening and closing events by then, read from the index alone.
    "ix_rm_timeline_kind_recorded": ["aggregate", "event", "recorded_at", "originator_id", "version"],
    "ix_rm_timeline_kind_occurred": ["aggregate", "event", "occurred_at", "originator_id", "version"],
    "ix_rm_timeline_actor": ["actor_id", "notification_id"],
    "ix_rm_timeline_role": ["actor_role", "notification_id"],
    "ix_rm_timeline_recorded_at": ["recorded_at"],
    "ix_rm_timeline_occurred_at": ["occurred_at"],
    "ix_rm_timeline_originator_recorded": ["originator_id", "recorded_at", "version"],
    "ix_rm_timeline_originator_occurred": ["originator_id", "occurred_at", "version"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "rm_timeline", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, "rm_timeline")
