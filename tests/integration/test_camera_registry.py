"""The camera registry on real SQLite and real PostgreSQL: its read model equals a recomputation from the log,
the cameras page shows each camera's health as the workers and the open tamper/offline alerts tell it, a camera's
source (which may hold a password) reaches only administrators and only masked, and bad ids or bad forms are a
clear 4xx that changes nothing."""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, update

from domain.values import AlertKind, Community, DetectionRule, GeoPoint, PartnerSector, Role, Zone
from infrastructure.bootstrap import Container
from infrastructure.tables import camera_leases
from infrastructure.vision.worker import CameraWorker, WorkerOptions
from tests.integration.conftest import PASSWORD, World, build_world
from tests.integration.recompute import differences, expected_tables, read_log, read_tables
from tests.integration.web_support import Browser, head, signed_in
from web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
CLIP = ROOT / "tests" / "media" / "worker-zone-detection.gif"
PASSWORD_IN_URL = "s3cret-Pw"
NIGHT = DetectionRule(AlertKind.PERSON_AT_NIGHT, start=clock_time(18, 0), end=clock_time(6, 0), min_score=0.6)
GATE = Zone("gate", ((0.1, 0.1), (0.9, 0.1), (0.5, 0.9)))


class Site:
    def __init__(self, app, container: Container, world: World):  # noqa: ANN001
        self.app, self.container, self.world = app, container, world
        self.auditor = container.app.create_user(
            username="auditor", display_name="Auditor", role=Role.AUDITOR, password=PASSWORD, by=world.admin
        ).id
        self.partner = container.app.create_user(
            username="partner", display_name="Partner", role=Role.PARTNER, password=PASSWORD, by=world.admin
        ).id

    def register(self, code: str, *, source: str = "rtsp://10.71.1.11:554/stream1", **fields: Any) -> UUID:
        values = dict(
            name=f"Camera {code}",
            community=Community.KO_LOI,
            owner=PartnerSector.BUSINESS,
            owner_name="Tower Hotel",
            consent_reference="MOU 2569/4",
        )
        values.update(fields)
        return self.container.app.register_camera(code=code, source=source, by=self.world.admin, **values).id

    def settle(self) -> None:
        assert self.container.projections.wait(head(self.container), timeout=30)

    def person(self, user_id: UUID) -> Browser:
        b = signed_in(self.app, self.container, user_id)
        b.post("/lang", {"lang": "en", "next": "/cameras"})  # the assertions read English words
        return b


@pytest.fixture
def site(container: Container) -> Iterator[Site]:
    world = build_world(container.app)
    app = create_app(container, run_projections=True)
    with TestClient(app):  # runs the lifespan: projections follow the log in this process
        s = Site(app, container, world)
        s.settle()
        yield s


