"""Projections on PostgreSQL over a demo history of at least 1M events:

* rebuild rate of all projections (`Projections.rebuild()`: one replay of the log, every row of every
  read model computed: two processes, each replaying half of the aggregates, decode each event's stored
  JSON once, stream the timeline's rows to a staging table and keep the other rows in memory; each table is
  then made to hold exactly the staged rows by writing only the difference), over read models that are
  already built (the usual rebuild) and over emptied ones (a first build: every row written), with the CPU
  time it took (both Python processes, and the PostgreSQL backends serving the bench's database);
* against a hand-written raw projector in the same run: one transaction on one connection, every event
  read in the same way (a server-side cursor in binary, in log order) and parsed with json.loads, and the
  same rows (taken from the rebuild, not computed) written with binary COPY into empty copies of the tables;
* append-to-visible lag, p50 and p95, while commands (a camera alert, then two SOS intakes, and again; six
  writer threads) arrive at a sustained 1,000 events/s and a
  projection worker runs as its own process (the production topology, following the log by LISTEN/NOTIFY):
  from the moment a command returns, committed, to the first moment every projection's tracking position
  is seen at or past its notification id. The worker is started first and shown to follow the log (one
  command seen through) before the load begins, so that its start-up (imports, migrations check) does not
  count as lag; the positions are watched by a process of its own (two milliseconds between reads), so that
  the writers' threads do not delay the watching.

The demo history is kept in the database `ssz_bench_history` between runs (it takes minutes to write);
SSZ_BENCH_FRESH=1 writes it anew."""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SSZ_LOG_LEVEL", "WARNING")

import psycopg  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bench._common import ADMIN_URL, fresh_dir, history_url, metric  # noqa: E402
from bench._projection_lag import lag_under_load, percentile  # noqa: E402
from infrastructure.bootstrap import bootstrap  # noqa: E402
from infrastructure.settings import Settings  # noqa: E402
from simulation import generate  # noqa: E402

DB = "ssz_bench_history"
TARGET_EVENTS = int(os.environ.get("SSZ_BENCH_EVENTS", "1000000"))


def ensure_history(settings: Settings) -> None:
    """About 21,000 events a simulated month: one run long enough for the target (a history cannot be
    extended past now, so a short one is written anew)."""
    container = bootstrap(settings)
    head = container.projections.head()
    container.close()
    if head >= TARGET_EVENTS:
        return
    if head:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{DB}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{DB}"')
    container = bootstrap(settings)
    months = TARGET_EVENTS // 20_000 + 1
    print(f"# writing a demo history of {months} months", flush=True)
    summary = generate(container.settings, months=months, seed=2569, progress=True)
    print(f"# {summary}", flush=True)
    container.close()


def read_models(container) -> list:  # noqa: ANN001
    return [table for projection in container.projections.projections for table in projection.tables]


def empty_read_models(settings: Settings, url: str) -> None:
    """Before a first build: the read models emptied and vacuumed (the server may not vacuum by itself)."""
    container = bootstrap(settings)
    tables = [t.name for t in read_models(container)]
    container.close()
    with psycopg.connect(url, autocommit=True) as conn:
        for table in tables:
            conn.execute(f"DELETE FROM {table}")
            conn.execute(f"VACUUM {table}")


