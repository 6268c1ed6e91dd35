"""kpi_marks: the indexes a month's edition reads from (issue 15's benchmark: all figures of a month in 300 ms)

- ix_kpi_marks_mark_at covers what the engine reads of a month's visits and of the incidents and alerts first
  marked in it (position, subject, red-box code, community): an index-only scan instead of a heap page per row;
- ix_kpi_marks_visit_flags: the few Flagged and Voided marks of the visits, by visit (a month's visits look their
  flags up among every flag of the history up to the edition's position), with their kind and position.

Revision ID: 0020_kpi_marks_covering
Revises: 0018_one_time_passwords
Create Date: 2026-12-08
"""

import sqlalchemy as sa

from alembic import op

revision = "0020_kpi_marks_covering"
down_revision = "0018_one_time_passwords"
branch_labels = None
depends_on = None

FLAGS = sa.text("mark IN ('visit_voided', 'visit_flagged')")


def upgrade() -> None:
    op.drop_index("ix_kpi_marks_mark_at", table_name="kpi_marks")
    op.create_index(
        "ix_kpi_marks_mark_at",
        "kpi_marks",
        ["mark", "occurred_at"],
        postgresql_include=["position", "subject_id", "label", "community"],
    )
    op.create_index(
        "ix_kpi_marks_visit_flags",
        "kpi_marks",
        ["subject_id"],
        postgresql_include=["mark", "position"],
        postgresql_where=FLAGS,
        sqlite_where=FLAGS,
    )


def downgrade() -> None:
    op.drop_index("ix_kpi_marks_visit_flags", table_name="kpi_marks")
    op.drop_index("ix_kpi_marks_mark_at", table_name="kpi_marks")
    op.create_index("ix_kpi_marks_mark_at", "kpi_marks", ["mark", "occurred_at"])
