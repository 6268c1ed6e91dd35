"""The projections: each turns events of the log into rows of its own tables. A projection never
reads the log on a request; the runner feeds it pages of events and commits its rows together with
its position, in one transaction.

A projection reads events in one of two forms. Most read the stored JSON itself (`JsonProjection`):
a handler takes the event's state as stored — values tagged with their type, {"_type_": ..., "_data_": ...},
upcast to the event class's current version — and decodes only the fields it needs, which is several
times cheaper than making a domain event of it. A `Projection` whose handlers are keyed by event classes
is given decoded domain events instead."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from domain.cameras import CameraAlert
from domain.incident import Incident
from domain.patrol import PatrolUnit
from domain.values import AlertStatus, Assignment, IncidentStatus, UnitStatus, incident_status
from infrastructure.readmodels import tables as t
from infrastructure.readmodels.base import JsonProjection, Projection, changing
from infrastructure.readmodels.kpi import IncidentFactsProjection, VisitFactsProjection
from infrastructure.readmodels.rows import RowSet
from infrastructure.readmodels.stored import JsonHandler, Record, instant, plain, uuid_of
from infrastructure.readmodels.timeline import TimelineProjection

# --- incidents: the board's open incidents, and the incident list and search ------------------
_REPORTED, _RESOLVED = IncidentStatus.REPORTED.value, IncidentStatus.RESOLVED.value
_CLOSED, _CANCELLED = IncidentStatus.CLOSED.value, IncidentStatus.CANCELLED.value
_CLEARED = Assignment.CLEARED.value


def _units(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The incident's units: kept parsed in the row while the projection works on it (stored as JSON)."""
    units = row["units"]
    if isinstance(units, str):
        units = row["units"] = json.loads(units)
    return units


def _incident_status(row: dict[str, Any]) -> str:
    return incident_status(IncidentStatus(row["status"]), [Assignment(u["state"]) for u in _units(row)]).value


def _with_units(row: dict[str, Any], change: Callable[[list[dict[str, Any]]], None]) -> None:
    change(_units(row))
    row["status"] = _incident_status(row)


def _set_unit_state(unit_id: UUID, state: Assignment, call_sign: str | None = None):
    unit_id, state = str(unit_id), state.value

    def change(units: list[dict[str, Any]]) -> None:
        for unit in units:
            if unit["unit_id"] == unit_id:
                unit["state"] = state
                return
        units.append({"unit_id": unit_id, "call_sign": call_sign or "", "state": state})

    return change


def _clear_all(units: list[dict[str, Any]]) -> None:
    for unit in units:
        unit["state"] = _CLEARED


def _unit_state(state: Assignment) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    def change(s: dict[str, Any], row: dict[str, Any]) -> None:
        _with_units(row, _set_unit_state(uuid_of(s["unit_id"]), state, s.get("call_sign")))

    return change


