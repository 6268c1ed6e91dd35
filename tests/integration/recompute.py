"""An independent recomputation of every read-model table from the raw event log.

Written from the domain model, the table comments and /work/shared/KPIS.md, without importing any of
infrastructure/readmodels: the projections are checked against this, never against themselves.
Every row comes out normalised (see `normalise`): instants as UTC-aware datetimes, JSON columns parsed."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from enum import Enum
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from domain.cameras import CameraAlert
from domain.incident import Incident
from domain.patrol import PatrolUnit, PatrolVisit
from domain.values import SealedContact

LOCAL = ZoneInfo("Asia/Bangkok")
NIGHT_SLOTS = {0, 1, 2, 9, 10, 11}  # 00–06 and 18–24 local (KPIS.md, "Patrol coverage")
JSON_COLUMNS = {"units", "officer_ids", "params", "zones", "rules"}
NOT_PARAMS = {"originator_id", "originator_version", "timestamp", "originator_topic", "actor", "occurred_at", "reason"}
OPEN = {"reported", "dispatched", "en_route", "on_scene"}

# table name -> primary key columns
KEYS = {
    "rm_incidents": ("id",),
    "rm_units": ("id",),
    "rm_camera_alerts": ("id",),
    "rm_timeline": ("originator_id", "version"),
    "kpi_incident_facts": ("incident_id",),
    "kpi_visit_facts": ("visit_id",),
    "rm_users": ("id",),
    "rm_cameras": ("id",),
    "rm_red_boxes": ("id",),
    "rm_refused_check_ins": ("id",),
}


# --- reading the log and the tables -----------------------------------------------------------
def read_log(app: Any, *, until: int | None = None, page: int = 1000) -> list[tuple[int, Any]]:
    """Every (notification id, domain event) of the log, in log order."""
    out: list[tuple[int, Any]] = []
    start = 1
    while True:
        notifications = app.recorder.select_notifications(start=start, limit=page, stop=until)
        out += [(n.id, app.mapper.to_domain_event(n)) for n in notifications]
        if len(notifications) < page:
            return out
        start = notifications[-1].id + 1


def utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_UUID_TEXT = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}")


def canonical(value: Any) -> Any:
    """JSON in one spelling, so that only content is compared, not a projection's choice of notation:
    a UUID as 32 hex digits or dashed; a value plain or tagged the way the event store writes it
    ({"_type_": ..., "_data_": ...}). A tagged sealed contact becomes {"sealed_with": key id} plus
    whatever else it still holds (a ciphertext would show up as a difference)."""
    if isinstance(value, str) and _UUID_TEXT.fullmatch(value):
        return str(UUID(value))
    if isinstance(value, list):
        return [canonical(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"_type_", "_data_"}:
            data = value["_data_"]
            if value["_type_"] == "sealed_contact" and isinstance(data, dict):
                rest = {k: v for k, v in data.items() if k != "key_id"}
                return {"sealed_with": canonical(data.get("key_id")), **canonical(rest)}
            return canonical(data)
        return {k: canonical(v) for k, v in value.items()}
    return value


def normalise(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in row.items():
        if isinstance(v, datetime):
            v = utc(v)
        elif k in JSON_COLUMNS and isinstance(v, str):
            v = json.loads(v)
            if k == "params":
                v = canonical(v)
        out[k] = v
    return out


def read_table(engine: sa.Engine, name: str) -> dict[tuple, dict[str, Any]]:
    table = sa.Table(name, sa.MetaData(), autoload_with=engine)
    # Reflected types, not the application's: the comparison must not depend on the code under test.
    with engine.connect() as conn:
        rows = [normalise(dict(r)) for r in conn.execute(sa.select(table)).mappings()]
    return {tuple(_key(r[k]) for k in KEYS[name]): r for r in rows}


def _key(value: Any) -> Any:
    # Reflected UUID columns may come back as str (SQLite: CHAR(32) hex) or UUID (PostgreSQL).
    if isinstance(value, str):
        try:
            return UUID(value)
        except ValueError:
            return value
    return value


def read_tables(engine: sa.Engine) -> dict[str, dict[tuple, dict[str, Any]]]:
    return {name: read_table(engine, name) for name in KEYS}


def coerce(expected_row: dict[str, Any], actual_row: dict[str, Any]) -> dict[str, Any]:
    """The actual row in the expected row's Python types (UUID, date, bool) where the driver differs."""
    out = {}
    for k, v in actual_row.items():
        want = expected_row.get(k)
        if isinstance(want, UUID) and isinstance(v, str):
            v = UUID(v)
        elif isinstance(want, bool) and isinstance(v, int):
            v = bool(v)
        elif isinstance(want, date) and not isinstance(want, datetime) and isinstance(v, str):
            v = date.fromisoformat(v)
        out[k] = v
    return out


