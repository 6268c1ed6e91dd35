"""A check-in is judged by the write side: the officer's unit and their previous visit come from what the log holds
this instant, not from read models, which may lag (here no projection runs at all)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.values import Community, GeoPoint
from tests.integration.conftest import World

CLOCK_TOWER = GeoPoint(19.90760, 99.83250)
WAT_JED_YOD = GeoPoint(19.90330, 99.82940)  # about 580 m from the clock tower


def test_a_check_in_knows_the_officers_unit_and_previous_visit_without_the_read_models(world: World) -> None:
    app = world.app
    now = [datetime.now(UTC)]
    app.clock = lambda: now[0]
    boxes = {
        code: app.register_red_box(
            code=code, name_th=code, name_en=code, community=Community.KO_LOI, position=where, by=world.admin
        ).id
        for code, where in (("RB-01", CLOCK_TOWER), ("RB-02", WAT_JED_YOD))
    }

    for unit in world.units:  # the officer crewed both units of the world; now only the first
        app.unit_off_duty(unit, by=world.supervisor)
    app.unit_on_duty(world.units[0], officer_ids=[world.officer], by=world.supervisor)

    first = app.check_in(code="RB-01", token=app.codes.token(boxes["RB-01"], 1), by=world.officer, position=CLOCK_TOWER)
    now[0] += timedelta(seconds=20)  # 580 m in 20 s: nobody on patrol makes that trip
    second = app.check_in(
        code="RB-02", token=app.codes.token(boxes["RB-02"], 1), by=world.officer, position=WAT_JED_YOD
    )

    assert app.state_at(first.id)["unit_id"] == world.units[0]
    judged = app.state_at(second.id)
    assert judged["unit_id"] == world.units[0]
    flagged = app.history(second.id)
    assert [entry.event for entry in flagged] == ["Logged", "Flagged"]
    assert (
        flagged[-1].details["finding"]["kind"] == "too_fast" and flagged[-1].details["finding"]["from_box"] == "RB-01"
    )


def test_a_voided_visit_is_not_the_one_the_next_check_in_is_judged_against(world: World) -> None:
    app = world.app
    now = [datetime.now(UTC)]
    app.clock = lambda: now[0]
    boxes = {
        code: app.register_red_box(
            code=code, name_th=code, name_en=code, community=Community.KO_LOI, position=where, by=world.admin
        ).id
        for code, where in (("RB-01", CLOCK_TOWER), ("RB-02", WAT_JED_YOD))
    }
    app.check_in(code="RB-02", token=app.codes.token(boxes["RB-02"], 1), by=world.officer, position=WAT_JED_YOD)
    now[0] += timedelta(minutes=30)
    mistaken = app.check_in(code="RB-01", token=app.codes.token(boxes["RB-01"], 1), by=world.officer)
    app.void_visit(mistaken.id, reason="scanned by mistake", by=world.supervisor)
    now[0] += timedelta(seconds=20)  # right after the voided one, but half an hour after the standing one
    later = app.check_in(code="RB-01", token=app.codes.token(boxes["RB-01"], 1), by=world.officer, position=CLOCK_TOWER)
    assert [entry.event for entry in app.history(later.id)] == ["Logged"]
