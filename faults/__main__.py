"""`python -m faults`: the whole fault suite against a throwaway PostgreSQL cluster, with two `ssz serve` processes and
one `ssz projections run` worker on it (the production topology). Prints `metric faults.<name> <value>` lines; the
goals are 0 for the counts and ≤ 2,000 ms for `unavailable_answer_p95_ms` (the database stopped; the database hung
has its own line, `unavailable_answer_hung_p95_ms`). Smaller runs for development:
`python -m faults --pairs 30 --restarts 2 --outages 1 --outage-seconds 3 --fuzz-cases 200`."""

from __future__ import annotations

import argparse
import math
import secrets
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

import psycopg

from faults.cluster import Cluster
from faults.fuzz import run_schemathesis
from faults.hostile import Browser, HostileLog, bad_forms_beside_intakes, run_hostile
from faults.load import IntakeLoad
from faults.races import run_races
from faults.verdict import Verdict, judge
from infrastructure.api_keys import IssuedKey, Scope
from infrastructure.bootstrap import bootstrap
from infrastructure.settings import Settings
from testkit.api import Integration, new_key
from testkit.servers import Server, free_port, running, start_projection_worker
from testkit.world import PASSWORD, build_world


def say(text: str) -> None:
    print(f"# {text}", flush=True)


