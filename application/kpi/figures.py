"""The figures of KPIS.md, computed from facts as they stood at a position (see marks.py)."""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from application.kpi.marks import AlertFact, BoxFact, IncidentFact, VisitFact, VisitTime
from domain.values import BANGKOK

NIGHT_SLOTS = (9, 10, 11, 0, 1, 2)  # 18–20 … 04–06, in the order of a night
OFFLINE_KINDS = ("offline", "tampered")
INTERVALS = ("call_to_dispatch", "travel", "response", "resolve", "close")


@dataclass(frozen=True, slots=True)
class Summary:
    count: int
    median: int | None  # whole seconds, nearest rank
    p90: int | None


@dataclass(frozen=True, slots=True)
class Rate:
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


@dataclass(frozen=True, slots=True)
class IncidentFigures:
    reported: int  # every incident first reported in the period, cancelled ones included
    cancelled: int
    counted: int  # reported − cancelled: the base of every interval and rate
    by_channel: tuple[tuple[str, int], ...]  # counted incidents
    day: int
    night: int
    call_to_dispatch: Summary
    travel: Summary
    response: Summary
    resolve: Summary
    close: Summary
    resolution: Rate
    arrest: Rate
    night_share: Rate
    reopened: int


@dataclass(frozen=True, slots=True)
class BoxNights:
    box_code: str
    nights: int  # whole nights the box was active, ended by the cut-off
    longest_gap: int | None  # seconds


@dataclass(frozen=True, slots=True)
class HeatCell:
    box_code: str
    slot: int  # 9, 10, 11, 0, 1, 2
    covered: int  # nights with a counting visit in the slot
    possible: int  # nights the box was active during the slot (and the slot had ended)


@dataclass(frozen=True, slots=True)
class PatrolFigures:
    counting: int
    flagged: int
    voided: int
    box_days: int
    night_coverage: Rate
    gaps: tuple[BoxNights, ...]
    heat: tuple[HeatCell, ...]

    @property
    def visits_per_box_day(self) -> float | None:
        return self.counting / self.box_days if self.box_days else None


@dataclass(frozen=True, slots=True)
class CameraCount:
    camera_code: str
    offline: int
    tampered: int


@dataclass(frozen=True, slots=True)
class AlertFigures:
    by_kind: tuple[tuple[str, int], ...]
    detection: int  # every kind but offline and tampered
    acknowledge: Summary
    within_60s: Rate
    false_alarm: Rate
    escalation: Rate
    by_camera: tuple[CameraCount, ...]


