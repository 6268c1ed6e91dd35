"""The KPI engine's reading of the KPI marks (application.kpi.marks.KpiMarks) in plain SQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, func, select

from application.kpi.marks import Mark, VisitFact
from infrastructure.readmodels.kpi_marks import kpi_marks as m
from infrastructure.readmodels.rows import aware
from infrastructure.readmodels.tables import projection_positions

_COLUMNS = [
    m.c[name]
    for name in (
        "position",
        "subject_id",
        "mark",
        "occurred_at",
        "recorded_at",
        "community",
        "category",
        "priority",
        "channel",
        "value",
        "label",
        "parent_id",
    )
]


def _utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC)


class SqlKpiMarks:
    def __init__(self, engine: Engine):
        self.engine = engine

    def _marks(self, statement) -> list[Mark]:
        with self.engine.connect() as conn:
            rows = conn.execute(statement).all()
        return [Mark(row[0], row[1], row[2], aware(row[3]), aware(row[4]), *row[5:]) for row in rows]

    def position(self) -> int:
        with self.engine.connect() as conn:
            found = conn.execute(
                select(projection_positions.c.position).where(projection_positions.c.name == "kpi_marks")
            ).scalar()
        return found or 0

    def cut_off(self, position: int) -> datetime | None:
        with self.engine.connect() as conn:
            return aware(conn.execute(select(func.max(m.c.recorded_at)).where(m.c.position <= position)).scalar())

    def first_occurred(self, position: int) -> datetime | None:
        with self.engine.connect() as conn:
            return aware(conn.execute(select(func.min(m.c.occurred_at)).where(m.c.position <= position)).scalar())

    def _of_subjects(self, first_mark: str, start: datetime, end: datetime, position: int) -> list[Mark]:
        subjects = select(m.c.subject_id).where(
            m.c.mark == first_mark,
            m.c.occurred_at >= _utc(start),
            m.c.occurred_at < _utc(end),
            m.c.position <= position,
        )
        return self._marks(
            select(*_COLUMNS).where(m.c.subject_id.in_(subjects), m.c.position <= position).order_by(m.c.position)
        )

    def incident_marks(self, start: datetime, end: datetime, position: int) -> list[Mark]:
        return self._of_subjects("reported", start, end, position)

    def visit_marks(self, start: datetime, end: datetime, position: int) -> list[Mark]:
        return self._of_subjects("visit", start, end, position)

    def visits(self, start: datetime, end: datetime, position: int) -> list[VisitFact]:
        """`fold_visits(visit_marks(...))` done by the database: a visit is voided if a Voided mark up to the position
        names it, else flagged if a Flagged one does (there are tens of thousands of visits a month)."""
        v, f = m.alias("v"), m.alias("f")

        def marked(mark: str):  # noqa: ANN202 — an index lookup per visit (subject_id, position)
            return (
                select(f.c.position)
                .where(f.c.subject_id == v.c.subject_id, f.c.position <= position, f.c.mark == mark)
                .exists()
            )

        statement = select(
            v.c.subject_id,
            v.c.parent_id,
            v.c.label,
            v.c.community,
            v.c.occurred_at,
            marked("visit_voided"),
            marked("visit_flagged"),
        ).where(
            v.c.mark == "visit", v.c.occurred_at >= _utc(start), v.c.occurred_at < _utc(end), v.c.position <= position
        )
        with self.engine.connect() as conn:
            rows = conn.execute(statement).all()
        return [
            VisitFact(
                row[0], row[1], row[2], row[3], aware(row[4]), "voided" if row[5] else "flagged" if row[6] else "valid"
            )
            for row in rows
        ]

    def alert_marks(self, start: datetime, end: datetime, position: int) -> list[Mark]:
        return self._of_subjects("alert_raised", start, end, position)

    def box_marks(self, position: int) -> list[Mark]:
        return self._marks(
            select(*_COLUMNS)
            .where(m.c.mark.in_(("box_registered", "box_retired")), m.c.position <= position)
            .order_by(m.c.position)
        )
