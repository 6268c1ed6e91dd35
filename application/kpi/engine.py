"""The KPI engine: every figure of KPIS.md for a period (a month or any range of local dates), for the zone,
each community, each priority and each category, as of a position in the log."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from application.kpi.edition import Edition, Figures
from application.kpi.figures import IncidentFigures, alert_figures, derive, incident_figures, patrol_figures
from application.kpi.marks import (
    AlertFact,
    IncidentFact,
    KpiMarks,
    VisitFact,
    VisitTime,
    fold_alerts,
    fold_boxes,
    fold_incidents,
)
from application.kpi.period import Filters, Period
from domain.errors import InvalidInput
from domain.values import Category, Community, Priority

_ALL = Filters()  # no filter: the zone's figures


def _in_utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC)


def _grouped(
    facts: list[IncidentFact], key: Callable[[IncidentFact], str], names: Iterable[str], derived: dict
) -> tuple:
    groups: dict[str, list[IncidentFact]] = {name: [] for name in names}
    for f in facts:
        if key(f) in groups:
            groups[key(f)].append(f)
    return tuple((name, incident_figures(part, derived)) for name, part in groups.items())


class KpiEngine:
    def __init__(self, marks: KpiMarks):
        self.marks = marks

    def position(self) -> int:
        return self.marks.position()

    def _checked_position(self, position: int | None) -> int:
        held = self.marks.position()
        if position is None:
            return held
        if not 0 < position <= held:
            raise InvalidInput(
                "The read models hold the log up to position {held}; {position} is not in it.",
                field="position",
                held=held,
                position=position,
            )
        return position

    def incidents(self, period: Period, position: int, filters: Filters = _ALL) -> list[IncidentFact]:
        start, end = period.instants()
        return [f for f in fold_incidents(self.marks.incident_marks(start, end, position)) if filters.admits(f)]

    def visits(self, period: Period, position: int, filters: Filters = _ALL) -> list[VisitFact]:
        start, end = period.instants()
        return [v for v in self.marks.visits(start, end, position) if filters.admits_visit(v)]

    def alerts(self, period: Period, position: int, filters: Filters = _ALL) -> list[AlertFact]:
        start, end = period.instants()
        return [a for a in fold_alerts(self.marks.alert_marks(start, end, position)) if filters.admits_alert(a)]

    def _incident_facts(self, start: datetime, end: datetime, position: int) -> list[IncidentFact]:
        """The incidents as folded by the port where it folds them itself (in any order), else folded here."""
        folded = getattr(self.marks, "incident_facts", None)
        if folded is not None:
            return folded(start, end, position)
        return fold_incidents(self.marks.incident_marks(start, end, position))

    def _alert_facts(self, start: datetime, end: datetime, position: int) -> list[AlertFact]:
        folded = getattr(self.marks, "alert_facts", None)
        if folded is not None:
            return folded(start, end, position)
        return fold_alerts(self.marks.alert_marks(start, end, position))

    def figures(self, period: Period, position: int, filters: Filters = _ALL, *, cut_off: datetime) -> Figures:
        return self._both([period], position, filters, cut_off)[0]

    def _both(self, periods: list[Period], position: int, filters: Filters, cut_off: datetime) -> list[Figures]:
        """The figures of adjacent periods (a month and the month before), from one reading of the marks of all of
        them: one query per kind of mark instead of one per kind and period, the red boxes folded once."""
        start, end = min(p.instants()[0] for p in periods), max(p.instants()[1] for p in periods)
        facts = [f for f in self._incident_facts(start, end, position) if filters.admits(f)]
        times = getattr(self.marks, "visit_times", self.marks.visits)  # the lean reading where the port has one
        visits = times(start, end + timedelta(hours=6), position)
        boxes = fold_boxes(self.marks.box_marks(position))
        alerts = [a for a in self._alert_facts(start, end, position) if filters.admits_alert(a)]
        if filters.community is not None:
            visits = [v for v in visits if v.community == filters.community]
            boxes = [b for b in boxes if b.community == filters.community]
        out = []
        for period in periods:
            low, high = (_in_utc(i) for i in period.instants())
            morning = high + timedelta(hours=6)
            out.append(
                self._figures(
                    period,
                    [f for f in facts if low <= f.reported_at < high],
                    [v for v in visits if low <= v.at < morning],
                    boxes,
                    [a for a in alerts if low <= a.raised_at < high],
                    filters,
                    cut_off,
                )
            )
        return out

    @staticmethod
    def _figures(
        period: Period,
        facts: list[IncidentFact],
        visits: list[VisitFact | VisitTime],
        boxes: list,
        alerts: list[AlertFact],
        filters: Filters,
        cut_off: datetime,
    ) -> Figures:
        patrol = patrol_figures(visits, boxes, period.days, cut_off)
        if filters.night is not None:  # the visits counted by day or at night; night coverage is night's anyway
            counted = patrol_figures([v for v in visits if filters.admits_visit(v)], boxes, period.days, cut_off)
            patrol = replace(patrol, counting=counted.counting, flagged=counted.flagged, voided=counted.voided)
        derived = {id(f): derive(f) for f in facts if f.cancel_reason is None}
        return Figures(
            incidents=incident_figures(facts, derived),
            by_community=_grouped(facts, lambda f: f.community, [c.value for c in Community], derived),
            by_priority=_grouped(facts, lambda f: f.priority, [p.value for p in Priority], derived),
            by_category=_grouped(facts, lambda f: f.category, [c.value for c in Category], derived),
            patrol=patrol,
            alerts=alert_figures(alerts),
        )

    def _reading(self) -> AbstractContextManager:
        """One connection for the queries of one answer, where the marks' reader offers it."""
        reading = getattr(self.marks, "reading", None)
        return reading() if reading is not None else nullcontext()

    def edition(self, period: Period, *, position: int | None = None, filters: Filters = _ALL) -> Edition:
        with self._reading():
            return self._edition(period, position, filters)

    def _edition(self, period: Period, position: int | None, filters: Filters) -> Edition:
        position = self._checked_position(position)
        cut_off = self.marks.cut_off(position)
        first = self.marks.first_occurred(position)
        start, end = period.instants()
        if cut_off is None or first is None or end <= first:
            raise InvalidInput(
                "The log holds nothing for {period}: it starts later.", field="month", period=period.label
            )
        if start > cut_off:
            raise InvalidInput("{period} has not begun yet.", field="month", period=period.label)
        return Edition(
            period,
            filters,
            position,
            cut_off,
            *self._both([period, period.previous()], position, filters, cut_off),
        )

    def trend(
        self, period: Period, *, months: int = 12, position: int | None = None, filters: Filters = _ALL
    ) -> list[tuple[Period, IncidentFigures]]:
        """The incident figures of the `months` months up to the one starting `period`, oldest first."""
        with self._reading():
            return self._trend(period, months, position, filters)

    def _trend(
        self, period: Period, months: int, position: int | None, filters: Filters
    ) -> list[tuple[Period, IncidentFigures]]:
        position = self._checked_position(position)
        periods = [Period.month(period.start.strftime("%Y-%m"))]
        while len(periods) < months:
            periods.insert(0, periods[0].previous())
        start, end = Period(periods[0].start, periods[-1].end).instants()
        facts = [f for f in self._incident_facts(start, end, position) if filters.admits(f)]  # one query
        out = []
        for p in periods:
            low, high = (_in_utc(i) for i in p.instants())
            out.append((p, incident_figures(f for f in facts if low <= f.reported_at < high)))
        return out
