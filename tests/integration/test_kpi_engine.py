"""The KPI engine on real SQLite and real PostgreSQL, checked against tests/integration/kpi_recompute.py (an
independent recomputation from the raw log), as of several positions of the log."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from application.kpi.edition import Figures, headline
from application.kpi.engine import KpiEngine
from application.kpi.period import Filters, Period
from domain.errors import InvalidInput
from domain.values import (
    AlertKind,
    CancelReason,
    Category,
    Channel,
    Community,
    GeoPoint,
    Outcome,
    PartnerSector,
    Priority,
)
from infrastructure.bootstrap import Container
from infrastructure.readmodels.kpi_queries import SqlKpiMarks
from tests.integration.conftest import World
from tests.integration.kpi_recompute import expected_figures
from tests.integration.recompute import read_log
from tests.integration.test_projections import Demo, demo, load_demo  # noqa: F401 — the session's demo history

BANGKOK = ZoneInfo("Asia/Bangkok")


def engine_of(container: Container) -> KpiEngine:
    return KpiEngine(SqlKpiMarks(container.engine))


def figures_of(engine: KpiEngine, period: Period, position: int, filters: Filters = Filters()) -> dict:
    return dict(headline(engine.edition(period, position=position, filters=filters).figures))


def assert_equal_figures(actual: dict, expected: dict) -> None:
    differences = {
        k: (actual.get(k, "missing"), expected.get(k, "missing"))
        for k in actual.keys() | expected.keys()
        if actual.get(k, "missing") != expected.get(k, "missing")
        and not (k.startswith("alerts.camera.") and actual.get(k, 0) == expected.get(k, 0))
    }
    assert not differences, (
        f"{len(differences)} figures differ (engine, recomputation): {sorted(differences.items())[:20]}"
    )


def test_every_figure_of_the_demo_months_and_a_range_equals_an_independent_recomputation_as_of_several_positions(
    container: Container, demo: Demo
) -> None:
    head = load_demo(container, demo)
    assert container.projections.catch_up() == head
    log = read_log(container.app)
    engine = engine_of(container)
    # The demo runs from late February to 1 March 2025, 12:00 in Bangkok: both months, and the boundary between.
    periods = [
        (Period.month("2568-02"), date(2025, 2, 1), date(2025, 2, 28)),
        (Period.month("2025-03"), date(2025, 3, 1), date(2025, 3, 31)),
        (Period.between(date(2025, 2, 25), date(2025, 2, 27)), date(2025, 2, 25), date(2025, 2, 27)),
    ]
    for position in (head, head * 2 // 3):
        upto = [(n, e) for n, e in log if n <= position]
        for period, first, last in periods:
            actual = figures_of(engine, period, position)
            assert actual["incidents.reported"] > 0 or period.start.month == 3
            assert_equal_figures(actual, expected_figures(upto, first, last))
        community = Community.KO_LOI.value
        assert_equal_figures(
            figures_of(engine, periods[0][0], position, Filters(community=community)),
            expected_figures(upto, date(2025, 2, 1), date(2025, 2, 28), community=community),
        )


def test_month_boundaries_are_in_bangkok_time_and_reopened_and_cancelled_incidents_follow_kpis_md(
    container: Container, world: World
) -> None:
    app = world.app
    at = lambda *a: datetime(*a, tzinfo=BANGKOK)  # noqa: E731
    last_of_january = world.report(occurred_at=at(2025, 1, 31, 23, 59, 59))
    first_of_february = world.report(occurred_at=at(2025, 2, 1, 0, 0, 0), channel=Channel.WALK_IN)
    noon = world.report(occurred_at=at(2025, 2, 10, 12, 0), category=Category.ROBBERY, priority=Priority.P1)
    cancelled = world.report(occurred_at=at(2025, 2, 11, 9, 0))
    first_of_march = world.report(occurred_at=at(2025, 3, 1, 0, 0, 0))
    for incident in (first_of_february, noon):
        app.dispatch_unit(incident, world.units[0], by=world.dispatcher, occurred_at=at(2025, 2, 10, 12, 2))
        app.mark_on_scene(incident, world.units[0], by=world.officer, occurred_at=at(2025, 2, 10, 12, 10))
        app.resolve_incident(
            incident, outcome=Outcome.ARREST, summary="", by=world.officer, occurred_at=at(2025, 2, 10, 12, 30)
        )
    app.reopen_incident(noon, reason="The suspect was released.", by=world.supervisor)
    app.cancel_incident(cancelled, cancel_reason=CancelReason.FALSE_REPORT, by=world.supervisor)
    container.projections.catch_up()
    head = world.head()
    engine = engine_of(container)

    february = engine.edition(Period.month("2568-02"), position=head).figures.incidents
    assert (february.reported, february.cancelled, february.counted, february.night, february.reopened) == (
        3,
        1,
        2,
        1,
        1,
    )
    assert february.resolution.numerator == 2  # reopened afterwards, still resolved by the cut-off
    assert (february.arrest.numerator, february.arrest.denominator) == (1, 1)  # the reopened one has no outcome now
    assert (
        february.response.count == 2
        and february.response.p90 == (at(2025, 2, 10, 12, 10) - at(2025, 2, 1)).total_seconds()
    )
    assert engine.edition(Period.month("2025-01"), position=head).figures.incidents.reported == 1
    assert engine.edition(Period.month("2025-03"), position=head).figures.incidents.reported == 1
    log = read_log(app)
    assert_equal_figures(
        figures_of(engine, Period.month("2025-02"), head), expected_figures(log, date(2025, 2, 1), date(2025, 2, 28))
    )
    assert {last_of_january, first_of_march}.isdisjoint(f.id for f in engine.incidents(Period.month("2025-02"), head))


def test_the_figures_as_of_a_position_stay_the_same_when_late_events_arrive_and_the_next_edition_has_them(
    container: Container, world: World
) -> None:
    app = world.app
    february = Period.month("2025-02")
    at = lambda *a: datetime(*a, tzinfo=BANGKOK)  # noqa: E731
    reported = [world.report(occurred_at=at(2025, 2, day, 20, 0)) for day in range(3, 9)]
    for day, incident in ((4, reported[1]), (5, reported[2]), (3, reported[0])):
        app.dispatch_unit(incident, world.units[0], by=world.dispatcher, occurred_at=at(2025, 2, day, 20, 4))
        if incident != reported[0]:
            app.resolve_incident(
                incident, outcome=Outcome.MEDIATED, summary="", by=world.officer, occurred_at=at(2025, 2, day, 21, 0)
            )
    container.projections.catch_up()
    cited = world.head()
    engine = engine_of(container)
    published = figures_of(engine, february, cited)

    # Recorded later, but happened in February: a report, and an earlier dispatch of an incident already dispatched.
    world.report(occurred_at=at(2025, 2, 20, 10, 0))
    app.dispatch_unit(reported[0], world.units[1], by=world.dispatcher, occurred_at=at(2025, 2, 3, 20, 1))
    container.projections.catch_up()
    head = world.head()

    assert figures_of(engine, february, cited) == published
    later = figures_of(engine, february, head)
    assert (published["incidents.reported"], later["incidents.reported"]) == (6, 7)
    assert (published["incidents.call_to_dispatch.count"], later["incidents.call_to_dispatch.count"]) == (3, 3)
    assert (published["incidents.call_to_dispatch.median"], later["incidents.call_to_dispatch.median"]) == (240, 240)
    assert min(f.dispatched_at for f in engine.incidents(february, head) if f.dispatched_at) == at(2025, 2, 3, 20, 1)
    log = read_log(app)
    assert_equal_figures(
        published, expected_figures([(n, e) for n, e in log if n <= cited], date(2025, 2, 1), date(2025, 2, 28))
    )
    assert_equal_figures(later, expected_figures(log, date(2025, 2, 1), date(2025, 2, 28)))


def test_a_bad_month_range_filter_or_position_is_refused_with_a_clear_message(
    container: Container, world: World
) -> None:
    world.report(occurred_at=datetime(2025, 2, 3, 12, 0, tzinfo=BANGKOK))
    container.projections.catch_up()
    head = world.head()
    engine = engine_of(container)
    cases = [
        (lambda: Period.month("2568-13"), "YYYY-MM"),
        (lambda: Period.month("May"), "YYYY-MM"),
        (lambda: Period.between(date(2025, 2, 5), date(2025, 2, 1)), "ends before it starts"),
        (lambda: Filters(community="atlantis"), "no community called atlantis"),
        (lambda: Filters(priority="P9"), "no priority called P9"),
        (lambda: engine.edition(Period.month("2024-12"), position=head), "starts later"),
        (lambda: engine.edition(Period.month("2099-01"), position=head), "not begun"),
        (lambda: engine.edition(Period.month("2025-02"), position=head + 100), "up to position"),
    ]
    for make, words in cases:
        with pytest.raises(InvalidInput) as refused:
            make()
        assert words in refused.value.message
    assert engine.edition(Period.month("2025-02"), position=head).figures.incidents.reported == 1


def test_the_day_night_and_channel_filters_apply_to_visits_and_alerts_where_they_mean_something(
    container: Container, world: World
) -> None:
    app = world.app
    at = lambda *a: datetime(*a, tzinfo=BANGKOK)  # noqa: E731
    box = app.register_red_box(
        code="RB-09",
        name_th="ตู้แดง 9",
        name_en="Red box 9",
        community=Community.KO_LOI,
        position=GeoPoint(19.9094, 99.8322),
        by=world.admin,
        occurred_at=at(2025, 1, 20, 9, 0),
    ).id
    for hour in (10, 14, 19, 23):  # two by day, two at night
        app.log_patrol_visit(
            box_id=box,
            token_version=1,
            by=world.officer,
            position=GeoPoint(19.9094, 99.8322),  # at the box: a counting visit
            occurred_at=at(2025, 2, 5, hour, 0),
        )
    camera = app.register_camera(
        code="CAM-09",
        name="Gate",
        community=Community.KO_LOI,
        owner=PartnerSector.POLICE,
        owner_name="Station",
        consent_reference="-",
        source="rtsp://cam9",
        by=world.admin,
        occurred_at=at(2025, 1, 20, 9, 0),
    ).id
    for hour in (11, 20, 21):  # one by day, two at night
        app.raise_camera_alert(
            camera_id=camera,
            kind=AlertKind.MOTION_IN_ZONE,
            score=0.9,
            snapshot_digest="0" * 64,
            frame_at=at(2025, 2, 6, hour),
        )
    world.report(occurred_at=at(2025, 2, 6, 12, 0))
    container.projections.catch_up()
    engine = engine_of(container)
    february = Period.month("2025-02")

    def figures(**filters: str) -> Figures:
        return engine.edition(february, filters=Filters.of(**filters)).figures

    everything, night, day = figures(), figures(time="night"), figures(time="day")
    assert (everything.patrol.counting, night.patrol.counting, day.patrol.counting) == (4, 2, 2)
    assert night.patrol.night_coverage == everything.patrol.night_coverage  # night coverage is night's anyway
    assert (everything.alerts.detection, night.alerts.detection, day.alerts.detection) == (3, 2, 1)
    assert figures(channel="cctv").alerts.detection == 3 and figures(channel="phone_191").alerts.detection == 0
    assert figures(priority="P1").alerts.detection == 3  # priority and category are incidents' only
    assert figures(community="klong_yao").patrol.counting == 0
