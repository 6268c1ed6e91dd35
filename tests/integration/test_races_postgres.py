"""Races on the real PostgreSQL server. Each writer is its own Application (its own pool and cache), as
two web workers would be. A barrier holds every first save until all writers have decided, so the race
really happens on every run. (Reports made at the same time in one application are saved together by one
of them, a group commit: there, the race is between the applications' first saves.)"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from application.errors import ConflictError
from application.zone import ZoneApplication
from domain.values import Category, Channel, Community, Priority
from infrastructure.bootstrap import bootstrap
from infrastructure.settings import Settings
from tests.integration.conftest import build_world

pytestmark = pytest.mark.postgres


def hold_first_save(app: ZoneApplication, barrier: threading.Barrier) -> None:
    real_save = app.save
    waited = threading.local()

    def save(*objs: Any, **kwargs: Any):  # noqa: ANN202
        if not getattr(waited, "done", False):
            waited.done = True
            barrier.wait(timeout=20)
        return real_save(*objs, **kwargs)

    app.save = save  # type: ignore[method-assign]


def hold_first_save_of_the_app(app: ZoneApplication, barrier: threading.Barrier) -> None:
    real_save, held = app.save, threading.Event()

    def save(*objs: Any, **kwargs: Any):  # noqa: ANN202
        if not held.is_set():
            held.set()
            barrier.wait(timeout=20)
        return real_save(*objs, **kwargs)

    app.save = save  # type: ignore[method-assign]


def race(calls: list[Callable[[], Any]]) -> list[Any]:
    def attempt(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception as error:  # the outcome under test is which one raised what
            return error

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(attempt, calls))


@pytest.fixture
def writers(pg_settings: Settings):
    first = bootstrap(pg_settings)
    world = build_world(first.app)
    second = bootstrap(pg_settings, run_migrations=False)
    yield world, first.app, second.app
    first.close()
    second.close()


def test_two_writers_saving_the_same_incident_version_one_wins_the_other_is_told(writers) -> None:
    world, a, b = writers
    incident = world.report()
    barrier = threading.Barrier(2)
    for app in (a, b):
        hold_first_save(app, barrier)
    outcomes = race(
        [
            lambda: a.triage_incident(
                incident, priority=Priority.P1, reason="Weapon seen", by=world.dispatcher, expected_version=1
            ),
            lambda: b.triage_incident(
                incident, category=Category.ASSAULT, reason="Fight", by=world.supervisor, expected_version=1
            ),
        ]
    )
    winners = [o for o in outcomes if not isinstance(o, Exception)]
    losers = [o for o in outcomes if isinstance(o, Exception)]
    assert len(winners) == 1 and len(losers) == 1
    assert isinstance(losers[0], ConflictError) and losers[0].current_version == 2
    history = a.history(incident)
    assert [h.event for h in history] == ["Reported", "Triaged"]
    assert winners[0].notification_id == a.recorder.max_notification_id()


def test_two_dispatchers_sending_one_free_unit_to_two_incidents_one_wins_the_other_is_told(writers) -> None:
    world, a, b = writers
    first, second = world.report(), world.report()
    unit = world.units[0]
    barrier = threading.Barrier(2)
    for app in (a, b):
        hold_first_save(app, barrier)
    outcomes = race(
        [
            lambda: a.dispatch_unit(first, unit, by=world.dispatcher),
            lambda: b.dispatch_unit(second, unit, by=world.supervisor),
        ]
    )
    losers = [o for o in outcomes if isinstance(o, Exception)]
    assert len(losers) == 1 and isinstance(losers[0], ConflictError)
    assert "busy" in losers[0].message
    won = first if not isinstance(outcomes[0], Exception) else second
    lost = second if won == first else first
    assert a.state_at(unit)["incident_id"] == won
    assert [h.event for h in a.history(unit)][-1] == "Assigned"
    assert [h.event for h in a.history(lost)] == ["Reported"]
    assert [h.event for h in a.history(won)] == ["Reported", "UnitDispatched"]


def test_concurrent_retries_of_one_intake_create_one_incident(writers) -> None:
    world, a, b = writers
    head = a.recorder.max_notification_id()
    fields = dict(
        channel=Channel.MOBILE_SOS,
        category=Category.SEXUAL_HARASSMENT,
        priority=Priority.P1,
        community=Community.CHET_YOT,
        location="Night market",
        description="SOS button pressed",
        by=world.dispatcher,
    )
    barrier = threading.Barrier(2)
    for app in (a, b):
        hold_first_save_of_the_app(app, barrier)
    outcomes = race(
        [
            (lambda app=app: app.report_incident(**fields, idempotency_key="app-sos-77"))
            for app in (a, b, a, b, a, b, a, b)
        ]
    )
    assert not [o for o in outcomes if isinstance(o, Exception)]
    assert len({o.id for o in outcomes}) == 1
    new = list(a.recorder.select_notifications(start=head + 1, limit=100))
    assert sum(n.topic.endswith("Incident.Reported") for n in new) == 1
    assert sum(n.topic.endswith("IntakeKey.Claimed") for n in new) == 1


def test_concurrent_reports_get_distinct_consecutive_references(writers) -> None:
    world, a, b = writers
    barrier = threading.Barrier(2)
    for app in (a, b):
        hold_first_save_of_the_app(app, barrier)
    outcomes = race(
        [
            (
                lambda app=app: app.report_incident(
                    channel=Channel.PHONE_191,
                    category=Category.THEFT,
                    priority=Priority.P3,
                    community=Community.KO_LOI,
                    location="Market",
                    description="Theft",
                    by=world.dispatcher,
                )
            )
            for app in (a, b, a, b, a, b)
        ]
    )
    assert not [o for o in outcomes if isinstance(o, Exception)]
    numbers = sorted(int(a.state_at(o.id)["reference"][-6:]) for o in outcomes)
    assert numbers == [1, 2, 3, 4, 5, 6]
