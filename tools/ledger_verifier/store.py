"""The stored bytes the verifier reads: the events, the ledger's recorded leaves and its checkpoints, from PostgreSQL
or SQLite, in one snapshot of the database."""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

from .tree import leaf_entry

BATCH = 8192  # events a batch (a power of two: a full batch is a perfect subtree of the tree, Tree.extend)


def read_ahead(batches: Iterator[list[tuple]], depth: int = 4) -> Iterator[list[tuple]]:
    """The batches of `batches`, fetched in a thread of their own while the caller hashes the ones before (the
    database driver lets go of the interpreter while it waits for the server, so the two overlap)."""
    handed: queue.Queue = queue.Queue(depth)
    end = object()

    def fetch() -> None:
        try:
            for batch in batches:
                handed.put(batch)
            handed.put(end)
        except BaseException as error:  # handed on to the caller
            handed.put(error)

    threading.Thread(target=fetch, name="verify-read-ahead", daemon=True).start()
    while (item := handed.get()) is not end:
        if isinstance(item, BaseException):
            raise item
        yield item


# leaf_entry() in PostgreSQL's own functions: the integers in big-endian (int8send, int4send), the UUID's 16 bytes
# (uuid_send), the topic in UTF-8. Reading one column of whole entries costs the verifier a third less than reading
# the five columns and joining them here.
ENTRY_SQL = (
    "int8send(notification_id) || int8send(originator_version) || uuid_send(originator_id)"
    " || int4send(octet_length(convert_to(topic, 'UTF8'))) || convert_to(topic, 'UTF8')"
    " || int4send(octet_length(state)) || state"
)


class Store:
    """The stored bytes, read in one snapshot of the database: on PostgreSQL the checkpoints on the first
    connection, the events and the ledger's leaves each on a connection of its own that shares its snapshot
    (`pg_export_snapshot`, as pg_dump's parallel workers do), read ahead in threads; on SQLite one read
    transaction."""

    def __init__(self, url: str, events_table: str | None):
        self.postgres = url.startswith(("postgres://", "postgresql"))
        if self.postgres:
            self.url = url.replace("postgresql+psycopg://", "postgresql://")
            self.conn = self._connect()
            self.snapshot = self.conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
            self.events = events_table or "ssz_events"
            self.nid = "notification_id"
        else:
            path = url.removeprefix("sqlite:///")
            if not Path(path).exists():
                raise SystemExit(f"no SQLite database at {path}")
            self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
            self.conn.execute("BEGIN")  # one read transaction, from its first read: every query sees the same database
            self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            self.events = events_table or "stored_events"
            self.nid = "rowid"

    def _connect(self, snapshot: str | None = None):  # noqa: ANN202 — a psycopg connection
        import psycopg
        from psycopg import IsolationLevel, sql

        conn = psycopg.connect(self.url)
        conn.isolation_level, conn.read_only = IsolationLevel.REPEATABLE_READ, True
        if snapshot is not None:  # (the first statement of its transaction)
            conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
        conn.execute("SET LOCAL jit = off")  # a plain index scan in order: compiling it costs more than it saves
        return conn

    def close(self) -> None:
        self.conn.close()

    def has_table(self, name: str) -> bool:
        query = (
            "SELECT 1 FROM information_schema.tables WHERE table_name = %s"
            if self.postgres
            else "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        )
        return self.conn.execute(query, (name,)).fetchone() is not None

    def batches(self, query: str, batch: int = BATCH) -> Iterator[list[tuple]]:
        """The rows of `query` in batches; on PostgreSQL read ahead on a connection of its own, in binary."""
        if not self.postgres:
            cursor = self.conn.execute(query)
            while rows := cursor.fetchmany(batch):
                yield rows
            return

        def fetched() -> Iterator[list[tuple]]:
            with self._connect(self.snapshot) as conn, conn.cursor(name="verify", binary=True) as cursor:
                cursor.execute(query)
                while rows := cursor.fetchmany(batch):
                    yield rows

        yield from read_ahead(fetched())

    def events_in_order(self) -> Iterator[tuple[list[int], list[bytes]]]:
        """Batches of the stored events in notification order: their notification ids, and their leaf hashes' inputs
        (0x00 || leaf entry: each event's canonical bytes after the leaf's prefix byte)."""
        if self.postgres:  # the input assembled by the server, byte for byte as leaf_entry() makes the entry (tested)
            query = f"SELECT notification_id, '\\x00'::bytea || {ENTRY_SQL} FROM {self.events} ORDER BY notification_id"
            for rows in self.batches(query):
                yield [row[0] for row in rows], [row[1] for row in rows]
            return
        for rows in self.batches(
            f"SELECT rowid, originator_id, originator_version, topic, state FROM {self.events} ORDER BY rowid"
        ):
            # (SQLite keeps whatever it is given: a state rewritten as text is hashed as its UTF-8 bytes)
            yield (
                [row[0] for row in rows],
                [
                    b"\x00"
                    + leaf_entry(
                        nid, UUID(oid).bytes, version, topic, state.encode() if isinstance(state, str) else state
                    )
                    for nid, oid, version, topic, state in rows
                ],
            )

    def recorded_leaves(self) -> Iterator[list[tuple[int, int, bytes]]]:
        """Batches of the ledger's (position, notification id, leaf hash), by position."""
        query = "SELECT position, notification_id, hash FROM ledger_leaves ORDER BY position"
        if self.postgres:
            yield from self.batches(query)  # (bytea comes as bytes)
            return
        for rows in self.batches(query):
            yield [(position, nid, bytes(digest)) for position, nid, digest in rows]

    def checkpoints(self) -> list[tuple[int, str]]:
        return [
            (size, note)
            for size, note in self.conn.execute("SELECT tree_size, note FROM ledger_checkpoints ORDER BY tree_size")
        ]
