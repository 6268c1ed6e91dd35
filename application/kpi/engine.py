"""The KPI engine: every figure of KPIS.md for a period (a month or any range of local dates), for the zone,
each community, each priority and each category, as of a position in the log."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta

from application.kpi.figures import (
    AlertFigures,
    IncidentFigures,
    PatrolFigures,
    Rate,
    Summary,
    alert_figures,
    derive,
    incident_figures,
    is_night,
    patrol_figures,
)
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
from domain.errors import InvalidInput
from domain.values import BANGKOK, BE_OFFSET, Category, Channel, Community, PartnerSector, Priority

_MONTH = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date  # exclusive

    @classmethod
    def month(cls, text: str) -> Period:
        """'2026-05', or the Buddhist-era '2569-05'."""
        found = _MONTH.fullmatch(text.strip()) if isinstance(text, str) else None
        if not found or not 1 <= int(found[2]) <= 12:
            raise InvalidInput("A month is written YYYY-MM, for example 2569-05.", field="month")
        year = int(found[1])
        year = year - BE_OFFSET if year > 2400 else year
        start = date(year, int(found[2]), 1)
        return cls(start, (start + timedelta(days=32)).replace(day=1))

    @classmethod
    def between(cls, first: date, last: date) -> Period:
        if last < first:
            raise InvalidInput("The range ends before it starts.", field="range")
        return cls(first, last + timedelta(days=1))

    @classmethod
    def between_text(cls, first: str, last: str) -> Period:
        try:
            return cls.between(date.fromisoformat(first), date.fromisoformat(last))
        except (TypeError, ValueError):
            raise InvalidInput("A date is written YYYY-MM-DD, for example 2026-05-31.", field="range") from None

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days)]

    @property
    def is_month(self) -> bool:
        return self.start.day == 1 and self.end == (self.start + timedelta(days=32)).replace(day=1)

    @property
    def label(self) -> str:
        return self.start.strftime("%Y-%m") if self.is_month else f"{self.start}..{self.end - timedelta(days=1)}"

    def previous(self) -> Period:
        if self.is_month:
            return Period.month((self.start - timedelta(days=1)).strftime("%Y-%m"))
        return Period(self.start - (self.end - self.start), self.start)

    def instants(self) -> tuple[datetime, datetime]:
        return datetime.combine(self.start, time(0), BANGKOK), datetime.combine(self.end, time(0), BANGKOK)


@dataclass(frozen=True, slots=True)
class Filters:
    community: str | None = None
    priority: str | None = None
    category: str | None = None
    channel: str | None = None
    night: bool | None = None  # None: day and night

    def __post_init__(self) -> None:
        for name, kind in (
            ("community", Community),
            ("priority", Priority),
            ("category", Category),
            ("channel", Channel),
        ):
            value = getattr(self, name)
            if value is not None and value not in {m.value for m in kind}:
                raise InvalidInput("There is no {field} called {value}.", field=name, value=value)

    @classmethod
    def of(
        cls,
        *,
        community: str | None = None,
        priority: str | None = None,
        category: str | None = None,
        channel: str | None = None,
        time: str | None = None,
    ) -> Filters:
        """From a form's text: empty means all; `time` is day, night or empty."""
        if time not in (None, "", "day", "night"):
            raise InvalidInput("There is no {field} called {value}.", field="time", value=time)
        return cls(
            community or None,
            priority or None,
            category or None,
            channel or None,
            None if not time else time == "night",
        )

    def admits_visit(self, visit: VisitFact) -> bool:
        """Community and day/night (the visit's time); priority, category and channel are incidents' only."""
        return (self.community is None or visit.community == self.community) and (
            self.night is None or is_night(visit.at) == self.night
        )

    def admits_alert(self, alert: AlertFact) -> bool:
        """Community (the camera's), day/night (when it was raised), and channel: only the CCTV channel has alerts.
        Priority and category are incidents' only."""
        return (
            (self.community is None or alert.community == self.community)
            and (self.night is None or is_night(alert.raised_at) == self.night)
            and (self.channel is None or self.channel == Channel.CCTV.value)
        )

    def admits(self, fact: IncidentFact) -> bool:
        return (
            (self.community is None or fact.community == self.community)
            and (self.priority is None or fact.priority == self.priority)
            and (self.category is None or fact.category == self.category)
            and (self.channel is None or fact.channel == self.channel)
            and (self.night is None or is_night(fact.reported_at) == self.night)
        )


@dataclass(frozen=True, slots=True)
class Figures:
    incidents: IncidentFigures
    by_community: tuple[tuple[str, IncidentFigures], ...]
    by_priority: tuple[tuple[str, IncidentFigures], ...]
    by_category: tuple[tuple[str, IncidentFigures], ...]
    patrol: PatrolFigures
    alerts: AlertFigures


@dataclass(frozen=True, slots=True)
class Change:
    current: float | None
    previous: float | None

    @property
    def delta(self) -> float | None:
        return None if self.current is None or self.previous is None else self.current - self.previous

    @property
    def relative(self) -> float | None:
        return None if self.delta is None or not self.previous else self.delta / self.previous


@dataclass(frozen=True, slots=True)
class Citation:
    """The ledger's signed checkpoint that covers a report's position: anyone with the public key can check that the
    log the report was computed from is the log the checkpoint signed."""

    tree_size: int
    root: str  # base64, as in the checkpoint
    key_id: str  # 8 hex digits: the signing key's id

    def __str__(self) -> str:
        return f"tree_size={self.tree_size} root={self.root} key_id={self.key_id}"

    @classmethod
    def parse(cls, text: str) -> Citation | None:
        parts = dict(part.partition("=")[::2] for part in text.split())
        try:
            return cls(int(parts["tree_size"]), parts["root"], parts["key_id"])
        except (KeyError, ValueError):
            return None


