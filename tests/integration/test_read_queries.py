"""What the screens ask of the read models, on real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import InvalidInput
from domain.values import Category, Channel, Community, GeoPoint, Outcome, Priority
from infrastructure.bootstrap import Container
from infrastructure.readmodels.queries import IncidentFilter
from tests.integration.conftest import World


@pytest.fixture
def zone(container: Container, world: World):
    now = datetime.now(UTC)
    specs = [  # (hours ago, priority, category, community, channel)
        (30, Priority.P3, Category.THEFT, Community.KO_LOI, Channel.PHONE_191),
        (20, Priority.P1, Category.ASSAULT, Community.SI_KOET, Channel.MOBILE_SOS),
        (10, Priority.P2, Category.THEFT, Community.SI_KOET, Channel.WALK_IN),
        (5, Priority.P1, Category.SEXUAL_HARASSMENT, Community.CHET_YOT, Channel.MOBILE_SOS),
        (1, Priority.P4, Category.DISTURBANCE, Community.KO_LOI, Channel.PHONE_191),
    ]
    ids = [
        world.report(occurred_at=now - timedelta(hours=h), priority=p, category=c, community=m, channel=ch)
        for h, p, c, m, ch in specs
    ]
    app = world.app
    app.dispatch_unit(ids[1], world.units[0], by=world.dispatcher)
    app.mark_on_scene(ids[1], world.units[0], by=world.officer)
    app.resolve_incident(ids[0], outcome=Outcome.REPORT_FILED, summary="", by=world.dispatcher)
    app.close_incident(ids[0], by=world.supervisor)
    container.projections.catch_up()
    return container, world, ids, now


def refs(page) -> list[str]:
    return [i["reference"][-6:] for i in page.items]


def test_incidents_are_found_by_each_filter_and_their_combination(zone) -> None:
    container, _, _, now = zone
    search = container.reads.search_incidents
    assert refs(search(IncidentFilter(community=("si_koet",)))) == ["000003", "000002"]
    assert refs(search(IncidentFilter(category=("theft",), community=("si_koet",)))) == ["000003"]
    assert refs(search(IncidentFilter(priority=("P1",)))) == ["000004", "000002"]
    assert refs(search(IncidentFilter(channel=("phone_191",)))) == ["000005", "000001"]
    assert refs(search(IncidentFilter(status=("closed",)))) == ["000001"]
    assert refs(search(IncidentFilter(status=("on_scene",)))) == ["000002"]
    window = IncidentFilter(reported_from=now - timedelta(hours=21), reported_to=now - timedelta(hours=4))
    assert refs(search(window)) == ["000004", "000003", "000002"]
    assert refs(search(IncidentFilter(reference=f"cr-{now.year + 543}-00000"))) == [
        "000005",
        "000004",
        "000003",
        "000002",
        "000001",
    ]
    assert search(IncidentFilter(reference="CR-2400-")).total == 0


def test_incidents_come_in_pages_in_the_order_asked(zone) -> None:
    container, *_ = zone
    first = container.reads.search_incidents(page=1, page_size=2, sort="reported_at", direction="asc")
    second = container.reads.search_incidents(page=2, page_size=2, sort="reported_at", direction="asc")
    last = container.reads.search_incidents(page=3, page_size=2, sort="reported_at", direction="asc")
    assert (refs(first), refs(second), refs(last)) == (["000001", "000002"], ["000003", "000004"], ["000005"])
    assert first.total == 5 and first.pages == 3
    with pytest.raises(InvalidInput):
        container.reads.search_incidents(page=0)
    with pytest.raises(InvalidInput):
        container.reads.search_incidents(page_size=10_000)
    with pytest.raises(InvalidInput):
        container.reads.search_incidents(sort="description; DROP TABLE rm_incidents")


def test_the_board_shows_open_incidents_most_urgent_first_with_their_units(zone) -> None:
    container, world, ids, _ = zone
    board = container.reads.board()
    assert [i["reference"][-6:] for i in board.incidents] == ["000002", "000004", "000003", "000005"]
    on_scene = board.incidents[0]
    assert on_scene["status"] == "on_scene" and on_scene["units"] == [
        {"unit_id": str(world.units[0]), "call_sign": "M-01", "state": "on_scene"}
    ]
    assert [u["call_sign"] for u in board.units] == ["M-01", "M-02"]
    assert board.units[0]["status"] == "assigned" and board.units[0]["incident_id"] == ids[1]
    assert [i["reference"][-6:] for i in board.recently_closed] == ["000001"]


def test_a_timeline_reads_in_order_with_actor_and_both_times(zone) -> None:
    container, world, ids, _ = zone
    timeline = container.reads.timeline(ids[1])
    assert [e["event"] for e in timeline] == ["Reported", "UnitDispatched", "UnitOnScene"]
    assert [e["actor_role"] for e in timeline] == ["dispatcher", "dispatcher", "officer"]
    assert all(e["occurred_at"].tzinfo and e["recorded_at"].tzinfo for e in timeline)
    assert timeline[0]["recorded_at"] > timeline[0]["occurred_at"]


def test_patrol_visits_are_counted_per_box_day_and_two_hour_slot(container: Container, world: World) -> None:
    app = world.app
    box = app.register_red_box(
        code="RB-01",
        name_th="ตู้แดง 1",
        name_en="Red box 1",
        community=Community.KO_LOI,
        position=GeoPoint(19.9094, 99.8322),
        by=world.admin,
    ).id
    night = datetime(2026, 11, 24, 15, 10, tzinfo=UTC)  # 22:10 in Bangkok: slot 11
    at_box = GeoPoint(19.9094, 99.8322)
    first = app.log_patrol_visit(box_id=box, token_version=1, by=world.officer, occurred_at=night, position=at_box).id
    app.log_patrol_visit(
        box_id=box, token_version=1, by=world.officer, occurred_at=night + timedelta(minutes=50), position=at_box
    )
    app.log_patrol_visit(
        box_id=box,
        token_version=1,
        by=world.officer,
        occurred_at=night + timedelta(hours=3),
        position=GeoPoint(19.95, 99.9),
    )  # far from the box: flagged; 01:10 next day, slot 0
    app.void_visit(first, reason="Scanned by mistake", by=world.supervisor)
    container.projections.catch_up()
    slots = container.reads.visit_slots(night.date(), night.date() + timedelta(days=1))
    assert [(s["local_day"].isoformat(), s["slot"], s["valid"], s["flagged"], s["voided"]) for s in slots] == [
        ("2026-11-24", 11, 1, 0, 1),
        ("2026-11-25", 0, 0, 1, 0),
    ]
