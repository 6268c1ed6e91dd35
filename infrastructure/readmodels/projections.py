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
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from enum import Enum
from functools import lru_cache
from operator import itemgetter
from typing import Any, NamedTuple
from uuid import UUID

import psycopg
from eventsourcing.utils import get_topic, resolve_topic
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import Connection, Table, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from domain.cameras import Camera, CameraAlert
from domain.incident import Incident
from domain.patrol import PatrolUnit, PatrolVisit
from domain.values import BANGKOK, AlertStatus, Assignment, IncidentStatus, UnitStatus, incident_status, is_night
from infrastructure.camera_secrets import masked_source
from infrastructure.readmodels import tables as t

class Record(NamedTuple):
    """One event of the log, as the runner hands it to the projections."""

    id: int  # notification id
    originator_id: UUID
    originator_version: int
    topic: str
    stored: bytes | str  # the state as stored (JSON)
    state: dict[str, Any] | None  # decoded JSON, upcast; when some JsonProjection handles the topic
    event: Any  # the domain event; when some Projection over domain events handles the topic


# A page of the log, in log order.
Page = list[Record]
Handler = Callable[[Any, "RowSet"], None]  # (domain event, rows)
JsonHandler = Callable[[Record, dict[str, Any], "RowSet"], None]  # (record, state, rows)


# --- the stored JSON ----------------------------------------------------------------------------
@lru_cache(maxsize=None)
def _event_class(topic: str) -> tuple[type, int]:
    cls = resolve_topic(topic)
    return cls, getattr(cls, "class_version", 1)


def class_version(topic: str) -> int:
    return _event_class(topic)[1]


def upcast(topic: str, state: dict[str, Any], from_version: int | None = None) -> dict[str, Any]:
    """Brings a decoded stored state to its event class's current version with the class's own upcast
    functions, as the library's mapper does for domain events (`from_version`: the stored class_version,
    when already taken out of the state)."""
    cls, version = _event_class(topic)
    if from_version is None:
        from_version = state.pop("class_version", 1)
    while from_version < version:
        getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
        from_version += 1
    return state


_scan = json.JSONDecoder().scan_once  # the C scanner, without json.loads's layers around it


def loads(stored: bytes | str) -> dict[str, Any]:
    """Stored JSON (as the library writes it: UTF-8, no whitespace around) decoded."""
    text = stored.decode() if isinstance(stored, (bytes, bytearray)) else stored
    try:
        value, end = _scan(text, 0)
    except StopIteration:
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


def plain(value: Any) -> Any:
    """A stored value without its type tag; an enum (an upcast may have put one) as its value."""
    try:
        return value["_data_"]
    except (TypeError, KeyError):
        return value.value if isinstance(value, Enum) else value


_UUIDS: dict[str, UUID] = {}


def uuid_of(value: Any) -> UUID | None:
    """A stored UUID (tagged hex; or a UUID an upcast put). Ids repeat a lot (actors, boxes, units):
    each is made once."""
    try:
        value = value["_data_"]
    except TypeError:
        if value is None or isinstance(value, UUID):
            return value
    found = _UUIDS.get(value)
    if found is None:
        if len(_UUIDS) >= 100_000:
            _UUIDS.clear()
        found = _UUIDS[value] = UUID(value)
    return found


_from_iso = datetime.fromisoformat


def instant(value: Any) -> datetime | None:
    """A stored instant (tagged ISO text; or a datetime an upcast put)."""
    try:
        return _from_iso(value["_data_"])
    except TypeError:
        return value if value is None or isinstance(value, datetime) else _from_iso(value)


def actor_id(state: dict[str, Any]) -> UUID:
    return uuid_of(plain(state["actor"])["user_id"])


# --- writing rows ----------------------------------------------------------------------------
def aware(value: Any) -> Any:
    """SQLite gives back naive datetimes; every instant here is UTC."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def utc(row: dict[str, Any]) -> dict[str, Any]:
    """SQLite keeps a datetime's wall-clock digits and drops its offset: hand it UTC only."""
    return {k: v.astimezone(timezone.utc) if isinstance(v, datetime) and v.tzinfo is not None else v for k, v in row.items()}