def differences(
    expected: dict[str, dict[tuple, dict[str, Any]]], actual: dict[str, dict[tuple, dict[str, Any]]], limit: int = 12
) -> list[str]:
    """Every table's missing, unexpected and different rows, described column by column."""
    problems: list[str] = []
    for name, rows in expected.items():
        got = actual.get(name, {})
        missing = [k for k in rows if k not in got]
        extra = [k for k in got if k not in rows]
        if missing:
            problems.append(f"{name}: {len(missing)} rows missing, e.g. {missing[:3]}")
        if extra:
            problems.append(f"{name}: {len(extra)} unexpected rows, e.g. {extra[:3]}")
        shown = 0
        for key, want in rows.items():
            if key not in got:
                continue
            have = coerce(want, got[key])
            columns = sorted(set(want) | set(have))
            diff = {
                c: (want.get(c, "<absent>"), have.get(c, "<absent>"))
                for c in columns
                if want.get(c, "<absent>") != have.get(c, "<absent>")
            }
            if diff:
                shown += 1
                if shown <= limit:
                    problems.append(
                        f"{name} {key}: " + "; ".join(f"{c}: expected {w!r}, got {h!r}" for c, (w, h) in diff.items())
                    )
        if shown > limit:
            problems.append(f"{name}: … {shown - limit} more rows differ")
    return problems


# --- JSON form of event attributes --------------------------------------------------------------
def jsonable(value: Any) -> Any:
    if isinstance(value, SealedContact):
        return {"sealed_with": value.key_id}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


def _reason(event: Any) -> str | None:
    reason = getattr(event, "reason", None)
    if isinstance(reason, Enum):  # a reason is text on every event today; an enum would be shown by its value
        reason = reason.value
    return reason or None


# --- the fold ---------------------------------------------------------------------------------
def local(instant: datetime) -> datetime:
    return instant.astimezone(LOCAL)


def reported_at_night(instant: datetime) -> bool:
    t = local(instant).time()
    return t >= time(18, 0) or t < time(6, 0)


