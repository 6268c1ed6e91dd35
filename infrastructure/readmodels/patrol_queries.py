"""Reads for red boxes and patrol coverage: the supervisors' gaps of the day and of recent nights, the visits
and refused check-ins to look into, and the officer's last visit (to judge the next one). KPIS.md defines
the slots: twelve 2-hour slots a local day from 00:00; night slots 18–20, 20–22, 22–24, 00–02, 02–04, 04–06;
a counting visit is neither flagged nor voided."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Engine, and_, select

from domain.values import BANGKOK
from infrastructure.readmodels import tables as t
from infrastructure.readmodels.rows import aware

SLOT_HOURS = 2
NIGHT_SLOTS_EVENING = (9, 10, 11)  # 18–24 of a night's first day
NIGHT_SLOTS_MORNING = (0, 1, 2)  # 00–06 of its second day


def _aware(row: Any) -> dict[str, Any]:
    return {k: aware(v) for k, v in dict(row).items()}


def _utc(instant: datetime) -> datetime:
    """Bounds of a query in UTC, as the read models store instants (SQLite compares them as text: a Bangkok
    instant would be compared by its local wall-clock digits)."""
    return instant.astimezone(UTC)


def slot_start(day: date, slot: int) -> datetime:
    return datetime.combine(day, time(slot * SLOT_HOURS), tzinfo=BANGKOK)


def night_slots(night_of: date) -> list[tuple[date, int]]:
    """The six (local day, slot) pairs of the night that begins at 18:00 on `night_of`."""
    return [(night_of, s) for s in NIGHT_SLOTS_EVENING] + [
        (night_of + timedelta(days=1), s) for s in NIGHT_SLOTS_MORNING
    ]


@dataclass
class BoxDay:
    """One active box on one local day: per slot the counting / flagged / voided visits, and what is missing."""

    box: dict[str, Any]
    slots: list[dict[str, int]]  # 12 × {"valid", "flagged", "voided"}
    last_visit_at: datetime | None
    missed: list[int] = field(default_factory=list)  # finished slots of the day's night part without a counting visit
    late: bool = False  # no counting visit for longer than a slot, now


@dataclass
class NightCoverage:
    box: dict[str, Any]
    nights: list[tuple[date, list[bool]]]  # per night, per night slot: visited (a counting visit)
    covered: int
    slots: int

    @property
    def share(self) -> float | None:
        return self.covered / self.slots if self.slots else None


class PatrolQueries:
    engine: Engine

    def red_boxes(self, *, include_retired: bool = False) -> list[dict[str, Any]]:
        query = select(t.red_boxes).order_by(t.red_boxes.c.retired, t.red_boxes.c.code)
        if not include_retired:
            query = query.where(t.red_boxes.c.retired.is_(False))
        with self.engine.connect() as conn:
            return [_aware(r) for r in conn.execute(query).mappings()]

    def red_box_by_code(self, code: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.red_boxes).where(t.red_boxes.c.code == code.strip().upper())).mappings().first()
        return _aware(row) if row else None

    def last_visit_of(self, officer_id: UUID) -> UUID | None:
        """The officer's latest visit that was not voided: the one the next check-in is judged against."""
        v = t.kpi_visits.c
        with self.engine.connect() as conn:
            return conn.execute(
                select(v.visit_id)
                .where(v.officer_id == officer_id, v.status != "voided")
                .order_by(v.visited_at.desc())
                .limit(1)
            ).scalar()

    def _visit_rows(self, start: datetime, end: datetime, officer_id: UUID | None = None) -> list[dict[str, Any]]:
        v = t.kpi_visits.c
        start, end = _utc(start), _utc(end)
        query = select(t.kpi_visits).where(v.visited_at >= start, v.visited_at < end).order_by(v.visited_at)
        if officer_id is not None:
            query = query.where(v.officer_id == officer_id)
        with self.engine.connect() as conn:
            return [_aware(r) for r in conn.execute(query).mappings()]

    def coverage_of_day(self, day: date, now: datetime) -> list[BoxDay]:
        """Every box active on `day`, with its 12 slots; the night slots of the day (00–06 and 18–24) that have
        ended without a counting visit are `missed`; a box is `late` when its last counting visit is more than
        one slot ago (today only)."""
        start = slot_start(day, 0)
        visits = self._visit_rows(start - timedelta(days=1), start + timedelta(days=1))
        days: list[BoxDay] = []
        for box in self.red_boxes(include_retired=True):
            if box["registered_at"] >= start + timedelta(days=1) or (box["retired"] and box["updated_at"] < start):
                continue
            slots = [{"valid": 0, "flagged": 0, "voided": 0} for _ in range(12)]
            last = None
            for visit in visits:
                if visit["box_id"] != box["id"]:
                    continue
                if visit["local_day"] == day:
                    slots[visit["slot"]][visit["status"]] += 1
                if visit["status"] == "valid" and visit["visited_at"] <= now:
                    last = visit["visited_at"]
            entry = BoxDay(box, slots, last)
            for slot in (*NIGHT_SLOTS_MORNING, *NIGHT_SLOTS_EVENING):
                ended = slot_start(day, slot) + timedelta(hours=SLOT_HOURS) <= now
                if (
                    ended
                    and slot_start(day, slot) >= box["registered_at"] - timedelta(hours=SLOT_HOURS)
                    and not slots[slot]["valid"]
                ):
                    entry.missed.append(slot)
            if slot_start(day, 0) <= now < slot_start(day, 0) + timedelta(days=1) and not box["retired"]:
                since = last or box["registered_at"]
                entry.late = now - since > timedelta(hours=SLOT_HOURS)
            days.append(entry)
        return days

    def night_coverage(self, first_night: date, last_night: date, now: datetime) -> list[NightCoverage]:
        """Per box, for each night from `first_night` to `last_night` (18:00 to 06:00), which of its six slots had
        a counting visit; slots not yet ended, or before the box was registered, are left out of the share."""
        start = slot_start(first_night, NIGHT_SLOTS_EVENING[0])
        end = slot_start(last_night + timedelta(days=1), NIGHT_SLOTS_MORNING[-1]) + timedelta(hours=SLOT_HOURS)
        visited = {
            (v["box_id"], v["local_day"], v["slot"]) for v in self._visit_rows(start, end) if v["status"] == "valid"
        }
        result = []
        for box in self.red_boxes(include_retired=True):
            nights, covered, counted = [], 0, 0
            night = first_night
            while night <= last_night:
                cells = []
                for day, slot in night_slots(night):
                    begins = slot_start(day, slot)
                    counts = (
                        begins + timedelta(hours=SLOT_HOURS) <= now
                        and begins >= box["registered_at"] - timedelta(hours=SLOT_HOURS)
                        and not (box["retired"] and box["updated_at"] <= begins)
                    )
                    hit = (box["id"], day, slot) in visited
                    cells.append(hit)
                    counted += counts
                    covered += counts and hit
                nights.append((night, cells))
                night += timedelta(days=1)
            if counted or any(any(c) for _, c in nights):
                result.append(NightCoverage(box, nights, covered, counted))
        return result

    def visits_between(self, start: datetime, end: datetime, *, officer_id: UUID | None = None) -> list[dict[str, Any]]:
        """The visits in [start, end) (of one officer, or everyone's), newest first, with the officer's name and
        why each was flagged or voided."""
        return list(reversed(self._described(self._visit_rows(start, end, officer_id))))

    def _described(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        reasons: dict[UUID, list[dict[str, Any]]] = {}
        ids = [r["visit_id"] for r in rows]
        tl = t.timeline.c
        with self.engine.connect() as conn:
            for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
                for r in conn.execute(
                    select(tl.originator_id, tl.event, tl.reason, tl.params)
                    .where(and_(tl.originator_id.in_(chunk), tl.event.in_(("Flagged", "Voided"))))
                    .order_by(tl.version)
                ).mappings():
                    reasons.setdefault(r["originator_id"], []).append(dict(r))
        names = self.user_names({r["officer_id"] for r in rows})  # type: ignore[attr-defined]
        for row in rows:
            events = reasons.get(row["visit_id"], [])
            # A flag's finding as recorded (the page words it: web.timeline.flag_reason); None before version 2.
            row["flags"] = [
                {"reason": e["reason"], "finding": json.loads(e["params"]).get("finding")}
                for e in events
                if e["event"] == "Flagged"
            ]
            row["void_reason"] = next((e["reason"] for e in events if e["event"] == "Voided"), None)
            row["officer"] = names.get(row["officer_id"], "")
        return rows

    def visit(self, visit_id: UUID) -> dict[str, Any] | None:
        """One visit, with its officer's name, its flags, observations and voiding (from its timeline)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(t.kpi_visits).where(t.kpi_visits.c.visit_id == visit_id)).mappings().first()
        if row is None:
            return None
        visit = self._described([_aware(row)])[0]
        logged = next((e for e in self.timeline(visit_id) if e["event"] == "Logged"), None)  # type: ignore[attr-defined]
        params = logged["params"] if logged else {}
        position = (params.get("position") or {}).get("_data_") if isinstance(params.get("position"), dict) else None
        visit["position"] = position
        visit["unit_id"] = (
            (params.get("unit_id") or {}).get("_data_") if isinstance(params.get("unit_id"), dict) else None
        )
        return visit

    def refused_check_ins(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        r = t.refused_check_ins.c
        start, end = _utc(start), _utc(end)
        with self.engine.connect() as conn:
            rows = [
                _aware(x)
                for x in conn.execute(
                    select(t.refused_check_ins)
                    .where(r.attempted_at >= start, r.attempted_at < end)
                    .order_by(r.attempted_at.desc())
                    .limit(500)
                ).mappings()
            ]
        names = self.user_names({x["officer_id"] for x in rows})  # type: ignore[attr-defined]
        for row in rows:
            row["officer"] = names.get(row["officer_id"], "")
        return rows
