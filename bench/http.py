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
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Run as a script, this file's folder comes first on sys.path, and the file is named like the standard
# library's `http` package: take the folder off before anything imports `http` (the libraries imported
# below, inside the functions, do).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CONNECTIONS = 50
WARMUP_SECONDS = 3
SECONDS = int(os.environ.get("SSZ_BENCH_HTTP_SECONDS", "12"))
MONTHS = int(os.environ.get("SSZ_BENCH_HTTP_MONTHS", "1"))
SEED = 2569
UVICORN_ARGS = [
    "--host",
    "127.0.0.1",
    "--workers",
    "1",
    "--http",
    "httptools",
    "--loop",
    "uvloop",
    "--log-level",
    "warning",
    "--no-access-log",
]
APP_FACTORY = "web.app:create_app"
BASELINE_FACTORY = "bench.http:starlette_app"
RAW_FACTORY = "bench.http:raw_intake_app"
WRK = shutil.which("wrk") or "/usr/bin/wrk"


def starlette_app():
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def hello(_request):
        return PlainTextResponse("Hello, world!")

    return Starlette(routes=[Route("/", hello)])


# The intake's baseline: the same JSON body posted to a bare Starlette app that writes, by hand with psycopg, the
# same rows as the app's intake (its stored events, copied from an intake the app made: the incident's report and
# the reference book's entry), committed before the answer, and answers a reference.
RAW_TABLE = "bench_raw_intake"
RAW_POOL = 20  # connections: as many as the app's pools keep open


def raw_intake_app():
    import contextlib
    import itertools
    import uuid as uuid_

    import psycopg
    from psycopg_pool import AsyncConnectionPool
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    url = os.environ["SSZ_BENCH_RAW_URL"]
    with psycopg.connect(url) as conn:  # the rows an intake of the app wrote: topic and state of each
        rows = conn.execute(f"SELECT topic, state FROM {RAW_TABLE}_sample ORDER BY n").fetchall()
    numbers = itertools.count(1)
    required = ("channel", "category", "priority", "community", "location", "description")
    insert = f"INSERT INTO {RAW_TABLE} (originator_id, originator_version, topic, state) VALUES " + ", ".join(
        ["(%s, %s, %s, %s)"] * len(rows)
    )

    # The reporter's key, as the vault keeps it: found by a hash of the phone's digits, made for a new reporter.
    reporter_key = (
        f"WITH found AS (SELECT key FROM {RAW_TABLE}_keys WHERE subject = %(s)s), "
        f"made AS (INSERT INTO {RAW_TABLE}_keys (subject, key) SELECT %(s)s, %(k)s WHERE NOT EXISTS (SELECT FROM found) "
        "ON CONFLICT (subject) DO NOTHING RETURNING key) SELECT key FROM found UNION ALL SELECT key FROM made"
    )

    async def intake(request):
        body = json.loads(await request.body())
        missing = [f for f in required if not body.get(f)]
        if missing:
            return JSONResponse({"missing": missing}, status_code=422)
        params: list = []
        for topic, state in rows:
            params += [uuid_.uuid4(), 1, topic, state]
        digits = "".join(c for c in (body.get("reporter") or {}).get("phone", "") if c.isdigit())
        async with pool.connection() as conn:  # committed when the block ends
            if digits:
                subject = hashlib.sha256(digits.encode()).hexdigest()
                await conn.execute(reporter_key, {"s": subject, "k": os.urandom(32)})
            await conn.execute(insert, params)
        reference = f"CR-2569-{next(numbers):06d}"
        return JSONResponse({"reference": reference, "href": f"/api/v1/incidents/{reference}"}, status_code=201)

    pool = AsyncConnectionPool(url, min_size=RAW_POOL, max_size=RAW_POOL, open=False)

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        await pool.open(wait=True)
        yield
        await pool.close()

    async def ready(_request):
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/", ready), Route("/intake", intake, methods=["POST"])], lifespan=lifespan)