class BackendsCpu:
    """CPU seconds of the PostgreSQL backends serving the bench's database (the server runs on this
    machine: read from /proc), sampled while they live."""

    def __init__(self, url: str):
        self.url = url
        self.start: dict[int, float] = {}
        self.seen: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def _sample(self, into: dict[int, float]) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            pids = [
                r[0]
                for r in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ]
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            into[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _poll(self) -> None:
        while not self.stop.wait(0.25):
            self._sample(self.seen)

    def __enter__(self) -> BackendsCpu:
        self._sample(self.start)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self._sample(self.seen)

    @property
    def seconds(self) -> float:
        return sum(cpu - self.start.get(pid, 0.0) for pid, cpu in self.seen.items())


def python_cpu() -> float:
    """CPU seconds of this process and of its children that have ended (the rebuild's second process)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def rebuild(settings: Settings, *, rows_after: bool = True) -> tuple[int, float, dict[str, list[dict]]]:
    container = bootstrap(settings)
    projections = container.projections
    head = projections.head()
    with BackendsCpu(settings.database_url) as backends:
        cpu, start = python_cpu(), time.perf_counter()
        projections.rebuild()
        seconds, cpu = time.perf_counter() - start, python_cpu() - cpu
    print(
        f"# CPU: Python {cpu:.1f} s, PostgreSQL backends {backends.seconds:.1f} s "
        f"(total {cpu + backends.seconds:.1f} s for {seconds:.1f} s of wall time)",
        flush=True,
    )
    rows = {}
    if rows_after:  # (not kept otherwise: a rebuild's second process is a fork of this one)
        with container.engine.connect() as conn:
            for table in read_models(container):
                rows[table.name] = [dict(r) for r in conn.execute(select(table)).mappings()]
    container.close()
    return head, seconds, rows


def raw_projector(url: str, head: int, rows: dict[str, list[dict]]) -> float:
    """By hand, one transaction: reads every event up to the head (a server-side cursor in binary, in log
    order, as the rebuild reads them) and parses each with json.loads; writes the same rows with binary
    COPY into empty copies of the tables; records its position."""
    with psycopg.connect(url) as conn:
        for table in rows:
            conn.execute(f"DROP TABLE IF EXISTS raw_{table}")
            conn.execute(f"CREATE TABLE raw_{table} (LIKE {table} INCLUDING ALL)")
        conn.execute("DROP TABLE IF EXISTS raw_tracking")
        conn.execute("CREATE TABLE raw_tracking (name text PRIMARY KEY, position bigint)")
        conn.execute("INSERT INTO raw_tracking VALUES ('raw', 0)")
        conn.commit()
        types = {}
        for table in rows:
            types[table] = dict(
                conn.execute(
                    "SELECT attname, atttypid::int FROM pg_attribute WHERE attrelid = %s::regclass "
                    "AND attnum > 0 AND NOT attisdropped",
                    (f"raw_{table}",),
                ).fetchall()
            )
        conn.commit()
        start = time.perf_counter()
        with conn.cursor(name="raw", binary=True) as cursor:
            cursor.execute(
                "SELECT notification_id, originator_id, originator_version, topic, state FROM ssz_events "
                "WHERE notification_id <= %s ORDER BY notification_id",
                (head,),
            )
            while records := cursor.fetchmany(10_000):
                for record in records:
                    json.loads(record[4])
        for table, table_rows in rows.items():
            if not table_rows:
                continue
            columns = list(table_rows[0])
            with (
                conn.cursor() as cursor,
                cursor.copy(f"COPY raw_{table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy,
            ):
                copy.set_types([types[table][c] for c in columns])
                for row in table_rows:
                    copy.write_row(tuple(row.values()))
        conn.execute("UPDATE raw_tracking SET position = %s WHERE name = 'raw'", (head,))
        conn.commit()
        seconds = time.perf_counter() - start
        for table in [*rows, "tracking"]:
            conn.execute(f"DROP TABLE raw_{table}")
        conn.commit()
    return seconds


def main() -> None:
    url = history_url(DB)
    with fresh_dir() as tmp:
        settings = Settings(environment="test", data_dir=tmp, database_url=url)
        ensure_history(settings)
        print(
            "# rebuild: Projections.rebuild() of every read model; two processes, each replaying the stored JSON of "
            "half of the aggregates (each event decoded once), stage every table's rows with binary COPY (the "
            "timeline's as they are made); each table then gets only the rows that differ",
            flush=True,
        )
        print(
            "# raw: by hand, one transaction: every event read (server-side cursor, binary) and json.loads'ed; the "
            "rebuild's rows (not computed) written with binary COPY into empty copies of the tables",
            flush=True,
        )
        empty_read_models(settings, url)
        head, first_seconds, _ = rebuild(settings, rows_after=False)
        print(
            f"# first build (read models emptied and vacuumed first, every row written): {first_seconds:.1f} s; "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
            flush=True,
        )
        head, seconds, rows = rebuild(settings)
        print(
            f"# rebuild over the built read models: {seconds:.1f} s; load average {os.getloadavg()[0]:.1f}", flush=True
        )
        raw_seconds = raw_projector(url, head, rows)
        print(
            f"# raw projector, {head:,} events read, {sum(map(len, rows.values())):,} rows written: {raw_seconds:.1f} s; "
            f"load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        metric("projection.history_events", head)
        metric("projection.rebuild_seconds.postgres", round(seconds, 1))
        metric("projection.rebuild_events_per_s.postgres", round(head / seconds))
        metric("projection.first_build_events_per_s.postgres", round(head / first_seconds))
        metric("projection.raw_projector_events_per_s.postgres", round(head / raw_seconds))
        metric("projection.rebuild_vs_raw.postgres", round(raw_seconds / seconds, 3))
        metric("projection.first_build_vs_raw.postgres", round(raw_seconds / first_seconds, 3))
        lags = lag_under_load(settings)
        metric("projection.lag_p50_ms", round(percentile(lags, 50), 1))
        metric("projection.lag_p95_ms", round(percentile(lags, 95), 1))
        metric("projection.lag_samples", len(lags))
        print(f"# median lag {statistics.median(lags):.1f} ms over {len(lags)} commands", flush=True)


if __name__ == "__main__":
    main()
