"""The ledger over HTTP, measured by bench/ledger.py on its synthetic log: inclusion proofs of random events over the
JSON API at 20 connections (a uvicorn process as bench/http.py starts them, wrk as the load), both as fast as they
are answered (a closed loop: its p95 is mostly the queue) and paced as auditors' pages ask for them; and what following the log with the
ledger costs the JSON intake: the same server and the same load twice, once with nothing following the log, once
with a worker process running the ledger projection alone, caught up before its window (the ratio of the two)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import psycopg

from bench import http
from bench._common import issue_bench_key, metric
from bench._http_load import (
    PACED_LUA,
    RANDOM_PATH_LUA,
    RANDOM_PLACEHOLDER,
    SECONDS,
    WARMUP_SECONDS,
    _cpu_seconds,
    load,
)

PROOF_CONNECTIONS = 20
# The paced load: each connection asks for its next proof a random time after its answer, 100 ms on average (20
# connections: at most ~200 proofs a second): twenty auditors' pages checking the events they show at once (a page of 50 events checks 50 proofs), a
# generous day for a zone with a handful of auditors, and under what one web process serves at most.
PACE_MS = 100


def follow_ledger() -> None:
    """A projection worker (as `ssz projections run`) with the ledger projection only."""
    from infrastructure.bootstrap import bootstrap
    from infrastructure.readmodels.runner import Projections

    container = bootstrap()
    ledger = container.projections.by_name["ledger"]
    only = Projections(
        container.app,
        container.engine,
        container.settings,
        page_size=container.settings.projection_page_size,
        projections=[ledger],
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    only.run(stop)
    container.close()


def _ledger_lag(url: str) -> int:
    with psycopg.connect(url) as conn:
        head = conn.execute("SELECT coalesce(max(notification_id), 0) FROM ssz_events").fetchone()[0]
        row = conn.execute("SELECT position FROM projection_positions WHERE name = 'ledger'").fetchone()
    return head - (row[0] if row else 0)


def start_ledger_worker(url: str, env: dict[str, str], logs: Path, timeout: float = 1800) -> subprocess.Popen:
    with open(logs / "ledger-worker.log", "wb") as err:
        worker = subprocess.Popen(
            [sys.executable, "-c", "from bench.ledger_http import follow_ledger; follow_ledger()"],
            cwd=http.ROOT,
            env={**os.environ, **env, "PYTHONPATH": str(http.ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    deadline = time.monotonic() + timeout
    while _ledger_lag(url) > 0:
        if worker.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the ledger worker did not catch up:\n{(logs / 'ledger-worker.log').read_text()[-3000:]}")
        time.sleep(0.5)
    return worker


def stop_worker(worker: subprocess.Popen) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def read_key(url: str, data_dir: Path) -> dict[str, str]:
    """An auditor's read key: its request headers."""
    key = issue_bench_key(url, data_dir, name="Bench auditor", scope="READ", role="AUDITOR")
    return {"Authorization": f"Bearer {key}"}


def measure_over_http(url: str, data_dir: Path, events: int, keys: tuple[dict, dict]) -> None:
    try:
        _measure_over_http(url, data_dir, events, keys)
    except SystemExit:
        for name in ("app", "ledger-worker"):
            log = data_dir / "logs" / f"{name}.log"
            if log.exists():
                print(f"# {name}'s log, its end:\n" + "\n".join(log.read_text(errors="replace").splitlines()[-30:]))
        raise


def _measure_over_http(url: str, data_dir: Path, events: int, keys: tuple[dict, dict]) -> None:
    """`keys`: an intake key's and a read key's headers, made before the synthetic log was written."""
    intake_headers, read_headers = keys
    env = {
        "DATABASE_URL": url,
        "SSZ_DATA_DIR": str(data_dir),
        "SSZ_ENVIRONMENT": "test",
        "SSZ_LOG_LEVEL": "WARNING",
        "SSZ_LOG_FORMAT": "json",
        **http.INTAKE_ENV,
    }
    logs = data_dir / "logs"
    logs.mkdir(exist_ok=True)
    worker = start_ledger_worker(url, env, logs)  # the tree over the whole log, and its checkpoint
    with psycopg.connect(url, autocommit=True) as conn:  # settled, as a running zone's tables are: no autovacuum of
        for table in ("ssz_events", "ledger_leaves", "ledger_nodes"):  # the fresh millions during the windows
            conn.execute(f"VACUUM (ANALYZE) {table}")
    with http.serve("app", http.APP_FACTORY, env, ready_path="/healthz", logs=logs) as app:
        # Each request a random event's proof against the latest checkpoint, as the auditor's pages ask for them
        # (the same proof every time would measure a cache, not the ledger).
        proof_url = f"{app.base}/api/v1/ledger/inclusion?position={RANDOM_PLACEHOLDER}"
        random_path = RANDOM_PATH_LUA % {"seed": 2569, "below": events}
        load(proof_url, headers=read_headers, connections=PROOF_CONNECTIONS, seconds=WARMUP_SECONDS, lua=random_path)
        for label, lua in (
            ("saturated", random_path),  # a closed loop: each connection's next request as soon as it has its answer
            (f"paced_{PACE_MS}ms", random_path + PACED_LUA % {"ms": PACE_MS}),
        ):
            before = _cpu_seconds(app.process.pid)
            proof = load(proof_url, headers=read_headers, connections=PROOF_CONNECTIONS, seconds=SECONDS, lua=lua)
            after = _cpu_seconds(app.process.pid)
            proof = replace(proof, server_cpu=(after[0] - before[0], after[1] - before[1]))
            print(
                f"# inclusion proofs of random events, {PROOF_CONNECTIONS} connections, {label}: {proof.describe()}; "
                f"load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
            suffix = "" if label == "saturated" else f"_{label}"
            metric(f"ledger.inclusion_proof_cpu_us{suffix}", round(proof.cpu_us))
            metric(f"ledger.inclusion_proof_p50_ms{suffix}", round(proof.p50_ms, 1))
            metric(f"ledger.inclusion_proof_p95_ms{suffix}", round(proof.p95_ms, 1))
            metric(f"ledger.inclusion_proof_rps{suffix}", round(proof.rps))

        http.check_intake(app, intake_headers)
        with_ledger = http.measure(
            app,
            "JSON intake, the ledger following live",
            "/api/v1/incidents",
            method="POST",
            headers=intake_headers,
            body=http.INTAKE_BODY,
            expect=201,
        )
        stop_worker(worker)
        without = http.measure(
            app,
            "JSON intake, nothing following the log",
            "/api/v1/incidents",
            method="POST",
            headers=intake_headers,
            body=http.INTAKE_BODY,
            expect=201,
        )
        worker = start_ledger_worker(url, env, logs)  # caught up again before its second window
        again = http.measure(
            app,
            "JSON intake, the ledger following live (again)",
            "/api/v1/incidents",
            method="POST",
            headers=intake_headers,
            body=http.INTAKE_BODY,
            expect=201,
        )
        stop_worker(worker)
    live = (with_ledger.rps + again.rps) / 2
    metric("ledger.intake_rps_with_ledger", round(live))
    metric("ledger.intake_rps_without_ledger", round(without.rps))
    metric("ledger.intake_cost_ratio", round(live / without.rps, 3))
