"""The JSON API over real HTTP servers (uvicorn): retries of one intake racing across two web processes on
PostgreSQL report one incident, and an intake reaches an open dispatch board within a second."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn

from infrastructure.api_keys import Scope
from infrastructure.bootstrap import Container, bootstrap
from infrastructure.settings import Settings
from tests.integration.conftest import build_world
from tests.integration.test_api import SOS, new_key
from tests.integration.test_web_live import free_port, read_events
from tests.integration.web_support import head
from web.access import SESSION_COOKIE
from web.app import create_app


@contextmanager
def uvicorn_server(container: Container, *, run_projections: bool) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(container, run_projections=run_projections),
            host="127.0.0.1",
            port=port,
            log_config=None,
            lifespan="on",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def hold_first_save_of_the_process(app: Any, barrier: threading.Barrier) -> None:
    real_save, held = app.save, threading.Event()

    def save(*objs: Any, **kwargs: Any):  # noqa: ANN202
        if not held.is_set():
            held.set()
            barrier.wait(timeout=20)
        return real_save(*objs, **kwargs)

    app.save = save


@pytest.mark.postgres
def test_eight_concurrent_retries_of_one_intake_across_two_web_processes_report_one_incident(
    pg_settings: Settings,
) -> None:
    first = bootstrap(pg_settings)
    second = bootstrap(pg_settings, run_migrations=False)  # a second web worker: its own pool and cache
    try:
        world = build_world(first.app)
        key = new_key(first, world, {Scope.INTAKE}, name="Police app SOS")
        # Intakes made at the same time in one process are saved together (a group commit), so the race is between
        # the processes: the first save of each waits for the other's, and the other requests of each queue behind it.
        barrier = threading.Barrier(2)
        for container in (first, second):
            hold_first_save_of_the_process(container.app, barrier)
        before = head(first)
        with uvicorn_server(first, run_projections=True) as a, uvicorn_server(second, run_projections=False) as b:

            def post(base: str) -> httpx.Response:
                return httpx.post(
                    f"{base}/api/v1/incidents",
                    json=SOS,
                    timeout=30,
                    headers={"authorization": f"Bearer {key.key}", "idempotency-key": "sos/device-42/1"},
                )

            with ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(post, [a, b] * 4))
        assert sorted(r.status_code for r in answers) == [200] * 7 + [201], [r.text for r in answers]
        assert len({r.json()["reference"] for r in answers}) == 1
        assert len({r.content for r in answers}) == 1  # the same body, every time
        new = list(first.app.recorder.select_notifications(start=before + 1, limit=100))
        assert sum(n.topic.endswith("Incident.Reported") for n in new) == 1
        assert sum(n.topic.endswith("IntakeKey.Claimed") for n in new) == 1
    finally:
        second.close()
        first.close()


def test_an_intake_over_http_reaches_an_open_board_within_a_second(container: Container) -> None:
    world = build_world(container.app)
    key = new_key(container, world, {Scope.INTAKE}, name="Police app SOS")
    with uvicorn_server(container, run_projections=True) as base:
        assert container.projections.wait(head(container), timeout=30)
        session = container.sessions.start(world.dispatcher, ip="test", user_agent="pytest")
        with (
            httpx.Client(base_url=base, cookies={SESSION_COOKIE: session}, timeout=10) as board,
            httpx.Client(base_url=base, timeout=10) as integration,
        ):
            with board.stream("GET", "/board/stream") as stream:
                lines = stream.iter_lines()
                panels = {}
                for name, html in read_events(lines, time.monotonic() + 5):  # every panel once, on connecting
                    panels[name] = html
                    if len(panels) == 5:
                        break
                sent = time.monotonic()
                answer = integration.post("/api/v1/incidents", json=SOS, headers={"authorization": f"Bearer {key.key}"})
                assert answer.status_code == 201, answer.text
                reference = answer.json()["reference"]
                pending = ""
                for name, html in read_events(lines, sent + 3):
                    if name == "pending" and reference in html:
                        pending = html
                        break
                latency = time.monotonic() - sent
        assert reference in pending, "the board never showed the incident reported over the API"
        assert latency < 1.0, f"the board showed the API's incident after {latency:.2f} s"