def expected_tables(log: Iterable[tuple[int, Any]]) -> dict[str, dict[tuple, dict[str, Any]]]:
    incidents: dict[UUID, dict[str, Any]] = {}
    assignments: dict[UUID, dict[str, list[str]]] = {}  # incident -> unit id -> [call sign, state], dispatch order
    phase: dict[UUID, str] = {}
    units: dict[UUID, dict[str, Any]] = {}
    alerts: dict[UUID, dict[str, Any]] = {}
    facts: dict[UUID, dict[str, Any]] = {}
    visits: dict[UUID, dict[str, Any]] = {}
    timeline: dict[tuple, dict[str, Any]] = {}

    def incident_status(incident_id: UUID) -> str:
        if phase[incident_id] != "reported":
            return phase[incident_id]
        states = {state for _, state, _ in assignments[incident_id].values()}
        for state in ("on_scene", "en_route", "dispatched"):
            if state in states:
                return state
        return "reported"

    def first(row: dict[str, Any], column: str, instant: datetime) -> None:
        if row[column] is None or instant < row[column]:
            row[column] = instant

    for notification_id, e in log:
        at, recorded = utc(e.occurred_at), utc(e.timestamp)
        oid, kind = e.originator_id, type(e)

        params = {k: jsonable(v) for k, v in vars(e).items() if k not in NOT_PARAMS}
        if kind.__qualname__ == "Camera.Registered":  # an old registration recorded its source with its password
            params["source"] = shown_source(params["source"])
        timeline[(oid, e.originator_version)] = {
            "originator_id": oid,
            "version": e.originator_version,
            "notification_id": notification_id,
            "aggregate": kind.__qualname__.split(".")[0],
            "event": kind.__name__,
            "actor_id": e.actor.user_id,
            "actor_role": e.actor.role.value,
            "occurred_at": at,
            "recorded_at": recorded,
            "reason": _reason(e),
            "params": canonical(params),
        }

        # incidents and their KPI facts
        if kind is Incident.Reported:
            incidents[oid] = {
                "id": oid,
                "reference": e.reference,
                "status": "reported",
                "priority": e.priority.value,
                "category": e.category.value,
                "community": e.community.value,
                "channel": e.channel.value,
                "location": e.location,
                "description": e.description,
                "has_contact": e.contact is not None,
                "units": [],
                "outcome": None,
                "cancel_reason": None,
                "duplicate_of": None,
                "source_alert_id": e.source_alert_id,
                "reopen_count": 0,
                "notes_count": 0,
                "reported_at": at,
                "recorded_at": recorded,
                "updated_at": recorded,
                "closed_at": None,
                "version": e.originator_version,
                "lat": e.position.lat if e.position else None,
                "lon": e.position.lon if e.position else None,
            }
            assignments[oid], phase[oid] = {}, "reported"
            facts[oid] = {
                "incident_id": oid,
                "reference": e.reference,
                "report_month": local(at).strftime("%Y-%m"),
                "reported_at": at,
                "first_dispatched_at": None,
                "first_en_route_at": None,
                "first_on_scene_at": None,
                "first_resolved_at": None,
                "first_closed_at": None,
                "category_reported": e.category.value,
                "priority_reported": e.priority.value,
                "category": e.category.value,
                "priority": e.priority.value,
                "community": e.community.value,
                "channel": e.channel.value,
                "is_night": reported_at_night(at),
                "outcome": None,
                "cancel_reason": None,
                "reopen_count": 0,
            }
        elif oid in incidents:
            row, fact, crew = incidents[oid], facts[oid], assignments[oid]
            if kind is Incident.Triaged:
                row["category"] = fact["category"] = e.category.value
                row["priority"] = fact["priority"] = e.priority.value
            elif kind is Incident.UnitDispatched:
                crew.setdefault(e.unit_id, [e.call_sign, "dispatched", None])[1:] = ["dispatched", None]
                first(fact, "first_dispatched_at", at)
            elif kind is Incident.DispatchAcknowledged:
                crew[e.unit_id][2] = at.isoformat()
            elif kind is Incident.UnitEnRoute:
                crew[e.unit_id][1] = "en_route"
                first(fact, "first_en_route_at", at)
            elif kind is Incident.UnitOnScene:
                crew[e.unit_id][1] = "on_scene"
                first(fact, "first_on_scene_at", at)
            elif kind is Incident.UnitCleared:
                crew[e.unit_id][1] = "cleared"
            elif kind is Incident.Resolved:
                for unit in crew.values():
                    if unit[1] != "cleared":
                        unit[1] = "cleared"
                phase[oid] = "resolved"
                row["outcome"] = fact["outcome"] = e.outcome.value
                first(fact, "first_resolved_at", at)
            elif kind is Incident.Closed:
                phase[oid] = "closed"
                row["closed_at"] = at
                first(fact, "first_closed_at", at)
            elif kind is Incident.Reopened:
                phase[oid] = "reported"
                row["outcome"] = fact["outcome"] = None  # the incident's outcome is gone until it is resolved again
                row["closed_at"] = None
                row["reopen_count"] += 1
                fact["reopen_count"] += 1
            elif kind is Incident.Cancelled:
                for unit in crew.values():
                    unit[1] = "cleared"
                phase[oid] = "cancelled"
                row["cancel_reason"] = fact["cancel_reason"] = e.cancel_reason.value
                row["duplicate_of"] = e.duplicate_of
                row["closed_at"] = at  # a cancelled incident is finished at its cancellation
            elif kind is Incident.NoteAdded:
                row["notes_count"] += 1
            row["units"] = [
                {"unit_id": str(u), "call_sign": cs, "state": st, **({"acknowledged_at": ack} if ack else {})}
                for u, (cs, st, ack) in crew.items()
            ]
            row["status"] = incident_status(oid)
            row["updated_at"], row["version"] = recorded, e.originator_version

        # units
        if kind is PatrolUnit.Registered:
            units[oid] = {
                "id": oid,
                "call_sign": e.call_sign,
                "kind": e.kind.value,
                "status": "off_duty",
                "incident_id": None,
                "incident_reference": None,
                "officer_ids": [],
                "updated_at": recorded,
                "version": e.originator_version,
                "lat": None,
                "lon": None,
                "accuracy_m": None,
                "position_at": None,
            }
        elif oid in units:
            row = units[oid]
            if kind is PatrolUnit.WentOnDuty:
                row.update(status="available", officer_ids=[str(o) for o in e.officer_ids])
            elif kind is PatrolUnit.Assigned:
                row.update(status="assigned", incident_id=e.incident_id, incident_reference=e.reference)
            elif kind is PatrolUnit.Reassigned:
                row.update(incident_id=e.incident_id, incident_reference=e.reference)
            elif kind is PatrolUnit.Released:
                row.update(status="available", incident_id=None, incident_reference=None)
            elif kind is PatrolUnit.WentOffDuty:
                row.update(status="off_duty", officer_ids=[])
            elif kind is PatrolUnit.Retired:
                row.update(status="retired")
            elif kind is PatrolUnit.PositionReported and (row["position_at"] is None or row["position_at"] <= at):
                row.update(lat=e.position.lat, lon=e.position.lon, accuracy_m=e.accuracy_m, position_at=at)
            row["updated_at"], row["version"] = recorded, e.originator_version

        # camera alerts
        if kind is CameraAlert.Raised:
            alerts[oid] = {
                "id": oid,
                "camera_id": e.camera_id,
                "camera_code": e.camera_code,
                "community": e.community.value,
                "kind": e.kind.value,
                "score": e.score,
                "zone": e.zone,
                "detail": e.detail,
                "snapshot_digest": e.snapshot_digest,
                "status": "raised",
                "raised_at": at,
                "acknowledged_at": None,
                "decided_at": None,
                "outcome": None,
                "false_alarm_reason": None,
                "incident_id": None,
                "closed_at": None,
                "version": e.originator_version,
            }
        elif oid in alerts:
            row = alerts[oid]
            if kind is CameraAlert.Acknowledged:
                row.update(status="acknowledged", acknowledged_at=at)
            elif kind is CameraAlert.Dismissed:
                row.update(
                    status="dismissed", decided_at=at, outcome="false_alarm", false_alarm_reason=e.false_alarm.value
                )
            elif kind is CameraAlert.Escalated:
                row.update(status="escalated", decided_at=at, outcome="escalated", incident_id=e.incident_id)
            elif kind is CameraAlert.Closed:
                row.update(status="closed", closed_at=at)
            elif kind is CameraAlert.SnapshotPurged:
                row.update(snapshot_digest="")
            row["version"] = e.originator_version

        # patrol visits
        if kind is PatrolVisit.Logged:
            when = local(at)
            visits[oid] = {
                "visit_id": oid,
                "box_id": e.box_id,
                "box_code": e.box_code,
                "community": e.community.value,
                "officer_id": e.actor.user_id,
                "visited_at": at,
                "local_day": when.date(),
                "slot": when.hour // 2,
                "is_night_slot": when.hour // 2 in NIGHT_SLOTS,
                "status": "valid",
            }
        elif oid in visits:
            row = visits[oid]
            if kind is PatrolVisit.Voided:
                row["status"] = "voided"
            elif kind is PatrolVisit.Flagged and row["status"] != "voided":
                row["status"] = "flagged"

    for row in incidents.values():
        row["status"] = incident_status(row["id"])

    return {
        "rm_incidents": {(k,): v for k, v in incidents.items()},
        "rm_units": {(k,): v for k, v in units.items()},
        "rm_camera_alerts": {(k,): v for k, v in alerts.items()},
        "rm_timeline": timeline,
        "kpi_incident_facts": {(k,): v for k, v in facts.items()},
        "kpi_visit_facts": {(k,): v for k, v in visits.items()},
        "rm_users": expected_users(log),
        "rm_cameras": expected_cameras(log),
        "rm_red_boxes": expected_red_boxes(log),
        "rm_refused_check_ins": expected_refused_check_ins(log),
    }


