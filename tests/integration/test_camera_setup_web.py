"""The camera set-up page (issue 17): administrators draw or type zones on the camera's picture and set rules
per zone in words; bad input is a 422 with its reason and saves nothing; every change is in the camera's
history with who made it; the camera's other viewers read the set-up but cannot change it."""

from __future__ import annotations

from uuid import uuid4

import cv2
import numpy as np

from domain.cameras import Camera
from tests.integration.test_camera_registry import Site, site, text  # noqa: F401 — the fixture

ZONE = "gate | ประตู | 0.1,0.1 0.6,0.1 0.6,0.9 0.1,0.9"


def _rules(*rows: dict[str, str]) -> dict[str, str]:
    form = {}
    for n, row in enumerate(rows):
        for key in ("kind", "zone", "schedule", "start", "end", "sensitivity", "min_score", "min_area", "loiter"):
            form[f"rule-{n}-{key}"] = row.get(key, "")
    return form


def _events(site: Site, camera) -> list[str]:  # noqa: ANN001
    return [e.event for e in site.container.app.history(camera)]


def test_an_administrator_sets_zones_and_rules_and_bad_input_saves_nothing(site: Site) -> None:
    camera = site.register("CAM-51")
    site.settle()
    admin = site.person(site.world.admin)
    page = admin.get("/cameras/CAM-51/setup")
    assert page.status_code == 200 and "data-zone-editor" in page.text and "Save zones" in page.text

    crossing = admin.post(f"/cameras/{camera}/zones", {"zones": "gate | | 0.1,0.1 0.5,0.5 0.5,0.1 0.1,0.5"})
    assert crossing.status_code == 422 and "crosses itself" in text(crossing.text)
    few = admin.post(f"/cameras/{camera}/zones", {"zones": "gate | | 0.1,0.1 0.5,0.5"})
    assert few.status_code == 422 and "at least three corners" in text(few.text)
    outside = admin.post(f"/cameras/{camera}/zones", {"zones": "gate | | 0.1,0.1 1.5,0.5 0.2,0.9"})
    assert outside.status_code == 422 and "outside the picture" in text(outside.text)
    assert _events(site, camera) == ["Registered"]

    assert admin.post(f"/cameras/{camera}/zones", {"zones": ZONE}).status_code == 303
    site.settle()
    unknown = admin.post(f"/cameras/{camera}/rules", _rules({"kind": "person_at_night", "zone": "car park"}))
    assert unknown.status_code == 422 and "car park" in text(unknown.text)
    late = _rules({"kind": "motion_in_zone", "schedule": "custom", "start": "17:00", "end": "08:00"})
    refused = admin.post(f"/cameras/{camera}/rules", late)
    assert refused.status_code == 422 and "ends (08:00) before it starts (17:00)" in text(refused.text)
    assert _events(site, camera) == ["Registered", "ZonesSet"]

    rules = _rules(
        {"kind": "person_at_night", "zone": "gate", "schedule": "night", "sensitivity": "high"},
        {"kind": "loitering", "zone": "gate", "schedule": "all_day", "sensitivity": "normal", "loiter": "45"},
        {"kind": ""},  # an empty row is no rule
    )
    assert admin.post(f"/cameras/{camera}/rules", rules).status_code == 303
    site.settle()
    saved = site.container.app.load(camera, fresh=True)
    assert isinstance(saved, Camera) and [z.name_th for z in saved.zones] == ["ประตู"]
    assert [(r.kind.value, r.zone, r.dwell) for r in saved.rules] == [
        ("person_at_night", "gate", 0),
        ("loitering", "gate", 45),
    ]
    history = text(admin.get(f"/cameras/{camera}").text)
    assert "Detection zones set: gate" in history and "Detection rules set:" in history
    again = admin.get("/cameras/CAM-51/setup").text
    assert "gate | ประตู | 0.100,0.100 0.600,0.100 0.600,0.900 0.100,0.900" in again


def test_viewers_read_the_set_up_but_cannot_change_it(site: Site) -> None:
    camera = site.register("CAM-52")
    site.settle()
    dispatcher = site.person(site.world.dispatcher)
    page = dispatcher.get(f"/cameras/{camera}/setup")
    assert page.status_code == 200 and "Save zones" not in page.text
    assert dispatcher.post(f"/cameras/{camera}/zones", {"zones": ZONE}).status_code == 403
    assert _events(site, camera) == ["Registered"]


