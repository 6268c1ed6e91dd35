"""The per-process session cache that lets a request skip the database: it must not outlive a logout, and requests
that find a session expired together share one lookup."""

from __future__ import annotations

import asyncio
import threading
import time

from sqlalchemy import event

from infrastructure.bootstrap import Container
from testkit.loops import run_in_own_loop
from tests.integration.conftest import World
from web.middleware import WebMiddleware


def test_a_session_that_ends_while_it_is_being_looked_up_is_not_trusted_afterwards(
    container: Container, world: World
) -> None:
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

    assert run_in_own_loop(burst()) == ["who 1"] * 20 and sessions.lookups == 1

    async def across_a_logout() -> tuple:
        before = asyncio.ensure_future(middleware._look_up(sessions, "token"))
        await asyncio.sleep(0.01)
        sessions.generation += 1  # a session ended: the running lookup may have read it alive
        after = asyncio.ensure_future(middleware._look_up(sessions, "token"))
        return await before, await after

    assert run_in_own_loop(across_a_logout()) == ("who 2", "who 3")
