"""HTTP under load: the board fragment (`GET /board`, a signed-in dispatcher) and the JSON API's intake
(`POST /api/v1/incidents`, an integration's key) under 50 concurrent connections, against a bare Starlette
hello-world served with the same uvicorn settings in the same run.

* The board has a realistic size: a demo history (SSZ_BENCH_HTTP_MONTHS, default 1: about 21,000 events)
  ending now is written into a fresh PostgreSQL database and the projections are caught up, so the board
  shows the open incidents, units, alerts and closed-in-24h of a real moment of the day.
* Each server is its own process, started with the same command line (`python -m uvicorn --factory APP`
  with UVICORN_ARGS: 1 worker, httptools, uvloop, log level warning, no access log); only the factory differs.
  The app is `web.app:create_app` (it builds its own container from the environment, as in production;
  the projections are caught up beforehand and nothing writes during the load, so none run in it).
* The load generator is wrk (Debian's; `make bench` installs it), one thread, closed loop, 50 connections:
  warm-up, then a measured window. A Lua script counts every response whose status is not the expected
  one, and the run fails loudly on any (a redirect to /login would be one) or on any socket error.
* The app's request log (structlog, one line per request at info) is off for the headline figures
  (SSZ_LOG_LEVEL=WARNING): they measure the request path, not the log sink. One more window with the
  log on (info, JSON lines to a file) is printed as an extra figure.

* The intake is measured after the board (it writes: every request reports a new incident, 201, through the
  application into PostgreSQL, as the mobile app's SOS would, with a reporter's contact to seal). The key is an
  integration's (scope intake, a dispatcher's role); its rate limit is raised out of the way for the run
  (SSZ_API_RATE_*), so that the figure is the request path's, not the limiter's. It is measured twice: without an
  Idempotency-Key (the headline figures), and with a key of its own on every request (as the police app sends them:
  each key is claimed with its incident, in the same atomic save). Four reports in five come from a new reporter (a
  phone not seen before, whose key the vault makes), one in five from a returning one; the figures before 2026-12-08
  sent one phone every time, and are kept, measured the same way, as `http.intake_same_reporter_*`.
* The intake's ratio (`http.intake_vs_starlette`) is against a bare Starlette app doing the same durable work by hand:
  the same JSON body parsed, the reporter's key found by a hash of the phone or made for a new reporter, the same rows
  as the app's intake (its two stored events, copied from one the app made) inserted with psycopg from a pool of
  connections and committed before the answer, a reference answered
  (`raw_intake_app`), served the same way in the same run. Against the hello-world it is printed as
  `http.intake_vs_starlette_hello`: a hello-world does no durable write, so that ratio measures the database as much
  as the app.

SSZ_BENCH_HTTP_SECONDS (default 12) sets the measured window; SSZ_BENCH_PROFILE=DIR records a py-spy
flame graph of each server during its measured window (when py-spy is installed).

Another measurement is one more call of `measure(server, label, path, method=..., headers=..., body=...,
expect=...)` in main(); `Zone.write_headers` carries the CSRF header that state-changing requests need."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Run as a script, this file's folder comes first on sys.path, and the file is named like the standard
# library's `http` package: take the folder off before anything imports `http` (the libraries imported
# below, inside the functions, do).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._common import issue_bench_key  # noqa: E402
from bench._http_load import CONNECTIONS, PHONE_PLACEHOLDER, SECONDS, WARMUP_SECONDS, machine_busy, measure  # noqa: E402
from bench._http_servers import (  # noqa: E402
    BASELINE_FACTORY,
    RAW_FACTORY,
    UVICORN_ARGS,
    Server,
    prepare_raw_intake,
    serve,
)

MONTHS = int(os.environ.get("SSZ_BENCH_HTTP_MONTHS", "1"))
SEED = 2569
APP_FACTORY = "web.app:create_app"


# --- the zone ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Zone:
    env: dict[str, str]  # the app server's environment
    headers: dict[str, str]  # a signed-in dispatcher's browser: session and CSRF seed cookies, language
    csrf_token: str  # what the app expects in a form's csrf_token or the x-csrf-token header
    panels: dict[str, int]  # rows in each panel of the board, from the read model

    @property
    def write_headers(self) -> dict[str, str]:
        """For a POST/PUT/DELETE as this dispatcher (add its content-type)."""
        return {**self.headers, "x-csrf-token": self.csrf_token}


def prepare_zone(database_url: str, data_dir: Path) -> Zone:
    """A demo history ending now, the projections caught up, a dispatcher and a live session for them."""
    from bench._common import metric
    from domain.values import SYSTEM_USER_ID, Role
    from infrastructure.bootstrap import bootstrap
    from infrastructure.settings import Settings
    from simulation import generate

    settings = Settings(environment="test", data_dir=data_dir, database_url=database_url, log_level="WARNING")
    container = bootstrap(settings)
    try:
        summary = generate(container.settings, months=MONTHS, seed=SEED, progress=False)
        print(
            f"# demo history: {MONTHS} month(s) ending now, {summary.events:,} events, {summary.incidents:,} incidents, "
            f"{summary.alerts:,} alerts, {summary.visits:,} visits, written in {summary.seconds:.1f} s",
            flush=True,
        )
        user = container.app.create_user(
            username="bench.dispatcher",
            display_name="Bench Dispatcher",
            role=Role.DISPATCHER,
            password="bench-password-2569",
            by=SYSTEM_USER_ID,
        )
        started = time.perf_counter()
        container.projections.catch_up()
        print(
            f"# projections caught up to {container.projections.head():,} in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        token = container.sessions.start(user.id, ip="127.0.0.1", user_agent="ssz-bench/wrk")
        board = container.reads.board()
        pending = sum(1 for i in board.incidents if i["status"] == "reported")
        panels = {
            "pending": pending,
            "active": len(board.incidents) - pending,
            "units": len(board.units),
            "units_on_duty": sum(1 for u in board.units if u["status"] != "off_duty"),
            "alerts": len(board.alerts),
            "closed": len(board.recently_closed),
        }
    finally:
        container.close()
    metric("http.history_events", summary.events)
    env = {
        "DATABASE_URL": database_url,
        "SSZ_DATA_DIR": str(data_dir),
        "SSZ_ENVIRONMENT": "test",
        "SSZ_LOG_LEVEL": "WARNING",
        "SSZ_LOG_FORMAT": "json",
    }
    # What a signed-in browser sends: the session cookie, the CSRF seed cookie, Thai by default.
    seed = "bench-csrf-seed-0123456789abcdef"
    headers = {"Cookie": f"ssz_session={token}; ssz_csrf={seed}", "Accept-Language": "th"}
    # As web.access.csrf_token: the server reads the same secret from the same environment.
    csrf = hmac.new(
        settings.secret_key.get_secret_value().encode(), b"csrf/" + seed.encode(), hashlib.sha256
    ).hexdigest()[:40]
    return Zone(env, headers, csrf, panels)


# The JSON intake: an SOS as the police app sends it, by an integration's key; no rate limit in the way. Most from
# new reporters (INTAKE_BODY: the phone filled in per request); the figures before 2026-12-08 sent one reporter's
# phone every time, so that the vault only ever found an existing key (SAME_REPORTER_BODY, `http.intake_same_reporter_*`).
_SOS = {
    "channel": "mobile_sos",
    "category": "sexual_harassment",
    "priority": "P1",
    "community": "chet_yot",
    "location": "Night market, Chet Yot road",
    "description": "SOS button pressed in the app; the caller is being followed.",
    "position": {"lat": 19.9105, "lon": 99.8406},
}
INTAKE_BODY = json.dumps({**_SOS, "reporter": {"name": "Malee", "phone": PHONE_PLACEHOLDER}}).encode()
SAME_REPORTER_BODY = json.dumps({**_SOS, "reporter": {"name": "Malee", "phone": "081 234 5678"}}).encode()
INTAKE_ENV = {"SSZ_API_RATE_PER_SECOND": "100000", "SSZ_API_RATE_BURST": "1000000"}


def prepare_intake(database_url: str, data_dir: Path) -> dict[str, str]:
    """An integration's API key (scope intake, acting as an account with a dispatcher's role): its request headers."""
    key = issue_bench_key(database_url, data_dir, name="Bench SOS", scope="INTAKE", role="DISPATCHER")
    return {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}


def check_intake(server: Server, headers: Mapping[str, str]) -> None:
    """One intake before the load: a 201 with the new incident's reference."""
    import httpx

    response = httpx.post(
        server.base + "/api/v1/incidents", headers=dict(headers), content=SAME_REPORTER_BODY, timeout=30
    )
    if response.status_code != 201 or not re.match(r"^CR-\d{4}-\d{6}$", response.json().get("reference", "")):
        raise SystemExit(
            f"POST /api/v1/incidents is not an intake: {response.status_code} {response.text[:2000]}\n{server.tail()}"
        )