def row_of(page: str, code: str) -> str:
    row = page[page.index(f'data-camera="{code}"') :]
    return row[: row.index("</tr>")]


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- the read model ------------------------------------------------------------------------------------
def test_the_registry_equals_an_independent_recomputation_from_the_log_after_a_catch_up_and_after_a_rebuild(
    container: Container,
) -> None:
    world = build_world(container.app)
    app = container.app
    kinds = dict(
        name="Clock tower east",
        community=Community.WAT_PHRA_KAEO,
        owner=PartnerSector.BUSINESS,
        owner_name="Tower Hotel",
        consent_reference="MOU 2569/4",
    )
    secret = app.register_camera(
        code="CAM-01",
        source=f"rtsp://admin:{PASSWORD_IN_URL}@10.71.1.11:554/stream1",
        position=GeoPoint(19.9105, 99.8406),
        by=world.admin,
        **kinds,
    ).id
    query = app.register_camera(
        code="CAM-02",
        source=f"http://10.71.1.12/video.cgi?user=viewer&pwd={PASSWORD_IN_URL}&ch=2",
        by=world.admin,
        **kinds,
    ).id
    plain_file = app.register_camera(code="cam-03", source="/srv/footage/market.mp4", by=world.admin, **kinds).id
    app.set_camera_zones(secret, zones=[GATE, Zone("lane", ((0, 0), (1, 0), (1, 1)))], by=world.admin)
    app.set_camera_rules(secret, rules=[NIGHT, DetectionRule(AlertKind.MOTION_IN_ZONE)], by=world.admin)
    app.set_camera_zones(secret, zones=[GATE], by=world.admin)  # the latest zones count
    app.retire_camera(query, reason="Shop closed", by=world.admin)
    container.projections.catch_up()

    expected = expected_tables(read_log(container.app))["rm_cameras"]
    actual = read_tables(container.engine)["rm_cameras"]
    assert not differences({"rm_cameras": expected}, {"rm_cameras": actual})
    assert len(actual) == 3
    # The masking spelled out, so that a wrong recomputation could not hide it.
    assert actual[(secret,)]["source"] == "rtsp://***@10.71.1.11:554/stream1"
    assert actual[(query,)]["source"] == "http://10.71.1.12/video.cgi?user=***&pwd=***&ch=2"
    assert actual[(plain_file,)]["source"] == "/srv/footage/market.mp4"
    assert actual[(secret,)]["rules"][0] == {
        "kind": "person_at_night",
        "start": "18:00:00",
        "end": "06:00:00",
        "min_score": 0.6,
        "min_area": 0.0,
        "zone": "",
        "dwell": 0,
    }
    assert [z["name"] for z in actual[(secret,)]["zones"]] == ["gate"]
    assert actual[(query,)]["retired"] in (True, 1) and actual[(plain_file,)]["code"] == "CAM-03"
    reads = container.reads.camera(secret)
    assert (reads["lat"], reads["lon"], reads["version"]) == (19.9105, 99.8406, 4)

    container.projections.rebuild(["cameras"])
    assert read_tables(container.engine)["rm_cameras"] == actual


# --- the pages ------------------------------------------------------------------------------------------
def test_the_page_lists_every_camera_with_its_owner_consent_zones_schedule_status_and_health(site: Site) -> None:
    app, container = site.container.app, site.container
    healthy = site.register(
        "CAM-11",
        name="Clock tower east",
        community=Community.WAT_PHRA_KAEO,
        owner=PartnerSector.LOCAL_GOVERNMENT,
        owner_name="Wiang municipality",
        consent_reference="MOU 7/2569",
    )
    app.set_camera_zones(healthy, zones=[GATE], by=site.world.admin)
    app.set_camera_rules(healthy, rules=[NIGHT], by=site.world.admin)
    site.register("CAM-12")  # registered, never watched
    gone = site.register("CAM-13")  # a worker held it, then stopped
    tampered = site.register("CAM-14")
    offline = site.register("CAM-15")
    retired = site.register("CAM-10")
    app.retire_camera(retired, reason="Pole removed", by=site.world.admin)
    tamper_alert = app.raise_camera_alert(
        camera_id=tampered,
        kind=AlertKind.TAMPERED,
        score=1.0,
        snapshot_digest="a" * 64,
        frame_at=datetime.now(UTC) - timedelta(minutes=5),
        detail="covered",
    ).id
    app.raise_camera_alert(
        camera_id=offline,
        kind=AlertKind.OFFLINE,
        score=1.0,
        snapshot_digest="",
        frame_at=datetime.now(UTC) - timedelta(minutes=3),
    )
    # An alert that was decided is history, not health.
    old = app.raise_camera_alert(
        camera_id=healthy,
        kind=AlertKind.TAMPERED,
        score=1.0,
        snapshot_digest="b" * 64,
        frame_at=datetime.now(UTC) - timedelta(hours=2),
    ).id
    app.close_alert(old, reason="camera view back to normal", by=site.world.dispatcher)
    now = datetime.now(UTC)
    beat = now - timedelta(seconds=1)
    with container.engine.begin() as conn:  # the workers' own table, as a worker writes it
        for camera, owner, expires, status in (
            (healthy, "w1", now + timedelta(seconds=8), "streaming"),
            (gone, None, None, "unowned"),
            (tampered, "w1", now + timedelta(seconds=8), "streaming"),
            (offline, "w1", now + timedelta(seconds=8), "offline"),
        ):
            conn.execute(
                insert(camera_leases).values(
                    camera_id=camera,
                    code="?",
                    source="?",
                    retired=False,
                    config_version=1,
                    owner=owner,
                    lease_expires_at=expires,
                    status=status,
                    fps=12.5,
                    last_frame_at=beat,
                    reconnects=0,
                    open_alerts="{}",
                    health_at=beat if owner else now - timedelta(hours=1),
                    updated_at=now,
                )
            )
    site.settle()

    page = site.person(site.world.dispatcher).get("/cameras")
    assert page.status_code == 200
    row = text(row_of(page.text, "CAM-11"))
    for words in (
        "Clock tower east",
        "Wat Phra Kaeo",
        "Wiang municipality",
        "Local government",
        "MOU 7/2569",
        "gate",
        "Person at night 18:00–06:00",
        "Healthy",
        "Last heartbeat",
        "In service",
    ):
        assert words in row, (words, row)
    assert "Whole picture" in text(row_of(page.text, "CAM-12")) and "Tamper checks only" in text(
        row_of(page.text, "CAM-12")
    )
    assert "No worker" in text(row_of(page.text, "CAM-12")) and "Never watched by a worker" in text(
        row_of(page.text, "CAM-12")
    )
    assert "No worker" in text(row_of(page.text, "CAM-13")) and "Last heartbeat" in text(row_of(page.text, "CAM-13"))
    tampered_row = row_of(page.text, "CAM-14")
    assert (
        "Tampered since" in text(tampered_row)
        and "covered" in tampered_row
        and f'href="/alerts/{tamper_alert}"' in tampered_row
    )
    assert "Offline since" in text(row_of(page.text, "CAM-15"))
    assert "Retired" in text(row_of(page.text, "CAM-10")) and "Healthy" not in text(row_of(page.text, "CAM-10"))
    assert page.text.index('data-camera="CAM-15"') < page.text.index('data-camera="CAM-10"')  # retired ones last

    # In Thai: the community and the sector are translated too.
    thai = signed_in(site.app, container, site.world.supervisor).get("/cameras").text
    assert "วัดพระแก้ว" in row_of(thai, "CAM-11") and "องค์กรปกครองส่วนท้องถิ่น" in row_of(thai, "CAM-11")


