"""The zone map and the nearest unit, on both stores: units' positions from the crew's phones, imprecise fixes kept
but not used, the dispatch form's units nearest first with their distance, the map's data, a point outside the zone,
and the crew's "received" in the read model."""

from __future__ import annotations

import re
from collections.abc import Iterator
from uuid import UUID

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from application.dispatch_order import nearest_first
from domain.values import GeoPoint, UnitKind
from infrastructure.zone_map import zone_map
from tests.integration.conftest import World
from tests.integration.web_support import head, signed_in
from web.app import create_app

SCENE = GeoPoint(19.9100, 99.8325)  # Rua Lek Tai, the zone's middle


@pytest.fixture
def app(container, world: World) -> Iterator[FastAPI]:
    app = create_app(container, run_projections=True)
    with TestClient(app):  # runs the lifespan: projections follow the log in this process
        seen(container)
        yield app


def seen(container) -> None:  # noqa: ANN001
    assert container.projections.wait(head(container), timeout=30)


def _unit(world: World, call_sign: str, where: GeoPoint | None, accuracy: float = 15.0) -> UUID:
    app = world.app
    unit = app.register_unit(call_sign=call_sign, kind=UnitKind.CAR, by=world.admin).id
    app.unit_on_duty(unit, officer_ids=[world.officer], by=world.supervisor)
    if where is not None:
        app.report_unit_position(unit, position=where, accuracy_m=accuracy, by=world.officer)
    return unit


def test_dispatch_suggests_the_nearest_available_units_first_with_their_distance(container, world: World, app) -> None:
    east_800 = GeoPoint(19.9100, 99.8325 + 800 / 104_700)
    north_200 = GeoPoint(19.9100 + 200 / 110_540, 99.8325)
    _unit(world, "FAR-1", east_800)
    _unit(world, "NEAR-1", north_200)
    _unit(world, "VAGUE-1", SCENE, accuracy=5000)  # at the scene, says the phone, within 5 km: not trusted
    busy = _unit(world, "BUSY-1", SCENE)
    incident = world.report(position=SCENE)
    world.app.dispatch_unit(world.report(), busy, by=world.dispatcher)
    seen(container)

    units = container.reads.units()
    vague = next(u for u in units if u["call_sign"] == "VAGUE-1")
    assert vague["accuracy_m"] == 5000 and vague["lat"] == SCENE.lat  # kept, as recorded
    ordered = [(u["call_sign"], u["distance_m"]) for u in nearest_first(units, SCENE)]
    names = [name for name, _ in ordered]
    assert names[:2] == ["NEAR-1", "FAR-1"] and names[-1] == "BUSY-1"  # busy ones after every available one
    assert abs(ordered[0][1] - 200) <= 3 and abs(ordered[1][1] - 800) <= 3
    assert {name: d for name, d in ordered}["VAGUE-1"] is None  # no distance from an imprecise fix
    assert {name: d for name, d in ordered}["M-01"] is None  # no position reported

    dispatcher = signed_in(app, container, world.dispatcher)
    reference = container.reads.incident(incident)["reference"]
    page = dispatcher.get(f"/incidents/{reference}").text
    picker = page[page.index('class="unit-picker"') :]
    names = re.findall(r"<strong>([A-Z]+-\d+)</strong>", picker)
    assert names[:2] == ["NEAR-1", "FAR-1"]
    assert re.search(r"(199|200|201|202) ม\.", picker) and re.search(r"(79\d|80\d) ม\.", picker)  # Thai first


def test_the_map_shows_open_incidents_and_units_where_they_are(container, world: World, app) -> None:
    _unit(world, "CAR-9", SCENE)
    incident = world.report(position=SCENE)
    seen(container)
    data = signed_in(app, container, world.dispatcher).get("/map/data").json()

    assert len(data["communities"]) == 9 and data["tiles"] == ""
    [spot] = [i for i in data["incidents"] if i["reference"] == container.reads.incident(incident)["reference"]]
    assert (spot["lat"], spot["lon"]) == (SCENE.lat, SCENE.lon)
    [car] = [u for u in data["units"] if u["call_sign"] == "CAR-9"]
    assert (car["lat"], car["lon"], car["imprecise"]) == (SCENE.lat, SCENE.lon, False)
    admin = signed_in(app, container, world.admin).get("/map/data").json()
    assert "incidents" not in admin and "units" not in admin  # boxes and cameras only


@pytest.mark.parametrize("store_kind", ["sqlite"])  # the pages; the store-dependent reads run on both above
def test_a_report_outside_the_zone_is_kept_and_says_so(container, world: World, app) -> None:
    dispatcher = signed_in(app, container, world.dispatcher)
    form = {
        "channel": "phone_191",
        "category": "theft",
        "priority": "P3",
        "community": "ko_loi",
        "location": "Central Plaza, beyond the zone",
        "description": "A wallet taken.",
        "lat": "19.8800",
        "lon": "99.8500",
    }
    answer = dispatcher.post("/incidents", form)
    assert answer.status_code == 303
    page = dispatcher.get(answer.headers["location"]).text
    assert "data-outside-zone" in page and "นอกชุมชน" in page  # "outside the zone's communities", in Thai
    assert not zone_map().contains(GeoPoint(19.88, 99.85)) and zone_map().contains(SCENE)


