"""The projections: each turns events of the log into rows of its own tables. A projection never
reads the log on a request; the runner feeds it pages of events and commits its rows together with
its position, in one transaction."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic
from sqlalchemy import Connection, Table, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from domain.cameras import CameraAlert
from domain.incident import Incident
from domain.patrol import PatrolUnit, PatrolVisit
from domain.values import BANGKOK, Assignment, IncidentStatus, is_night
from infrastructure.readmodels import tables as t

Handler = Callable[[Any, "RowSet"], None]
# A page of the log: each notification, with its decoded domain event when some projection needs one.
Page = list[tuple[Notification, Any]]
_OPEN = {s.value for s in (IncidentStatus.REPORTED, IncidentStatus.DISPATCHED, IncidentStatus.EN_ROUTE, IncidentStatus.ON_SCENE)}


def aware(value: Any) -> Any:
    """SQLite gives back naive datetimes; every instant here is UTC."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def utc(row: dict[str, Any]) -> dict[str, Any]:
    """SQLite keeps a datetime's wall-clock digits and drops its offset: hand it UTC only."""
    return {k: v.astimezone(timezone.utc) if isinstance(v, datetime) and v.tzinfo is not None else v for k, v in row.items()}


def insert_all(conn: Connection, table: Table, rows: Iterable[dict[str, Any]]) -> None:
    """Bulk insert into a table: COPY on PostgreSQL, executemany on SQLite."""
    columns = [c.name for c in table.columns]
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
        return
    rows = [utc(row) for row in rows]
    if rows:
        conn.execute(insert(table), rows)


def upsert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        rows = [utc(row) for row in rows]
    keys = [c.name for c in table.primary_key.columns]
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=keys, set_={c.name: statement.excluded[c.name] for c in table.columns if c.name not in keys})
    conn.execute(statement, rows)


class RowSet:
    """The rows of one table that a page of events touches, loaded once, written back once."""

    def __init__(self, table: Table):
        self.table = table
        self.key = next(iter(table.primary_key.columns))
        self.rows: dict[Any, dict[str, Any]] = {}
        self.dirty: set[Any] = set()

    def load(self, conn: Connection, keys: Iterable[Any]) -> None:
        missing = [k for k in dict.fromkeys(keys) if k not in self.rows]
        for start in range(0, len(missing), 900):
            chunk = missing[start:start + 900]
            for row in conn.execute(select(self.table).where(self.key.in_(chunk))).mappings():
                self.rows[row[self.key.name]] = {k: aware(v) for k, v in row.items()}

    def get(self, key: Any) -> dict[str, Any] | None:
        return self.rows.get(key)

    def put(self, row: dict[str, Any]) -> None:
        key = row[self.key.name]
        self.rows[key] = row
        self.dirty.add(key)

    def flush(self, conn: Connection) -> None:
        upsert(conn, self.table, [self.rows[k] for k in self.dirty])
        self.dirty.clear()
        if len(self.rows) > 50_000:
            self.rows.clear()

    def forget(self) -> None:
        self.rows.clear()
        self.dirty.clear()


class Projection:
    """Rows keyed by the originator of the events it handles (one RowSet), or insert-only rows."""

    name: str
    table: Table
    handlers: dict[type, Handler]

    def __init__(self) -> None:
        self.rows = RowSet(self.table)

    @property
    def tables(self) -> list[Table]:
        return [self.table]

    @property
    def topics(self) -> list[str]:
        return [get_topic(cls) for cls in self.handlers]

    def apply_page(self, conn: Connection, page: Page, *, bulk: bool = False) -> None:
        """Applies a page in log order. `bulk`: the tables were emptied in this transaction and every
        row lives in memory until `write_all` (a rebuild); otherwise rows are loaded and upserted per page."""
        events = [e for _, e in page if type(e) in self.handlers]
        if not bulk:
            self.rows.load(conn, (e.originator_id for e in events))
        for event in events:
            self.handlers[type(event)](event, self.rows)
        if not bulk:
            self.rows.flush(conn)

    def write_all(self, conn: Connection) -> None:
        insert_all(conn, self.table, self.rows.rows.values())
        self.rows.forget()

    def reset(self, conn: Connection) -> None:
        for table in self.tables:
            conn.execute(delete(table))
        self.rows.forget()