def nearest_rank(ordered: list[int], percent: int) -> int | None:
    if not ordered:
        return None
    return ordered[-(-percent * len(ordered) // 100) - 1]


def summary(values: Iterable[int]) -> Summary:
    ordered = sorted(values)
    return Summary(len(ordered), nearest_rank(ordered, 50), nearest_rank(ordered, 90))


def seconds(start: datetime | timedelta, end: datetime | timedelta) -> int:
    """Whole seconds, rounded down (the floor of a difference; the floor of the longest is the longest floor)."""
    return (end - start) // _SECOND


_SECOND = timedelta(seconds=1)


def is_night(instant: datetime) -> bool:
    hour = instant.astimezone(BANGKOK).hour
    return hour >= 18 or hour < 6


Derived = tuple  # (night, call_to_dispatch, travel, response, resolve, close): None where an interval has no end


def derive(f: IncidentFact) -> Derived:
    """What the figures need of an incident, computed once however many groups it is counted in."""
    r, d, o = f.reported_at, f.dispatched_at, f.on_scene_at
    s, c = f.resolved_at, f.closed_at
    return (
        is_night(r),
        None if d is None else seconds(r, d),
        None if d is None or o is None else seconds(d, o),
        None if o is None else seconds(r, o),
        None if s is None else seconds(r, s),
        None if c is None else seconds(r, c),
    )


def incident_figures(facts: Iterable[IncidentFact], derived: dict[int, Derived] | None = None) -> IncidentFigures:
    """`derived`: `derive(f)` by `id(f)`, made once for the facts of several groups (else made here)."""
    facts = list(facts)
    counted = [f for f in facts if f.cancel_reason is None]
    derived = derived if derived is not None else {id(f): derive(f) for f in counted}
    values = [derived[id(f)] for f in counted]
    night = sum(1 for v in values if v[0])

    def between(index: int) -> Summary:
        return summary(v[index] for v in values if v[index] is not None)

    with_outcome = [f for f in counted if f.outcome is not None]
    return IncidentFigures(
        reported=len(facts),
        cancelled=len(facts) - len(counted),
        counted=len(counted),
        by_channel=tuple(sorted(Counter(f.channel for f in counted).items())),
        day=len(counted) - night,
        night=night,
        call_to_dispatch=between(1),
        travel=between(2),
        response=between(3),
        resolve=between(4),
        close=between(5),
        resolution=Rate(sum(1 for f in counted if f.resolved_at is not None), len(counted)),
        arrest=Rate(sum(1 for f in with_outcome if f.outcome == "arrest"), len(with_outcome)),
        night_share=Rate(night, len(counted)),
        reopened=sum(1 for f in counted if f.reopened),
    )


def _local(day: date, hour: int) -> datetime:
    return (
        datetime.combine(day, time(hour), BANGKOK)
        if hour < 24
        else datetime.combine(day + timedelta(days=1), time(0), BANGKOK)
    )


def _active(box: BoxFact, start: datetime, end: datetime) -> bool:
    """Active at any moment of [start, end)."""
    return box.registered_at < end and (box.retired_at is None or box.retired_at > start)


def night_slots(night: date) -> list[tuple[int, datetime, datetime]]:
    """The six slots of the night that starts at 18:00 on `night`."""
    out = []
    for slot in NIGHT_SLOTS:
        day = night if slot >= 9 else night + timedelta(days=1)
        out.append((slot, _local(day, slot * 2), _local(day, slot * 2 + 2)))
    return out


def _utc(instant: datetime) -> datetime:
    """In the one UTC tzinfo: datetimes sharing a tzinfo object compare without asking it for their offsets (a
    database's UTC zone against Bangkok's asks both, on every comparison of a sort or a bisection)."""
    return instant if instant.tzinfo is UTC else instant.astimezone(UTC)


def patrol_figures(
    visits: Iterable[VisitFact | VisitTime], boxes: Iterable[BoxFact], days: list[date], cut_off: datetime
) -> PatrolFigures:
    """`days`: the local dates of the period; `visits` may run into the morning after its last night."""
    visits, boxes = list(visits), list(boxes)
    cut_off = _utc(cut_off)
    first, after = (_utc(_local(days[0], 0)), _utc(_local(days[-1], 24))) if days else (cut_off, cut_off)
    status = Counter(v.status for v in visits if first <= _utc(v.at) < after)
    spans = [(box, _utc(box.registered_at), None if box.retired_at is None else _utc(box.retired_at)) for box in boxes]

    def active(registered: datetime, retired: datetime | None, start: datetime, end: datetime) -> bool:
        return registered < end and (retired is None or retired > start)

    day_bounds = [(_utc(_local(day, 0)), _utc(_local(day, 24))) for day in days]
    box_days = sum(
        1
        for start, end in day_bounds
        if start <= cut_off
        for _, registered, retired in spans
        if active(registered, retired, start, min(end, cut_off))
    )
    counting: dict[str, list[datetime]] = {}
    for v in visits:
        if v.status == "valid":
            counting.setdefault(v.box_code, []).append(_utc(v.at))
    for times in counting.values():
        times.sort()
    nights = [[(slot, _utc(start), _utc(end)) for slot, start, end in night_slots(night)] for night in days]

    covered = possible = 0
    heat: dict[tuple[str, int], list[int]] = {}
    gaps: dict[str, list] = {}
    for box, registered, retired in sorted(spans, key=lambda s: s[0].code):
        times = counting.get(box.code, [])
        for slots in nights:
            for slot, start, end in slots:
                if end > cut_off or not active(registered, retired, start, end):
                    continue
                first = bisect_left(times, start)
                hit = first < len(times) and times[first] < end
                covered, possible = covered + hit, possible + 1
                cell = heat.setdefault((box.code, slot), [0, 0])
                cell[0] += hit
                cell[1] += 1
            dusk, dawn = slots[0][1], slots[-1][2]
            if dawn > cut_off or registered > dusk or (retired is not None and retired < dawn):
                continue
            marks = [dusk, *times[bisect_left(times, dusk) : bisect_left(times, dawn)], dawn]
            longest = seconds(timedelta(0), max(b - a for a, b in zip(marks, marks[1:], strict=False)))
            entry = gaps.setdefault(box.code, [0, None])
            entry[0] += 1
            entry[1] = longest if entry[1] is None else max(entry[1], longest)
    return PatrolFigures(
        counting=status["valid"],
        flagged=status["flagged"],
        voided=status["voided"],
        box_days=box_days,
        night_coverage=Rate(covered, possible),
        gaps=tuple(BoxNights(code, nights, longest) for code, (nights, longest) in sorted(gaps.items())),
        heat=tuple(HeatCell(code, slot, c, p) for (code, slot), (c, p) in heat.items()),
    )


def alert_figures(alerts: Iterable[AlertFact]) -> AlertFigures:
    alerts = list(alerts)
    detection = [a for a in alerts if a.kind not in OFFLINE_KINDS]
    acked = [seconds(a.raised_at, a.acknowledged_at) for a in detection if a.acknowledged_at is not None]
    decided = [a for a in detection if a.decision is not None]
    cameras: dict[str, Counter] = {}
    for a in alerts:
        if a.kind in OFFLINE_KINDS:
            cameras.setdefault(a.camera_code, Counter())[a.kind] += 1
    return AlertFigures(
        by_kind=tuple(sorted(Counter(a.kind for a in alerts).items())),
        detection=len(detection),
        acknowledge=summary(acked),
        within_60s=Rate(sum(1 for s in acked if s <= 60), len(detection)),
        false_alarm=Rate(sum(1 for a in decided if a.decision == "false_alarm"), len(decided)),
        escalation=Rate(sum(1 for a in decided if a.decision == "escalated"), len(decided)),
        by_camera=tuple(CameraCount(code, c["offline"], c["tampered"]) for code, c in sorted(cameras.items())),
    )
