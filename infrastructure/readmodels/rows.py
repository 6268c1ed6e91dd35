"""Writing a projection's rows: the rows one page touches kept at hand (RowSet) and upserted, and the bulk paths of a
rebuild (binary COPY into staging tables on PostgreSQL, then only the rows that differ)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any
from uuid import UUID

import psycopg
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import Connection, Table, insert, select
from sqlalchemy.dialects import postgresql, sqlite


def aware(value: Any) -> Any:
    """SQLite gives back naive datetimes; every instant here is UTC."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def utc(row: dict[str, Any]) -> dict[str, Any]:
    """SQLite keeps a datetime's wall-clock digits and drops its offset: hand it UTC only."""
    return {k: v.astimezone(UTC) if isinstance(v, datetime) and v.tzinfo is not None else v for k, v in row.items()}


def driver(conn: Connection | psycopg.Connection) -> psycopg.Connection:
    """The psycopg connection under a SQLAlchemy one (or itself)."""
    return conn if isinstance(conn, psycopg.Connection) else conn.connection.driver_connection


def column_types(conn: Connection | psycopg.Connection, table: str) -> dict[str, int]:
    """PostgreSQL: the type (oid) of each column of a table, by name."""
    return dict(
        driver(conn)
        .execute(
            "SELECT attname, atttypid::int FROM pg_attribute WHERE attrelid = %s::regclass "
            "AND attnum > 0 AND NOT attisdropped",
            (table,),
        )
        .fetchall()
    )


@contextmanager
def copying(
    conn: Connection | psycopg.Connection,
    table: str,
    columns: list[str],
    *,
    queued: bool = False,
    types: dict[str, int] | None = None,
) -> Iterator[Callable[[Sequence[Any]], None]]:
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


def copy_rows(
    conn: Connection | psycopg.Connection, table: str, columns: list[str], rows: Iterable[dict[str, Any]]
) -> None:
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


def insert_values(
    conn: Connection, table: Table, rows: Iterable[Sequence[Any]], *, types: dict[str, int] | None = None
) -> None:
    """The same for rows given as values in the table's column order (`types`: as for `copying`)."""
    columns = [c.name for c in table.columns]
    if conn.dialect.name == "postgresql":
        with copying(conn, table.name, columns, types=types) as write:
            for row in rows:
                write(row)
        return
    insert_all(conn, table, (dict(zip(columns, row, strict=False)) for row in rows))


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
    if not conn.exec_driver_sql(
        f"SELECT EXISTS (SELECT FROM {table.name})"
    ).scalar():  # a first build: every row is new
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
            f"WHERE s.place IS NULL OR t.place IS NULL"
        )
        deleted = conn.exec_driver_sql(
            f"DELETE FROM {table.name} WHERE ctid = ANY(ARRAY(SELECT old FROM differ_{table.name} "
            f"WHERE old IS NOT NULL))"
        ).rowcount
        inserted = conn.exec_driver_sql(
            f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM {stage} WHERE ctid = ANY("
            f"ARRAY(SELECT new FROM differ_{table.name} WHERE new IS NOT NULL))"
        ).rowcount
        conn.exec_driver_sql(f"DROP TABLE {stage}, differ_{table.name}")
    # Where much of the table was written (a first build, say), fresh statistics for the readers' plans
    # (which the server would otherwise take only from autovacuum, some time later, if it runs at all).
    size = conn.exec_driver_sql(
        f"SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = '{table.name}'::regclass"
    ).scalar()
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
        index_elements=keys, set_={c.name: statement.excluded[c.name] for c in table.columns if c.name not in keys}
    )
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
            chunk = missing[start : start + 900]
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