@dataclass(frozen=True, slots=True)
class Edition:
    period: Period
    filters: Filters
    position: int
    cut_off: datetime
    figures: Figures
    previous: Figures
    checkpoint: Citation | None = None  # the ledger's signed checkpoint covering `position`

    def month_over_month(self) -> dict[str, Change]:
        before = dict(headline(self.previous))
        return {name: Change(value, before.get(name)) for name, value in headline(self.figures)}


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

    def incidents(self, period: Period, position: int, filters: Filters = Filters()) -> list[IncidentFact]:
        start, end = period.instants()
        return [f for f in fold_incidents(self.marks.incident_marks(start, end, position)) if filters.admits(f)]

    def visits(self, period: Period, position: int, filters: Filters = Filters()) -> list[VisitFact]:
        start, end = period.instants()
        return [v for v in self.marks.visits(start, end, position) if filters.admits_visit(v)]

    def alerts(self, period: Period, position: int, filters: Filters = Filters()) -> list[AlertFact]:
        start, end = period.instants()
        return [a for a in fold_alerts(self.marks.alert_marks(start, end, position)) if filters.admits_alert(a)]

    def figures(self, period: Period, position: int, filters: Filters = Filters(), *, cut_off: datetime) -> Figures:
        return self._both([period], position, filters, cut_off)[0]

    def _both(self, periods: list[Period], position: int, filters: Filters, cut_off: datetime) -> list[Figures]:
        """The figures of adjacent periods (a month and the month before), from one reading of the marks of all of
        them: one query per kind of mark instead of one per kind and period, the red boxes folded once."""
        start, end = min(p.instants()[0] for p in periods), max(p.instants()[1] for p in periods)
        facts = [f for f in fold_incidents(self.marks.incident_marks(start, end, position)) if filters.admits(f)]
        times = getattr(self.marks, "visit_times", self.marks.visits)  # the lean reading where the port has one
        visits = times(start, end + timedelta(hours=6), position)
        boxes = fold_boxes(self.marks.box_marks(position))
        alerts = [a for a in fold_alerts(self.marks.alert_marks(start, end, position)) if filters.admits_alert(a)]
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

    def edition(self, period: Period, *, position: int | None = None, filters: Filters = Filters()) -> Edition:
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
        self, period: Period, *, months: int = 12, position: int | None = None, filters: Filters = Filters()
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
        facts = self.incidents(Period(periods[0].start, periods[-1].end), position, filters)  # one query
        out = []
        for p in periods:
            low, high = (_in_utc(i) for i in p.instants())
            out.append((p, incident_figures(f for f in facts if low <= f.reported_at < high)))
        return out


def _values(prefix: str, value: object) -> list[tuple[str, float | None]]:
    if isinstance(value, Summary):
        return [(f"{prefix}.count", value.count), (f"{prefix}.median", value.median), (f"{prefix}.p90", value.p90)]
    if isinstance(value, Rate):
        return [
            (f"{prefix}.numerator", value.numerator),
            (f"{prefix}.denominator", value.denominator),
            (f"{prefix}.rate", value.value),
        ]
    if isinstance(value, int | float) or value is None:
        return [(prefix, value)]
    return []


def incident_headline(prefix: str, figures: IncidentFigures) -> list[tuple[str, float | None]]:
    out: list[tuple[str, float | None]] = []
    for field in fields(figures):
        value = getattr(figures, field.name)
        if field.name == "by_channel":
            out += [(f"{prefix}.channel.{name}", count) for name, count in value]
        else:
            out += _values(f"{prefix}.{field.name}", value)
    return out


def headline(figures: Figures) -> list[tuple[str, float | None]]:
    """Every figure as (name, value), flat and in a fixed order: month over month, verification, the CSV."""
    out = incident_headline("incidents", figures.incidents)
    for group in ("by_community", "by_priority", "by_category"):
        for name, part in getattr(figures, group):
            out += incident_headline(f"{group[3:]}.{name}", part)
    p = figures.patrol
    out += [
        ("patrol.counting", p.counting),
        ("patrol.flagged", p.flagged),
        ("patrol.voided", p.voided),
        ("patrol.box_days", p.box_days),
        ("patrol.visits_per_box_day", p.visits_per_box_day),
        *_values("patrol.night_coverage", p.night_coverage),
    ]
    out += [(f"patrol.longest_night_gap.{g.box_code}", g.longest_gap) for g in p.gaps]
    a = figures.alerts
    out += [(f"alerts.kind.{kind}", count) for kind, count in a.by_kind]
    out += [
        ("alerts.detection", a.detection),
        *_values("alerts.acknowledge", a.acknowledge),
        *_values("alerts.within_60s", a.within_60s),
        *_values("alerts.false_alarm", a.false_alarm),
        *_values("alerts.escalation", a.escalation),
    ]
    for camera in a.by_camera:
        out += [
            (f"alerts.camera.{camera.camera_code}.offline", camera.offline),
            (f"alerts.camera.{camera.camera_code}.tampered", camera.tampered),
        ]
    return out


def position_of(text: str | None) -> int | None:
    """A log position as a query string gives it: empty means the latest."""
    if text is None or not text.strip():
        return None
    if not text.strip().isascii() or not text.strip().isdigit() or len(text.strip()) > 18:
        raise InvalidInput(
            "A position of the log is a whole number, for example 48213; {value} is not.", field="position", value=text
        )
    return int(text.strip())


def sector_of(value: str | None) -> PartnerSector | None:
    if not value:
        return None
    try:
        return PartnerSector(value)
    except ValueError:
        raise InvalidInput("There is no {field} called {value}.", field="sector", value=value) from None