@pytest.mark.parametrize("store_kind", ["sqlite"])  # the pages; the store-dependent reads run on both above
def test_a_landmark_gives_the_report_its_point(container, world: World, app) -> None:
    seen(container)
    dispatcher = signed_in(app, container, world.dispatcher)
    landmark = zone_map().landmarks()[0]
    form = {
        "channel": "walk_in",
        "category": "other",
        "priority": "P4",
        "community": landmark.community,
        "location": "By the landmark",
        "description": "Lost child found.",
        "landmark": landmark.key,
    }
    answer = dispatcher.post("/incidents", form)
    assert answer.status_code == 303
    reference = answer.headers["location"].rsplit("/", 1)[1]
    seen(container)
    row = container.reads.search_incidents().items
    [mine] = [r for r in row if r["reference"] == reference]
    assert (mine["lat"], mine["lon"]) == (landmark.point.lat, landmark.point.lon)
    bad = dispatcher.post("/incidents", {**form, "landmark": "landmark/nowhere"})
    assert bad.status_code == 422


@pytest.mark.parametrize("store_kind", ["sqlite"])  # the pages; the store-dependent reads run on both above
def test_an_officer_shares_a_position_and_is_told_when_it_is_imprecise(container, world: World, app) -> None:
    seen(container)
    officer = signed_in(app, container, world.officer)
    fine = officer.post("/my/position", {"pos_lat": "19.91", "pos_lon": "99.8325", "pos_accuracy": "12"})
    assert fine.status_code == 200 and fine.json()["units"] == ["M-01", "M-02"]
    vague = officer.post("/my/position", {"pos_lat": "19.91", "pos_lon": "99.8325", "pos_accuracy": "5000"})
    assert vague.status_code == 200 and vague.json()["imprecise"] is True
    assert "5,000" in vague.json()["message"] or "5000" in vague.json()["message"]
    for bad in ({"pos_lat": "95", "pos_lon": "99.8", "pos_accuracy": "5"}, {"pos_lat": "x"}, {}):
        assert officer.post("/my/position", bad).status_code == 422


def test_the_crews_received_is_in_the_read_model_and_on_the_incident_page(container, world: World, app) -> None:
    incident = world.report(position=SCENE)
    world.app.dispatch_unit(incident, world.units[0], by=world.dispatcher)
    seen(container)
    reference = container.reads.incident(incident)["reference"]
    officer = signed_in(app, container, world.officer)
    assert "Received" in officer.get("/my").text or "รับทราบ" in officer.get("/my").text
    done = officer.post(f"/incidents/{reference}/units/{world.units[0]}/acknowledge", {"next": "/my"})
    assert done.status_code == 303
    [unit] = container.reads.incident(incident)["units"]
    assert unit["acknowledged_at"]
    again = officer.post(f"/incidents/{reference}/units/{world.units[0]}/acknowledge", {"next": "/my"})
    assert again.status_code == 409


@pytest.mark.parametrize("store_kind", ["sqlite"])  # the pages; the store-dependent reads run on both above
def test_an_administrator_moves_a_camera_and_a_red_box(container, world: World, app) -> None:
    from domain.values import Community, PartnerSector

    camera = world.app.register_camera(
        code="CAM-77",
        name="Gate",
        community=Community.KO_LOI,
        owner=PartnerSector.POLICE,
        owner_name="Station",
        consent_reference="-",
        source="rtsp://cam",
        by=world.admin,
    ).id
    world.app.register_red_box(
        code="RB-77", name_th="ตู้", name_en="Box", community=Community.KO_LOI, position=SCENE, by=world.admin
    )
    seen(container)
    admin = signed_in(app, container, world.admin)
    moved = admin.post(f"/cameras/{camera}/move", {"lat": "19.912", "lon": "99.829", "reason": "New pole"})
    assert moved.status_code == 303
    assert admin.post(f"/cameras/{camera}/move", {"lat": "95", "lon": "99.829", "reason": "x"}).status_code == 422
    box = admin.post("/red-boxes/RB-77/move", {"lat": "19.9105", "lon": "99.833", "reason": "Rebuilt"})
    assert box.status_code == 303
    seen(container)
    cam = next(c for c in container.reads.cameras() if c["code"] == "CAM-77")
    assert (cam["lat"], cam["lon"]) == (19.912, 99.829)
    assert container.reads.red_box_by_code("RB-77")["lat"] == 19.9105


def test_base_tiles_are_optional_and_allowed_by_the_pages_policy_only_when_set(tmp_path) -> None:
    from infrastructure.bootstrap import bootstrap
    from infrastructure.settings import Settings
    from tests.integration.conftest import build_world

    url = "https://{s}.tiles.example/{z}/{x}/{y}.png"
    container = bootstrap(Settings(environment="test", data_dir=tmp_path / "data", tile_url=url))
    try:
        world = build_world(container.app)
        app = create_app(container, run_projections=True)
        with TestClient(app):
            seen(container)
            dispatcher = signed_in(app, container, world.dispatcher)
            answer = dispatcher.get("/map/data")
            assert answer.json()["tiles"] == url
            assert "img-src 'self' data: https://*.tiles.example;" in answer.headers["content-security-policy"]
    finally:
        container.close()


@pytest.mark.parametrize("store_kind", ["sqlite"])  # the pages; the store-dependent reads run on both above
def test_the_boards_quick_dispatch_gets_each_pending_incidents_units_nearest_first(
    container, world: World, app
) -> None:
    from web.live import board_context

    _unit(world, "FAR-2", GeoPoint(19.9100, 99.8325 + 600 / 104_700))
    _unit(world, "NEAR-2", GeoPoint(19.9100 + 100 / 110_540, 99.8325))
    incident = world.report(position=SCENE)
    seen(container)
    reference = container.reads.incident(incident)["reference"]
    with_position = board_context(container, can_act=True)["suggested_units"][reference]
    assert [u["call_sign"] for u in with_position][:2] == ["NEAR-2", "FAR-2"]
    assert with_position[0]["distance_m"] is not None and with_position[-1]["distance_m"] is None