def updating(change: Callable[[Any, dict[str, Any]], Any], *, stamped: bool = False, versioned: bool = True) -> Handler:
    """A handler that changes the row of the event's originator; `stamped` also sets updated_at to the
    recording time, `versioned` the row's version to the event's."""
    def handle(e: Any, rows: RowSet) -> None:
        row = rows.get(e.originator_id)
        change(e, row)
        if stamped:
            row["updated_at"] = e.timestamp
        if versioned:
            row["version"] = e.originator_version
        rows.put(row)
    return handle


# --- incidents: the board's open incidents, and the incident list and search ------------------
def _incident_status(row: dict[str, Any]) -> str:
    if row["status"] not in _OPEN:
        return row["status"]
    states = {u["state"] for u in json.loads(row["units"])}
    for state in (Assignment.ON_SCENE, Assignment.EN_ROUTE, Assignment.DISPATCHED):
        if state.value in states:
            return state.value
    return IncidentStatus.REPORTED.value


def _with_units(row: dict[str, Any], change: Callable[[list[dict[str, Any]]], None]) -> None:
    units = json.loads(row["units"])
    change(units)
    row["units"] = json.dumps(units)
    row["status"] = _incident_status(row)


def _set_unit_state(unit_id: UUID, state: Assignment, call_sign: str | None = None):
    def change(units: list[dict[str, Any]]) -> None:
        for unit in units:
            if unit["unit_id"] == str(unit_id):
                unit["state"] = state.value
                return
        units.append({"unit_id": str(unit_id), "call_sign": call_sign or "", "state": state.value})
    return change


def _clear_all(units: list[dict[str, Any]]) -> None:
    for unit in units:
        unit["state"] = Assignment.CLEARED.value


class IncidentsProjection(Projection):
    name = "incidents"
    table = t.incidents

    def __init__(self) -> None:
        def reported(e: Any, rows: RowSet) -> None:
            rows.put({"id": e.originator_id, "reference": e.reference, "status": IncidentStatus.REPORTED.value,
                      "priority": e.priority.value, "category": e.category.value, "community": e.community.value,
                      "channel": e.channel.value, "location": e.location, "description": e.description,
                      "has_contact": e.contact is not None, "units": "[]", "outcome": None, "cancel_reason": None,
                      "duplicate_of": None, "source_alert_id": e.source_alert_id, "reopen_count": 0, "notes_count": 0,
                      "reported_at": e.occurred_at, "recorded_at": e.timestamp, "updated_at": e.timestamp,
                      "closed_at": None, "version": e.originator_version})

        def update(change: Callable[[Any, dict[str, Any]], Any]) -> Handler:
            return updating(change, stamped=True)

        def triaged(e: Any, row: dict[str, Any]) -> None:
            row["category"], row["priority"] = e.category.value, e.priority.value

        def resolved(e: Any, row: dict[str, Any]) -> None:
            _with_units(row, _clear_all)
            row["status"], row["outcome"] = IncidentStatus.RESOLVED.value, e.outcome.value

        def closed(e: Any, row: dict[str, Any]) -> None:
            row["status"], row["closed_at"] = IncidentStatus.CLOSED.value, e.occurred_at

        def reopened(e: Any, row: dict[str, Any]) -> None:
            row["status"], row["outcome"], row["closed_at"] = IncidentStatus.REPORTED.value, None, None
            row["reopen_count"] += 1

        def cancelled(e: Any, row: dict[str, Any]) -> None:
            _with_units(row, _clear_all)
            row["status"], row["cancel_reason"], row["duplicate_of"] = IncidentStatus.CANCELLED.value, e.cancel_reason.value, e.duplicate_of
            row["closed_at"] = e.occurred_at

        def note(e: Any, row: dict[str, Any]) -> None:
            row["notes_count"] += 1

        self.handlers = {
            Incident.Reported: reported,
            Incident.Triaged: update(triaged),
            Incident.UnitDispatched: update(lambda e, r: _with_units(r, _set_unit_state(e.unit_id, Assignment.DISPATCHED, e.call_sign))),
            Incident.UnitEnRoute: update(lambda e, r: _with_units(r, _set_unit_state(e.unit_id, Assignment.EN_ROUTE))),
            Incident.UnitOnScene: update(lambda e, r: _with_units(r, _set_unit_state(e.unit_id, Assignment.ON_SCENE))),
            Incident.UnitCleared: update(lambda e, r: _with_units(r, _set_unit_state(e.unit_id, Assignment.CLEARED))),
            Incident.Resolved: update(resolved),
            Incident.Closed: update(closed),
            Incident.Reopened: update(reopened),
            Incident.Cancelled: update(cancelled),
            Incident.DuplicateLinked: update(lambda e, r: None),
            Incident.NoteAdded: update(note),
        }
        super().__init__()


