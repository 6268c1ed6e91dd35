"""The measurements of bench/http.py: a closed-loop load by wrk against one request of one server, that fails
loudly on any unexpected answer, and the figures of a measured window (throughput, latency, the server's CPU time
and the database's work per request)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from bench._http_servers import Server

CONNECTIONS = 50
WARMUP_SECONDS = 3
SECONDS = int(os.environ.get("SSZ_BENCH_HTTP_SECONDS", "12"))
WRK = shutil.which("wrk") or "/usr/bin/wrk"


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

# Requests whose path differs: RANDOM_PLACEHOLDER in the URL's path becomes a random integer below `below` in each.
RANDOM_PLACEHOLDER = "RANDOMNUMBER"
RANDOM_PATH_LUA = r"""
math.randomseed(%(seed)d)
local below = %(below)d
function request()
  return wrk.format(nil, (string.gsub(wrk.path, "RANDOMNUMBER", tostring(math.random(0, below - 1)))))
end
"""
# An open-ish load: each connection waits after an answer before its next request (wrk's delay()), a random time of
# mean %(ms) ms (exponential, as independent users' requests come), so that the rate is what the connections ask for,
# not what the server can take at most. (A fixed delay keeps the connections in step: they would all ask at once.)
PACED_LUA = r"""
function delay() return math.floor(-math.log(1 - math.random()) * %(ms)d) end
"""
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
    lua: str = "",
) -> Load:
    """A closed-loop load of `connections` connections for `seconds` against one (method, url, headers, body);
    fails loudly on any socket error, time-out or response whose status is not `expect`. With `unique_header`,
    every request carries that header with a value of its own; a body holding PHONE_PLACEHOLDER gets the reporters'
    mix of REQUEST_LUA. `lua`: more of wrk's script (its own `request()` or `delay()`, e.g. RANDOM_PATH_LUA, PACED_LUA)."""
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
        if lua and request_lua:
            raise ValueError("one request() a script")
        script.write_text(LUA % {"method": method, "body": body_lua, "request": request_lua or lua, "expect": expect})
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