def test_only_an_administrator_sees_a_cameras_source_and_only_masked(site: Site) -> None:
    camera = site.register("CAM-21", source=f"rtsp://admin:{PASSWORD_IN_URL}@10.71.9.21:554/stream1")
    site.container.app.set_camera_rules(camera, rules=[NIGHT], by=site.world.admin)
    site.settle()
    for who in (site.world.dispatcher, site.world.supervisor, site.auditor):
        browser = site.person(who)
        for path in ("/cameras", f"/cameras/{camera}"):
            page = browser.get(path)
            assert page.status_code == 200, (who, path)
            assert "CAM-21" in page.text
            assert "10.71.9.21" not in page.text and "rtsp://" not in page.text and PASSWORD_IN_URL not in page.text
    admin = site.person(site.world.admin)
    for path in ("/cameras", f"/cameras/{camera}"):
        page = admin.get(path).text
        assert "rtsp://***@10.71.9.21:554/stream1" in page
        assert PASSWORD_IN_URL not in page and "admin:" not in page
    for who in (site.world.officer, site.partner):
        assert site.person(who).get("/cameras").status_code == 403
        assert site.person(who).get(f"/cameras/{camera}").status_code == 403


def test_a_cameras_page_shows_its_details_recent_alerts_and_history_in_words(site: Site) -> None:
    app = site.container.app
    camera = site.register(
        "CAM-31",
        name="Night market south",
        community=Community.SI_KOET,
        owner=PartnerSector.CITIZENS,
        owner_name="Si Koet community committee",
        consent_reference="Meeting 3/2569",
        source=f"rtsp://u:{PASSWORD_IN_URL}@10.71.6.31/s",
    )
    app.set_camera_zones(camera, zones=[GATE], by=site.world.admin)
    app.set_camera_rules(camera, rules=[NIGHT], by=site.world.admin)
    alert = app.raise_camera_alert(
        camera_id=camera,
        kind=AlertKind.PERSON_AT_NIGHT,
        score=0.9,
        snapshot_digest="c" * 64,
        frame_at=datetime.now(UTC) - timedelta(minutes=1),
        zone="gate",
    ).id
    site.settle()
    for path in (f"/cameras/{camera}", "/cameras/CAM-31", "/cameras/cam-31"):  # by id or by code
        page = site.person(site.world.dispatcher).get(path)
        assert page.status_code == 200, path
        words = text(page.text)
        assert "Night market south" in words and "Si Koet community committee" in words and "Citizens" in words
        assert "Meeting 3/2569" in words and "Person at night 18:00–06:00" in words
        assert f'href="/alerts/{alert}"' in page.text
        assert "Registered: Night market south, Si Koet; owner Si Koet community committee (Citizens)" in words
        assert "Detection zones set: gate" in words and "Detection rules set: Person at night 18:00–06:00" in words
        assert PASSWORD_IN_URL not in page.text and "10.71.6.31" not in page.text
        assert "Retire the camera" not in words  # administrators only
    assert "Retire the camera" in text(site.person(site.world.admin).get(f"/cameras/{camera}").text)


