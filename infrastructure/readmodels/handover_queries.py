"""What a supervisor hands over at the end of a shift, read from the read models."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Engine, func, select

from domain.values import BANGKOK, OPEN_INCIDENT_STATUSES
from infrastructure.readmodels import tables as t
from infrastructure.readmodels.patrol_queries import SLOT_HOURS, slot_start

PRIORITIES = ("P1", "P2", "P3", "P4")
STILL_OPEN = (*sorted(s.value for s in OPEN_INCIDENT_STATUSES), "resolved")  # resolved: awaiting a supervisor


def _aware(row: Any) -> dict[str, Any]:
    return {
        k: v.replace(tzinfo=UTC) if isinstance(v, datetime) and v.tzinfo is None else v for k, v in dict(row).items()
    }


@dataclass
class ShiftReport:
    start: datetime
    end: datetime
    reported: dict[str, int]  # by priority, incidents reported during the shift
    closed: int
    still_open: list[dict[str, Any]]  # every incident not closed or cancelled now, most urgent first
    units_on_duty: list[dict[str, Any]]
    undecided_alerts: list[dict[str, Any]]
    missed_boxes: list[dict[str, Any]] = field(default_factory=list)  # night slots of the shift without a visit

    @property
    def empty(self) -> bool:
        return not (
            sum(self.reported.values())
            or self.closed
            or self.still_open
            or self.units_on_duty
            or self.undecided_alerts
            or self.missed_boxes
        )

    def summary(self) -> dict[str, Any]:
        """The figures kept in the handover's event: plain values only."""
        return {
            "reported": dict(self.reported),
            "closed": self.closed,
            "still_open": [i["reference"] for i in self.still_open],
            "units_on_duty": [u["call_sign"] for u in self.units_on_duty],
            "undecided_alerts": len(self.undecided_alerts),
            "missed_boxes": [f"{m['code']} {m['start'].astimezone(BANGKOK):%H:%M}" for m in self.missed_boxes],
        }


class HandoverQueries:
    engine: Engine

    def shift_start(self, now: datetime, *, longest: timedelta = timedelta(hours=12)) -> datetime:
        """Where the shift being handed over began: the end of the last handover, if it is within `longest`."""
        with self.engine.connect() as conn:
            last = conn.execute(select(func.max(t.handovers.c.shift_to))).scalar()
        if last is not None:
            last = last.replace(tzinfo=UTC) if last.tzinfo is None else last
            if now - longest <= last < now:
                return last
        return now - longest

    def shift_report(self, start: datetime, end: datetime) -> ShiftReport:
        c = t.incidents.c
        start_utc, end_utc = start.astimezone(UTC), end.astimezone(UTC)
        with self.engine.connect() as conn:
            reported = dict.fromkeys(PRIORITIES, 0)
            for priority, count in conn.execute(
                select(c.priority, func.count())
                .where(c.reported_at >= start_utc, c.reported_at < end_utc)
                .group_by(c.priority)
            ):
                reported[priority] = count
            closed = conn.execute(
                select(func.count()).select_from(t.incidents).where(c.closed_at >= start_utc, c.closed_at < end_utc)
            ).scalar_one()
            still_open = [
                _aware(r)
                for r in conn.execute(
                    select(t.incidents).where(c.status.in_(STILL_OPEN)).order_by(c.priority, c.reported_at)
                ).mappings()
            ]
            units = [
                _aware(r)
                for r in conn.execute(
                    select(t.units)
                    .where(t.units.c.status.not_in(("off_duty", "retired")))
                    .order_by(t.units.c.call_sign)
                ).mappings()
            ]
            alerts = [
                _aware(r)
                for r in conn.execute(
                    select(t.camera_alerts)
                    .where(t.camera_alerts.c.status.in_(("raised", "acknowledged")))
                    .order_by(t.camera_alerts.c.raised_at)
                ).mappings()
            ]
        for incident in still_open:
            incident["units"] = json.loads(incident["units"])
        return ShiftReport(start, end, reported, closed, still_open, units, alerts, self._missed_boxes(start, end))

    def _missed_boxes(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Night slots (PatrolQueries.coverage_of_day) that began and ended within the shift without a counted visit."""
        missed = []
        day = start.astimezone(BANGKOK).date()
        while day <= end.astimezone(BANGKOK).date():
            for entry in self.coverage_of_day(day, end):  # type: ignore[attr-defined]
                for slot in entry.missed:
                    begins = slot_start(day, slot)
                    if begins >= start and begins + timedelta(hours=SLOT_HOURS) <= end:
                        missed.append({"code": entry.box["code"], "community": entry.box["community"], "start": begins})
            day += timedelta(days=1)
        return sorted(missed, key=lambda m: (m["start"], m["code"]))

    def handovers(self, *, limit: int = 10) -> list[dict[str, Any]]:
        """The latest handovers, newest first, with the supervisors' names."""
        h = t.handovers.c
        with self.engine.connect() as conn:
            rows = [
                _aware(r)
                for r in conn.execute(select(t.handovers).order_by(h.handed_at.desc()).limit(limit)).mappings()
            ]
        return self._named(rows)

    def handover(self, handover_id: UUID) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.handovers).where(t.handovers.c.id == handover_id)).mappings().first()
        return self._named([_aware(row)])[0] if row else None

    def _named(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ids = {r["handed_by"] for r in rows} | {r["acknowledged_by"] for r in rows if r["acknowledged_by"]}
        names = self.user_names(ids)  # type: ignore[attr-defined]
        for row in rows:
            row["summary"] = json.loads(row["summary"])
            row["handed_by_name"] = names.get(row["handed_by"], "?")
            row["acknowledged_by_name"] = names.get(row["acknowledged_by"], "") if row["acknowledged_by"] else ""
        return rows