# --- units ----------------------------------------------------------------------------------
class UnitsProjection(Projection):
    name = "units"
    table = t.units

    def __init__(self) -> None:
        def registered(e: Any, rows: RowSet) -> None:
            rows.put({"id": e.originator_id, "call_sign": e.call_sign, "kind": e.kind.value, "status": "off_duty",
                      "incident_id": None, "incident_reference": None, "officer_ids": "[]", "updated_at": e.timestamp,
                      "version": e.originator_version})

        def update(**changes: Callable[[Any], Any]) -> Handler:
            return updating(lambda e, row: row.update({column: value(e) for column, value in changes.items()}), stamped=True)

        self.handlers = {
            PatrolUnit.Registered: registered,
            PatrolUnit.WentOnDuty: update(status=lambda e: "available", officer_ids=lambda e: json.dumps([str(o) for o in e.officer_ids])),
            PatrolUnit.Assigned: update(status=lambda e: "assigned", incident_id=lambda e: e.incident_id,
                                        incident_reference=lambda e: e.reference),
            PatrolUnit.Reassigned: update(incident_id=lambda e: e.incident_id, incident_reference=lambda e: e.reference),
            PatrolUnit.Released: update(status=lambda e: "available", incident_id=lambda e: None, incident_reference=lambda e: None),
            PatrolUnit.WentOffDuty: update(status=lambda e: "off_duty", officer_ids=lambda e: "[]"),
            PatrolUnit.Retired: update(status=lambda e: "retired"),
        }
        super().__init__()


# --- camera alerts: the board's open alerts and the alert KPI facts -----------------------
class CameraAlertsProjection(Projection):
    name = "alerts"
    table = t.camera_alerts

    def __init__(self) -> None:
        def raised(e: Any, rows: RowSet) -> None:
            rows.put({"id": e.originator_id, "camera_id": e.camera_id, "camera_code": e.camera_code,
                      "community": e.community.value, "kind": e.kind.value, "score": e.score, "zone": e.zone, "detail": e.detail,
                      "snapshot_digest": e.snapshot_digest, "status": "raised", "raised_at": e.occurred_at,
                      "acknowledged_at": None, "decided_at": None, "outcome": None, "false_alarm_reason": None,
                      "incident_id": None, "closed_at": None, "version": e.originator_version})

        update = updating

        def acknowledged(e: Any, row: dict[str, Any]) -> None:
            row["status"], row["acknowledged_at"] = "acknowledged", e.occurred_at

        def dismissed(e: Any, row: dict[str, Any]) -> None:
            row.update(status="dismissed", decided_at=e.occurred_at, outcome="false_alarm", false_alarm_reason=e.false_alarm.value)

        def escalated(e: Any, row: dict[str, Any]) -> None:
            row.update(status="escalated", decided_at=e.occurred_at, outcome="escalated", incident_id=e.incident_id)

        def closed(e: Any, row: dict[str, Any]) -> None:
            row.update(status="closed", closed_at=e.occurred_at)

        self.handlers = {CameraAlert.Raised: raised, CameraAlert.Acknowledged: update(acknowledged),
                         CameraAlert.Dismissed: update(dismissed), CameraAlert.Escalated: update(escalated),
                         CameraAlert.Closed: update(closed)}
        super().__init__()


