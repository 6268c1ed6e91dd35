"""The full command path (report → dispatch → on scene → resolve) through the application, on PostgreSQL and on
SQLite, against the same writes done by hand in the same run (higher ratios are better):

- `append.command_vs_raw_transactions.postgres`: commands/s through the application ÷ the same transactions by hand
  with psycopg at its best. Each hand-written transaction stores exactly the rows one of the application's commands
  stored (copied from its log, grouped by the transaction that wrote them) into a table like the application's: first
  it reads the current version of each aggregate it writes, as optimistic concurrency requires (one prepared SELECT),
  then sends BEGIN, the table's lock, a NOTIFY, one prepared INSERT of the rows with the write's id recorded beside
  them (as the application's append function does) and COMMIT in one pipeline.
- `append.events_vs_single_row_inserts.<store>` (until 2026-12: `append.command_vs_raw_insert`): events/s through the
  application ÷ single-row INSERT + COMMIT of payloads of the same size. It divides unlike things: the application
  writes several events per transaction, the raw side one row per transaction."""

from __future__ import annotations

import itertools
import os
import sqlite3
import statistics
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("SSZ_LOG_LEVEL", "WARNING")  # a log line per command would measure the terminal

import psycopg  # noqa: E402

from bench._common import fresh_dir, fresh_postgres, metric, timed  # noqa: E402
from domain.values import Category, Channel, Community, Outcome, Priority  # noqa: E402
from infrastructure.bootstrap import bootstrap  # noqa: E402
from infrastructure.settings import Settings  # noqa: E402
from testkit.world import build_world  # noqa: E402

CYCLES = int(os.environ.get("SSZ_BENCH_CYCLES", "400"))
WARMUP = 20


Row = tuple[UUID, int, str, bytes]


@dataclass
class Measured:
    seconds: float
    events: int
    payloads: list[bytes]
    table: str  # the application's events table
    start: int  # the notification id the measured commands came after
    transactions: list[list[Row]]  # PostgreSQL only


def command_path(settings: Settings) -> Measured:
    container = bootstrap(settings)
    world = build_world(container.app, units=1)
    app, unit = container.app, world.units[0]

    def cycle() -> None:
        incident = app.report_incident(
            channel=Channel.PHONE_191,
            category=Category.THEFT,
            priority=Priority.P2,
            community=Community.KO_LOI,
            location="Soi 3, near the market",
            description="A bag was snatched from a woman walking home.",
            by=world.dispatcher,
        ).id
        app.dispatch_unit(incident, unit, by=world.dispatcher)
        app.mark_on_scene(incident, unit, by=world.officer)
        app.resolve_incident(incident, outcome=Outcome.ARREST, summary="Suspect held", by=world.officer)

    for _ in range(WARMUP):
        cycle()
    start = app.recorder.max_notification_id()
    seconds = timed(lambda: [cycle() for _ in range(CYCLES)])
    payloads = [n.state for n in app.recorder.select_notifications(start=start + 1, limit=CYCLES * 10)]
    table = app.recorder.events_table_name
    transactions = transactions_of(settings.database_url, table, start) if settings.uses_postgres else []
    container.close()
    return Measured(seconds, len(payloads), payloads, table, start, transactions)


