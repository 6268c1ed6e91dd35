"""The database goes away under a running app (real PostgreSQL behind a TCP proxy the test cuts and restores):
pages and the JSON API answer 503 with Retry-After and a plain message, /readyz says 503, nothing is saved, and
the app recovers by itself when the database is back. Bounds are generous (the test client's 10 s): they prove
"no long hang", not speed; the measured times are printed."""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from fastapi.testclient import TestClient

from infrastructure.api_keys import Scope
from infrastructure.bootstrap import Container, bootstrap
from infrastructure.settings import Settings
from testkit.api import Integration
from testkit.servers import running
from tests.integration.conftest import build_world
from tests.integration.test_api import SOS, new_key
from tests.integration.test_web_incidents import REPORT
from tests.integration.web_support import signed_in
from web.app import create_app

BOUND_SECONDS = 10.0  # the client's time-out: a request that takes longer hangs
MESSAGE_TH = "ระบบติดต่อฐานข้อมูลไม่ได้"
MESSAGE_EN = "The system cannot reach its database; nothing was saved."


class Proxy:
    """A TCP proxy to PostgreSQL that can fail like a server that went away: `cut("refuse")` resets every connection
    and refuses new ones; `cut("black hole")` resets the open ones and leaves new ones unanswered; `freeze()` is a
    server that hangs: every connection stays open, what is sent to it is accepted and nothing comes back."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.mode = "pass"
        self.lock = threading.Lock()
        self.sockets: list[socket.socket] = []
        self.held: list[socket.socket] = []
        self.closed = False
        self.frozen = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                mode = self.mode
            if mode == "refuse":
                _reset(client)
            elif mode == "black hole" or self.frozen.is_set():
                self.held.append(client)
            else:
                upstream = socket.create_connection(self.target)
                with self.lock:
                    self.sockets += [client, upstream]
                for a, b in ((client, upstream), (upstream, client)):
                    threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                while self.frozen.is_set() and not self.closed:
                    time.sleep(0.02)  # the bytes wait in the socket, as they do at a hung server
                if not (data := source.recv(65536)):
                    break
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self, mode: str) -> None:
        with self.lock:
            self.mode = mode
            for s in self.sockets:
                _reset(s)
            self.sockets.clear()

    def freeze(self) -> None:
        self.frozen.set()

    def restore(self) -> None:
        self.frozen.clear()
        with self.lock:
            self.mode = "pass"
            for s in self.held:
                _reset(s)
            self.held.clear()

    def close(self) -> None:
        self.closed = True
        self.cut("refuse")
        self.listener.close()


def _reset(s: socket.socket) -> None:
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
    except OSError:
        pass


@pytest.fixture
def proxied(postgres_url: str, tmp_path: Path) -> Iterator[tuple[Proxy, Container]]:
    real = urlsplit(postgres_url)
    proxy = Proxy((real.hostname or "127.0.0.1", real.port or 5432))
    through = urlunsplit(real._replace(netloc=f"{real.username or 'postgres'}@127.0.0.1:{proxy.port}"))
    container = bootstrap(Settings(environment="test", data_dir=tmp_path / "data", database_url=through))
    yield proxy, container
    proxy.restore()
    container.close()
    proxy.close()


def events_stored(postgres_url: str, table: str) -> int:
    """Counted straight on the server, not through the proxy."""
    with psycopg.connect(postgres_url) as conn:
        return conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]


def timed(call):  # noqa: ANN001, ANN201
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


@pytest.mark.parametrize("failure", ["refuse", "black hole"])
def test_while_the_database_is_unreachable_every_request_gets_a_quick_503_and_the_app_recovers_by_itself(
    proxied: tuple[Proxy, Container], postgres_url: str, failure: str
) -> None:
    proxy, container = proxied
    world = build_world(container.app)
    app = create_app(container, run_projections=True)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert container.projections.wait(container.projections.head(), timeout=30)
        key = new_key(container, world, [Scope.INTAKE])
        dispatcher = signed_in(app, container, world.dispatcher)
        token = dispatcher.csrf("/incidents/new")
        assert dispatcher.post("/incidents", {**REPORT, "csrf_token": token}).status_code == 303
        assert client.get("/readyz").status_code == 200
        table = container.app.recorder.events_table_name
        before = events_stored(postgres_url, table)

        proxy.cut(failure)
        times: dict[str, list[float]] = {"page": [], "api": [], "readyz": []}
        for _ in range(3):
            page, took = timed(lambda: dispatcher.post("/incidents", {**REPORT, "csrf_token": token}))
            times["page"].append(took)
            assert page.status_code == 503, page.text[:300]
            assert MESSAGE_TH in page.text and page.headers["retry-after"]
            intake, took = timed(
                lambda: client.post("/api/v1/incidents", json=SOS, headers={"authorization": f"Bearer {key.key}"})
            )
            times["api"].append(took)
            assert intake.status_code == 503 and intake.headers["content-type"].startswith("application/problem+json")
            assert intake.json()["status"] == 503 and intake.headers["retry-after"]
            ready, took = timed(lambda: client.get("/readyz"))
            times["readyz"].append(took)
            assert ready.status_code == 503
        dispatcher.client.cookies.set("ssz_lang", "en")
        board = dispatcher.get("/board")
        assert board.status_code == 503 and MESSAGE_EN in board.text
        print(
            f"\n{failure}: seconds to a 503 " + ", ".join(f"{k} {[round(t, 2) for t in v]}" for k, v in times.items())
        )
        assert max(max(v) for v in times.values()) < BOUND_SECONDS

        proxy.restore()
        deadline = time.monotonic() + 30
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "the app did not recover by itself"
            time.sleep(0.2)
        print(f"{failure}: ready again {round(30 - (deadline - time.monotonic()), 2)} s after the database came back")
        assert events_stored(postgres_url, table) == before  # nothing was saved while it was down
        assert dispatcher.post("/incidents", {**REPORT, "csrf_token": token}).status_code == 303
        assert (
            client.post("/api/v1/incidents", json=SOS, headers={"authorization": f"Bearer {key.key}"}).status_code
            == 201
        )


def test_when_the_database_hangs_requests_waiting_on_it_get_a_503_within_seconds_not_a_hang(
    postgres_url: str, tmp_path: Path
) -> None:
    """A frozen server accepts and acknowledges but never answers, so no connection time-out fires: before the watch
    of hung statements, the first request after the freeze waited on its pooled connection for as long as the server
    stayed frozen. A real `ssz serve` behind the proxy, driven over HTTP with the client's 10 s time-out."""
    secret = secrets.token_urlsafe(32)
    here = bootstrap(
        Settings(environment="test", data_dir=tmp_path / "here", database_url=postgres_url, secret_key=secret)
    )
    try:
        key = new_key(here, build_world(here.app), [Scope.INTAKE])
        table = here.app.recorder.events_table_name
    finally:
        here.close()
    real = urlsplit(postgres_url)
    proxy = Proxy((real.hostname or "127.0.0.1", real.port or 5432))
    through = urlunsplit(real._replace(netloc=f"{real.username or 'postgres'}@127.0.0.1:{proxy.port}"))
    try:
        with running(through, tmp_path, 1, secret_key=secret) as (server,):
            api = Integration(server.base_url, key, timeout=BOUND_SECONDS)
            assert api.report().status_code == 201
            before = events_stored(postgres_url, table)
            proxy.freeze()
            try:  # a failure thaws the server first, so that what waits can finish
                intake, first = timed(lambda: api.report())
                assert intake.status_code == 503 and intake.json()["status"] == 503 and intake.headers["retry-after"]
                again, then = timed(lambda: api.report())
                assert again.status_code == 503
                ready, last = timed(lambda: api.http.get("/readyz"))
                assert ready.status_code == 503
            finally:
                proxy.restore()
            # The first request waits for the watch to find the server hung (a statement overdue, then a probe that
            # cannot connect within the connect time-out); those after it are refused at the shut gate. The client's
            # time-out proves "no hang", not speed: `make faults` measures the times.
            print(f"\nhung: seconds to a 503: first intake {first:.2f}, next {then:.2f}, readyz {last:.2f}")
            deadline = time.monotonic() + 30
            while api.http.get("/readyz").status_code != 200:
                assert time.monotonic() < deadline, "the server did not recover by itself"
                time.sleep(0.2)
            assert events_stored(postgres_url, table) == before  # nothing was saved while it hung
            assert api.report().status_code == 201
            api.close()
    finally:
        proxy.close()
