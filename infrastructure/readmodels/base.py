"""What a projection is: a table and its handlers, applied a page at a time, or replayed in bulk in a rebuild."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventsourcing.utils import get_topic
from sqlalchemy import Connection, Engine, Table, delete

from infrastructure.readmodels.rows import RowSet, copy_rows, insert_all, replace_all
from infrastructure.readmodels.stored import Handler, JsonHandler, Page, Record, instant


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

    def tick(self, engine: Engine) -> float | None:
        """Work on time rather than on events, done by the worker that owns the projections after each catch-up and
        whenever it wakes; returns how soon (seconds) it wants to be called again, None: no such work."""
        return None

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


def changing(
    change: Callable[[dict[str, Any], dict[str, Any]], Any], *, stamped: bool = False, versioned: bool = True
) -> JsonHandler:
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
