"""The board's live stream over a real HTTP server: a change another person makes arrives as the changed
panels only, within a second, without a reload."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from domain.values import Category, Channel, Community, Priority
from infrastructure.bootstrap import Container
from tests.integration.conftest import build_world
from tests.integration.web_support import head
from web.access import SESSION_COOKIE
from web.app import create_app
from web.live import PANELS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(container: Container) -> Iterator[tuple[str, Container, object]]:
    world = build_world(container.app)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(container, run_projections=True), host="127.0.0.1", port=port, log_config=None, lifespan="on"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert container.projections.wait(head(container), timeout=30)
    yield f"http://127.0.0.1:{port}", container, world
    server.should_exit = True
    thread.join(timeout=10)


def read_events(lines: Iterator[str], until: float) -> Iterator[tuple[str, str]]:
    name, data = "", []
    for line in lines:
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data.append(line[6:])
        elif line == "" and name:
            yield name, "\n".join(data)
            name, data = "", []
        if time.monotonic() > until:
            return


def test_a_new_incident_reaches_an_open_board_within_a_second_as_the_changed_panel_only(served: tuple) -> None:
    base, container, world = served
    token = container.sessions.start(world.supervisor, ip="test", user_agent="pytest")
    with httpx.Client(base_url=base, cookies={SESSION_COOKIE: token}, timeout=10) as client:
        with client.stream("GET", "/board/stream") as stream:
            assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.iter_lines()
            first: dict[str, str] = {}
            for name, html in read_events(lines, time.monotonic() + 5):  # on connecting: every panel once
                first[name] = html
                if len(first) == len(PANELS):
                    break
            assert set(first) == set(PANELS) >= {"pending", "active", "units", "alerts", "closed", "closure"}
            result = container.app.report_incident(
                channel=Channel.PHONE_191,
                category=Category.ASSAULT,
                priority=Priority.P1,
                community=Community.SI_KOET,
                location="Soi Si Koet 2",
                description="A fight outside the bar.",
                by=world.dispatcher,
            )
            reported = time.monotonic()
            reference = (
                container.reads.incident(result.id) if container.projections.wait(result.notification_id) else None
            )
            arrived = {}
            for name, html in read_events(lines, reported + 3):
                arrived[name] = html
                if name == "pending":
                    break
            latency = time.monotonic() - reported
            assert "pending" in arrived and reference["reference"] in arrived["pending"]
            assert latency < 1.0, f"the board learnt of the incident after {latency:.2f} s"
            assert set(arrived) == {"pending"}  # units, alerts and closed did not change: not sent again


def test_the_stream_is_refused_to_roles_without_the_board_and_to_strangers(served: tuple) -> None:
    base, container, world = served
    with httpx.Client(base_url=base, timeout=10) as stranger:
        assert (
            stranger.get("/board/stream", headers={"accept": "text/event-stream"}).status_code == 401
        )  # as EventSource asks
    token = container.sessions.start(world.admin, ip="test", user_agent="pytest")
    with httpx.Client(base_url=base, cookies={SESSION_COOKIE: token}, timeout=10) as admin:
        assert admin.get("/board/stream").status_code == 403