def prepare_raw_intake(database_url: str) -> dict[str, str]:
    """The baseline's table (the stored events' columns) and the rows it writes: those of the app's last intake."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        conn.execute(
            f"CREATE TABLE {RAW_TABLE} (notification_id bigserial PRIMARY KEY, originator_id uuid NOT NULL, "
            "originator_version integer NOT NULL, topic text NOT NULL, state bytea NOT NULL, "
            "UNIQUE (originator_id, originator_version))"
        )
        conn.execute(f"CREATE TABLE {RAW_TABLE}_keys (subject text PRIMARY KEY, key bytea NOT NULL)")
        conn.execute(
            f"CREATE TABLE {RAW_TABLE}_sample AS SELECT row_number() OVER (ORDER BY notification_id) AS n, topic, state "
            "FROM (SELECT * FROM ssz_events ORDER BY notification_id DESC LIMIT 2) AS last"
        )
        topics = [t for (t,) in conn.execute(f"SELECT topic FROM {RAW_TABLE}_sample ORDER BY n")]
    if sorted(t.rsplit(".", 1)[-1] for t in topics) != ["ReferenceIssued", "Reported"]:
        raise SystemExit(f"the app's last intake did not write a report and a reference: {topics}")
    return {"SSZ_BENCH_RAW_URL": database_url}


# --- servers -------------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    base: str
    process: subprocess.Popen
    log: Path

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(name: str, factory: str, env: Mapping[str, str], *, ready_path: str = "/", logs: Path) -> Iterator[Server]:
    """`factory` served by uvicorn with UVICORN_ARGS in a process of its own; its stderr goes to a file."""
    port = _free_port()
    log = logs / f"{name}.log"
    with open(log, "wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", factory, "--port", str(port), *UVICORN_ARGS],
            cwd=ROOT,
            env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    server = Server(name, f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_ready(server, ready_path)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(server: Server, path: str, timeout: float = 90) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(f"{server.name} server exited ({server.process.returncode}):\n{server.tail()}")
        try:
            if httpx.get(server.base + path, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{server.name} server not ready after {timeout:.0f} s:\n{server.tail()}")


# --- load ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    requests: int
    seconds: float
    bytes: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    server_cpu: tuple[float, float] | None = None  # the server process's user and system CPU seconds in the window

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_us(self) -> float:
        """The server's CPU time (user + system) per request, in microseconds."""
        return 1e6 * sum(self.server_cpu) / self.requests if self.server_cpu else float("nan")

    def describe(self) -> str:
        size = self.bytes / self.requests / 1024
        text = (
            f"{self.rps:,.0f} req/s ({self.requests:,} in {self.seconds:.1f} s, {size:,.1f} KiB each); "
            f"latency p50 {self.p50_ms:.1f} ms, p95 {self.p95_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, max {self.max_ms:.1f} ms"
        )
        if self.server_cpu:
            user, system = (1e6 * c / self.requests for c in self.server_cpu)
            text += (
                f"; server CPU {sum(self.server_cpu) / self.seconds:.0%} of a core, {user + system:,.0f} µs a request "
                f"(user {user:,.0f}, system {system:,.0f})"
            )
        return text


LUA = r"""
local args = {...}
wrk.method = "%(method)s"
%(body)s
%(request)s
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) unexpected = 0; last_unexpected = 0 end
function response(status, headers, body)
  if status ~= %(expect)d then unexpected = unexpected + 1; last_unexpected = status end
end
function done(summary, latency, requests)
  local bad, last = 0, 0
  for _, t in ipairs(threads) do
    bad = bad + t:get("unexpected")
    if t:get("last_unexpected") ~= 0 then last = t:get("last_unexpected") end
  end
  local e = summary.errors
  io.write(string.format('WRK {"requests":%%d,"duration_us":%%d,"bytes":%%d,"p50":%%d,"p95":%%d,"p99":%%d,"max":%%d,' ..
    '"connect":%%d,"read":%%d,"write":%%d,"status":%%d,"timeout":%%d,"unexpected":%%d,"last_unexpected":%%d}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout, bad, last))
end
"""