def test_bad_or_unknown_camera_ids_are_a_404_never_a_500(site: Site) -> None:
    site.register("CAM-41")
    site.settle()
    dispatcher, admin = site.person(site.world.dispatcher), site.person(site.world.admin)
    before = head(site.container)
    for path in (
        "/cameras/not-a-camera",
        f"/cameras/{uuid4()}",
        "/cameras/%20",
        "/cameras/" + "X" * 300,
        "/cameras/%00",
        "/cameras/CAM-41%27--",
    ):
        assert dispatcher.get(path).status_code == 404, path
        assert admin.post(f"{path}/retire", {"reason": "gone"}).status_code == 404, path
    assert head(site.container) == before


# --- administrators' actions -----------------------------------------------------------------------------
def test_an_administrator_registers_and_retires_a_camera_through_the_page(site: Site) -> None:
    admin = site.person(site.world.admin)
    form = {
        "code": "cam-51",
        "name": "River walk",
        "community": "chet_yot",
        "owner": "state_agency",
        "owner_name": "District office",
        "consent_reference": "Letter 88/2569",
        "source": f"rtsp://ops:{PASSWORD_IN_URL}@10.71.8.51:554/main",
        "lat": "19.9101",
        "lon": "99.8411",
    }
    done = admin.post("/cameras", form)
    assert done.status_code == 303
    location = done.headers["location"]
    page = admin.get(location)
    assert page.status_code == 200
    assert "CAM-51" in page.text and "rtsp://***@10.71.8.51:554/main" in page.text and PASSWORD_IN_URL not in page.text
    assert "No worker" in text(page.text)
    # The log records the source without its password, which a worker puts back from outside the log.
    camera = site.container.app.load(UUID(location.rsplit("/", 1)[1]), fresh=True)
    assert camera.source == "rtsp://ops@10.71.8.51:554/main"
    worker = CameraWorker(
        site.container.app,
        site.container.engine,
        site.container.settings,
        secrets=site.container.camera_secrets,
        worker_id="test-worker",
    )
    assert worker.source_of(camera) == form["source"]

    again = admin.post("/cameras", form)  # the same code twice
    assert again.status_code == 422 and "A camera with code CAM-51 exists already." in again.text

    retired = admin.post(f"{location}/retire", {"reason": "Moved to the bridge"})
    assert retired.status_code == 303
    page = text(admin.get(location).text)
    assert "Retired" in page and "Moved to the bridge" in page and "Retire the camera" not in page
    before = head(site.container)
    twice = admin.post(f"{location}/retire", {"reason": "again"})
    assert twice.status_code == 422 and "is retired" in twice.text
    assert head(site.container) == before


@pytest.mark.parametrize(
    "change, field_message",
    [
        ({"name": ""}, "Please fill this in."),
        ({"code": "no spaces here"}, "A code is 2–24 letters"),
        ({"community": "atlantis"}, "Please choose one of the options."),
        ({"owner": ""}, "Please choose one."),
        ({"lat": "19.9"}, "Give both the latitude and the longitude, or neither."),
        ({"lat": "123", "lon": "99"}, "latitude between -90 and 90"),
        ({"lat": "nan", "lon": "99"}, "Please give a number."),
        ({"source": ""}, "Please fill this in."),
        ({"owner_name": "x" * 20_000}, "This is far too long."),
    ],
)
def test_a_bad_registration_is_refused_at_its_field_and_stores_nothing(
    site: Site, change: dict, field_message: str
) -> None:
    admin = site.person(site.world.admin)
    form = {
        "code": "CAM-61",
        "name": "Lane",
        "community": "ko_loi",
        "owner": "police",
        "owner_name": "Station",
        "consent_reference": "-",
        "source": f"rtsp://a:{PASSWORD_IN_URL}@10.1.1.1/s",
        "lat": "",
        "lon": "",
    }
    before = head(site.container)
    refused = admin.post("/cameras", {**form, **change})
    assert refused.status_code == 422
    assert field_message in refused.text
    assert PASSWORD_IN_URL not in refused.text  # the typed source is not echoed back
    assert head(site.container) == before


