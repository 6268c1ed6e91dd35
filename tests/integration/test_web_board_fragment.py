"""The board's fragment as every open board polls it: answered from the cache before FastAPI's routing when it
can be, with exactly the route's rule and answer; and the per-process session cache that lets it skip the
database, which must not outlive a logout."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from domain.values import SYSTEM_USER_ID, Role
from infrastructure.bootstrap import Container
from tests.integration.conftest import World, build_world
from tests.integration.test_web_access import guard_of, routes
from tests.integration.web_support import browser, head, signed_in
from web.access import BOARD
from web.app import create_app
from web.middleware import WebMiddleware
from web.routes.board import FAST_PATHS



def _run(coroutine):  # noqa: ANN001, ANN202
    """asyncio.run in a thread of its own: a test worker may already run an event loop in this thread (the browser
    tests' Playwright, when they share the worker)."""
    result: list = []
    thread = threading.Thread(target=lambda: result.append(asyncio.run(coroutine)))
    thread.start()
    thread.join()
    return result[0]


@pytest.fixture
def site(container: Container) -> Iterator[tuple]:
    world = build_world(container.app)
    world.report()
    app = create_app(container, run_projections=True)
    with TestClient(app):  # the lifespan: the board feed polls the positions in this app's event loop
        assert container.projections.wait(head(container), timeout=30)
        yield app, container, world


def test_the_fast_path_of_the_board_fragment_follows_the_routes_own_rule(site: tuple) -> None:
    app = site[0]
    [route] = [r for r in routes(app) if r.path == "/board/panels"]
    assert guard_of(route) is BOARD and set(FAST_PATHS) == {"/board/panels"}


def test_the_board_fragment_from_the_cache_is_the_same_answer_as_the_routes(site: tuple) -> None:
    app, container, world = site
    dispatcher = signed_in(app, container, world.dispatcher)
    dispatcher.get("/board")  # sets the CSRF seed cookie
    first = dispatcher.get("/board/panels")  # a cold cache: the route renders
    again = dispatcher.get("/board/panels")  # from the cache, before the route
    assert first.status_code == again.status_code == 200
    assert again.text == first.text and 'id="panel-pending"' in again.text
    token = dispatcher.csrf("/board")
    assert f'name="csrf_token" value="{token}"' in again.text
    feed = app.state.feed  # what the fast path needs was there: positions polled, panels rendered for them
    assert feed.panels.cached_fragment(Role.DISPATCHER.value, token, feed.positions) == again.content
    assert {k: v for k, v in again.headers.items() if k != "x-request-id"} == \
        {k: v for k, v in first.headers.items() if k != "x-request-id"}
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    assert "frame-ancestors 'none'" in again.headers["content-security-policy"]
    behind_tls = dispatcher.get("/board/panels", headers={"x-forwarded-proto": "https"})
    assert behind_tls.headers["strict-transport-security"].startswith("max-age=")


def test_a_warm_board_fragment_is_still_refused_to_strangers_and_to_roles_without_the_board(site: tuple) -> None:
    app, container, world = site
    assert signed_in(app, container, world.supervisor).get("/board/panels").status_code == 200  # warms the cache
    assert browser(app).get("/board/panels").status_code == 303
    assert browser(app).get("/board/panels", headers={"hx-request": "true"}).status_code == 401
    assert signed_in(app, container, world.admin).get("/board/panels").status_code == 403
    partner = container.app.create_user(username="partner", display_name="Partner", role=Role.PARTNER,
                                        password="a-long-enough-password", by=SYSTEM_USER_ID).id
    assert container.projections.wait(head(container), timeout=30)
    assert signed_in(app, container, partner).get("/board/panels").status_code == 403


def test_a_session_that_ends_while_it_is_being_looked_up_is_not_trusted_afterwards(container: Container, world: World) -> None:
    sessions = container.sessions
    token = sessions.start(world.dispatcher, ip="test", user_agent="pytest")
    ended = []

    def logout_meanwhile(conn, cursor, statement, *args) -> None:  # noqa: ANN001, ANN002
        if "web_sessions" in statement and statement.lstrip().upper().startswith("SELECT") and not ended:
            ended.append(True)
            sessions.end(token)  # another connection, while this lookup has read the session alive

    event.listen(container.engine, "after_cursor_execute", logout_meanwhile)
    try:
        sessions.resolve(token)  # the request that was already running may still pass
    finally:
        event.remove(container.engine, "after_cursor_execute", logout_meanwhile)
    assert ended
    assert sessions.known(token) == (False, None)  # not kept for the next 2 s
    assert sessions.resolve(token) is None


class SlowSessions:
    """Looks a session up in 50 ms; counts the lookups."""

    def __init__(self) -> None:
        self.generation = 0
        self.lookups = 0
        self.lock = threading.Lock()

    def resolve(self, token: str) -> str:
        with self.lock:
            self.lookups += 1
            n = self.lookups
        time.sleep(0.05)
        return f"who {n}"


def test_requests_that_find_their_session_expired_together_share_one_lookup_unless_a_session_ended_meanwhile() -> None:
    sessions = SlowSessions()
    middleware = WebMiddleware(app=None)

    async def burst() -> list:
        return await asyncio.gather(*(middleware._look_up(sessions, "token") for _ in range(20)))

    assert _run(burst()) == ["who 1"] * 20 and sessions.lookups == 1

    async def across_a_logout() -> tuple:
        before = asyncio.ensure_future(middleware._look_up(sessions, "token"))
        await asyncio.sleep(0.01)
        sessions.generation += 1  # a session ended: the running lookup may have read it alive
        after = asyncio.ensure_future(middleware._look_up(sessions, "token"))
        return await before, await after

    assert _run(across_a_logout()) == ("who 2", "who 3")
