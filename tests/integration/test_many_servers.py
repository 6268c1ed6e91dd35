"""The production topology: two web servers (`ssz serve`, a process each) on one PostgreSQL database, driven over
the JSON API as integrations drive them. A dispatcher relies on one rule whichever server answers: a command
decides on the latest state, two people acting at once get one winner and one 409, and nothing is lost or left
half-done. Every check reads the stored log afterwards, not only the answers."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import psycopg
import pytest

from domain.incident import Incident
from domain.patrol import PatrolUnit
from domain.values import UnitStatus
from infrastructure.bootstrap import Container, bootstrap
from infrastructure.settings import Settings
from testkit.api import Integration, new_key
from testkit.servers import Server, running
from testkit.world import World, build_world

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
UNITS = 8  # each test dispatches units of its own, so that the tests of this module never meet


@dataclass
class Topology:
    container: Container  # this process's view of the same database, to read the stored log
    world: World
    servers: list[Server]
    a: Integration
    b: Integration

    def unit(self, call_sign: str) -> PatrolUnit:
        return self.container.app.repository.get(PatrolUnit.id_for(call_sign))

    def incident(self, reference: str) -> Incident:
        return self.container.app.repository.get(Incident.id_for(reference))

    def unit_log(self, call_sign: str) -> list[str]:
        return [
            f"{e.event} {e.details.get('reference', '')}".strip()
            for e in self.container.app.history(PatrolUnit.id_for(call_sign))
        ]


@pytest.fixture(scope="module")
def topology(postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    name = f"ssz_test_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = postgres_admin_url.rsplit("/", 1)[0] + f"/{name}"
    work, secret = tmp_path_factory.mktemp("many-servers"), secrets.token_urlsafe(32)
    container = bootstrap(Settings(environment="test", data_dir=work / "here", database_url=url, secret_key=secret))
    try:
        world = build_world(container.app, units=UNITS)
        key = new_key(container, world, "Dispatch system")
        with running(url, work, 2, secret_key=secret) as servers:
            a, b = (Integration(s.base_url, key) for s in servers)
            try:
                yield Topology(container, world, servers, a, b)
            finally:
                a.close()
                b.close()
    finally:
        container.close()
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def at_once(*calls: Callable[[], httpx.Response]) -> list[httpx.Response]:
    """Sends the requests together (each from a thread of its own, released by one barrier)."""
    barrier = threading.Barrier(len(calls))
    answers: list[httpx.Response | None] = [None] * len(calls)

    def send(n: int) -> None:
        barrier.wait()
        answers[n] = calls[n]()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(a is not None for a in answers), "a request did not come back"
    return answers  # type: ignore[return-value]


def assert_released(t: Topology, call_sign: str) -> None:
    unit = t.unit(call_sign)
    assert (unit.status, unit.incident_id) == (UnitStatus.AVAILABLE, None), (
        f"{call_sign} is {unit.status.value} on {unit.incident_id} after its incident was resolved; its log: {t.unit_log(call_sign)}"
    )


def assert_one_winner(answers: list[httpx.Response]) -> httpx.Response:
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 409], [(a.status_code, a.text[:300]) for a in answers]
    loser = next(a for a in answers if a.status_code == 409)
    assert loser.headers["content-type"].startswith("application/problem+json") and loser.json()["detail"]
    return next(a for a in answers if a.status_code == 200)


def test_a_unit_released_by_one_server_after_the_other_dispatched_it_is_free_on_both(topology: Topology) -> None:
    t = topology
    first = t.a.reported()
    assert t.a.dispatch(first, "M-01").status_code == 200
    assert t.a.resolve(first).status_code == 200
    second = t.b.reported()
    assert t.b.dispatch(second, "M-01").status_code == 200  # B reads the unit released by A
    assert t.a.resolve(second).status_code == 200  # A, whose last sight of the unit is its release from `first`
    assert_released(t, "M-01")
    for integration in (t.a, t.b, t.a):  # and it is dispatchable again, from either server
        reference = integration.reported()
        answer = integration.dispatch(reference, "M-01")
        assert answer.status_code == 200, answer.text
        assert integration.resolve(reference).status_code == 200
        assert_released(t, "M-01")


def test_sequential_dispatches_alternating_servers_each_succeed(topology: Topology) -> None:
    t = topology
    for n in range(8):
        here, there = (t.a, t.b) if n % 2 == 0 else (t.b, t.a)
        reference = here.reported()
        dispatched = here.dispatch(reference, "M-02")
        assert dispatched.status_code == 200, f"dispatch {n + 1} of 8: {dispatched.text}"
        resolved = there.resolve(reference)
        assert resolved.status_code == 200, f"resolve {n + 1} of 8: {resolved.text}"
        assert_released(t, "M-02")
    assert t.unit_log("M-02").count("Released") == 8


def test_one_unit_sent_to_two_incidents_at_once_from_two_servers_goes_to_exactly_one(topology: Topology) -> None:
    t = topology
    for n in range(10):
        call_sign = f"M-0{3 + n % 3}"
        left, right = t.a.reported(), t.b.reported()
        winner = assert_one_winner(
            at_once(lambda: t.a.dispatch(left, call_sign), lambda: t.b.dispatch(right, call_sign))
        )
        won = winner.json()["reference"]
        lost = right if won == left else left
        unit = t.unit(call_sign)
        assert (unit.status, unit.incident_id) == (UnitStatus.ASSIGNED, Incident.id_for(won)), t.unit_log(call_sign)
        assert unit.id in t.incident(won).active_unit_ids
        assert t.incident(lost).active_unit_ids == [], f"round {n + 1}: the losing incident holds the unit too"
        assert (t.b if n % 2 else t.a).resolve(won).status_code == 200
        assert_released(t, call_sign)


def test_the_same_command_sent_to_both_servers_at_once_has_one_winner_and_is_stored_once(topology: Topology) -> None:
    t = topology
    for n in range(10):
        call_sign = f"M-0{6 + n % 3}"
        reference = (t.a if n % 2 else t.b).reported()
        assert_one_winner(
            at_once(lambda: t.a.dispatch(reference, call_sign), lambda: t.b.dispatch(reference, call_sign))
        )
        assert_one_winner(at_once(lambda: t.b.resolve(reference), lambda: t.a.resolve(reference)))
        events = [e.event for e in t.container.app.history(Incident.id_for(reference))]
        assert events.count("UnitDispatched") == 1 and events.count("Resolved") == 1, events
        assert_released(t, call_sign)
