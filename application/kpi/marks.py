"""What the KPI engine reads: the KPI marks (each KPI event with its position in the log), folded into
the incidents, visits, red boxes and alerts as they stood at a position."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, Protocol
from uuid import UUID


@dataclass(frozen=True, slots=True)
class Mark:
    position: int
    subject_id: UUID
    mark: str
    occurred_at: datetime
    recorded_at: datetime | None  # None where a reader leaves it out: the folds do not read it
    community: str | None = None
    category: str | None = None
    priority: str | None = None
    channel: str | None = None
    value: str | None = None
    label: str | None = None
    parent_id: UUID | None = None


class KpiMarks(Protocol):
    """A reader may also offer leaner readings, which the engine uses where present: `incident_facts` and
    `alert_facts` (fold_incidents(incident_marks(...)) and fold_alerts(alert_marks(...)) done by its store, in
    any order) and `visit_times` (the visits as VisitTime)."""

    def position(self) -> int:
        """The last position of the log the marks hold."""

    def cut_off(self, position: int) -> datetime | None:
        """When the log reached `position`: the latest recording time of a mark at or before it."""

    def first_occurred(self, position: int) -> datetime | None:
        """The earliest `occurred_at` of any mark at or before `position`."""

    def incident_marks(self, start: datetime, end: datetime, position: int) -> list[Mark]:
        """Every mark up to `position` of the incidents first reported in [start, end), in log order."""

    def visit_marks(self, start: datetime, end: datetime, position: int) -> list[Mark]:
        """Every mark up to `position` of the patrol visits logged in [start, end), in log order."""

    def visits(self, start: datetime, end: datetime, position: int) -> list[VisitFact]:
        """The patrol visits logged in [start, end) as they stood at `position`: fold_visits(visit_marks(...))."""

    def box_marks(self, position: int) -> list[Mark]:
        """Every red box's registration and retirement up to `position`, in log order."""

    def alert_marks(self, start: datetime, end: datetime, position: int) -> list[Mark]:
        """Every mark up to `position` of the camera alerts raised in [start, end), in log order."""


@dataclass(frozen=True, slots=True)
class IncidentFact:
    id: UUID
    reference: str
    reported_at: datetime
    community: str
    category: str  # current (after any triage up to the position)
    priority: str
    channel: str
    dispatched_at: datetime | None  # the first of each kind, by occurred_at
    on_scene_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    outcome: str | None  # current: none while reopened
    cancel_reason: str | None
    reopened: int


@dataclass(frozen=True, slots=True)
class VisitFact:
    id: UUID
    box_id: UUID
    box_code: str
    community: str
    at: datetime
    status: str  # valid | flagged | voided


class VisitTime(NamedTuple):
    """What the patrol figures need of a visit (a red box's code names it: a box's id is derived from its code). A
    named tuple: a month and the month before have some 20,000 visits, made straight from the database's rows."""

    box_code: str
    community: str
    at: datetime
    status: str  # valid | flagged | voided


@dataclass(frozen=True, slots=True)
class BoxFact:
    id: UUID
    code: str
    community: str
    registered_at: datetime
    retired_at: datetime | None


@dataclass(frozen=True, slots=True)
class AlertFact:
    id: UUID
    camera_code: str
    community: str
    kind: str
    raised_at: datetime
    acknowledged_at: datetime | None
    decision: str | None  # false_alarm | escalated


def _earliest(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None or candidate < current else current


def fold_incidents(marks: list[Mark]) -> list[IncidentFact]:
    rows: dict[UUID, dict] = {}
    for m in marks:
        if m.mark == "reported":
            rows[m.subject_id] = dict(
                id=m.subject_id,
                reference=m.label,
                reported_at=m.occurred_at,
                community=m.community,
                category=m.category,
                priority=m.priority,
                channel=m.channel,
                dispatched_at=None,
                on_scene_at=None,
                resolved_at=None,
                closed_at=None,
                outcome=None,
                cancel_reason=None,
                reopened=0,
            )
            continue
        row = rows.get(m.subject_id)
        if row is None:
            continue
        if m.mark == "triaged":
            row.update(category=m.category, priority=m.priority)
        elif m.mark in ("dispatched", "on_scene", "closed"):
            column = f"{m.mark}_at"
            row[column] = _earliest(row[column], m.occurred_at)
        elif m.mark == "resolved":
            row.update(resolved_at=_earliest(row["resolved_at"], m.occurred_at), outcome=m.value)
        elif m.mark == "reopened":
            row.update(reopened=row["reopened"] + 1, outcome=None)
        elif m.mark == "cancelled":
            row["cancel_reason"] = m.value
    return [IncidentFact(**row) for row in rows.values()]


def fold_visits(marks: list[Mark]) -> list[VisitFact]:
    rows: dict[UUID, dict] = {}
    for m in marks:
        if m.mark == "visit":
            rows[m.subject_id] = dict(
                id=m.subject_id,
                box_id=m.parent_id,
                box_code=m.label,
                community=m.community,
                at=m.occurred_at,
                status="valid",
            )
        elif m.subject_id in rows and rows[m.subject_id]["status"] != "voided":  # a voided visit stays voided
            rows[m.subject_id]["status"] = "voided" if m.mark == "visit_voided" else "flagged"
    return [VisitFact(**row) for row in rows.values()]


def fold_boxes(marks: list[Mark]) -> list[BoxFact]:
    rows: dict[UUID, dict] = {}
    for m in marks:
        if m.mark == "box_registered":
            rows[m.subject_id] = dict(
                id=m.subject_id, code=m.label, community=m.community, registered_at=m.occurred_at, retired_at=None
            )
        elif m.mark == "box_retired" and m.subject_id in rows:
            rows[m.subject_id]["retired_at"] = m.occurred_at
    return [BoxFact(**row) for row in rows.values()]


def fold_alerts(marks: list[Mark]) -> list[AlertFact]:
    rows: dict[UUID, dict] = {}
    for m in marks:
        if m.mark == "alert_raised":
            rows[m.subject_id] = dict(
                id=m.subject_id,
                camera_code=m.label,
                community=m.community,
                kind=m.value,
                raised_at=m.occurred_at,
                acknowledged_at=None,
                decision=None,
            )
            continue
        row = rows.get(m.subject_id)
        if row is None:
            continue
        if m.mark == "alert_ack":
            row["acknowledged_at"] = _earliest(row["acknowledged_at"], m.occurred_at)
        elif row["decision"] is None:
            row["decision"] = "false_alarm" if m.mark == "alert_dismissed" else "escalated"
    return [AlertFact(**row) for row in rows.values()]
