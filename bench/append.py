"""The full command path (report → dispatch → on scene → resolve) through the application, on
PostgreSQL and on SQLite, against raw single-row INSERT + COMMIT of payloads of the same size in the
same run. Ratio = events/s through the application ÷ rows/s of the raw inserts (higher is better)."""

from __future__ import annotations

import os
import sqlite3
import statistics
import sys
from pathlib import Path

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


def command_path(settings: Settings) -> tuple[float, int, list[bytes]]:
    container = bootstrap(settings)
    world = build_world(container.app, units=1)
    app, unit = container.app, world.units[0]

    def cycle() -> None:
        incident = app.report_incident(channel=Channel.PHONE_191, category=Category.THEFT, priority=Priority.P2,
                                       community=Community.KO_LOI, location="Soi 3, near the market",
                                       description="A bag was snatched from a woman walking home.", by=world.dispatcher).id
        app.dispatch_unit(incident, unit, by=world.dispatcher)
        app.mark_on_scene(incident, unit, by=world.officer)
        app.resolve_incident(incident, outcome=Outcome.ARREST, summary="Suspect held", by=world.officer)

    for _ in range(WARMUP):
        cycle()
    start = app.recorder.max_notification_id()
    seconds = timed(lambda: [cycle() for _ in range(CYCLES)])
    payloads = [n.state for n in app.recorder.select_notifications(start=start + 1, limit=CYCLES * 10)]
    container.close()
    return seconds, len(payloads), payloads


def raw_postgres(url: str, payloads: list[bytes]) -> float:
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE raw_events (originator_id uuid, originator_version bigint, topic text, state bytea, "
                     "notification_id bigserial, PRIMARY KEY (originator_id, originator_version))")
        conn.commit()
        import uuid

        def run() -> None:
            for payload in payloads:
                conn.execute("INSERT INTO raw_events (originator_id, originator_version, topic, state) VALUES (%s, 1, %s, %s)",
                             (uuid.uuid4(), "bench:Event", payload), prepare=True)
                conn.commit()
        return timed(run)


def raw_sqlite(path: Path, payloads: list[bytes]) -> float:
    import uuid

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE raw_events (originator_id TEXT, originator_version INTEGER, topic TEXT, state BLOB, "
                 "PRIMARY KEY (originator_id, originator_version))")

    def run() -> None:
        for payload in payloads:
            conn.execute("BEGIN")
            conn.execute("INSERT INTO raw_events VALUES (?, 1, ?, ?)", (uuid.uuid4().hex, "bench:Event", payload))
            conn.execute("COMMIT")
    seconds = timed(run)
    conn.close()
    return seconds


def report(store: str, seconds: float, events: int, raw_seconds: float, payloads: list[bytes]) -> None:
    events_per_s = events / seconds
    raw_per_s = len(payloads) / raw_seconds
    metric(f"append.events_per_s.{store}", round(events_per_s))
    metric(f"append.commands_per_s.{store}", round(CYCLES * 4 / seconds))
    metric(f"append.raw_inserts_per_s.{store}", round(raw_per_s))
    metric(f"append.command_vs_raw_insert.{store}", round(events_per_s / raw_per_s, 3))
    metric(f"append.payload_bytes_median.{store}", statistics.median(len(p) for p in payloads))


def main() -> None:
    with fresh_postgres() as url, fresh_dir() as tmp:
        seconds, events, payloads = command_path(Settings(environment="test", data_dir=tmp, database_url=url))
        report("postgres", seconds, events, raw_postgres(url, payloads), payloads)
    with fresh_dir() as tmp:
        seconds, events, payloads = command_path(Settings(environment="test", data_dir=tmp, database_url=None))
        report("sqlite", seconds, events, raw_sqlite(tmp / "raw.sqlite3", payloads), payloads)


if __name__ == "__main__":
    main()
