"""Checkpoints published by the process that follows the log, on their own: every so many seconds when anything
was added (the last events before a quiet spell covered within that time), every so many events, and never when
nothing changed; several servers on one PostgreSQL publish each tree size once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from domain.accounts import UserAccount
from domain.values import Category, Channel, Community, Priority
from infrastructure.bootstrap import Container, bootstrap
from infrastructure.checkpoints import Checkpoint, open_note
from infrastructure.readmodels.ledger import LedgerProjection
from infrastructure.readmodels.ledger_reads import LedgerReads
from infrastructure.settings import Settings
from tests.integration.conftest import World


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def report(app, n: int) -> None:  # noqa: ANN001 — the zone's application
    app.report_incident(
        channel=Channel.PHONE_191,
        category=Category.THEFT,
        priority=Priority.P2,
        community=Community.KO_LOI,
        location="Soi 3, near the market",
        description=f"call {n}",
        by=UserAccount.id_for("dispatcher"),
    )


def reads(container: Container) -> LedgerReads:
    return LedgerReads(container.engine, container.app.recorder.events_table_name)


def checkpoints(container: Container) -> list[dict]:
    return reads(container).checkpoints()


def covers(container: Container, projection: LedgerProjection, size: int) -> bool:
    """The latest checkpoint is of `size` events, verifies by the ledger's key, and its root is the tree's."""
    latest = checkpoints(container)[-1]
    checkpoint = Checkpoint.parse(open_note(latest["note"], projection.signer.verifier))
    return checkpoint.size == latest["tree_size"] == size and checkpoint.root == reads(container).root(size)


def test_a_checkpoint_comes_within_the_interval_after_an_event_and_none_when_nothing_changed(
    container: Container, world: World
) -> None:
    projection: LedgerProjection = container.projections.by_name["ledger"]
    clock = projection.clock = Clock()
    projection.every_seconds, projection.every_events = 60.0, 1000
    container.projections.catch_up()  # the first page of a ledger without any checkpoint is signed at once
    first = reads(container).size()
    assert covers(container, projection, first)

    report(container.app, 1)  # an event, then quiet
    container.projections.catch_up()
    assert len(checkpoints(container)) == 1  # (no page-level reason: a second, two events)
    clock.advance(59)
    assert projection.tick(container.engine) == pytest.approx(1.0)  # not yet: it asks to be called in a second
    assert len(checkpoints(container)) == 1
    clock.advance(1)
    assert projection.tick(container.engine) == 60.0
    assert covers(container, projection, reads(container).size())
    assert reads(container).size() > first

    for minutes in (1, 5, 60):  # nothing new: nothing signed, however long
        clock.advance(minutes * 60)
        projection.tick(container.engine)
    assert len(checkpoints(container)) == 2

    projection.every_events = 4  # every N events, as the pages come, without waiting for the time
    for n in range(3):
        report(container.app, 10 + n)
    container.projections.catch_up()
    assert len(checkpoints(container)) == 3 and covers(container, projection, reads(container).size())


def test_without_a_signing_key_nothing_is_signed(container: Container, world: World) -> None:
    bare = LedgerProjection(container.app.recorder.events_table_name, None)
    assert bare.tick(container.engine) is None


@pytest.fixture
def two_servers(pg_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Container, Container]]:
    """Two processes' worth of the application on one PostgreSQL database (as two `ssz serve`), the same key."""
    monkeypatch.setenv("SSZ_LEDGER_CHECKPOINT_EVERY_SECONDS", "0.3")
    first = bootstrap(pg_settings)
    second = bootstrap(pg_settings, run_migrations=False)
    yield first, second
    for container in (first, second):
        container.close()


def wait_for(condition, timeout: float = 20.0) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_two_servers_on_one_database_publish_on_their_own_and_each_size_once(
    two_servers: tuple[Container, Container], world_on_first: World
) -> None:
    first, second = two_servers
    projection = first.projections.by_name["ledger"]
    assert projection.every_seconds == 0.3
    first.projections.start()
    second.projections.start()
    for n in range(3):  # an event, then a quiet spell: a checkpoint covering it comes without anyone asking
        report(second.app if n % 2 else first.app, n)
        head = world_on_first.head()  # (notification ids may skip a number: a leaf's place is what counts)

        def covered(h: int = head) -> bool:
            place = reads(first).position_of(h)
            return place is not None and any(c["tree_size"] > place for c in checkpoints(first))

        assert wait_for(covered), f"no checkpoint covering notification {head}"
        assert covers(first, projection, reads(first).size())
    signed = checkpoints(first)
    time.sleep(1.0)  # three intervals with nothing new: nothing more
    assert checkpoints(first) == signed
    sizes = [c["tree_size"] for c in signed]
    assert sizes == sorted(set(sizes))


@pytest.fixture
def world_on_first(two_servers: tuple[Container, Container]) -> World:
    from testkit.world import build_world

    return build_world(two_servers[0].app, units=1)


def test_two_servers_signing_the_same_size_at_once_store_one_checkpoint(
    two_servers: tuple[Container, Container], world_on_first: World
) -> None:
    """The race itself: the second insert waits for the first's transaction and then stores nothing; both are
    answered with the one note stored (before, the second failed on the tree size's key)."""
    first, second = two_servers
    first.projections.catch_up()
    report(first.app, 1)
    first.projections.catch_up()
    size = reads(first).size() - 1  # a size no checkpoint was signed for (the worker is not running here)
    assert size not in {c["tree_size"] for c in checkpoints(first)}
    root = LedgerReads(first.engine, "ssz_events").root(size)
    signer_a, signer_b = first.projections.by_name["ledger"], second.projections.by_name["ledger"]
    answers: dict[str, str] = {}
    with first.engine.begin() as conn:
        answers["first"] = signer_a.sign(conn, size, root)

        def second_signs() -> None:
            with second.engine.begin() as other:
                answers["second"] = signer_b.sign(other, size, root)

        racing = threading.Thread(target=second_signs)
        racing.start()
        with psycopg.connect(first.settings.database_url, autocommit=True) as watcher:
            assert wait_for(
                lambda: (
                    watcher.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
                        " AND query LIKE 'INSERT INTO ledger_checkpoints%'"
                    ).fetchone()[0]
                    == 1
                )
            ), "the second signer did not wait for the first"
    racing.join(timeout=20)
    assert answers["first"] == answers["second"]
    stored = [c for c in checkpoints(first) if c["tree_size"] == size]
    assert len(stored) == 1 and stored[0]["note"] == answers["first"]
    assert Checkpoint.parse(open_note(answers["first"], signer_a.signer.verifier)).root == root