def expected_users(log: Iterable[tuple[int, Any]]) -> dict[tuple, dict[str, Any]]:
    users: dict[UUID, dict[str, Any]] = {}
    for _, e in log:
        if not type(e).__qualname__.startswith("UserAccount."):
            continue
        kind = type(e).__qualname__.split(".")[1]
        if kind == "Created":
            users[e.originator_id] = {
                "id": e.originator_id,
                "username": e.username,
                "display_name": e.display_name,
                "role": e.role.value,
                "disabled": False,
                "created_at": e.timestamp,
            }
        row = users[e.originator_id]
        row.update(updated_at=e.timestamp, version=e.originator_version)
        if kind == "RoleChanged":
            row["role"] = e.role.value
        elif kind in ("Disabled", "Enabled"):
            row["disabled"] = kind == "Disabled"
    return {(k,): v for k, v in users.items()}


# A camera's source as the registry may show it (the table comment): no userinfo, and no value of a query
# parameter whose name looks like a credential.
CREDENTIAL_WORDS = ("user", "login", "pass", "pwd", "secret", "token", "key", "auth", "sig", "cred")


def shown_source(address: str) -> str:
    if "://" not in address:
        return address
    scheme, rest = address.split("://", 1)
    if "@" in rest:
        rest = "***@" + rest.rsplit("@", 1)[1]
    pieces = re.split(r"([?&;#])", rest)
    for i in range(2, len(pieces), 2):
        name, equals, _ = pieces[i].partition("=")
        if equals and any(w in name.lower() for w in CREDENTIAL_WORDS):
            pieces[i] = name + "=***"
    return scheme + "://" + "".join(pieces)