# --- KPI facts --------------------------------------------------------------------------------
class IncidentFactsProjection(Projection):
    name = "kpi_incidents"
    table = t.kpi_incidents

    def __init__(self) -> None:
        def reported(e: Any, rows: RowSet) -> None:
            local = e.occurred_at.astimezone(BANGKOK)
            rows.put({"incident_id": e.originator_id, "reference": e.reference, "report_month": local.strftime("%Y-%m"),
                      "reported_at": e.occurred_at, "first_dispatched_at": None, "first_en_route_at": None,
                      "first_on_scene_at": None, "first_resolved_at": None, "first_closed_at": None,
                      "category_reported": e.category.value, "priority_reported": e.priority.value,
                      "category": e.category.value, "priority": e.priority.value, "community": e.community.value,
                      "channel": e.channel.value, "is_night": is_night(e.occurred_at), "outcome": None,
                      "cancel_reason": None, "reopen_count": 0})

        def first(column: str) -> Callable[[Any, dict[str, Any]], None]:
            def earliest(e: Any, row: dict[str, Any]) -> None:
                if row[column] is None or e.occurred_at < row[column]:
                    row[column] = e.occurred_at
            return earliest

        def update(change: Callable[[Any, dict[str, Any]], Any]) -> Handler:
            return updating(change, versioned=False)

        def resolved(e: Any, row: dict[str, Any]) -> None:
            first("first_resolved_at")(e, row)
            row["outcome"] = e.outcome.value

        self.handlers = {
            Incident.Reported: reported,
            Incident.Triaged: update(lambda e, r: r.update(category=e.category.value, priority=e.priority.value)),
            Incident.UnitDispatched: update(first("first_dispatched_at")),
            Incident.UnitEnRoute: update(first("first_en_route_at")),
            Incident.UnitOnScene: update(first("first_on_scene_at")),
            Incident.Resolved: update(resolved),
            Incident.Closed: update(first("first_closed_at")),
            # The outcome is the current one: none while reopened; the first figures stay (KPIS.md).
            Incident.Reopened: update(lambda e, r: r.update(reopen_count=r["reopen_count"] + 1, outcome=None)),
            Incident.Cancelled: update(lambda e, r: r.update(cancel_reason=e.cancel_reason.value)),
        }
        super().__init__()


class VisitFactsProjection(Projection):
    name = "kpi_visits"
    table = t.kpi_visits

    def __init__(self) -> None:
        def logged(e: Any, rows: RowSet) -> None:
            local = e.occurred_at.astimezone(BANGKOK)
            slot = local.hour // 2
            rows.put({"visit_id": e.originator_id, "box_id": e.box_id, "box_code": e.box_code, "community": e.community.value,
                      "officer_id": e.actor.user_id, "visited_at": e.occurred_at, "local_day": local.date(), "slot": slot,
                      "is_night_slot": slot >= 9 or slot <= 2, "status": "valid"})

        def status(value: str) -> Handler:
            # A voided visit stays voided, whatever is said of it afterwards.
            return updating(lambda e, row: row.update(status=value if row["status"] != "voided" else "voided"), versioned=False)

        self.handlers = {PatrolVisit.Logged: logged, PatrolVisit.Flagged: status("flagged"), PatrolVisit.Voided: status("voided")}
        super().__init__()


