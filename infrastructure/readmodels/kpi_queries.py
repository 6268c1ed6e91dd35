"""The KPI engine's reading of the KPI marks (application.kpi.marks.KpiMarks) in plain SQL."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Engine, func, select

from application.kpi.marks import Mark
from infrastructure.readmodels.kpi_marks import kpi_marks as m
from infrastructure.readmodels.projections import aware
from infrastructure.readmodels.tables import projection_positions

_COLUMNS = [m.c[name] for name in ("position", "subject_id", "mark", "occurred_at", "recorded_at", "community", "category",
                                   "priority", "channel", "value", "label", "parent_id")]


def _utc(instant: datetime) -> datetime:
    return instant.astimezone(timezone.utc)


class SqlKpiMarks:
    def __init__(self, engine: Engine):
        self.engine = engine

    def _marks(self, statement) -> list[Mark]:
        with self.engine.connect() as conn:
            return [Mark(row[0], row[1], row[2], aware(row[3]), aware(row[4]), *row[5:]) for row in conn.execute(statement)]

    def position(self) -> int:
        with self.engine.connect() as conn:
            found = conn.execute(select(projection_positions.c.position)
                                 .where(projection_positions.c.name == "kpi_marks")).scalar()
        return found or 0

    def cut_off(self, position: int) -> datetime | None:
        with self.engine.connect() as conn:
            return aware(conn.execute(select(func.max(m.c.recorded_at)).where(m.c.position <= position)).scalar())

    def first_occurred(self, position: int) -> datetime | None:
        with self.engine.connect() as conn:
            return aware(conn.execute(select(func.min(m.c.occurred_at)).where(m.c.position <= position)).scalar())

    def _of_subjects(self, first_mark: str, start: datetime, end: datetime, position: int) -> list[Mark]:
        subjects = select(m.c.subject_id).where(m.c.mark == first_mark, m.c.occurred_at >= _utc(start),
                                                m.c.occurred_at < _utc(end), m.c.position <= position)
        return self._marks(select(*_COLUMNS).where(m.c.subject_id.in_(subjects), m.c.position <= position)
                           .order_by(m.c.position))

    def incident_marks(self, start: datetime, end: datetime, position: int) -> list[Mark]:
        return self._of_subjects("reported", start, end, position)

    def visit_marks(self, start: datetime, end: datetime, position: int) -> list[Mark]:
        return self._of_subjects("visit", start, end, position)

    def alert_marks(self, start: datetime, end: datetime, position: int) -> list[Mark]:
        return self._of_subjects("alert_raised", start, end, position)

    def box_marks(self, position: int) -> list[Mark]:
        return self._marks(select(*_COLUMNS).where(m.c.mark.in_(("box_registered", "box_retired")), m.c.position <= position)
                           .order_by(m.c.position))