def transactions_of(url: str, table: str, after: int) -> list[list[Row]]:
    """The rows the application stored after `after`, grouped by the transaction that wrote them (its xmin)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            f"SELECT xmin::text, originator_id, originator_version, topic, state FROM {table} "
            "WHERE notification_id > %s ORDER BY notification_id",
            (after,),
        ).fetchall()
    return [[row[1:] for row in group] for _, group in itertools.groupby(rows, key=lambda row: row[0])]


def raw_transactions(url: str, measured: Measured) -> float:
    """The same transactions by hand into a copy of the application's table (its columns, keys and indexes), which
    holds what the application's held before the measured commands."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE raw_transactions (LIKE {measured.table} INCLUDING ALL)")
        conn.execute(
            f"INSERT INTO raw_transactions SELECT * FROM {measured.table} WHERE notification_id <= %s",
            (measured.start,),
        )
        conn.execute("VACUUM ANALYZE raw_transactions")
        transactions = measured.transactions
        conn.prepare_threshold = 0  # every statement prepared from its first use
        read = (
            "SELECT originator_id, max(originator_version) FROM raw_transactions WHERE originator_id = ANY(%s) "
            "GROUP BY originator_id"
        )
        insert = (
            "WITH made AS (INSERT INTO raw_transactions (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%s::uuid[], %s::integer[], %s::text[], %s::bytea[]) RETURNING notification_id) "
            "INSERT INTO raw_transactions_writes (write_id, notification_ids) "
            "SELECT %s, array_agg(notification_id ORDER BY notification_id) FROM made"
        )
        # What any log that followers read in order, and that a retry must not write twice, needs per transaction,
        # as the application's append does: the table locked so that commit order is notification order, the
        # followers woken, and the write's id recorded with the rows it made.
        conn.execute(f"CREATE TABLE raw_transactions_writes (LIKE {measured.table}_writes INCLUDING ALL)")
        lock = "LOCK TABLE raw_transactions IN EXCLUSIVE MODE"

        def run() -> None:
            with conn.cursor() as cursor:
                for rows in transactions:
                    first = {}
                    for originator_id, version, _, _ in rows:
                        first.setdefault(originator_id, version)
                    current = dict(cursor.execute(read, (list(first),)).fetchall())
                    if any(current.get(oid, 0) != version - 1 for oid, version in first.items()):
                        raise RuntimeError("a version moved under the bench")
                    with conn.pipeline(), conn.transaction():
                        cursor.execute(lock)
                        cursor.execute("NOTIFY raw_transactions")
                        cursor.execute(insert, (*(list(column) for column in zip(*rows, strict=True)), uuid.uuid4()))

        return timed(run)


def raw_postgres(url: str, payloads: list[bytes]) -> float:
    with psycopg.connect(url) as conn:
        conn.execute(
            "CREATE TABLE raw_events (originator_id uuid, originator_version bigint, topic text, state bytea, "
            "notification_id bigserial, PRIMARY KEY (originator_id, originator_version))"
        )
        conn.commit()

        def run() -> None:
            for payload in payloads:
                conn.execute(
                    "INSERT INTO raw_events (originator_id, originator_version, topic, state) VALUES (%s, 1, %s, %s)",
                    (uuid.uuid4(), "bench:Event", payload),
                    prepare=True,
                )
                conn.commit()

        return timed(run)


def raw_sqlite(path: Path, payloads: list[bytes]) -> float:

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        "CREATE TABLE raw_events (originator_id TEXT, originator_version INTEGER, topic TEXT, state BLOB, "
        "PRIMARY KEY (originator_id, originator_version))"
    )

    def run() -> None:
        for payload in payloads:
            conn.execute("BEGIN")
            conn.execute("INSERT INTO raw_events VALUES (?, 1, ?, ?)", (uuid.uuid4().hex, "bench:Event", payload))
            conn.execute("COMMIT")

    seconds = timed(run)
    conn.close()
    return seconds


def report(store: str, measured: Measured, raw_seconds: float) -> None:
    seconds, payloads = measured.seconds, measured.payloads
    events_per_s = measured.events / seconds
    raw_per_s = len(payloads) / raw_seconds
    metric(f"append.events_per_s.{store}", round(events_per_s))
    metric(f"append.commands_per_s.{store}", round(CYCLES * 4 / seconds))
    metric(f"append.single_row_insert_commits_per_s.{store}", round(raw_per_s))
    metric(f"append.events_vs_single_row_inserts.{store}", round(events_per_s / raw_per_s, 3))
    metric(f"append.payload_bytes_median.{store}", statistics.median(len(p) for p in payloads))


def report_transactions(measured: Measured, raw_seconds: float) -> None:
    commands_per_s, raw_per_s = CYCLES * 4 / measured.seconds, len(measured.transactions) / raw_seconds
    metric("append.raw_transactions_per_s.postgres", round(raw_per_s))
    metric("append.command_vs_raw_transactions.postgres", round(commands_per_s / raw_per_s, 3))


def main() -> None:
    with fresh_postgres() as url, fresh_dir() as tmp:
        measured = command_path(Settings(environment="test", data_dir=tmp, database_url=url))
        if len(measured.transactions) != CYCLES * 4:
            raise SystemExit(
                f"expected {CYCLES * 4} transactions in the application's log, found {len(measured.transactions)}"
            )
        report_transactions(measured, raw_transactions(url, measured))
        report("postgres", measured, raw_postgres(url, measured.payloads))
    with fresh_dir() as tmp:
        measured = command_path(Settings(environment="test", data_dir=tmp, database_url=None))
        report("sqlite", measured, raw_sqlite(tmp / "raw.sqlite3", measured.payloads))


if __name__ == "__main__":
    main()