def driver(conn: Connection | psycopg.Connection) -> psycopg.Connection:
    """The psycopg connection under a SQLAlchemy one (or itself)."""
    return conn if isinstance(conn, psycopg.Connection) else conn.connection.driver_connection


def column_types(conn: Connection | psycopg.Connection, table: str) -> dict[str, int]:
    """PostgreSQL: the type (oid) of each column of a table, by name."""
    return dict(driver(conn).execute("SELECT attname, atttypid::int FROM pg_attribute WHERE attrelid = %s::regclass "
                                     "AND attnum > 0 AND NOT attisdropped", (table,)).fetchall())


@contextmanager
def copying(conn: Connection | psycopg.Connection, table: str, columns: list[str], *, queued: bool = False,
            types: dict[str, int] | None = None) -> Iterator[Callable[[Sequence[Any]], None]]:
    """COPY in binary: gives `write(values)` for rows in the order of `columns`. No value is formatted as
    text by Python nor parsed by PostgreSQL (several times cheaper than text for UUIDs and instants).
    `queued`: the data is sent by a thread of its own, so that the caller does not wait while the server
    takes it in. `types`: the columns' types (`column_types`), when the caller knows them (else looked up)."""
    raw = driver(conn)
    types = types or column_types(raw, table)
    with raw.cursor() as cursor:
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
        with cursor.copy(statement, writer=QueuedLibpqWriter(cursor) if queued else None) as copy:
            copy.set_types([types[c] for c in columns])
            yield copy.write_row


def copy_rows(conn: Connection | psycopg.Connection, table: str, columns: list[str], rows: Iterable[dict[str, Any]]) -> None:
    values = itemgetter(*columns) if len(columns) > 1 else (lambda row: (row[columns[0]],))
    with copying(conn, table, columns) as write:
        for row in rows:
            write(values(row))


def insert_all(conn: Connection, table: Table, rows: Iterable[dict[str, Any]]) -> None:
    """Bulk insert into a table: COPY on PostgreSQL, executemany on SQLite."""
    columns = [c.name for c in table.columns]
    if conn.dialect.name == "postgresql":
        copy_rows(conn, table.name, columns, rows)
        return
    rows = [utc(row) for row in rows]
    if rows:
        conn.execute(insert(table), rows)


def insert_values(conn: Connection, table: Table, rows: Iterable[Sequence[Any]], *,
                  types: dict[str, int] | None = None) -> None:
    """The same for rows given as values in the table's column order (`types`: as for `copying`)."""
    columns = [c.name for c in table.columns]
    if conn.dialect.name == "postgresql":
        with copying(conn, table.name, columns, types=types) as write:
            for row in rows:
                write(row)
        return
    insert_all(conn, table, (dict(zip(columns, row)) for row in rows))


def staging(conn: Connection, table: Table) -> str:
    """PostgreSQL: an empty temporary table of the same shape as `table`, dropped at commit; its name."""
    stage = f"rebuild_{table.name}"
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS pg_temp.{stage}")
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {stage} (LIKE {table.name}) ON COMMIT DROP")
    return stage


