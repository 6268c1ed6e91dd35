"""The KPI engine's reading of the KPI marks (application.kpi.marks.KpiMarks) in plain SQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from uuid import UUID

from psycopg.rows import args_row
from sqlalchemy import Connection, Engine, String, case, cast, func, select, text

from application.kpi.marks import AlertFact, IncidentFact, Mark, VisitFact, VisitTime, fold_alerts, fold_incidents
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


_UTC_ZONES: set[int] = set()  # ids of zones seen to be UTC itself (psycopg's ZoneInfo('Etc/UTC'), kept alive)
_ZONES: list = []


def _in_utc(value: datetime) -> datetime:
    """In the one UTC tzinfo (psycopg gives the session's zone, e.g. ZoneInfo('Etc/UTC'); SQLite naive UTC), so that
    the engine compares instants without asking zones for offsets. A zone that is UTC itself is swapped, not
    converted (a conversion asks the zone for its offset: a third of reading a month's marks)."""
    zone = value.tzinfo
    if zone is UTC:  # a reading's session is in UTC: psycopg gives datetime's own
        return value
    if zone is None or id(zone) in _UTC_ZONES:
        return value.replace(tzinfo=UTC)
    if zone is UTC:
        return value
    if getattr(zone, "key", None) in ("UTC", "Etc/UTC", "Etc/Universal", "Universal", "Zulu", "Etc/Zulu"):
        _ZONES.append(zone)
        _UTC_ZONES.add(id(zone))
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


# The folds of application.kpi.marks done by PostgreSQL, one row per subject instead of one per mark (a month and the
# month before: some 7,800 marks of 1,500 incidents, 3,600 of 1,300 alerts). Each column is what the fold leaves:
# the first of each kind by occurred_at; the category and priority of the last Reported or Triaged mark by position;
# the outcome of the last Resolved mark unless a Reopened one came after it; the last cancel reason; the Reopened
# marks counted; an alert's decision from its first Dismissed or Escalated mark. SQLite folds in Python.
_SUBJECTS = """kpi_marks.subject_id IN (SELECT subject_id FROM kpi_marks WHERE mark = :first
AND occurred_at >= :start AND occurred_at < :end AND position <= :position) AND kpi_marks.position <= :position"""
_LAST = "(array_agg({column} ORDER BY position DESC) FILTER (WHERE mark IN ({marks})))[1]"
_INCIDENTS = text(
    f"""SELECT CAST(subject_id AS TEXT),
    max(label) FILTER (WHERE mark = 'reported'),
    max(occurred_at) FILTER (WHERE mark = 'reported'),
    max(community) FILTER (WHERE mark = 'reported'),
    {_LAST.format(column="category", marks="'reported', 'triaged'")},
    {_LAST.format(column="priority", marks="'reported', 'triaged'")},
    max(channel) FILTER (WHERE mark = 'reported'),
    min(occurred_at) FILTER (WHERE mark = 'dispatched'),
    min(occurred_at) FILTER (WHERE mark = 'on_scene'),
    min(occurred_at) FILTER (WHERE mark = 'resolved'),
    min(occurred_at) FILTER (WHERE mark = 'closed'),
    {_LAST.format(column="CASE WHEN mark = 'resolved' THEN value END", marks="'resolved', 'reopened'")},
    {_LAST.format(column="value", marks="'cancelled'")},
    count(*) FILTER (WHERE mark = 'reopened')
FROM kpi_marks WHERE {_SUBJECTS} GROUP BY subject_id"""
)
_ALERTS = text(
    f"""SELECT CAST(subject_id AS TEXT),
    max(label) FILTER (WHERE mark = 'alert_raised'),
    max(community) FILTER (WHERE mark = 'alert_raised'),
    max(value) FILTER (WHERE mark = 'alert_raised'),
    max(occurred_at) FILTER (WHERE mark = 'alert_raised'),
    min(occurred_at) FILTER (WHERE mark = 'alert_ack'),
    (array_agg(mark ORDER BY position) FILTER (WHERE mark IN ('alert_dismissed', 'alert_escalated')))[1]
FROM kpi_marks WHERE {_SUBJECTS} GROUP BY subject_id"""
)
_DECISIONS = {None: None, "alert_dismissed": "false_alarm", "alert_escalated": "escalated"}


def _maybe(value: datetime | None) -> datetime | None:
    return None if value is None else _in_utc(value)


class SqlKpiMarks:
    def __init__(self, engine: Engine):
        self.engine = engine
        self._held = threading.local()

    @contextmanager
    def reading(self) -> Iterator[None]:
        """The queries of one edition on one connection, in one transaction (one checkout, one snapshot); on
        PostgreSQL without JIT compilation, which costs these short queries more than it saves."""
        if getattr(self._held, "conn", None) is not None:
            yield
            return
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                # In UTC by name, psycopg reads every instant in datetime's own UTC (under 'Etc/UTC' in a zone that
                # asks for its offset on every comparison); the queries compare instants, never local times.
                conn.exec_driver_sql("SET LOCAL jit = off")
                conn.exec_driver_sql("SET LOCAL TimeZone = 'UTC'")
            self._held.conn = conn
            try:
                yield
            finally:
                self._held.conn = None

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        held = getattr(self._held, "conn", None)
        if held is not None:
            yield held
            return
        with self.engine.connect() as conn:
            yield conn

    def _marks(self, statement) -> list[Mark]:
        with self._connection() as conn:
            rows = conn.execute(statement).all()
        return [Mark(row[0], row[1], row[2], _in_utc(row[3]), _in_utc(row[4]), *row[5:]) for row in rows]

    def position(self) -> int:
        with self._connection() as conn:
            found = conn.execute(
                select(projection_positions.c.position).where(projection_positions.c.name == "kpi_marks")
            ).scalar()
        return found or 0

    def cut_off(self, position: int) -> datetime | None:
        with self._connection() as conn:
            return aware(conn.execute(select(func.max(m.c.recorded_at)).where(m.c.position <= position)).scalar())

    def first_occurred(self, position: int) -> datetime | None:
        with self._connection() as conn:
            return aware(conn.execute(select(func.min(m.c.occurred_at)).where(m.c.position <= position)).scalar())

    def _of_subjects(self, first_mark: str, start: datetime, end: datetime, position: int) -> list[Mark]:
        return self._marks(
            select(*_COLUMNS)
            .where(m.c.subject_id.in_(self._subjects(first_mark, start, end, position)), m.c.position <= position)
            .order_by(m.c.position)
        )

    @staticmethod
    def _subjects(first_mark: str, start: datetime, end: datetime, position: int):  # noqa: ANN205
        return select(m.c.subject_id).where(
            m.c.mark == first_mark,
            m.c.occurred_at >= _utc(start),
            m.c.occurred_at < _utc(end),
            m.c.position <= position,
        )

    def _folded_marks(self, first_mark: str, start: datetime, end: datetime, position: int) -> list[Mark]:
        """The marks of the subjects first marked `first_mark` in [start, end), with what the folds read: no
        recording time, no parent; the subject's id read as text and made a UUID once per subject (a month's
        incidents and alerts have some ten thousand marks, and making UUIDs was a good part of reading them)."""
        statement = (
            select(
                m.c.position,
                cast(m.c.subject_id, String),
                m.c.mark,
                m.c.occurred_at,
                m.c.community,
                m.c.category,
                m.c.priority,
                m.c.channel,
                m.c.value,
                m.c.label,
            )
            .where(m.c.subject_id.in_(self._subjects(first_mark, start, end, position)), m.c.position <= position)
            .order_by(m.c.position)
        )
        with self._connection() as conn:
            rows = conn.execute(statement).all()
        ids: dict[str, UUID] = {}
        out = []
        for row in rows:
            subject = ids.get(row[1])
            if subject is None:
                subject = ids[row[1]] = UUID(row[1])
            out.append(Mark(row[0], subject, row[2], _in_utc(row[3]), None, *row[4:]))
        return out

    def incident_marks(self, start: datetime, end: datetime, position: int) -> list[Mark]:
        return self._folded_marks("reported", start, end, position)

    def _folded(self, statement, first_mark: str, start: datetime, end: datetime, position: int) -> list | None:  # noqa: ANN001
        """The rows of a fold done by PostgreSQL; None on SQLite."""
        with self._connection() as conn:
            if conn.dialect.name != "postgresql":
                return None
            bounds = {"first": first_mark, "start": _utc(start), "end": _utc(end), "position": position}
            return conn.execute(statement, bounds).all()

    def incident_facts(self, start: datetime, end: datetime, position: int) -> list[IncidentFact]:
        """`fold_incidents(incident_marks(...))`, folded by the database where it can."""
        rows = self._folded(_INCIDENTS, "reported", start, end, position)
        if rows is None:
            return fold_incidents(self.incident_marks(start, end, position))
        return [
            IncidentFact(
                UUID(r[0]), r[1], _in_utc(r[2]), r[3], r[4], r[5], r[6], *map(_maybe, r[7:11]), r[11], r[12], r[13]
            )
            for r in rows
        ]

    def alert_facts(self, start: datetime, end: datetime, position: int) -> list[AlertFact]:
        """`fold_alerts(alert_marks(...))`, folded by the database where it can."""
        rows = self._folded(_ALERTS, "alert_raised", start, end, position)
        if rows is None:
            return fold_alerts(self.alert_marks(start, end, position))
        return [AlertFact(UUID(r[0]), r[1], r[2], r[3], _in_utc(r[4]), _maybe(r[5]), _DECISIONS[r[6]]) for r in rows]

    def visit_marks(self, start: datetime, end: datetime, position: int) -> list[Mark]:
        return self._of_subjects("visit", start, end, position)

    def visits(self, start: datetime, end: datetime, position: int) -> list[VisitFact]:
        """`fold_visits(visit_marks(...))` done with the database's help (there are tens of thousands of visits a
        month): the visits in one range scan, and the few Voided and Flagged marks up to the position that name them
        in a second query; a visit is voided if a Voided mark names it, else flagged if a Flagged one does."""
        in_range = (m.c.mark == "visit", m.c.occurred_at >= _utc(start), m.c.occurred_at < _utc(end))
        visits = select(m.c.subject_id, m.c.parent_id, m.c.label, m.c.community, m.c.occurred_at).where(
            *in_range, m.c.position <= position
        )
        subjects = select(m.c.subject_id).where(*in_range, m.c.position <= position)
        marked = select(m.c.subject_id, m.c.mark).where(
            m.c.mark.in_(("visit_voided", "visit_flagged")), m.c.position <= position, m.c.subject_id.in_(subjects)
        )
        with self._connection() as conn:
            rows = conn.execute(visits).all()
            flags = conn.execute(marked).all()
        status: dict = {}
        for subject, mark in flags:
            if mark == "visit_voided" or subject not in status:
                status[subject] = "voided" if mark == "visit_voided" else "flagged"
        return [VisitFact(row[0], row[1], row[2], row[3], _in_utc(row[4]), status.get(row[0], "valid")) for row in rows]

    def visit_times(self, start: datetime, end: datetime, position: int) -> list[VisitTime]:
        """The visits for the patrol figures: each one's box code, community, time and status, in one query (no
        ids: turning tens of thousands of UUIDs into objects took longer than the query). The Voided and Flagged
        marks up to the position are few: grouped by visit first, then joined."""
        f = (
            select(m.c.subject_id, func.max(case((m.c.mark == "visit_voided", 2), else_=1)).label("status"))
            .where(m.c.mark.in_(("visit_voided", "visit_flagged")), m.c.position <= position)
            .group_by(m.c.subject_id)
            .subquery()
        )
        status = case((f.c.status == 2, "voided"), (f.c.status == 1, "flagged"), else_="valid")
        statement = (
            select(m.c.label, m.c.community, m.c.occurred_at, status)
            .select_from(m.outerjoin(f, f.c.subject_id == m.c.subject_id))
            .where(
                m.c.mark == "visit",
                m.c.occurred_at >= _utc(start),
                m.c.occurred_at < _utc(end),
                m.c.position <= position,
            )
        )
        with self._connection() as conn:
            result = conn.execute(statement)
            if conn.dialect.name == "postgresql":  # made by psycopg itself: the columns need no processing
                result.cursor.row_factory = args_row(VisitTime)
                rows = result.cursor.fetchall()
                result.close()
            else:
                rows = result.all()
        if all(row[2].tzinfo is UTC for row in rows):  # a reading's session in UTC (see `reading`)
            return rows
        return [VisitTime(row[0], row[1], _in_utc(row[2]), row[3]) for row in rows]

    def alert_marks(self, start: datetime, end: datetime, position: int) -> list[Mark]:
        return self._folded_marks("alert_raised", start, end, position)

    def box_marks(self, position: int) -> list[Mark]:
        return self._marks(
            select(*_COLUMNS)
            .where(m.c.mark.in_(("box_registered", "box_retired")), m.c.position <= position)
            .order_by(m.c.position)
        )