def check_board_fragment(server: Server, zone: Zone) -> int:
    """One request before any load: a 200 with every panel's HTML (not a redirect to /login); returns its size."""
    import httpx

    from web.live import PANELS

    response = httpx.get(server.base + "/board", headers=zone.headers, follow_redirects=False, timeout=30)
    html = response.text
    missing = [name for name in PANELS if f'id="panel-{name}"' not in html]
    if response.status_code != 200 or missing or "hx-redirect" in response.headers or 'name="password"' in html:
        raise SystemExit(
            f"GET /board is not the board: status {response.status_code}, headers "
            f"{dict(response.headers)}, missing panels {missing}\n{html[:2000]}\n{server.tail()}"
        )
    sections = re.split(r'<section class="panel panel-', html)[1:]
    rows = {s.split('"', 1)[0]: len(re.findall(r'<tr class="incident|<li[ >]', s)) for s in sections}
    print(
        f"# board fragment: {len(response.content) / 1024:,.1f} KiB; panels in the read model: "
        + ", ".join(f"{k} {v}" for k, v in zone.panels.items())
        + "; rows in the HTML: "
        + ", ".join(f"{k} {v}" for k, v in rows.items()),
        flush=True,
    )
    if zone.panels["units_on_duty"] == 0 or zone.panels["closed"] == 0:
        raise SystemExit(f"the board is not a realistic one: {zone.panels}")
    if zone.panels["pending"] + zone.panels["active"] == 0:
        print(
            "# no incident is open at this moment of the simulated day (a quiet hour): the board is smaller than at peak",
            flush=True,
        )
    return len(response.content)