# Requests that differ: each with its own value of a header (an Idempotency-Key), unique across runs by the prefix;
# and, where the body holds PHONE_PLACEHOLDER, a reporter's phone: four requests in five from a new reporter (a phone
# never sent before: the vault makes the reporter's key), one in five from one of 200 returning reporters (the vault
# finds their key), as the police app's SOS reports come.
REQUEST_LUA = r"""
local sent = 0
local header, prefix, series = "%(header)s", "%(prefix)s", "%(series)s"
local template = wrk.body
function request()
  sent = sent + 1
  local headers = {}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  if header ~= "" then headers[header] = prefix .. "-" .. sent end
  local body = template
  if series ~= "" then
    local phone
    if sent %% 5 == 0 then phone = string.format("081 000 %%04d", (sent / 5) %% 200)
    else phone = string.format("09%%s %%06d", series, sent) end
    body = string.gsub(template, "@PHONE@", phone)
  end
  return wrk.format(nil, nil, headers, body)
end
"""
PHONE_PLACEHOLDER = "@PHONE@"
_phone_series = iter(range(100, 1000))  # each load's new reporters have phones of their own (09<series> ...)


def load(
    url: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    expect: int = 200,
    connections: int = CONNECTIONS,
    seconds: float = SECONDS,
    threads: int = 1,
    unique_header: str | None = None,
) -> Load:
    """A closed-loop load of `connections` connections for `seconds` against one (method, url, headers, body);
    fails loudly on any socket error, time-out or response whose status is not `expect`. With `unique_header`,
    every request carries that header with a value of its own; a body holding PHONE_PLACEHOLDER gets the reporters'
    mix of REQUEST_LUA."""
    if not os.access(WRK, os.X_OK):
        raise SystemExit("wrk is not installed: `make bench` installs it (apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="ssz-wrk-") as d:
        body_lua = ""
        if body is not None:
            (Path(d) / "body").write_bytes(body)
            body_lua = f'local f = io.open("{Path(d) / "body"}", "rb"); wrk.body = f:read("*a"); f:close()'
        script = Path(d) / "load.lua"
        request_lua = ""
        phones = body is not None and PHONE_PLACEHOLDER.encode() in body
        if unique_header is not None or phones:
            if threads != 1:
                raise ValueError("requests that differ are counted in one wrk thread")
            request_lua = REQUEST_LUA % {
                "header": unique_header or "",
                "prefix": f"bench-{uuid.uuid4().hex[:12]}",
                "series": str(next(_phone_series)) if phones else "",
            }
        script.write_text(LUA % {"method": method, "body": body_lua, "request": request_lua, "expect": expect})
        command = [
            WRK,
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--timeout",
            "30s",
            "-s",
            str(script),
        ]
        for name, value in (headers or {}).items():
            command += ["-H", f"{name}: {value}"]
        out = subprocess.run([*command, url], capture_output=True, text=True, check=False, timeout=seconds + 120)
    found = re.search(r"^WRK (\{.*\})$", out.stdout, re.MULTILINE)
    if out.returncode != 0 or not found:
        raise SystemExit(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    r = json.loads(found.group(1))
    errors = {k: r[k] for k in ("connect", "read", "write", "timeout") if r[k]}
    if errors or r["unexpected"] or r["requests"] == 0:
        raise SystemExit(
            f"{method} {url}: {r['unexpected']} responses other than {expect} (last: {r['last_unexpected']}), "
            f"socket errors {errors}, {r['requests']} requests\n{out.stdout}"
        )
    return Load(
        requests=r["requests"],
        seconds=r["duration_us"] / 1e6,
        bytes=r["bytes"],
        p50_ms=r["p50"] / 1000,
        p95_ms=r["p95"] / 1000,
        p99_ms=r["p99"] / 1000,
        max_ms=r["max"] / 1000,
    )


@contextmanager
def _profiled(server: Server, label: str, seconds: float) -> Iterator[None]:
    """With SSZ_BENCH_PROFILE=DIR and py-spy installed: a flame graph of the server during the window."""
    where = os.environ.get("SSZ_BENCH_PROFILE")
    spy = shutil.which("py-spy") or shutil.which(
        "py-spy", path=str(Path(sys.executable).parent)
    )  # the venv's, unactivated
    if not (where and spy):
        yield
        return
    Path(where).mkdir(parents=True, exist_ok=True)
    out = Path(where) / f"{label}.svg"
    recorder = subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(server.process.pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            "250",
            "--threads",
            "--nonblocking",
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        recorder.wait(timeout=120)
        print(f"# py-spy flame graph of {label}: {out}", flush=True)


def _cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a process, all its threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def machine_busy(seconds: float = 2.0) -> float:
    """The share of the machine's CPU time that was not idle over `seconds` (Linux /proc/stat)."""

    def sample() -> tuple[int, int]:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(values), values[3] + values[4]  # idle + iowait

    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    return 1 - (idle1 - idle0) / max(1, total1 - total0)


def _database_activity(database_url: str) -> dict[str, float]:
    """PostgreSQL's counters for one database: connections ended, transactions, time spent running statements."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT sessions, xact_commit + xact_rollback, active_time FROM pg_stat_database "
            "WHERE datname = current_database()"
        ).fetchone()
    return {"sessions": row[0], "transactions": row[1], "active_ms": row[2]}


def measure(
    server: Server,
    label: str,
    path: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    expect: int = 200,
    database_url: str | None = None,
    unique_header: str | None = None,
) -> Load:
    """Warm-up, then the measured window, against one request of one server; prints the absolute figures
    (with the server process's CPU time per request, which the other processes of the machine disturb less
    than its throughput, and with `database_url`, what the database did per request)."""
    url = server.base + path
    load(
        url,
        method=method,
        headers=headers,
        body=body,
        expect=expect,
        seconds=WARMUP_SECONDS,
        unique_header=unique_header,
    )
    if database_url:
        time.sleep(1.5)  # PostgreSQL's backends report their counters at most once a second
        db_before = _database_activity(database_url)
    with _profiled(server, label, SECONDS):
        before = _cpu_seconds(server.process.pid)
        result = load(url, method=method, headers=headers, body=body, expect=expect, unique_header=unique_header)
        after = _cpu_seconds(server.process.pid)
    result = replace(result, server_cpu=(after[0] - before[0], after[1] - before[1]))
    print(f"# {label}: {method} {path}, {CONNECTIONS} connections: {result.describe()}", flush=True)
    if database_url:
        time.sleep(1.5)
        db = {k: v - db_before[k] for k, v in _database_activity(database_url).items()}
        print(
            f"# {label}, in PostgreSQL a request: {db['transactions'] / result.requests:.2f} transactions, "
            f"{1000 * db['active_ms'] / result.requests:,.0f} µs running statements; "
            f"{db['sessions']:,.0f} connections opened and closed in the window",
            flush=True,
        )
    return result


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
    from domain.values import SYSTEM_USER_ID, Role
    from infrastructure.api_keys import Scope, issue_key
    from infrastructure.bootstrap import bootstrap
    from infrastructure.settings import Settings

    settings = Settings(environment="test", data_dir=data_dir, database_url=database_url, log_level="WARNING")
    container = bootstrap(settings, run_migrations=False)
    try:
        issued = issue_key(
            container.app,
            container.api_keys,
            name="Bench SOS",
            scopes={Scope.INTAKE},
            role=Role.DISPATCHER,
            by=SYSTEM_USER_ID,
            wait=lambda _: container.projections.catch_up(),
        )
    finally:
        container.close()
    return {"Authorization": f"Bearer {issued.key}", "Content-Type": "application/json"}


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