def expected_cameras(log: Iterable[tuple[int, Any]]) -> dict[tuple, dict[str, Any]]:
    cameras: dict[UUID, dict[str, Any]] = {}
    for _, e in log:
        if not type(e).__qualname__.startswith("Camera."):
            continue
        kind = type(e).__qualname__.split(".")[1]
        if kind == "Registered":
            cameras[e.originator_id] = {
                "id": e.originator_id,
                "code": e.code,
                "name": e.name,
                "community": e.community.value,
                "owner": e.owner.value,
                "owner_name": e.owner_name,
                "consent_reference": e.consent_reference,
                "source": shown_source(e.source),
                "lat": e.position.lat if e.position else None,
                "lon": e.position.lon if e.position else None,
                "zones": [],
                "rules": [],
                "retired": False,
                "retired_at": None,
                "registered_at": e.occurred_at,
            }
        row = cameras[e.originator_id]
        row.update(updated_at=e.timestamp, version=e.originator_version)
        if kind == "ZonesSet":
            row["zones"] = jsonable(e.zones)
        elif kind == "RulesSet":
            row["rules"] = jsonable(e.rules)
        elif kind == "Retired":
            row.update(retired=True, retired_at=e.occurred_at)
        elif kind == "Moved":
            row.update(lat=e.position.lat, lon=e.position.lon)
    return {(k,): v for k, v in cameras.items()}


def expected_red_boxes(log: Iterable[tuple[int, Any]]) -> dict[tuple, dict[str, Any]]:
    """One row per red box as its events leave it; registered_at is when it was registered in the world."""
    boxes: dict[UUID, dict[str, Any]] = {}
    for _, e in log:
        if not type(e).__qualname__.startswith("RedBox."):
            continue
        kind = type(e).__qualname__.split(".")[1]
        if kind == "Registered":
            boxes[e.originator_id] = {
                "id": e.originator_id,
                "code": e.code,
                "name_th": e.name_th,
                "name_en": e.name_en,
                "community": e.community.value,
                "lat": e.position.lat,
                "lon": e.position.lon,
                "token_version": 1,
                "token_rotated_at": None,
                "retired": False,
                "registered_at": e.occurred_at,
            }
        row = boxes[e.originator_id]
        row.update(updated_at=e.timestamp, version=e.originator_version)
        if kind == "TokenRotated":
            row.update(token_version=e.token_version, token_rotated_at=e.timestamp)
        elif kind == "Moved":
            row.update(lat=e.position.lat, lon=e.position.lon)
        elif kind == "Retired":
            row["retired"] = True
    return {(k,): v for k, v in boxes.items()}


def expected_refused_check_ins(log: Iterable[tuple[int, Any]]) -> dict[tuple, dict[str, Any]]:
    rows = {}
    for _, e in log:
        if type(e).__qualname__ == "RefusedCheckIn.Recorded":
            rows[(e.originator_id,)] = {
                "id": e.originator_id,
                "box_id": e.box_id,
                "box_code": e.box_code,
                "refusal": e.refusal.value,
                "token_version": e.token_version,
                "officer_id": e.actor.user_id,
                "attempted_at": e.occurred_at,
                "lat": e.position.lat if e.position else None,
                "lon": e.position.lon if e.position else None,
            }
    return rows
