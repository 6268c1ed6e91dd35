"""The auditor's workspace on PostgreSQL over a demo history of at least 1M events:

* audit.board_at_instant_ms — the zone's board at an instant (open incidents, units and their status, waiting
  alerts) computed from the log: the candidates from the timeline's indexes, each replayed to its version then.
  Median over instants spread across the history (occurred time: the demo writes a year in minutes, so its
  recorded times are all within the run); the largest is printed too, and the same by recorded time. Baseline in
  the same run: the same board by a replay of the whole log up to the instant (`audit.board_replay_ms`).
* audit.history_page_p95_ms — `GET /audit/history/{id}` of an incident with 1,000 events (its first page of
  200 events, in words, with both times, parameters and the links to what each touched), signed in as an
  auditor, in-process (the app's middleware included), p95 of 40; and the proofs the page's script then fetches
  (`audit.history_proofs_p95_ms`, 200 audit paths against the latest checkpoint).
* audit.log_browser_page_ms — `GET /audit?…` a filtered page of 100 events deep in the log (after 80 % of it):
  by kind of record, by kind of event, by role, and by a time range; the median of each, the largest printed.

The history is kept in the database `ssz_bench_audit` between runs (SSZ_BENCH_FRESH=1 writes it anew)."""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Not bench/ itself on the path: bench/http.py would stand for the standard library's http (FastAPI needs it).
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
os.environ.setdefault("SSZ_LOG_LEVEL", "WARNING")

from sqlalchemy import func, select  # noqa: E402

from bench._common import fresh_dir, history_url, metric  # noqa: E402
from domain.values import SYSTEM_USER_ID, Category, Channel, Community, Priority, Role  # noqa: E402
from infrastructure.bootstrap import bootstrap  # noqa: E402
from infrastructure.readmodels import tables as t  # noqa: E402
from infrastructure.readmodels.audit import LogFilter  # noqa: E402
from infrastructure.readmodels.audit_instants import OCCURRED, RECORDED  # noqa: E402
from infrastructure.readmodels.ledger import take_checkpoint  # noqa: E402
from infrastructure.settings import Settings  # noqa: E402
from simulation import generate  # noqa: E402
from tests.integration.web_support import signed_in  # noqa: E402
from web.app import create_app  # noqa: E402

DB = os.environ.get("SSZ_BENCH_AUDIT_DB", "ssz_bench_audit")
TARGET_EVENTS = int(os.environ.get("SSZ_BENCH_EVENTS", "1000000"))
LONG = "Bench: an incident with a long history"


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def ensure_history(settings: Settings) -> None:
    container = bootstrap(settings)
    head = container.projections.head()
    container.close()
    if head < TARGET_EVENTS:
        months = max(0.05, round((TARGET_EVENTS - head) / 20_000 + 1, 2))
        print(f"# writing a demo history of {months} months", flush=True)
        print(f"# {generate(settings, months=months, seed=2569, progress=False)}", flush=True)


def long_incident(container) -> str:  # noqa: ANN001
    """An incident with 1,000 events (a report and 999 notes), made once."""
    with container.engine.connect() as conn:
        found = conn.execute(select(t.incidents.c.id).where(t.incidents.c.location == LONG)).scalar()
    if found is not None:
        return found
    app = container.app
    dispatcher = app.create_user(
        username="bench-dispatcher", display_name="Bench", role=Role.DISPATCHER, password="x" * 16, by=SYSTEM_USER_ID
    ).id
    incident = app.report_incident(
        channel=Channel.PHONE_191,
        category=Category.THEFT,
        priority=Priority.P3,
        community=Community.KO_LOI,
        location=LONG,
        description="A long history for the benchmark",
        by=dispatcher,
    ).id
    for n in range(999):
        app.add_incident_note(incident, text=f"Note {n}", by=dispatcher)
    return incident