# --- timelines ----------------------------------------------------------------------------------
# A timeline row keeps the event's own attributes as they were stored (values tagged with their type,
# {"_type_": ..., "_data_": ...}), so an auditor reads what was recorded; the UI words them at read time.
# A reporter's contact keeps only the id of the key that sealed it, never the ciphertext.
_BOOKKEEPING = ("originator_topic", "class_version")


def timeline_row(notification: Notification) -> dict[str, Any]:
    state = json.loads(notification.state)
    aggregate, _, event = notification.topic.rpartition(":")[2].partition(".")
    actor = state.pop("actor")["_data_"]
    occurred_at, recorded_at = state.pop("occurred_at")["_data_"], state.pop("timestamp")["_data_"]
    reason = state.pop("reason", None) or None
    for key in _BOOKKEEPING:
        state.pop(key, None)
    if state.get("contact"):
        state["contact"]["_data_"].pop("ciphertext", None)
    return {"originator_id": notification.originator_id, "version": notification.originator_version,
            "notification_id": notification.id, "aggregate": aggregate, "event": event,
            "actor_id": UUID(actor["user_id"]["_data_"]), "actor_role": actor["role"]["_data_"],
            "occurred_at": datetime.fromisoformat(occurred_at), "recorded_at": datetime.fromisoformat(recorded_at),
            "reason": reason, "params": json.dumps(state, ensure_ascii=False, separators=(",", ":"))}


# The same rows, made by PostgreSQL itself from a range of the log: no event crosses into Python.
TIMELINE_SQL = """
INSERT INTO rm_timeline (originator_id, version, notification_id, aggregate, event, actor_id, actor_role,
                         occurred_at, recorded_at, reason, params)
SELECT originator_id, originator_version, notification_id,
       split_part(split_part(topic, ':', 2), '.', 1), split_part(split_part(topic, ':', 2), '.', 2),
       (j #>> '{actor,_data_,user_id,_data_}')::uuid, j #>> '{actor,_data_,role,_data_}',
       (j #>> '{occurred_at,_data_}')::timestamptz, (j #>> '{timestamp,_data_}')::timestamptz,
       nullif(j ->> 'reason', ''),
       ((j - 'actor' - 'occurred_at' - 'timestamp' - 'reason' - 'originator_topic' - 'class_version')
        #- '{contact,_data_,ciphertext}')::text
FROM (SELECT originator_id, originator_version, notification_id, topic, convert_from(state, 'UTF8')::jsonb AS j
      FROM {events} WHERE notification_id > %(after)s AND notification_id <= %(upto)s OFFSET 0) AS e
"""


class TimelineProjection(Projection):
    """Every event of every aggregate as a row. Insert-only; needs no decoded domain events."""

    name = "timeline"
    table = t.timeline
    handlers: dict[type, Handler] = {}

    def __init__(self, events_table: str = "stored_events") -> None:
        super().__init__()
        self.sql = TIMELINE_SQL.replace("{events}", events_table)

    @property
    def topics(self) -> list[str]:
        return []

    @staticmethod
    def in_database(conn: Connection) -> bool:
        return conn.dialect.name == "postgresql"

    def apply_page(self, conn: Connection, page: Page, *, bulk: bool = False) -> None:
        if not page:
            return
        if self.in_database(conn):
            self.apply_range(conn, page[0][0].id - 1, page[-1][0].id)
        else:
            insert_all(conn, self.table, (timeline_row(n) for n, _ in page))

    def apply_range(self, conn: Connection, after: int, upto: int) -> None:
        conn.exec_driver_sql(self.sql, {"after": after, "upto": upto})

    def write_all(self, conn: Connection) -> None:
        pass


def all_projections(events_table: str = "stored_events") -> list[Projection]:
    return [IncidentsProjection(), UnitsProjection(), CameraAlertsProjection(), IncidentFactsProjection(),
            VisitFactsProjection(), TimelineProjection(events_table)]

