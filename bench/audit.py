"""The auditor's workspace on PostgreSQL over a demo history of at least 1M events:

* audit.board_at_instant_ms — the zone's board at an instant (open incidents, units and their status, waiting
  alerts) computed from the log: the candidates from the timeline's indexes, each replayed to its version then.
  Median over instants spread across the history (occurred time: the demo writes a year in minutes, so its
  recorded times are all within the run); the largest is printed too, and the same by recorded time. Baseline in
  the same run, like for like: the same board (every field the page shows) by one hand-written SQL statement over
  the timeline read model (`audit.board_sql_ms`), checked equal to the product's at every instant, and the ratio
  (`audit.board_at_instant_vs_sql`: above 1, the product is slower than the hand-written query). With
  SSZ_BENCH_AUDIT_REPLAY=1 also the same board by a replay of the whole log up to mid-history
  (`audit.board_replay_ms`: minutes on a million events; not like for like, kept for the record).
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
from uuid import UUID

ROOT = Path(__file__).resolve().parent.parent
# Not bench/ itself on the path: bench/http.py would stand for the standard library's http (FastAPI needs it).
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
os.environ.setdefault("SSZ_LOG_LEVEL", "WARNING")

from sqlalchemy import func, select, text  # noqa: E402

from bench._common import fresh_dir, history_url, metric  # noqa: E402
from domain.values import SYSTEM_USER_ID, Category, Channel, Community, Priority, Role  # noqa: E402
from infrastructure.bootstrap import bootstrap  # noqa: E402
from infrastructure.readmodels import tables as t  # noqa: E402
from infrastructure.readmodels.audit import LogFilter  # noqa: E402
from infrastructure.readmodels.audit_instants import OCCURRED, RECORDED, UNIT_STATUS  # noqa: E402
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

        # --- the board at an instant: the product's path, and the same board by one hand-written SQL statement ---
        with container.engine.connect() as conn:
            for basis in (OCCURRED, RECORDED):
                first, last = audit.span(basis)
                instants = [first + (last - first) * (k + 0.5) / 12 for k in range(12)]
                audit.board_at(instants[0], basis)  # warm
                board_by_sql(conn, instants[0], basis)
                product, by_hand, sizes = [], [], []
                for instant in instants:  # the two alternate, so that both see the same load
                    began = time.perf_counter()
                    board = audit.board_at(instant, basis)
                    product.append(time.perf_counter() - began)
                    began = time.perf_counter()
                    hand = board_by_sql(conn, instant, basis)
                    by_hand.append(time.perf_counter() - began)
                    if as_shown(board) != hand:
                        raise SystemExit(
                            f"the hand-written board differs at {instant} ({basis}):\n{as_shown(board)}\n{hand}"
                        )
                    sizes.append((len(board["incidents"]), len(board["units"]), len(board["alerts"])))
                print(
                    f"# board by {basis} time at 12 instants: {[ms(x) for x in product]} ms; sizes {sizes}", flush=True
                )
                print(f"# the same by one SQL statement: {[ms(x) for x in by_hand]} ms; equal at all 12", flush=True)
                name = "audit.board_at_instant_ms" if basis == OCCURRED else "audit.board_at_instant_recorded_ms"
                metric(name, ms(statistics.median(product)))
                metric(name.replace("_ms", "_max_ms"), ms(max(product)))
                sql_name = "audit.board_sql_ms" if basis == OCCURRED else "audit.board_sql_recorded_ms"
                metric(sql_name, ms(statistics.median(by_hand)))
                metric(
                    name.replace("_ms", "_vs_sql"), round(statistics.median(product) / statistics.median(by_hand), 2)
                )
        if os.environ.get("SSZ_BENCH_AUDIT_REPLAY", "0") == "1":  # minutes on a million events
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


# The board at an instant written by hand, as well as it can be done: one SQL statement over the timeline read model
# (PostgreSQL), every field the page shows. Candidates as the product finds them; each one's version then; an
# incident's fields from its report and triages, its status from its units' last steps since its last resolution or
# cancellation; an alert's from its raising and its last decision; a unit's from its last status event.
ASSIGNED = ("Assigned", "Reassigned")
STATUS_EVENTS = "('Registered', 'WentOnDuty', 'Assigned', 'Reassigned', 'Released', 'WentOffDuty', 'Retired')"
BOARD_SQL = """
WITH candidates AS (  -- incidents, alerts and units whose latest opening event by then follows their latest closing one
    SELECT originator_id, aggregate
    FROM rm_timeline
    WHERE aggregate IN ('Incident', 'CameraAlert', 'PatrolUnit') AND {t} <= :at
      AND event IN ('Reported', 'Reopened', 'Resolved', 'Closed', 'Cancelled', 'Raised', 'Dismissed', 'Escalated',
                    'Registered', 'Retired')
    GROUP BY originator_id, aggregate
    HAVING max(version) FILTER (WHERE event IN ('Reported', 'Reopened', 'Raised', 'Registered'))
         > coalesce(max(version) FILTER (WHERE event IN ('Resolved', 'Closed', 'Cancelled', 'Dismissed', 'Escalated',
                                                         'Retired')), 0)
), at_version AS (  -- each one's version then: its last event by then (by time, then version)
    SELECT c.originator_id, c.aggregate, v.version
    FROM candidates c CROSS JOIN LATERAL (
        SELECT e.version FROM rm_timeline e WHERE e.originator_id = c.originator_id AND e.{t} <= :at
        ORDER BY e.{t} DESC, e.version DESC LIMIT 1) v
), events AS (  -- the incidents' and alerts' events up to that version, notes left out
    SELECT e.originator_id, e.version, e.event, e.params::jsonb AS p, e.occurred_at, a.aggregate, a.version AS at_version
    FROM at_version a JOIN rm_timeline e ON e.originator_id = a.originator_id AND e.version <= a.version
    WHERE a.aggregate <> 'PatrolUnit' AND e.event <> 'NoteAdded'
), incidents AS (
    SELECT originator_id AS id, max(at_version) AS version,
        max(p->>'reference') FILTER (WHERE event = 'Reported') AS reference,
        max(occurred_at) FILTER (WHERE event = 'Reported') AS reported_at,
        max(p->'community'->>'_data_') FILTER (WHERE event = 'Reported') AS community,
        (array_agg(p->'priority'->>'_data_' ORDER BY version DESC)
            FILTER (WHERE event IN ('Reported', 'Triaged')))[1] AS priority,
        (array_agg(p->'category'->>'_data_' ORDER BY version DESC)
            FILTER (WHERE event IN ('Reported', 'Triaged')))[1] AS category,
        (array_agg(event ORDER BY version DESC)
            FILTER (WHERE event IN ('Reported', 'Reopened', 'Resolved', 'Closed', 'Cancelled')))[1] AS phase,
        coalesce(max(version) FILTER (WHERE event IN ('Resolved', 'Cancelled')), 0) AS cleared_at
    FROM events WHERE aggregate = 'Incident' GROUP BY originator_id
), assignments AS (  -- each unit's last step on each incident (a resolution or cancellation cleared those before it)
    SELECT DISTINCT ON (originator_id, p->'unit_id'->>'_data_')
        originator_id AS id, p->'unit_id'->>'_data_' AS unit, event, version
    FROM events
    WHERE event IN ('UnitDispatched', 'UnitEnRoute', 'UnitOnScene', 'UnitCleared')
    ORDER BY originator_id, p->'unit_id'->>'_data_', version DESC
), incident_rows AS (
    SELECT i.id, i.version, i.reference, i.priority, i.category, i.community, i.reported_at,
        CASE WHEN bool_or(a.event = 'UnitOnScene' AND a.version > i.cleared_at) THEN 'on_scene'
             WHEN bool_or(a.event = 'UnitEnRoute' AND a.version > i.cleared_at) THEN 'en_route'
             WHEN bool_or(a.event = 'UnitDispatched' AND a.version > i.cleared_at) THEN 'dispatched'
             ELSE 'reported' END AS status,
        coalesce(array_agg(a.unit ORDER BY a.unit) FILTER (WHERE a.unit IS NOT NULL), '{{}}') AS units
    FROM incidents i LEFT JOIN assignments a ON a.id = i.id
    WHERE i.phase IN ('Reported', 'Reopened')
    GROUP BY i.id, i.version, i.reference, i.priority, i.category, i.community, i.reported_at
), alert_rows AS (
    SELECT originator_id AS id, max(at_version) AS version,
        max(p->>'camera_code') FILTER (WHERE event = 'Raised') AS camera_code,
        max(p->'kind'->>'_data_') FILTER (WHERE event = 'Raised') AS kind,
        max(occurred_at) FILTER (WHERE event = 'Raised') AS raised_at,
        (array_agg(event ORDER BY version DESC)
            FILTER (WHERE event IN ('Raised', 'Acknowledged', 'Dismissed', 'Escalated', 'Closed')))[1] AS last
    FROM events WHERE aggregate = 'CameraAlert' GROUP BY originator_id
), unit_rows AS (  -- a unit's status and incident: its last status event by its version then
    SELECT a.originator_id AS id, a.version, r.call_sign, s.event, s.incident
    FROM at_version a
    CROSS JOIN LATERAL (SELECT params::jsonb->>'call_sign' AS call_sign FROM rm_timeline
                        WHERE originator_id = a.originator_id AND version = 1) r
    CROSS JOIN LATERAL (SELECT event, params::jsonb->'incident_id'->>'_data_' AS incident FROM rm_timeline
                        WHERE originator_id = a.originator_id AND version <= a.version AND event IN {status_events}
                        ORDER BY version DESC LIMIT 1) s
    WHERE a.aggregate = 'PatrolUnit'
)
SELECT 'incident', id, version, reference, status, priority, category, community, reported_at, units
FROM incident_rows
UNION ALL
SELECT 'unit', id, version, call_sign, event, incident, NULL, NULL, NULL, NULL FROM unit_rows
UNION ALL
SELECT 'alert', id, version, camera_code, last, kind, NULL, NULL, raised_at, NULL FROM alert_rows
WHERE last IN ('Raised', 'Acknowledged')
"""


def board_by_sql(conn, instant: datetime, basis: str) -> dict:  # noqa: ANN001
    column = "occurred_at" if basis == OCCURRED else "recorded_at"
    query = text(BOARD_SQL.format(t=column, status_events=STATUS_EVENTS))
    board: dict = {"incidents": [], "units": [], "alerts": []}
    for kind, oid, version, a, b, c, d, e, when, units in conn.execute(query, {"at": instant.astimezone(UTC)}):
        if kind == "incident":
            board["incidents"].append((str(oid), version, a, b, c, d, e, when, sorted(str(UUID(u)) for u in units)))
        elif kind == "unit":
            board["units"].append((str(oid), version, a, UNIT_STATUS[b], str(UUID(c)) if b in ASSIGNED else None))
        else:
            board["alerts"].append((str(oid), version, a, b.lower(), c, when))
    board["incidents"].sort(key=lambda i: (i[4], i[7]))  # by priority, then when reported (as the product)
    board["units"].sort(key=lambda u: (u[3] == "off_duty", u[2]))
    board["alerts"].sort(key=lambda a: a[5])
    return board


def as_shown(board: dict) -> dict:
    """The product's board as the page shows it, in the hand-written query's terms."""
    return {
        "incidents": [
            (
                s["id"],
                s["version"],
                s["reference"],
                s["status"],
                s["priority"],
                s["category"],
                s["community"],
                s["reported_at"],
                sorted(s["assignments"]),
            )
            for s in board["incidents"]
        ],
        "units": [(s["id"], s["version"], s["call_sign"], s["status"], s["incident_id"]) for s in board["units"]],
        "alerts": [
            (s["id"], s["version"], s["camera_code"], s["status"], s["kind"], s["raised_at"]) for s in board["alerts"]
        ],
    }


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