def main() -> None:
    url = history_url(DB)
    with fresh_dir() as data:
        settings = Settings(environment="test", data_dir=data, database_url=url, log_level="WARNING")
        ensure_history(settings)
        container = bootstrap(settings)
        lag = container.projections.head() - min(container.projections.positions().values() or [0])
        print(f"# log head {container.projections.head():,}; read models behind by {lag:,}", flush=True)
        started = time.perf_counter()
        if lag > 200_000:
            container.projections.rebuild()
        container.projections.catch_up()
        print(f"# read models brought up to date in {time.perf_counter() - started:.1f} s", flush=True)
        incident = long_incident(container)
        container.projections.catch_up()
        take_checkpoint(container.engine, container.projections.by_name["ledger"])
        # What autovacuum keeps on a live server (statistics, the visibility map of an insert-only table), made now.
        with container.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE rm_timeline")
        audit = container.audit
        with container.engine.connect() as conn:
            events = conn.execute(select(func.count()).select_from(t.timeline)).scalar()
        print(f"# {events:,} events in the timeline; load average {os.getloadavg()}", flush=True)

        # --- the board at an instant ---
        for basis in (OCCURRED, RECORDED):
            first, last = audit.span(basis)
            instants = [first + (last - first) * (k + 0.5) / 12 for k in range(12)]
            audit.board_at(instants[0], basis)  # warm
            times, sizes = [], []
            for instant in instants:
                began = time.perf_counter()
                board = audit.board_at(instant, basis)
                times.append(time.perf_counter() - began)
                sizes.append((len(board["incidents"]), len(board["units"]), len(board["alerts"])))
            print(f"# board by {basis} time at 12 instants: {[ms(x) for x in times]} ms; sizes {sizes}", flush=True)
            name = "audit.board_at_instant_ms" if basis == OCCURRED else "audit.board_at_instant_recorded_ms"
            metric(name, ms(statistics.median(times)))
            metric(name.replace("_ms", "_max_ms"), ms(max(times)))
        if os.environ.get("SSZ_BENCH_AUDIT_REPLAY", "1") != "0":  # the baseline takes minutes on a million events
            first, last = audit.span(OCCURRED)
            instant = first + (last - first) * 0.5
            began = time.perf_counter()
            replayed = board_by_replay(container, instant)
            replay_seconds = time.perf_counter() - began
            board = audit.board_at(instant, OCCURRED)
            same = replayed == {
                "incidents": {s["id"] for s in board["incidents"]},
                "units": {(s["id"], s["status"]) for s in board["units"]},
                "alerts": {s["id"] for s in board["alerts"]},
            }
            print(f"# the board by a replay of the log up to mid-history: {replay_seconds:.1f} s; equal: {same}")
            metric("audit.board_replay_ms", ms(replay_seconds))

        # --- pages, in-process, as an auditor ---
        auditor = container.app.create_user(
            username=f"bench-auditor-{int(time.time())}",
            display_name="Auditor",
            role=Role.AUDITOR,
            password="x" * 16,
            by=SYSTEM_USER_ID,
        ).id
        container.projections.catch_up()
        site = create_app(container)
        browser = signed_in(site, container, auditor)
        history = timed_get(browser, f"/audit/history/{incident}", 40)
        print(f"# history page of 1,000 events (200 shown): p50 {ms(statistics.median(history))} ms", flush=True)
        metric("audit.history_page_p95_ms", ms(p95(history)))
        rows = audit.history(incident, limit=200)
        proofs = timed_get(browser, "/audit/proofs?n=" + ",".join(str(r["notification_id"]) for r in rows), 20)
        metric("audit.history_proofs_p95_ms", ms(p95(proofs)))

        head = container.projections.head()
        deep = int(head * 0.8)
        recorded_first, recorded_last = audit.span(RECORDED)
        window_from = recorded_first + (recorded_last - recorded_first) * 0.8
        pages = {
            "aggregate": f"/audit?aggregate=PatrolUnit&after={deep}",
            "kind": f"/audit?kind=Incident.UnitDispatched&after={deep}",
            "role": f"/audit?role=supervisor&after={deep}",
            "time": "/audit?time=recorded&from="
            + (window_from.astimezone(UTC) + timedelta(hours=7)).strftime("%d/%m/%Y %H:%M:%S")
            + f"&after={deep}",
        }
        medians = {}
        for name, path in pages.items():
            answer = browser.get(path)
            assert answer.status_code == 200, (path, answer.status_code)
            shown = answer.text.count("data-notification=")
            medians[name] = statistics.median(timed_get(browser, path, 15))
            print(f"# log page by {name}: {ms(medians[name])} ms ({shown} events)", flush=True)
        direct = []
        for _ in range(15):
            began = time.perf_counter()
            audit.log(LogFilter(aggregate="PatrolUnit"), after=deep)
            direct.append(time.perf_counter() - began)
        print(f"# the query alone (by kind of record): {ms(statistics.median(direct))} ms", flush=True)
        metric("audit.log_browser_page_ms", ms(max(medians.values())))
        print(f"# load average at the end {os.getloadavg()}", flush=True)
        container.close()


def timed_get(browser, path: str, runs: int) -> list[float]:  # noqa: ANN001
    browser.get(path)
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        answer = browser.get(path)
        times.append(time.perf_counter() - began)
        assert answer.status_code == 200, (path, answer.status_code)
    return times


def board_by_replay(container, instant: datetime) -> dict:  # noqa: ANN001
    """The baseline: every stored event decoded, each aggregate folded from its events that had occurred by then."""
    app = container.app
    aggregates: dict = {}
    pending: dict = {}  # per aggregate, its events (undecoded) after the last one that had occurred by then
    kinds = ("domain.incident:", "domain.patrol:PatrolUnit", "domain.cameras:CameraAlert")
    start = 1
    while page := app.recorder.select_notifications(start=start, limit=10_000):
        for notification in page:
            if not notification.topic.startswith(kinds):
                continue
            event = app.mapper.to_domain_event(notification)
            if event.occurred_at <= instant:  # the aggregate up to this version: the events before it too
                then = aggregates.get(event.originator_id)
                for earlier in pending.pop(event.originator_id, []):
                    then = app.mapper.to_domain_event(earlier).mutate(then)
                aggregates[event.originator_id] = event.mutate(then)
            else:
                pending.setdefault(event.originator_id, []).append(notification)
        start = page[-1].id + 1
    board: dict = {"incidents": set(), "units": set(), "alerts": set()}
    for aggregate_id, then in aggregates.items():
        kind = type(then).__name__
        if kind == "Incident" and then.is_open:
            board["incidents"].add(str(aggregate_id))
        elif kind == "PatrolUnit" and then.status.value != "retired":
            board["units"].add((str(aggregate_id), then.status.value))
        elif kind == "CameraAlert" and then.status.value in ("raised", "acknowledged"):
            board["alerts"].add(str(aggregate_id))
    return board


if __name__ == "__main__":
    main()
