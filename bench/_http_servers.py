"""The servers bench/http.py loads, each served by uvicorn with UVICORN_ARGS in a process of its own (only the
factory differs), and the baselines the app is compared with: a bare Starlette hello-world, and a bare Starlette
intake that does the app's durable work by hand."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
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
BASELINE_FACTORY = "bench._http_servers:starlette_app"
RAW_FACTORY = "bench._http_servers:raw_intake_app"


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
