"""The zone in the past, from the timeline read model (`rm_timeline`, with the indexes of migration 0013_audit): an
aggregate's version at an instant, and the zone's board at an instant. An instant is a *recorded* time by default
(the state at T is made of the events the store had recorded at or before T), or an *occurred* time; past states
are replayed from the log itself (application/time_travel.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from sqlalchemy import Engine, and_, func, or_, select, tuple_

from application.time_travel import state_at_version
from infrastructure.readmodels import tables as t

RECORDED, OCCURRED = "recorded", "occurred"
BASES = (RECORDED, OCCURRED)
tl = t.timeline.c


def time_column(basis: str) -> Any:
    if basis not in BASES:
        raise ValueError(f"basis must be one of {BASES}")
    return tl.occurred_at if basis == OCCURRED else tl.recorded_at


def version_at(conn: Any, aggregate_id: UUID, instant: datetime, basis: str) -> int | None:
    """The aggregate's version at `instant` (None: it did not exist yet): its last event recorded by then, or with
    `basis="occurred"` its event that occurred last by then (the latest in its own order among equals)."""
    column = time_column(basis)  # one probe of the index (originator_id, time, version)
    return conn.execute(
        select(tl.version)
        .where(tl.originator_id == aggregate_id, column <= instant.astimezone(UTC))
        .order_by(column.desc(), tl.version.desc())
        .limit(1)
    ).scalar()


def board_at(
    engine: Engine, app: Application, instant: datetime, basis: str = RECORDED
) -> dict[str, list[dict[str, Any]]]:
    """The board as the system knew it at `instant`: the incidents open then (reported, dispatched, en route, on
    scene), the units registered and not retired with their status, and the camera alerts waiting (raised or
    acknowledged). The candidates come from the timeline; each incident and alert is replayed from the log to its
    version then. A unit's status and incident are those its last status event by that version left (a unit's status
    is set by each such event alone: `UNIT_STATUS`), read from the timeline: a unit has thousands of events a year,
    and a replay of a dozen of them from their snapshots cost more than the rest of the board."""
    at, column = instant.astimezone(UTC), time_column(basis)
    with engine.connect() as conn:
        incident_ids = list(conn.execute(_open_incidents(at, column)).scalars())
        alert_ids = list(conn.execute(_waiting_alerts(at, column)).scalars())
        unit_ids = list(conn.execute(_units_then(at, column)).scalars())
        versions = {i: version_at(conn, i, at, basis) for i in (*incident_ids, *alert_ids, *unit_ids)}
        units = _units_from_timeline(conn, {i: versions[i] for i in unit_ids})
    incidents = [state_at_version(app, i, versions[i]) for i in incident_ids]
    alerts = [state_at_version(app, i, versions[i]) for i in alert_ids]
    incidents = [s for s in incidents if s["status"] in OPEN_STATUSES]
    incidents.sort(key=lambda s: (s["priority"], s["reported_at"]))
    units.sort(key=lambda s: (s["status"] == "off_duty", s["call_sign"]))
    alerts = [s for s in alerts if s["status"] in ("raised", "acknowledged")]
    alerts.sort(key=lambda s: s.get("raised_at") or s["created_on"])
    return {"incidents": incidents, "units": units, "alerts": alerts}


OPEN_STATUSES = ("reported", "dispatched", "en_route", "on_scene")


# What each event of a patrol unit that sets its status leaves it at (domain/patrol.py: each sets it, whatever it was
# before); the others (PositionReported) leave status and incident as they were.
UNIT_STATUS = {
    "Registered": "off_duty",
    "WentOnDuty": "available",
    "Assigned": "assigned",
    "Reassigned": "assigned",
    "Released": "available",
    "WentOffDuty": "off_duty",
    "Retired": "retired",
}


def _units_from_timeline(conn: Any, versions: dict[UUID, int | None]) -> list[dict[str, Any]]:
    """Each unit at its version: its call sign (from its registration), its status and incident (from its last event
    by then that sets them: a position report leaves both as they were), as plain data named like the aggregate's
    fields. One query for the registrations and the events at those versions; a unit whose event then was not a
    status event takes one more probe of the primary key, walking back from its version."""
    wanted = [(i, v) for i, v in versions.items() if v is not None] + [(i, 1) for i in versions]
    if not wanted:
        return []
    rows = conn.execute(
        select(tl.originator_id, tl.version, tl.event, tl.params).where(
            tuple_(tl.originator_id, tl.version).in_(wanted)
        )
    ).all()
    by_key = {(r[0], r[1]): (r[2], r[3]) for r in rows}
    units = []
    for unit_id, version in versions.items():
        registered, last = by_key.get((unit_id, 1)), by_key.get((unit_id, version))
        if registered is None or last is None:
            continue
        if last[0] not in UNIT_STATUS:
            last = conn.execute(
                select(tl.event, tl.params)
                .where(tl.originator_id == unit_id, tl.version < version, tl.event.in_(tuple(UNIT_STATUS)))
                .order_by(tl.version.desc())
                .limit(1)
            ).one()
        incident = json.loads(last[1]).get("incident_id") if last[0] in ("Assigned", "Reassigned") else None
        units.append(
            {
                "aggregate": "PatrolUnit",
                "id": str(unit_id),
                "version": version,
                "call_sign": json.loads(registered[1]).get("call_sign"),
                "status": UNIT_STATUS[last[0]],
                "incident_id": str(UUID(incident["_data_"])) if isinstance(incident, dict) else None,
            }
        )
    return units


def _last_kinds(aggregate: str, opening: tuple[str, ...], closing: tuple[str, ...], at: datetime, column: Any) -> Any:
    """The aggregates of a kind whose latest opening event by `at` (in their own order) came after their latest
    closing one (or that have no closing one): one pass over their opening and closing events, grouped."""
    version = tl.version
    opened = func.max(version).filter(tl.event.in_(opening))
    closed = func.max(version).filter(tl.event.in_(closing))
    return (
        select(tl.originator_id)
        .where(tl.aggregate == aggregate, tl.event.in_(opening + closing), column <= at)
        .group_by(tl.originator_id)
        .having(and_(opened.is_not(None), or_(closed.is_(None), opened > closed)))
    )


def _open_incidents(at: datetime, column: Any) -> Any:
    return _last_kinds("Incident", ("Reported", "Reopened"), ("Resolved", "Closed", "Cancelled"), at, column)


def _waiting_alerts(at: datetime, column: Any) -> Any:
    return _last_kinds("CameraAlert", ("Raised",), ("Dismissed", "Escalated", "Closed"), at, column)


def _units_then(at: datetime, column: Any) -> Any:
    return _last_kinds("PatrolUnit", ("Registered",), ("Retired",), at, column)