class IncidentsProjection(JsonProjection):
    name = "incidents"
    table = t.incidents

    def encode(self, row: dict[str, Any]) -> dict[str, Any]:
        if isinstance(row["units"], list):
            return {**row, "units": json.dumps(row["units"])}
        return row

    def __init__(self) -> None:
        def reported(r: Record, s: dict[str, Any], rows: RowSet) -> None:
            recorded = instant(s["timestamp"])
            position = plain(s.get("position"))
            rows.put(
                {
                    "id": r.originator_id,
                    "reference": s["reference"],
                    "status": _REPORTED,
                    "priority": plain(s["priority"]),
                    "category": plain(s["category"]),
                    "community": plain(s["community"]),
                    "channel": plain(s["channel"]),
                    "location": s["location"],
                    "description": s["description"],
                    "has_contact": s["contact"] is not None,
                    "units": "[]",
                    "outcome": None,
                    "cancel_reason": None,
                    "duplicate_of": None,
                    "source_alert_id": uuid_of(s["source_alert_id"]),
                    "reopen_count": 0,
                    "notes_count": 0,
                    "reported_at": instant(s["occurred_at"]),
                    "recorded_at": recorded,
                    "updated_at": recorded,
                    "closed_at": None,
                    "version": r.originator_version,
                    "lat": position["lat"] if position else None,
                    "lon": position["lon"] if position else None,
                }
            )

        def update(change: Callable[[dict[str, Any], dict[str, Any]], Any]) -> JsonHandler:
            return changing(change, stamped=True)

        def triaged(s: dict[str, Any], row: dict[str, Any]) -> None:
            row["category"], row["priority"] = plain(s["category"]), plain(s["priority"])

        def resolved(s: dict[str, Any], row: dict[str, Any]) -> None:
            _with_units(row, _clear_all)
            row["status"], row["outcome"] = _RESOLVED, plain(s["outcome"])

        def closed(s: dict[str, Any], row: dict[str, Any]) -> None:
            row["status"], row["closed_at"] = _CLOSED, instant(s["occurred_at"])

        def reopened(s: dict[str, Any], row: dict[str, Any]) -> None:
            row["status"], row["outcome"], row["closed_at"] = _REPORTED, None, None
            row["reopen_count"] += 1

        def cancelled(s: dict[str, Any], row: dict[str, Any]) -> None:
            _with_units(row, _clear_all)
            row["status"], row["cancel_reason"] = _CANCELLED, plain(s["cancel_reason"])
            row["duplicate_of"], row["closed_at"] = uuid_of(s["duplicate_of"]), instant(s["occurred_at"])

        def note(s: dict[str, Any], row: dict[str, Any]) -> None:
            row["notes_count"] += 1

        def dispatched(s: dict[str, Any], row: dict[str, Any]) -> None:
            _with_units(row, _set_unit_state(uuid_of(s["unit_id"]), Assignment.DISPATCHED, s.get("call_sign")))
            unit_id = str(uuid_of(s["unit_id"]))
            for unit in _units(row):
                if unit["unit_id"] == unit_id:  # a new assignment: not confirmed yet
                    unit.pop("acknowledged_at", None)

        def acknowledged(s: dict[str, Any], row: dict[str, Any]) -> None:
            unit_id = str(uuid_of(s["unit_id"]))
            for unit in _units(row):
                if unit["unit_id"] == unit_id:
                    unit["acknowledged_at"] = instant(s["occurred_at"]).isoformat()

        on = get_topic
        self.handlers = {
            on(Incident.Reported): reported,
            on(Incident.Triaged): update(triaged),
            on(Incident.UnitDispatched): update(dispatched),
            on(Incident.DispatchAcknowledged): update(acknowledged),
            on(Incident.UnitEnRoute): update(_unit_state(Assignment.EN_ROUTE)),
            on(Incident.UnitOnScene): update(_unit_state(Assignment.ON_SCENE)),
            on(Incident.UnitCleared): update(_unit_state(Assignment.CLEARED)),
            on(Incident.Resolved): update(resolved),
            on(Incident.Closed): update(closed),
            on(Incident.Reopened): update(reopened),
            on(Incident.Cancelled): update(cancelled),
            on(Incident.DuplicateLinked): update(lambda s, row: None),
            on(Incident.NoteAdded): update(note),
        }
        super().__init__()


# --- units ----------------------------------------------------------------------------------
_OFF_DUTY, _AVAILABLE = UnitStatus.OFF_DUTY.value, UnitStatus.AVAILABLE.value
_ASSIGNED, _RETIRED = UnitStatus.ASSIGNED.value, UnitStatus.RETIRED.value