def test_only_administrators_may_register_or_retire_cameras(site: Site) -> None:
    camera = site.register("CAM-71")
    site.settle()
    before = head(site.container)
    for who in (site.world.dispatcher, site.world.supervisor, site.auditor, site.world.officer, site.partner):
        browser = site.person(who)
        assert (
            browser.post(
                "/cameras",
                {
                    "code": "CAM-72",
                    "name": "x",
                    "community": "ko_loi",
                    "owner": "police",
                    "owner_name": "x",
                    "consent_reference": "x",
                    "source": "x",
                },
            ).status_code
            == 403
        )
        assert browser.post(f"/cameras/{camera}/retire", {"reason": "x"}).status_code == 403
        assert "Register a camera" not in browser.get("/cameras").text
    assert head(site.container) == before


# --- health from a real worker ---------------------------------------------------------------------------
def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return value


def test_health_follows_a_real_worker_streaming_a_camera_and_says_no_worker_once_it_stops(
    site: Site, tmp_path: Path
) -> None:
    clip = tmp_path / "cam81.gif"
    shutil.copy(CLIP, clip)
    camera = site.register("CAM-81", source=str(clip))
    broken = site.register("CAM-82", source=str(tmp_path / "missing.mp4"))
    site.settle()
    reads = site.container.reads
    assert reads.camera(camera)["health"]["state"] == "no_worker"

    worker = CameraWorker(
        site.container.app,
        site.container.engine,
        site.container.settings,
        secrets=site.container.camera_secrets,
        options=WorkerOptions(lease_seconds=4, tick_seconds=0.25),
        worker_id="test-worker",
    )
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_until(lambda: reads.camera(camera)["health"]["state"] in ("healthy", "ended"), 30, "the camera streaming")
        wait_until(
            lambda: (
                reads.camera(broken)["health"]["state"] == "offline"
                and reads.camera(broken)["health"]["since"] is not None
            ),
            30,
            "the missing source's offline alert",
        )
        page = text(site.person(site.world.dispatcher).get("/cameras").text)
        assert re.search(r"CAM-82 .*Offline since", page)
    finally:
        stop.set()
        thread.join(timeout=20)
    assert not thread.is_alive()
    after = reads.camera(camera)["health"]
    assert after["state"] == "no_worker" and after["heartbeat_at"] is not None and after["last_frame_at"] is not None
    # The offline alert stays open while nobody watches: the page says both.
    stopped = text(row_of(site.person(site.world.dispatcher).get("/cameras").text, "CAM-82"))
    assert "Offline since" in stopped and "No worker" in stopped


def test_an_expired_lease_is_no_worker_even_if_its_row_still_names_an_owner(site: Site) -> None:
    camera = site.register("CAM-91")
    site.settle()
    now = datetime.now(UTC)
    with site.container.engine.begin() as conn:
        conn.execute(
            insert(camera_leases).values(
                camera_id=camera,
                code="CAM-91",
                source="?",
                retired=False,
                config_version=1,
                owner="dead-worker",
                lease_expires_at=now - timedelta(seconds=30),
                status="streaming",
                fps=15.0,
                last_frame_at=now - timedelta(seconds=40),
                reconnects=0,
                open_alerts="{}",
                health_at=now - timedelta(seconds=40),
                updated_at=now,
            )
        )
    health = site.container.reads.camera(camera)["health"]
    assert (health["state"], health["watched"], health["fps"]) == ("no_worker", False, 0.0)
    with site.container.engine.begin() as conn:
        conn.execute(
            update(camera_leases)
            .where(camera_leases.c.camera_id == camera)
            .values(lease_expires_at=now + timedelta(seconds=30))
        )
    assert site.container.reads.camera(camera)["health"]["state"] == "healthy"