def test_a_still_is_uploaded_to_draw_on_and_a_file_that_is_not_a_picture_is_refused(site: Site) -> None:
    camera = site.register("CAM-53")
    site.settle()
    admin = site.person(site.world.admin)
    assert admin.get(f"/cameras/{camera}/picture.jpg").status_code == 404
    token = admin.csrf()
    bad = admin.client.post(
        f"/cameras/{camera}/still", data={"csrf_token": token}, files={"still": ("a.jpg", b"not a picture")}
    )
    assert bad.status_code == 422 and "not a picture" in text(bad.text)
    ok, png = cv2.imencode(".png", np.full((90, 160, 3), 120, np.uint8))
    sent = admin.client.post(
        f"/cameras/{camera}/still",
        data={"csrf_token": token},
        files={"still": ("view.png", png.tobytes(), "image/png")},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    picture = admin.get(f"/cameras/{camera}/picture.jpg")
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/jpeg"


def test_the_last_minute_of_a_recording_is_tested_without_raising_anything(site: Site, tmp_path) -> None:  # noqa: ANN001
    from datetime import UTC, datetime

    from testkit.footage import arrivals

    sequence = arrivals(datetime(2026, 12, 7, 15, 0, tzinfo=UTC), gaps=(2.0,), hold_visit=-1, lead=2.0, tail=1.0)
    video = sequence.write(tmp_path / "lane.avi")
    camera = site.register("CAM-54", source=str(video))
    stream = site.register("CAM-55")
    site.settle()
    admin = site.person(site.world.admin)
    admin.post(f"/cameras/{camera}/rules", _rules({"kind": "person_at_night", "schedule": "all_day"}))
    site.settle()

    tested = admin.post(f"/cameras/{camera}/test")

    assert tested.status_code == 200
    assert tested.text.count("data-finding") == len(sequence.visits) == 2
    assert _events(site, camera) == ["Registered", "RulesSet"]  # nothing raised, nothing changed
    site.settle()
    assert site.container.reads.camera_alerts_of(camera) == []
    live = admin.post(f"/cameras/{stream}/test")
    assert live.status_code == 422 and "cannot be tested" in text(live.text)


def test_the_review_page_puts_a_cameras_alerts_on_a_timeline_with_filters(site: Site) -> None:
    from datetime import UTC, datetime, timedelta

    from domain.values import AlertKind, FalseAlarmReason, Zone

    camera = site.register("CAM-56")
    app = site.container.app
    gate = Zone("gate", ((0.1, 0.1), (0.6, 0.1), (0.6, 0.9)))
    app.set_camera_zones(camera, zones=[gate], by=site.world.admin)
    now = datetime.now(UTC)
    ids = {}
    for name, kind, zone, ago in (
        ("person", AlertKind.PERSON_AT_NIGHT, "gate", 3),
        ("motion", AlertKind.MOTION_IN_ZONE, "gate", 2),
        ("wall", AlertKind.MOTION_IN_ZONE, "", 1),
    ):
        ids[name] = app.raise_camera_alert(
            camera_id=camera, kind=kind, score=0.8, snapshot_digest="d" * 64, zone=zone,
            frame_at=now - timedelta(minutes=ago),
        ).id  # fmt: skip
    app.acknowledge_alert(ids["motion"], by=site.world.dispatcher)
    app.dismiss_alert(ids["motion"], reason=FalseAlarmReason.SHADOW, by=site.world.dispatcher)
    site.settle()
    viewer = site.person(site.world.dispatcher)

    page = viewer.get(f"/cameras/{camera}/review")
    assert page.status_code == 200 and page.text.count("data-review-alert") == 3 and "review-timeline" in page.text
    people = viewer.get(f"/cameras/{camera}/review?kind=person_at_night").text
    assert people.count("data-review-alert") == 1 and str(ids["person"]) in people
    at_gate = viewer.get(f"/cameras/{camera}/review?zone=gate").text
    assert at_gate.count("data-review-alert") == 2 and str(ids["wall"]) not in at_gate
    open_ones = viewer.get(f"/cameras/{camera}/review?decided=no").text
    assert open_ones.count("data-review-alert") == 2 and str(ids["motion"]) not in open_ones
    assert viewer.get(f"/cameras/{camera}/review?decided=yes").text.count("data-review-alert") == 1


def test_an_alerts_page_plays_its_clip(site: Site, tmp_path) -> None:  # noqa: ANN001
    from datetime import UTC, datetime

    from domain.values import AlertKind, DetectionRule
    from infrastructure.vision.recordings import analyse
    from infrastructure.vision.snapshots import SnapshotStore
    from testkit.footage import arrivals

    sequence = arrivals(datetime(2026, 12, 7, 15, 0, tzinfo=UTC), gaps=(), hold_visit=-1, lead=2.0, tail=3.0)
    video = sequence.write(tmp_path / "one.avi")
    camera_id = site.register("CAM-57", source=str(video))
    app = site.container.app
    app.set_camera_rules(
        camera_id, rules=[DetectionRule(AlertKind.PERSON_AT_NIGHT, min_score=0.5)], by=site.world.admin
    )
    camera = app.load(camera_id, fresh=True)
    [found] = analyse(
        app, SnapshotStore(site.container.settings.snapshot_dir), camera, video, start=sequence.start
    ).alerts
    site.settle()
    viewer = site.person(site.world.dispatcher)

    page = viewer.get(f"/alerts/{found.id}")
    assert page.status_code == 200 and "data-alert-clip" in page.text
    played = viewer.get(f"/alerts/{found.id}/clip.mjpeg")
    assert played.status_code == 200 and played.headers["content-type"].startswith("multipart/x-mixed-replace")
    assert played.content.count(b"Content-Type: image/jpeg") >= 20
    assert viewer.get(f"/alerts/{found.id}/clip.avi").status_code == 200
    assert viewer.get(f"/alerts/{uuid4()}/clip.mjpeg").status_code == 404


def test_an_alerts_page_shows_the_loitering_and_departure_updates_of_its_one_person(site: Site) -> None:
    from datetime import UTC, datetime, timedelta

    from domain.values import AlertKind

    camera = site.register("CAM-58")
    app = site.container.app
    seen = datetime.now(UTC) - timedelta(minutes=5)
    alert = app.raise_camera_alert(
        camera_id=camera, kind=AlertKind.PERSON, score=0.8, snapshot_digest="e" * 64, zone="", frame_at=seen
    ).id
    app.note_person(alert, left=False, stayed_seconds=45.2, at=seen + timedelta(seconds=45))
    app.note_person(alert, left=True, stayed_seconds=71, at=seen + timedelta(seconds=71))
    site.settle()

    page = text(site.person(site.world.dispatcher).get(f"/alerts/{alert}").text)
    assert "The person has stayed 45 s: past the loitering time" in page
    assert "The person left after 71 s" in page
    assert page.count("raised an alert") == 1
    assert len(site.container.reads.camera_alerts_of(camera)) == 1  # updates, not alerts