class UnitsProjection(JsonProjection):
    name = "units"
    table = t.units

    def __init__(self) -> None:
        def registered(r: Record, s: dict[str, Any], rows: RowSet) -> None:
            rows.put(
                {
                    "id": r.originator_id,
                    "call_sign": s["call_sign"],
                    "kind": plain(s["kind"]),
                    "status": _OFF_DUTY,
                    "incident_id": None,
                    "incident_reference": None,
                    "officer_ids": "[]",
                    "updated_at": instant(s["timestamp"]),
                    "version": r.originator_version,
                    "lat": None,
                    "lon": None,
                    "accuracy_m": None,
                    "position_at": None,
                }
            )

        def position_reported(s: dict[str, Any], row: dict[str, Any]) -> None:
            at = instant(s["occurred_at"])
            if row["position_at"] is not None and row["position_at"] > at:
                return  # an older fix, sent late: the last known position stays
            position = plain(s["position"])
            row.update(lat=position["lat"], lon=position["lon"], accuracy_m=s["accuracy_m"], position_at=at)

        def update(**changes: Callable[[dict[str, Any]], Any]) -> JsonHandler:
            return changing(
                lambda s, row: row.update({column: value(s) for column, value in changes.items()}), stamped=True
            )

        on = get_topic
        self.handlers = {
            on(PatrolUnit.Registered): registered,
            on(PatrolUnit.WentOnDuty): update(
                status=lambda s: _AVAILABLE,
                officer_ids=lambda s: json.dumps([str(uuid_of(o)) for o in s["officer_ids"]]),
            ),
            on(PatrolUnit.Assigned): update(
                status=lambda s: _ASSIGNED,
                incident_id=lambda s: uuid_of(s["incident_id"]),
                incident_reference=lambda s: s["reference"],
            ),
            on(PatrolUnit.Reassigned): update(
                incident_id=lambda s: uuid_of(s["incident_id"]), incident_reference=lambda s: s["reference"]
            ),
            on(PatrolUnit.Released): update(
                status=lambda s: _AVAILABLE, incident_id=lambda s: None, incident_reference=lambda s: None
            ),
            on(PatrolUnit.WentOffDuty): update(status=lambda s: _OFF_DUTY, officer_ids=lambda s: "[]"),
            on(PatrolUnit.Retired): update(status=lambda s: _RETIRED),
            on(PatrolUnit.PositionReported): changing(position_reported, stamped=True),
        }
        super().__init__()


# --- camera alerts: the board's open alerts and the alert KPI facts -----------------------
class CameraAlertsProjection(JsonProjection):
    name = "alerts"
    table = t.camera_alerts

    def __init__(self) -> None:
        def raised(r: Record, s: dict[str, Any], rows: RowSet) -> None:
            rows.put(
                {
                    "id": r.originator_id,
                    "camera_id": uuid_of(s["camera_id"]),
                    "camera_code": s["camera_code"],
                    "community": plain(s["community"]),
                    "kind": plain(s["kind"]),
                    "score": s["score"],
                    "zone": s["zone"],
                    "detail": s["detail"],
                    "snapshot_digest": s["snapshot_digest"],
                    "status": AlertStatus.RAISED.value,
                    "raised_at": instant(s["occurred_at"]),
                    "acknowledged_at": None,
                    "decided_at": None,
                    "outcome": None,
                    "false_alarm_reason": None,
                    "incident_id": None,
                    "closed_at": None,
                    "version": r.originator_version,
                }
            )

        update = changing

        def acknowledged(s: dict[str, Any], row: dict[str, Any]) -> None:
            row["status"], row["acknowledged_at"] = AlertStatus.ACKNOWLEDGED.value, instant(s["occurred_at"])

        def dismissed(s: dict[str, Any], row: dict[str, Any]) -> None:
            row.update(
                status=AlertStatus.DISMISSED.value,
                decided_at=instant(s["occurred_at"]),
                outcome="false_alarm",
                false_alarm_reason=plain(s["false_alarm"]),
            )

        def escalated(s: dict[str, Any], row: dict[str, Any]) -> None:
            row.update(
                status=AlertStatus.ESCALATED.value,
                decided_at=instant(s["occurred_at"]),
                outcome="escalated",
                incident_id=uuid_of(s["incident_id"]),
            )

        def closed(s: dict[str, Any], row: dict[str, Any]) -> None:
            row.update(status=AlertStatus.CLOSED.value, closed_at=instant(s["occurred_at"]))

        on = get_topic
        self.handlers = {
            on(CameraAlert.Raised): raised,
            on(CameraAlert.Acknowledged): update(acknowledged),
            on(CameraAlert.Dismissed): update(dismissed),
            on(CameraAlert.Escalated): update(escalated),
            on(CameraAlert.Closed): update(closed),
            # The person an alert followed left: nothing shown changes but the alert's version.
            on(CameraAlert.PersonLeft): update(lambda s, row: None),
            on(CameraAlert.PersonLoitered): update(lambda s, row: None),
            # Its picture was deleted when the camera's retention ran out (the log keeps the digest).
            on(CameraAlert.ClipAttached): update(lambda s, row: None),
            on(CameraAlert.SnapshotPurged): update(lambda s, row: row.update(snapshot_digest="")),
        }
        super().__init__()


def all_projections(events_table: str = "stored_events") -> list[Projection]:
    return [
        IncidentsProjection(),
        UnitsProjection(),
        CameraAlertsProjection(),
        IncidentFactsProjection(),
        VisitFactsProjection(),
        TimelineProjection(events_table),
    ]
