"""`ssz cameras add|zones|rules|show|analyse` on a real store and real footage: a camera set up from the
command line (bad input refused with its reason, nothing saved), and a recording analysed at full speed with
its alerts at the recording's own times, raised once however often it is analysed."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path

import cv2
import pytest
from typer.testing import CliRunner

from domain.cameras import Camera
from domain.values import BANGKOK, AlertKind
from entrypoints.cli import cli
from infrastructure.bootstrap import bootstrap
from infrastructure.settings import Settings
from infrastructure.vision.clips import ClipStore
from testkit.footage import arrivals

pytestmark = pytest.mark.slow
RECORDED = datetime(2026, 12, 7, 22, 0, tzinfo=BANGKOK)


@pytest.fixture
def ssz(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SSZ_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SSZ_ENVIRONMENT", "test")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    bootstrap(Settings()).close()  # the store's tables
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli, ["cameras", *args])
        assert result.exit_code == code, result.output
        return result.output

    return run


def _history() -> list[str]:
    container = bootstrap(Settings())
    try:
        return [e.event for e in container.app.history(Camera.id_for("CAM-21"))]
    finally:
        container.close()


ADD = [
    "add",
    "cam-21",
    "--name",
    "Market lane",
    "--community",
    "ko_loi",
    "--owner",
    "business",
    "--owner-name",
    "Market association",
    "--consent",
    "MOU 3/2569",
    "--source",
    "/srv/footage/lane.mp4",
]


def test_a_camera_is_set_up_from_the_command_line_and_bad_input_changes_nothing(ssz):
    ssz(*ADD)
    crossing = ssz("zones", "CAM-21", "--zone", "gate|ประตู|0.1,0.1 0.5,0.5 0.5,0.1 0.1,0.5", code=2)
    assert "crosses itself" in crossing
    assert "at least three corners" in ssz("zones", "CAM-21", "--zone", "gate||0.1,0.1 0.5,0.5", code=2)
    assert "outside the picture" in ssz("zones", "CAM-21", "--zone", "gate||0.1,0.1 1.5,0.5 0.2,0.9", code=2)
    ssz("zones", "CAM-21", "--zone", "gate|ประตู|0.1,0.1 0.6,0.1 0.6,0.9 0.1,0.9")
    assert "does not have" in ssz("rules", "CAM-21", "--rule", "kind=person_at_night zone=car-park", code=2)
    late = ssz("rules", "CAM-21", "--rule", "kind=motion_in_zone schedule=custom start=17:00 end=08:00", code=2)
    assert "ends (08:00) before it starts (17:00)" in late
    assert _history() == ["Registered", "ZonesSet"]  # the refused changes left nothing

    ssz(
        "rules",
        "CAM-21",
        "--rule",
        "kind=person_at_night zone=gate schedule=night sensitivity=high",
        "--rule",
        "kind=loitering zone=gate schedule=custom start=08:00 end=17:30 loiter=45",
    )

    shown = ssz("show", "cam-21")
    assert "gate / ประตู: 0.100,0.100 0.600,0.100 0.600,0.900 0.100,0.900" in shown
    assert "person_at_night in gate, night, high" in shown
    assert "loitering in gate, custom 08:00-17:30, normal loiter after 45 s" in shown
    assert [line.split()[2] for line in shown.split("History:")[1].strip().splitlines()] == [
        "Registered",
        "ZonesSet",
        "RulesSet",
    ]


def test_a_recording_is_analysed_at_its_own_times_and_its_alerts_are_raised_once(ssz, tmp_path):
    sequence = arrivals(RECORDED, gaps=(2.5,), hold_visit=-1, lead=6.0, tail=2.0)
    video = sequence.write(tmp_path / "lane-2200.avi")
    ssz(*ADD)
    ssz("rules", "CAM-21", "--rule", "kind=person_at_night schedule=all_day")

    first = ssz("analyse", str(video), "--camera", "CAM-21", "--from", "2026-12-07T22:00")

    assert f"{len(sequence.frames)} frames" in first and "2 alert(s)" in first
    container = bootstrap(Settings())
    try:
        alerts = [
            container.app.repository.get(n.originator_id)
            for n in container.app.recorder.select_notifications(start=1, limit=1000)
            if n.topic.endswith("CameraAlert.Raised")
        ]
    finally:
        container.close()
    assert [a.kind for a in alerts] == [AlertKind.PERSON_AT_NIGHT] * 2
    for alert, visit in zip(sorted(alerts, key=lambda a: a.raised_at), sequence.visits, strict=True):
        # The recording's start + the frame's time: within the visit, as it was recorded.
        assert visit.start - timedelta(seconds=1) <= alert.raised_at <= visit.end + timedelta(seconds=1)

    container = bootstrap(Settings())
    try:
        clips = ClipStore(container.settings.data_dir / "clips")
        for alert in alerts:  # each with its clip, and updated when the person left
            history = [e.event for e in container.app.history(alert.id)]
            assert sorted(history) == ["ClipAttached", "PersonLeft", "Raised"] and history[0] == "Raised"
            clip = container.app.load(alert.id, fresh=True).clip_digest
            capture = cv2.VideoCapture(str(clips.path(clip)))
            frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
            capture.release()
            # Three seconds before and three after at 4 frames a second, 320 wide.
            assert 20 <= frames <= 26 and hashlib.sha256(clips.path(clip).read_bytes()).hexdigest() == clip
    finally:
        container.close()

    again = ssz("analyse", str(video), "--camera", "CAM-21", "--from", "2026-12-07T22:00")
    assert again.count("(raised before)") == 2

    not_video = tmp_path / "notes.mp4"
    not_video.write_text("not a video")
    assert "cannot be analysed" in ssz("analyse", str(not_video), "--camera", "CAM-21", code=2)
    assert "There is no camera CAM-99" in ssz("analyse", str(video), "--camera", "CAM-99", code=2)


def test_snapshots_past_their_cameras_retention_are_purged_and_the_history_keeps_the_digest(ssz, tmp_path):
    from datetime import UTC, datetime

    import numpy as np

    from domain.values import SYSTEM_USER_ID
    from infrastructure.vision.snapshots import SnapshotStore

    ssz(*ADD)
    assert "from 1 to 3650 days" in ssz("retention", "CAM-21", "0", code=2)
    ssz("retention", "CAM-21", "7")
    container = bootstrap(Settings())
    try:
        store = SnapshotStore(container.settings.snapshot_dir)
        camera = Camera.id_for("CAM-21")
        now = datetime.now(UTC)
        old, shared, fresh = (store.put(np.full((40, 60, 3), shade, np.uint8)) for shade in (10, 90, 200))
        raised = {}
        for name, digest, days_ago in (
            ("old", old, 8),
            ("shared-old", shared, 9),
            ("shared-new", shared, 2),
            ("new", fresh, 1),
        ):
            raised[name] = container.app.raise_camera_alert(
                camera_id=camera, kind=AlertKind.MOTION_IN_ZONE, score=0.9, snapshot_digest=digest,
                frame_at=now - timedelta(days=days_ago), by=SYSTEM_USER_ID,
            ).id  # fmt: skip
        clip = ClipStore(container.settings.data_dir / "clips").put_frames([np.full((40, 60, 3), 10, np.uint8)] * 3)
        container.app.attach_alert_clip(raised["old"], clip_digest=clip)
    finally:
        container.close()

    out = ssz("purge")

    assert "2 snapshot(s) past their retention purged." in out
    assert old not in store and shared in store and fresh in store  # a picture a fresh alert shares stays
    container = bootstrap(Settings())
    try:
        history = container.app.history(raised["old"])
        assert [e.event for e in history] == ["Raised", "ClipAttached", "SnapshotPurged"]
        assert history[-1].details["digest"] == old and history[-1].details["retention_days"] == 7
        assert history[-1].details["clip_digest"] == clip
        assert clip not in ClipStore(container.settings.data_dir / "clips")  # the clip went with it
        assert [e.event for e in container.app.history(raised["new"])] == ["Raised"]
    finally:
        container.close()
    assert "0 snapshot(s)" in ssz("purge")  # purged once
    assert "Snapshots kept 7 days" in ssz("show", "CAM-21")


def test_a_visitor_who_loiters_is_one_alert_updated_when_they_pass_the_loitering_time_and_when_they_leave(
    ssz, tmp_path
):
    sequence = arrivals(RECORDED, gaps=(2.5,), hold_visit=0, hold=14.0, lead=6.0, tail=2.0)
    video = sequence.write(tmp_path / "lane-2200.avi")
    ssz(*ADD)
    ssz("rules", "CAM-21", "--rule", "kind=person schedule=all_day", "--rule", "kind=loitering loiter=8")

    shown = ssz("analyse", str(video), "--camera", "CAM-21", "--from", "2026-12-07T22:00")

    assert "2 alert(s)" in shown and shown.count("loitering from") == 1  # not a third alert for the loiterer
    container = bootstrap(Settings())
    try:
        alerts = sorted(
            (
                container.app.repository.get(n.originator_id)
                for n in container.app.recorder.select_notifications(start=1, limit=1000)
                if n.topic.endswith("CameraAlert.Raised")
            ),
            key=lambda a: a.raised_at,
        )
        assert [a.kind for a in alerts] == [AlertKind.PERSON] * 2
        stayed, passed = ([e.event for e in container.app.history(a.id)] for a in alerts)
        assert [e for e in stayed if e.startswith("Person")] == ["PersonLoitered", "PersonLeft"]
        assert [e for e in passed if e.startswith("Person")] == ["PersonLeft"]
        loitered = next(e for e in container.app.history(alerts[0].id) if e.event == "PersonLoitered")
        assert 8 <= loitered.details["stayed_seconds"] <= 14
    finally:
        container.close()