def replace_with_stage(conn: Connection, table: Table, stage: str) -> None:
    """PostgreSQL: makes the table hold exactly the rows of the staging table, writing only the
    difference: rows that changed or are gone are deleted, rows that are new or changed are inserted. A
    rebuild thus rewrites only what it changes: an unchanged row costs a comparison instead of a delete,
    an insert and their index entries (and no dead row is left for VACUUM).

    Rows are compared by their key and a 64-bit hash of the whole row (each column hashed by its type's
    own hash function), so the join holds narrow rows instead of whole ones, and no text is compared
    twice: a changed row goes unnoticed only if its hash collides with the right row's (2^-64)."""
    keys = [c.name for c in table.primary_key.columns]
    columns = ", ".join(c.name for c in table.columns)
    same = " AND ".join(f"s.{k} = t.{k}" for k in [*keys, "digest"])
    # Hash joins whatever the sizes: against a table just emptied (estimated at no rows), a nested-loop
    # join would scan the table once per staged row. (No ANALYZE of the stage: the planner sizes it from
    # its pages.)
    conn.exec_driver_sql("SET LOCAL enable_nestloop = off")
    conn.exec_driver_sql("SET LOCAL enable_mergejoin = off")
    if not conn.exec_driver_sql(f"SELECT EXISTS (SELECT FROM {table.name})").scalar():  # a first build: every row is new
        deleted = 0
        inserted = conn.exec_driver_sql(f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM {stage}").rowcount
        conn.exec_driver_sql(f"DROP TABLE {stage}")
    else:
        # (OFFSET 0: each side hashed as it is scanned, so that the join holds the digests, not the rows.)
        digests = f"ctid AS place, {', '.join(keys)}, hash_record_extended(x, 0) AS digest"
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS pg_temp.differ_{table.name}")
        conn.exec_driver_sql(
            f"CREATE TEMPORARY TABLE differ_{table.name} ON COMMIT DROP AS "
            f"SELECT s.place AS new, t.place AS old FROM (SELECT {digests} FROM {stage} AS x OFFSET 0) AS s "
            f"FULL JOIN (SELECT {digests} FROM {table.name} AS x OFFSET 0) AS t ON {same} "
            f"WHERE s.place IS NULL OR t.place IS NULL")
        deleted = conn.exec_driver_sql(f"DELETE FROM {table.name} WHERE ctid = ANY(ARRAY(SELECT old FROM differ_{table.name} "
                                       f"WHERE old IS NOT NULL))").rowcount
        inserted = conn.exec_driver_sql(f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM {stage} WHERE ctid = ANY("
                                        f"ARRAY(SELECT new FROM differ_{table.name} WHERE new IS NOT NULL))").rowcount
        conn.exec_driver_sql(f"DROP TABLE {stage}, differ_{table.name}")
    # Where much of the table was written (a first build, say), fresh statistics for the readers' plans
    # (which the server would otherwise take only from autovacuum, some time later, if it runs at all).
    size = conn.exec_driver_sql(f"SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = '{table.name}'::regclass").scalar()
    if deleted + inserted > max(1000, 0.1 * size):
        conn.exec_driver_sql(f"ANALYZE {table.name}")


def replace_all(conn: Connection, table: Table, fill: Callable[[str], None]) -> None:
    """PostgreSQL: the table made to hold exactly the rows that `fill` puts into a staging table of the
    same shape (given its name), writing only the difference (`replace_with_stage`)."""
    stage = staging(conn, table)
    fill(stage)
    replace_with_stage(conn, table, stage)


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
    """The rows of one table that a page of events touches, loaded once, written back once; in a bulk
    replay (`bulk`), every row of the table, written once at the end. `encode` turns a row held in
    memory into its stored form (a projection may keep a column parsed while it works on it)."""

    def __init__(self, table: Table, encode: Callable[[dict[str, Any]], dict[str, Any]] | None = None):
        self.table = table
        self.key = next(iter(table.primary_key.columns))
        self.encode = encode
        self.rows: dict[Any, dict[str, Any]] = {}  # by key; a UUID by its int, which hashes in C
        self.dirty: set[Any] = set()
        self.bulk = False

    @staticmethod
    def _slot(key: Any) -> Any:
        return key.int if isinstance(key, UUID) else key

    def load(self, conn: Connection, keys: Iterable[Any]) -> None:
        missing = [k for k in dict.fromkeys(keys) if self._slot(k) not in self.rows]
        for start in range(0, len(missing), 900):
            chunk = missing[start:start + 900]
            for row in conn.execute(select(self.table).where(self.key.in_(chunk))).mappings():
                self.rows[self._slot(row[self.key.name])] = {k: aware(v) for k, v in row.items()}

    def get(self, key: Any) -> dict[str, Any] | None:
        return self.rows.get(key.int if isinstance(key, UUID) else key)

    def put(self, row: dict[str, Any]) -> None:
        key = row[self.key.name]
        slot = key.int if isinstance(key, UUID) else key
        self.rows[slot] = row
        if not self.bulk:
            self.dirty.add(slot)

    def stored(self, rows: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
        return rows if self.encode is None else map(self.encode, rows)

    def flush(self, conn: Connection) -> None:
        upsert(conn, self.table, list(self.stored(self.rows[k] for k in self.dirty)))
        self.dirty.clear()
        if len(self.rows) > 50_000:
            self.rows.clear()

    def forget(self) -> None:
        self.rows.clear()
        self.dirty.clear()
        self.bulk = False


class Projection:
    """Rows keyed by the originator of the events it handles (one RowSet), or insert-only rows.
    Handlers keyed by domain event classes are given decoded domain events.

    A row is changed only by the events of its own aggregate: a rebuild on PostgreSQL replays each half of
    the aggregates in a process of its own."""

    name: str
    table: Table
    handlers: dict[Any, Any]
    reads_json = False  # handlers take (record, stored state, rows), keyed by topic

    def __init__(self) -> None:
        overridden = type(self).encode is not Projection.encode
        self.rows = RowSet(self.table, self.encode if overridden else None)

    def encode(self, row: dict[str, Any]) -> dict[str, Any]:
        """A row as it is stored: the identity, unless a projection keeps some column parsed in memory."""
        return row

    @property
    def tables(self) -> list[Table]:
        return [self.table]

    @property
    def topics(self) -> list[str]:
        return [get_topic(cls) for cls in self.handlers]

    def apply_page(self, conn: Connection, page: Page) -> None:
        """Applies a page in log order: the rows it touches are loaded, changed, and upserted."""
        events = [r.event for r in page if r.event is not None and type(r.event) in self.handlers]
        self.rows.load(conn, (e.originator_id for e in events))
        for event in events:
            self.handlers[type(event)](event, self.rows)
        self.rows.flush(conn)

    def routes(self) -> dict[str | None, Callable[[Record], None]]:
        """For a bulk replay (a rebuild), where every row lives in memory until `write_all`: per topic,
        what to do with one record of it (under None: with every record)."""
        self.rows.bulk = True
        rows = self.rows

        def route(handler: Handler) -> Callable[[Record], None]:
            return lambda record: handler(record.event, rows)
        return {get_topic(cls): route(handler) for cls, handler in self.handlers.items()}

    def write_all(self, conn: Connection) -> None:
        """After a bulk replay: the table holds exactly the rows in memory (on SQLite, the runner has
        emptied it in the same transaction)."""
        rows = self.rows.stored(self.rows.rows.values())
        if conn.dialect.name == "postgresql":
            columns = [c.name for c in self.table.columns]
            replace_all(conn, self.table, lambda stage: copy_rows(conn, stage, columns, rows))
        else:
            insert_all(conn, self.table, rows)
        self.rows.forget()

    def reset(self, conn: Connection) -> None:
        for table in self.tables:
            conn.execute(delete(table))
        self.rows.forget()


class JsonProjection(Projection):
    """A projection over the stored JSON: `handlers` map topics to (record, state, rows) handlers."""

    handlers: dict[str, JsonHandler]
    reads_json = True

    @property
    def topics(self) -> list[str]:
        return list(self.handlers)

    def apply_page(self, conn: Connection, page: Page) -> None:
        handlers = self.handlers
        records = [r for r in page if r.topic in handlers]
        self.rows.load(conn, (r.originator_id for r in records))
        rows = self.rows
        for record in records:
            handlers[record.topic](record, record.state, rows)
        self.rows.flush(conn)

    def routes(self) -> dict[str | None, Callable[[Record], None]]:
        self.rows.bulk = True
        rows = self.rows

        def route(handler: JsonHandler) -> Callable[[Record], None]:
            return lambda record: handler(record, record.state, rows)
        return {topic: route(handler) for topic, handler in self.handlers.items()}


def updating(change: Callable[[Any, dict[str, Any]], Any], *, stamped: bool = False, versioned: bool = True) -> Handler:
    """A handler of domain events that changes the row of the event's originator; `stamped` also sets
    updated_at to the recording time, `versioned` the row's version to the event's."""
    def handle(e: Any, rows: RowSet) -> None:
        row = rows.get(e.originator_id)
        change(e, row)
        if stamped:
            row["updated_at"] = e.timestamp
        if versioned:
            row["version"] = e.originator_version
        rows.put(row)
    return handle


def changing(change: Callable[[dict[str, Any], dict[str, Any]], Any], *, stamped: bool = False,
             versioned: bool = True) -> JsonHandler:
    """The same for stored states: `change(state, row)`."""
    def handle(r: Record, s: dict[str, Any], rows: RowSet) -> None:
        row = rows.get(r.originator_id)
        change(s, row)
        if stamped:
            row["updated_at"] = instant(s["timestamp"])
        if versioned:
            row["version"] = r.originator_version
        rows.put(row)
    return handle


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
            rows.put({"id": r.originator_id, "reference": s["reference"], "status": _REPORTED,
                      "priority": plain(s["priority"]), "category": plain(s["category"]), "community": plain(s["community"]),
                      "channel": plain(s["channel"]), "location": s["location"], "description": s["description"],
                      "has_contact": s["contact"] is not None, "units": "[]", "outcome": None, "cancel_reason": None,
                      "duplicate_of": None, "source_alert_id": uuid_of(s["source_alert_id"]), "reopen_count": 0, "notes_count": 0,
                      "reported_at": instant(s["occurred_at"]), "recorded_at": recorded, "updated_at": recorded,
                      "closed_at": None, "version": r.originator_version})

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

        on = get_topic
        self.handlers = {
            on(Incident.Reported): reported,
            on(Incident.Triaged): update(triaged),
            on(Incident.UnitDispatched): update(_unit_state(Assignment.DISPATCHED)),
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
            rows.put({"id": r.originator_id, "call_sign": s["call_sign"], "kind": plain(s["kind"]), "status": _OFF_DUTY,
                      "incident_id": None, "incident_reference": None, "officer_ids": "[]", "updated_at": instant(s["timestamp"]),
                      "version": r.originator_version})

        def update(**changes: Callable[[dict[str, Any]], Any]) -> JsonHandler:
            return changing(lambda s, row: row.update({column: value(s) for column, value in changes.items()}), stamped=True)

        on = get_topic
        self.handlers = {
            on(PatrolUnit.Registered): registered,
            on(PatrolUnit.WentOnDuty): update(status=lambda s: _AVAILABLE,
                                              officer_ids=lambda s: json.dumps([str(uuid_of(o)) for o in s["officer_ids"]])),
            on(PatrolUnit.Assigned): update(status=lambda s: _ASSIGNED, incident_id=lambda s: uuid_of(s["incident_id"]),
                                            incident_reference=lambda s: s["reference"]),
            on(PatrolUnit.Reassigned): update(incident_id=lambda s: uuid_of(s["incident_id"]), incident_reference=lambda s: s["reference"]),
            on(PatrolUnit.Released): update(status=lambda s: _AVAILABLE, incident_id=lambda s: None, incident_reference=lambda s: None),
            on(PatrolUnit.WentOffDuty): update(status=lambda s: _OFF_DUTY, officer_ids=lambda s: "[]"),
            on(PatrolUnit.Retired): update(status=lambda s: _RETIRED),
        }
        super().__init__()


# --- camera alerts: the board's open alerts and the alert KPI facts -----------------------
class CameraAlertsProjection(JsonProjection):
    name = "alerts"
    table = t.camera_alerts

    def __init__(self) -> None:
        def raised(r: Record, s: dict[str, Any], rows: RowSet) -> None:
            rows.put({"id": r.originator_id, "camera_id": uuid_of(s["camera_id"]), "camera_code": s["camera_code"],
                      "community": plain(s["community"]), "kind": plain(s["kind"]), "score": s["score"], "zone": s["zone"],
                      "detail": s["detail"], "snapshot_digest": s["snapshot_digest"], "status": AlertStatus.RAISED.value,
                      "raised_at": instant(s["occurred_at"]), "acknowledged_at": None, "decided_at": None, "outcome": None,
                      "false_alarm_reason": None, "incident_id": None, "closed_at": None, "version": r.originator_version})

        update = changing

        def acknowledged(s: dict[str, Any], row: dict[str, Any]) -> None:
            row["status"], row["acknowledged_at"] = AlertStatus.ACKNOWLEDGED.value, instant(s["occurred_at"])

        def dismissed(s: dict[str, Any], row: dict[str, Any]) -> None:
            row.update(status=AlertStatus.DISMISSED.value, decided_at=instant(s["occurred_at"]), outcome="false_alarm",
                       false_alarm_reason=plain(s["false_alarm"]))

        def escalated(s: dict[str, Any], row: dict[str, Any]) -> None:
            row.update(status=AlertStatus.ESCALATED.value, decided_at=instant(s["occurred_at"]), outcome="escalated",
                       incident_id=uuid_of(s["incident_id"]))

        def closed(s: dict[str, Any], row: dict[str, Any]) -> None:
            row.update(status=AlertStatus.CLOSED.value, closed_at=instant(s["occurred_at"]))

        on = get_topic
        self.handlers = {on(CameraAlert.Raised): raised, on(CameraAlert.Acknowledged): update(acknowledged),
                         on(CameraAlert.Dismissed): update(dismissed), on(CameraAlert.Escalated): update(escalated),
                         on(CameraAlert.Closed): update(closed)}
        super().__init__()


# --- KPI facts --------------------------------------------------------------------------------
class IncidentFactsProjection(JsonProjection):
    name = "kpi_incidents"
    table = t.kpi_incidents

    def __init__(self) -> None:
        def reported(r: Record, s: dict[str, Any], rows: RowSet) -> None:
            occurred_at = instant(s["occurred_at"])
            local = occurred_at.astimezone(BANGKOK)
            category, priority = plain(s["category"]), plain(s["priority"])
            rows.put({"incident_id": r.originator_id, "reference": s["reference"], "report_month": local.strftime("%Y-%m"),
                      "reported_at": occurred_at, "first_dispatched_at": None, "first_en_route_at": None,
                      "first_on_scene_at": None, "first_resolved_at": None, "first_closed_at": None,
                      "category_reported": category, "priority_reported": priority, "category": category, "priority": priority,
                      "community": plain(s["community"]), "channel": plain(s["channel"]), "is_night": is_night(occurred_at),
                      "outcome": None, "cancel_reason": None, "reopen_count": 0})

        def first(column: str) -> Callable[[dict[str, Any], dict[str, Any]], None]:
            def earliest(s: dict[str, Any], row: dict[str, Any]) -> None:
                occurred_at = instant(s["occurred_at"])
                if row[column] is None or occurred_at < row[column]:
                    row[column] = occurred_at
            return earliest

        def update(change: Callable[[dict[str, Any], dict[str, Any]], Any]) -> JsonHandler:
            return changing(change, versioned=False)

        def resolved(s: dict[str, Any], row: dict[str, Any]) -> None:
            first("first_resolved_at")(s, row)
            row["outcome"] = plain(s["outcome"])

        on = get_topic
        self.handlers = {
            on(Incident.Reported): reported,
            on(Incident.Triaged): update(lambda s, r: r.update(category=plain(s["category"]), priority=plain(s["priority"]))),
            on(Incident.UnitDispatched): update(first("first_dispatched_at")),
            on(Incident.UnitEnRoute): update(first("first_en_route_at")),
            on(Incident.UnitOnScene): update(first("first_on_scene_at")),
            on(Incident.Resolved): update(resolved),
            on(Incident.Closed): update(first("first_closed_at")),
            # The outcome is the current one: none while reopened; the first figures stay (KPIS.md).
            on(Incident.Reopened): update(lambda s, r: r.update(reopen_count=r["reopen_count"] + 1, outcome=None)),
            on(Incident.Cancelled): update(lambda s, r: r.update(cancel_reason=plain(s["cancel_reason"]))),
        }
        super().__init__()


class VisitFactsProjection(JsonProjection):
    name = "kpi_visits"
    table = t.kpi_visits

    def __init__(self) -> None:
        def logged(r: Record, s: dict[str, Any], rows: RowSet) -> None:
            visited_at = instant(s["occurred_at"])
            local = visited_at.astimezone(BANGKOK)
            slot = local.hour // 2
            rows.put({"visit_id": r.originator_id, "box_id": uuid_of(s["box_id"]), "box_code": s["box_code"],
                      "community": plain(s["community"]), "officer_id": actor_id(s), "visited_at": visited_at,
                      "local_day": local.date(), "slot": slot, "is_night_slot": slot >= 9 or slot <= 2, "status": "valid"})

        def status(value: str) -> JsonHandler:
            # A voided visit stays voided, whatever is said of it afterwards.
            return changing(lambda s, row: row.update(status=value if row["status"] != "voided" else "voided"), versioned=False)

        on = get_topic
        self.handlers = {on(PatrolVisit.Logged): logged, on(PatrolVisit.Flagged): status("flagged"),
                         on(PatrolVisit.Voided): status("voided")}
        super().__init__()


# --- timelines ----------------------------------------------------------------------------------
# A timeline row keeps the event's own attributes as they were stored (values tagged with their type,
# {"_type_": ..., "_data_": ...}), so an auditor reads what was recorded; the UI words them at read time.
# A reporter's contact keeps only the id of the key that sealed it, never the ciphertext.
_NOT_PARAMS = frozenset(("actor", "occurred_at", "timestamp", "reason", "originator_topic", "class_version"))
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_string = json.encoder.encode_basestring  # a str as JSON, as json.dumps(ensure_ascii=False) writes it
_CAMERA_REGISTERED = get_topic(Camera.Registered)


@lru_cache(maxsize=None)
def _aggregate_and_event(topic: str) -> tuple[str, str]:
    aggregate, _, event = topic.rpartition(":")[2].partition(".")
    return aggregate, event


def recorded(stored: bytes | str) -> tuple[dict[str, Any], str]:
    """An event's state as stored, decoded, and the text of its timeline parameters: when the stored text
    is laid out as the library and the domain write it, the stored JSON of the event's own attributes, cut
    out of it (not encoded again: the same text, as the library writes JSON compact and json.loads gives
    back what json.dumps wrote); otherwise encoded from the state."""
    text = stored.decode() if isinstance(stored, (bytes, bytearray)) else stored
    state = loads(text)
    try:
        params = _params_text(text, state)
    except (KeyError, TypeError):
        params = None
    return state, _dumps(timeline_params(state)) if params is None else params


_HEAD = '{"timestamp":{"_type_":"datetime_iso","_data_":"'


def _params_text(text: str, state: dict[str, Any]) -> str | None:
    """The attributes' text between the members that every stored event has at its start (`timestamp`, and
    `originator_topic` for a creation) and at its end (`reason` when it has one, `actor`, `occurred_at`, and
    `class_version` after an upgrade), each checked to be the member that the decoded state holds, written
    in full; None when the text is laid out otherwise, or the contact must be cut."""
    start = len(_HEAD) + len(state["timestamp"]["_data_"]) + 2
    if not text.startswith(_HEAD) or text[len(_HEAD):start] != f'{state["timestamp"]["_data_"]}"}}':
        return None
    topic = state.get("originator_topic")
    if topic is not None:
        member = f',"originator_topic":"{topic}"'
        if not text.startswith(member, start):
            return None
        start += len(member)
    actor = state["actor"]["_data_"]
    tail = (f',"actor":{{"_type_":"actor","_data_":{{"user_id":{{"_type_":"uuid_hex","_data_":"{actor["user_id"]["_data_"]}"}},'
            f'"role":{{"_type_":"enum:Role","_data_":"{actor["role"]["_data_"]}"}}}}}},'
            f'"occurred_at":{{"_type_":"datetime_iso","_data_":"{state["occurred_at"]["_data_"]}"}}')
    if "class_version" in state:
        if type(state["class_version"]) is not int:
            return None
        tail += f',"class_version":{state["class_version"]}'
    if "reason" in state:
        reason = state["reason"]
        if reason is not None and type(reason) is not str:
            return None
        tail = ',"reason":' + ("null" if reason is None else _string(reason)) + tail
    tail += "}"
    if not text.endswith(tail) or (state.get("contact") and _sealed(state["contact"]) is not state["contact"]):
        return None
    end = len(text) - len(tail)
    return "{" + text[start + 1:end] + "}" if end > start else "{}"


def _sealed(contact: Any) -> Any:
    """A reporter's contact without its ciphertext (the key id that sealed it stays)."""
    if contact and "ciphertext" in contact["_data_"]:
        return {**contact, "_data_": {k: v for k, v in contact["_data_"].items() if k != "ciphertext"}}
    return contact


def timeline_params(state: dict[str, Any]) -> dict[str, Any]:
    params = {k: v for k, v in state.items() if k not in _NOT_PARAMS}
    if "contact" in params:
        params["contact"] = _sealed(params["contact"])
    return params


def timeline_values(position: int, originator_id: UUID, version: int, topic: str, state: dict[str, Any],
                    params: str | None = None) -> tuple:
    """A timeline row, in the table's column order, from an event's state as stored (decoded, not upcast)
    and the text of its parameters (`recorded`; encoded from the state when not given); the state is left
    as it is (the other projections read it next)."""
    actor = state["actor"]["_data_"]
    if topic == _CAMERA_REGISTERED:  # a camera registered before its secrets were kept apart recorded its password
        params = _dumps({**timeline_params(state), "source": masked_source(state["source"])})
    return (originator_id, version, position, *_aggregate_and_event(topic), uuid_of(actor["user_id"]),
            actor["role"]["_data_"], _from_iso(state["occurred_at"]["_data_"]), _from_iso(state["timestamp"]["_data_"]),
            state.get("reason") or None, _dumps(timeline_params(state)) if params is None else params)


class TimelineProjection(Projection):
    """Every event of every aggregate as a row, made from the event's state as stored (`timeline_values`).
    Insert-only; needs no decoded events. In a rebuild the runner makes its rows from the state it decodes
    for the other projections (before any upcast of it) and sends them on as they are made: to a staging
    table on PostgreSQL, to `pending` on SQLite."""

    name = "timeline"
    table = t.timeline
    handlers: dict[type, Handler] = {}

    def __init__(self, events_table: str = "stored_events") -> None:
        super().__init__()
        self.events_table = events_table
        self.pending: list[tuple] = []
        self.decode: Callable[[bytes | str], tuple[dict[str, Any], str]] = recorded  # the runner's, with its cipher
        self._types: dict[str, int] | None = None  # PostgreSQL: its table's column types, looked up once

    @property
    def topics(self) -> list[str]:
        return []

    def apply_page(self, conn: Connection, page: Page) -> None:
        if page:
            decode = self.decode
            if self._types is None and conn.dialect.name == "postgresql":
                self._types = column_types(conn, self.table.name)
            insert_values(conn, self.table, [timeline_values(r.id, r.originator_id, r.originator_version, r.topic,
                                                             *decode(r.stored)) for r in page], types=self._types)

    def routes(self) -> dict[str | None, Callable[[Record], None]]:
        return {}

    def write_all(self, conn: Connection) -> None:
        """(SQLite: on PostgreSQL the runner stages the rows as the replay makes them.)"""
        insert_values(conn, self.table, self.pending)
        self.pending = []

    def reset(self, conn: Connection) -> None:
        super().reset(conn)
        self.pending = []


def all_projections(events_table: str = "stored_events") -> list[Projection]:
    return [IncidentsProjection(), UnitsProjection(), CameraAlertsProjection(), IncidentFactsProjection(),
            VisitFactsProjection(), TimelineProjection(events_table)]
