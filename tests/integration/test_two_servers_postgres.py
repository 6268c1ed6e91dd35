"""Two web servers on one PostgreSQL database: each is its own Application with its own per-process cache, as two
`ssz serve` processes are. Whatever one server did, the other decides on it: no unit is left stuck, and a plain
dispatch on the other server is not refused on a stale picture of the unit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from application.zone import ZoneApplication
from domain.errors import DomainError
from domain.values import Category, Channel, Community, Outcome, Priority
from infrastructure.bootstrap import bootstrap
from infrastructure.settings import Settings
from tests.integration.conftest import World, build_world
from tests.integration.test_races_postgres import race

pytestmark = pytest.mark.postgres


@pytest.fixture
def servers(pg_settings: Settings) -> Iterator[tuple[World, ZoneApplication, ZoneApplication]]:
    first = bootstrap(pg_settings)
    second = bootstrap(pg_settings, run_migrations=False)
    yield build_world(first.app), first.app, second.app
    first.close()
    second.close()


def report(app: ZoneApplication, world: World) -> object:
    return app.report_incident(
        channel=Channel.PHONE_191,
        category=Category.THEFT,
        priority=Priority.P2,
        community=Community.KO_LOI,
        location="Soi 3",
        description="A bag was snatched.",
        by=world.dispatcher,
    ).id


def unit_events(app: ZoneApplication, unit: object) -> list[str]:
    return [entry.event for entry in app.history(unit)]


def test_a_unit_resolved_on_one_server_after_the_other_dispatched_it_is_free_on_both(servers) -> None:
    world, a, b = servers
    unit = world.units[0]
    first = report(a, world)
    a.dispatch_unit(first, unit, by=world.dispatcher)
    a.resolve_incident(first, outcome=Outcome.ASSISTANCE_GIVEN, summary="Bag returned.", by=world.dispatcher)

    second = report(b, world)
    b.dispatch_unit(second, unit, by=world.dispatcher)
    a.resolve_incident(second, outcome=Outcome.ASSISTANCE_GIVEN, summary="Handled.", by=world.dispatcher)

    assert unit_events(a, unit)[-4:] == ["Assigned", "Released", "Assigned", "Released"]
    assert a.state_at(unit)["incident_id"] is None
    third, fourth = report(a, world), report(b, world)
    a.dispatch_unit(third, unit, by=world.dispatcher)
    a.resolve_incident(third, outcome=Outcome.ASSISTANCE_GIVEN, summary="Done.", by=world.dispatcher)
    b.dispatch_unit(fourth, unit, by=world.dispatcher)
    assert a.state_at(unit)["incident_id"] == fourth


def test_a_plain_dispatch_on_the_other_server_is_not_refused(servers) -> None:
    world, a, b = servers
    unit = world.units[0]
    first = report(b, world)
    b.dispatch_unit(first, unit, by=world.dispatcher)  # b now holds the unit, busy, in its cache
    a.resolve_incident(first, outcome=Outcome.ASSISTANCE_GIVEN, summary="Handled.", by=world.dispatcher)

    second = report(b, world)
    b.dispatch_unit(second, unit, by=world.dispatcher)
    assert a.state_at(unit)["incident_id"] == second
    assert unit_events(a, unit)[-3:] == ["Assigned", "Released", "Assigned"]


def test_racing_dispatches_across_two_servers_one_wins_each_round_and_no_unit_is_left_stuck(servers) -> None:
    world, a, b = servers
    unit = world.units[0]
    for round_number in range(12):
        incidents = {a: report(a, world), b: report(b, world)}
        outcomes = race(
            [lambda app=app: app.dispatch_unit(incidents[app], unit, by=world.dispatcher) for app in (a, b)]
        )
        winners = [app for app, outcome in zip((a, b), outcomes, strict=True) if not isinstance(outcome, Exception)]
        assert len(winners) == 1, (round_number, outcomes)
        loser_error = outcomes[1] if winners[0] is a else outcomes[0]
        assert isinstance(loser_error, DomainError) and "busy" in str(loser_error.message), loser_error
        other = b if winners[0] is a else a  # the server that did not dispatch it resolves it
        other.resolve_incident(
            incidents[winners[0]], outcome=Outcome.ASSISTANCE_GIVEN, summary="Done.", by=world.dispatcher
        )
        assert a.state_at(unit)["incident_id"] is None
    assert unit_events(a, unit)[-1] == "Released"