def metric(name: str, value: float | int) -> None:
    print(f"metric faults.{name} {round(value, 1) if isinstance(value, float) else value}", flush=True)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] if ordered else 0.0


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m faults", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=300, help="racing pairs across the two servers")
    parser.add_argument(
        "--restarts", type=int, default=10, help="PostgreSQL restarts under load (fast and immediate in turn)"
    )
    parser.add_argument("--outages", type=int, default=2, help="times PostgreSQL is taken down under load")
    parser.add_argument("--outage-seconds", type=float, default=12.0, help="how long each outage lasts")
    parser.add_argument("--fuzz-cases", type=int, default=2000, help="schemathesis cases over the JSON API (at least)")
    parser.add_argument("--intakes-beside", type=int, default=160, help="integrations' intakes sent among bad forms")
    parser.add_argument("--senders", type=int, default=3, help="keyed senders, and as many keyless ones, in the load")
    parser.add_argument("--units", type=int, default=32, help="patrol units (two kept for the hostile forms)")
    parser.add_argument("--keep", action="store_true", help="keep the cluster's and servers' directories (logs)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    started = time.monotonic()
    cluster = Cluster(free_port())
    work = Path(tempfile.mkdtemp(prefix="ssz-faults-"))
    cluster.create()
    say(f"throwaway PostgreSQL on port {cluster.port} ({cluster.root}); servers' logs under {work}")
    try:
        return _run(args, cluster, work, started)
    finally:
        cluster.shut_down()
        if args.keep:
            say(f"kept {cluster.root} and {work}")
        else:
            shutil.rmtree(cluster.root, ignore_errors=True)
            shutil.rmtree(work, ignore_errors=True)


def _run(args: argparse.Namespace, cluster: Cluster, work: Path, started: float) -> int:
    url = cluster.create_database("ssz")
    secret = secrets.token_urlsafe(32)
    settings = Settings(
        environment="test", data_dir=work / "suite", database_url=url, secret_key=secret, log_level="WARNING"
    )
    container = bootstrap(settings)
    world = build_world(container.app, units=args.units)
    load_key = new_key(container, world, "Fault load", {Scope.INTAKE, Scope.LIFECYCLE, Scope.READ})
    fuzz_key = new_key(container, world, "Schemathesis")
    events_table = container.app.recorder.events_table_name
    call_signs = [f"M-{n + 1:02d}" for n in range(args.units)]
    container.close()  # the suite reads the database again only once the faults are over

    def stored() -> int:
        with psycopg.connect(url) as conn:
            return conn.execute(f"SELECT coalesce(max(notification_id), 0) FROM {events_table}").fetchone()[0]

    env = {"SSZ_PROJECTIONS_IN_PROCESS": "false"}
    worker = start_projection_worker(url, work, secret_key=secret, env=env)
    try:
        with running(url, work, 2, secret_key=secret, env=env) as servers:
            a, b = (Integration(s.base_url, load_key) for s in servers)
            say(f"{args.pairs} racing pairs across two servers")
            races = run_races(a, b, call_signs[:-2], args.pairs)
            say(f"races: {dict(races.outcomes)}")

            load = IntakeLoad([a, b], keyed_senders=args.senders, keyless_senders=args.senders)
            windows = _database_faults(cluster, load, args)

            say(f"schemathesis: at least {args.fuzz_cases} cases")
            fuzz = run_schemathesis(servers[0].base_url, fuzz_key.key, args.fuzz_cases, work)
            say(f"schemathesis: {fuzz.cases} cases, answers {fuzz.statuses}")
            hostile = _hostile(servers[1], load_key, stored, world.units[-2:], args.intakes_beside)
            died = [s.name for s in [*servers, worker] if s.process.poll() is not None]
            behind = _projections_behind(url, events_table)
        verdict_container = bootstrap(settings, run_migrations=False)
        try:
            verdict = judge(verdict_container.app, load.sent, races, world.units, load_key.user_id)
        finally:
            verdict_container.close()
    finally:
        worker.stop()

    _findings(verdict, windows, load, hostile, died)
    down = [p.attempts[0] for p in load.probes if p.attempts]
    metric("lost_acknowledged", verdict.lost_acknowledged)
    metric("duplicated_commands", verdict.duplicated_commands)
    metric("stuck_units", len(verdict.stuck_units))
    metric("server_errors_under_fuzz", fuzz.server_errors + hostile.server_errors)
    # The outage is the database taken down (stopped: connections refused); a hung one (frozen: connections
    # accepted, nothing answered) is harder and reported on its own line.
    stopped, hung = (
        [a.seconds * 1000 for a in down if any(b <= a.started <= e for b, e in windows[kind])]
        for kind in ("stopped", "hung")
    )
    metric("unavailable_answer_p95_ms", percentile(stopped, 0.95))
    metric("unavailable_answer_hung_p95_ms", percentile(hung, 0.95))
    metric("unavailable_answer_all_p95_ms", percentile([a.seconds * 1000 for a in down], 0.95))
    metric("unavailable_answers_not_503", sum(1 for a in down if a.status != 503))
    metric("unavailable_readyz_p95_ms", percentile([r.seconds * 1000 for r in load.readiness], 0.95))
    metric("unavailable_readyz_not_503", sum(1 for r in load.readiness if r.status != 503))
    metric(
        "recovery_after_outage_max_s",
        max((_recovery(load, end) for spans in windows.values() for _, end in spans), default=0.0),
    )
    metric("projections_behind_after_faults", behind)
    metric("race_pairs", sum(races.outcomes.values()))
    metric("race_pairs_one_winner", races.outcomes["one winner"])
    metric("race_pairs_both_won", races.outcomes["both won"])
    metric("race_pairs_both_refused", races.outcomes["both refused"])
    metric("race_server_errors", races.server_errors)
    metric("keyed_first_attempt_answered_as_retry", sum(1 for s in load.sent if s.replayed_first_time))
    metric("refused_forms_that_stored", len(hostile.refused_but_stored))
    metric("schemathesis_cases", fuzz.cases)
    metric("intakes_under_faults", len(load.sent))
    metric("processes_died", len(died))
    metric("seconds", round(time.monotonic() - started))
    return 0


def _findings(
    verdict: Verdict,
    windows: dict[str, list[tuple[float, float]]],
    load: IntakeLoad,
    hostile: HostileLog,
    died: list[str],
) -> None:
    """What the metrics count, item by item, for whoever fixes it."""
    for line in verdict.details[:40]:
        say(line)
    for kind, spans in windows.items():
        if not spans:
            continue
        probes = [
            p.attempts[0] for p in load.probes if p.attempts and any(a <= p.attempts[0].started < b for a, b in spans)
        ]
        ready = [r for r in load.readiness if any(a <= r.started < b for a, b in spans)]
        for what, attempts in (("intakes", probes), ("/readyz", ready)):
            times = [a.seconds * 1000 for a in attempts]
            say(
                f"database {kind}, {what}: {len(times)} asked, p50 {percentile(times, 0.5):.0f} ms, p95 {percentile(times, 0.95):.0f} ms, "
                f"max {max(times, default=0):.0f} ms; answers {dict(Counter(a.status or a.error or 'none' for a in attempts))}"
            )
    say(
        f"load: {len(load.sent)} intakes ({sum(s.keyed for s in load.sent)} keyed), {sum(s.acknowledged for s in load.sent)} "
        "acknowledged (an answer 0 or 'none' above: no answer within the client's 30 s, or the connection failed)"
    )
    if verdict.stuck_units:
        say(f"stuck units: {', '.join(verdict.stuck_units)}")
    if hostile.refused_but_stored:
        say(f"refused but stored: {hostile.refused_but_stored}")
    for what, status, events in hostile.answers:
        say(f"hostile: {status} {what}" + (f" (stored {events} events)" if events else ""))
    say(
        f"bad forms beside intakes: {dict(Counter(hostile.beside_forms))}; "
        f"the intakes: {dict(Counter(hostile.intake_answers))}"
    )
    if died:
        say(f"processes that died: {died}")


def _database_faults(
    cluster: Cluster, load: IntakeLoad, args: argparse.Namespace
) -> dict[str, list[tuple[float, float]]]:
    """Restarts (fast and immediate in turn) and outages while the intakes go on; returns the outages' windows by kind:
    the server stopped (connections refused at once) and the server hung (connections accepted, nothing answers)."""
    windows: dict[str, list[tuple[float, float]]] = {"stopped": [], "hung": []}
    load.start()
    try:
        time.sleep(2)
        for n in range(args.restarts):
            mode = "fast" if n % 2 == 0 else "immediate"
            say(f"restart {n + 1}/{args.restarts} ({mode}): down {cluster.restart(mode):.1f} s")
            time.sleep(2.5)
        for n in range(args.outages):
            kind = "hung" if n % 2 == 1 else "stopped"
            say(f"outage {n + 1}/{args.outages}: the database {kind} for {args.outage_seconds:.0f} s")
            frozen = cluster.freeze() if kind == "hung" else []
            if kind == "stopped":
                cluster.stop("fast")
            began = time.monotonic()
            try:
                load.probe(args.outage_seconds)
                windows[kind].append((began, time.monotonic()))
            finally:
                cluster.thaw(frozen)
                if kind == "stopped":
                    cluster.start()
            time.sleep(4)
    finally:
        load.finish()
    return windows


def _recovery(load: IntakeLoad, back: float) -> float:
    """Seconds from the database's return to the first intake acknowledged that was sent after it."""
    answered = [
        a.started + a.seconds
        for s in load.sent
        for a in s.attempts
        if a.started >= back and a.status is not None and 200 <= a.status < 300
    ]
    return min(answered, default=float("inf")) - back


def _projections_behind(url: str, events_table: str, patience: float = 30.0) -> int:
    """How far the read models stay behind the log once the faults are over (waiting up to `patience` for the worker)."""
    deadline = time.monotonic() + patience
    while True:
        with psycopg.connect(url) as conn:
            head = conn.execute(f"SELECT coalesce(max(notification_id), 0) FROM {events_table}").fetchone()[0]
            lowest = conn.execute("SELECT coalesce(min(position), 0) FROM projection_positions").fetchone()[0]
        if head - lowest <= 0 or time.monotonic() > deadline:
            return head - lowest
        time.sleep(0.5)


def _hostile(server: Server, key: IssuedKey, stored: Callable[[], int], units: list[UUID], intakes: int) -> HostileLog:
    """On one server: its intakes share one commit group, which a bad form must not break for the others."""
    browser, integration = Browser(server.base_url, "dispatcher", PASSWORD), Integration(server.base_url, key)

    def reported() -> str:
        reference = integration.reported()
        integration.http.get(f"/api/v1/incidents/{reference}")  # answers once the read models show it, as forms need
        return reference

    say("hostile forms")
    log = run_hostile(browser, integration, stored, reported, units)
    say(f"bad forms beside {intakes} intakes")
    bad_forms_beside_intakes(browser, integration, intakes, log)
    integration.close()
    return log


if __name__ == "__main__":
    sys.exit(main())
