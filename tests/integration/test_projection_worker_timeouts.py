"""The projection worker's own connections (its advisory lock, its listener) against a database that accepts
connections and never answers (a hung server, a black-holed network): each attempt fails and the worker goes on
retrying, instead of waiting forever on one connect. The bound is generous (it proves "no hang", not speed)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from infrastructure.readmodels.ownership import AdvisoryLock, Waker, libpq_dsn
from infrastructure.settings import Settings

BOUND_SECONDS = 30.0


@pytest.fixture
def hung_dsn(tmp_path: Path) -> Iterator[str]:
    """A listening socket that never accepts: the kernel completes the handshake, nothing ever answers."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=16)
    port = listener.getsockname()[1]
    settings = Settings(
        environment="test", data_dir=tmp_path, database_url=f"postgresql://postgres@127.0.0.1:{port}/ssz"
    )
    yield libpq_dsn(settings)
    listener.close()


def finishes(call: Callable[[], None]) -> tuple[bool, BaseException | None]:
    raised: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as error:  # noqa: BLE001 — handed to the test
            raised.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(BOUND_SECONDS)
    return not thread.is_alive(), (raised or [None])[0]


def test_the_projection_lock_is_refused_not_awaited_forever_when_the_database_hangs(hung_dsn: str) -> None:
    done, error = finishes(lambda: AdvisoryLock(hung_dsn, 1).try_acquire())
    assert done, "taking the projections' lock hung on a database that does not answer"
    assert isinstance(error, psycopg.OperationalError)


def test_the_workers_listener_gives_up_on_a_hung_database_and_returns_to_its_loop(hung_dsn: str) -> None:
    waker = Waker(hung_dsn, "ssz_events", poll_interval=0.01)
    done, error = finishes(lambda: waker.wait(timeout=0.1))
    assert done, "the worker's listener hung on a database that does not answer"
    assert error is None and waker.conn is None