def main() -> None:
    from bench._common import fresh_dir, fresh_postgres, metric

    with fresh_postgres() as database_url, fresh_dir() as data_dir:
        zone = prepare_zone(database_url, data_dir)
        intake_headers = prepare_intake(database_url, data_dir)
        logs = data_dir / "logs"
        logs.mkdir()
        busy = machine_busy()
        print(
            f"# machine: {os.cpu_count()} cores, {busy:.0%} busy with other processes before the servers start"
            + (" (the figures are noisy; the CPU time per request less so)" if busy > 0.1 else ""),
            flush=True,
        )
        print(
            f"# servers: python -m uvicorn --factory <app> {' '.join(UVICORN_ARGS)}; load: wrk, 1 thread, "
            f"{CONNECTIONS} connections, {WARMUP_SECONDS} s warm-up then {SECONDS} s",
            flush=True,
        )
        with serve("starlette", BASELINE_FACTORY, {}, logs=logs) as hello:
            baseline = measure(hello, "starlette hello-world", "/")

        print("# the app with SSZ_LOG_LEVEL=WARNING: its per-request info log is off for these figures", flush=True)
        with serve("app", APP_FACTORY, {**zone.env, **INTAKE_ENV}, ready_path="/healthz", logs=logs) as app:
            check_board_fragment(app, zone)
            board = measure(app, "board fragment", "/board", headers=zone.headers, database_url=database_url)
            check_board_fragment(app, zone)  # still signed in after the load
            check_intake(app, intake_headers)
            raw_env = prepare_raw_intake(database_url)
            intake = measure(
                app,
                "JSON intake",
                "/api/v1/incidents",
                method="POST",
                headers=intake_headers,
                body=INTAKE_BODY,
                expect=201,
                database_url=database_url,
            )
            keyed = measure(
                app,
                "JSON intake, each with its own Idempotency-Key",
                "/api/v1/incidents",
                method="POST",
                headers=intake_headers,
                body=INTAKE_BODY,
                expect=201,
                database_url=database_url,
                unique_header="Idempotency-Key",
            )
            same = measure(
                app,
                "JSON intake, every report from one reporter's phone",
                "/api/v1/incidents",
                method="POST",
                headers=intake_headers,
                body=SAME_REPORTER_BODY,
                expect=201,
                database_url=database_url,
            )
        with serve("raw-intake", RAW_FACTORY, raw_env, logs=logs) as raw:
            raw_intake = measure(
                raw,
                "raw intake (Starlette + psycopg, the same rows)",
                "/intake",
                method="POST",
                headers={"Content-Type": "application/json"},
                body=INTAKE_BODY,
                expect=201,
                database_url=database_url,
            )
        metric("http.starlette_rps", round(baseline.rps))
        metric("http.board_fragment_rps", round(board.rps))
        metric("http.board_fragment_p50_ms", round(board.p50_ms, 1))
        metric("http.board_fragment_p95_ms", round(board.p95_ms, 1))
        metric("http.board_fragment_p99_ms", round(board.p99_ms, 1))
        metric("http.board_fragment_vs_starlette", round(board.rps / baseline.rps, 3))
        metric("http.starlette_cpu_us", round(baseline.cpu_us))
        metric("http.board_fragment_cpu_us", round(board.cpu_us))
        metric("http.intake_rps", round(intake.rps))
        metric("http.intake_p50_ms", round(intake.p50_ms, 1))
        metric("http.intake_p95_ms", round(intake.p95_ms, 1))
        metric("http.intake_p99_ms", round(intake.p99_ms, 1))
        metric("http.raw_intake_rps", round(raw_intake.rps))
        metric("http.raw_intake_p95_ms", round(raw_intake.p95_ms, 1))
        metric("http.raw_intake_cpu_us", round(raw_intake.cpu_us))
        metric("http.intake_vs_starlette", round(intake.rps / raw_intake.rps, 3))
        metric("http.intake_vs_starlette_hello", round(intake.rps / baseline.rps, 3))
        metric("http.intake_cpu_us", round(intake.cpu_us))
        metric("http.intake_keyed_rps", round(keyed.rps))
        metric("http.intake_keyed_p95_ms", round(keyed.p95_ms, 1))
        metric("http.intake_keyed_cpu_us", round(keyed.cpu_us))
        metric("http.intake_same_reporter_rps", round(same.rps))
        metric("http.intake_same_reporter_p95_ms", round(same.p95_ms, 1))
        metric("http.intake_same_reporter_cpu_us", round(same.cpu_us))
        print(
            f"# CPU time a request: starlette {baseline.cpu_us:,.0f} µs, board fragment {board.cpu_us:,.0f} µs "
            f"(ratio {baseline.cpu_us / board.cpu_us:.3f}: what the req/s ratio would be if both had a core to themselves)",
            flush=True,
        )

        # The same, with the production log: one JSON line per request at info, to a file.
        with serve(
            "app-info-log", APP_FACTORY, {**zone.env, "SSZ_LOG_LEVEL": "INFO"}, ready_path="/healthz", logs=logs
        ) as app:
            logged = measure(
                app, "board fragment, request log on (info, JSON to a file)", "/board", headers=zone.headers
            )
        metric("http.board_fragment_info_log_rps", round(logged.rps))
        metric("http.board_fragment_info_log_p95_ms", round(logged.p95_ms, 1))


if __name__ == "__main__":
    main()
