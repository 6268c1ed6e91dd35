"""The camera worker on real PostgreSQL and real footage: alerts with their snapshots go through the
application, a broken source is one OFFLINE alert closed when it comes back, tampering is one TAMPERED
alert with its cause, and worker processes share the cameras and take over a dead one's."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import cv2
import numpy as np
import pytest
from eventsourcing.utils import get_topic
from sqlalchemy import select

from domain.cameras import CameraAlert
from domain.values import SYSTEM_USER_ID, AlertKind, AlertStatus, Community, DetectionRule, PartnerSector, Role, Zone
from infrastructure.bootstrap import Container, bootstrap
from infrastructure.settings import Settings
from infrastructure.tables import camera_leases, camera_workers
from infrastructure.vision import CameraSource, SnapshotStore
from infrastructure.vision.camera_runner import BACK_ONLINE, VIEW_RESTORED
from infrastructure.vision.worker import CameraWorker, WorkerOptions, camera_metrics

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
MEDIA = ROOT / "tests" / "media"
WORKER_CLIP = MEDIA / "worker-zone-detection.gif"  # 71 frames; a person walks through the work area
WORK_AREA = Zone("work area", ((0.0, 0.25), (1.0, 0.25), (1.0, 1.0), (0.0, 1.0)))
ALL_DAY = [
    DetectionRule(AlertKind.MOTION_IN_ZONE, min_area=0.005),
    DetectionRule(AlertKind.PERSON_AT_NIGHT, min_score=0.5, min_area=0.005),
]  # start == end: all day
FAST = WorkerOptions(lease_seconds=5, tick_seconds=0.5, backoff_initial=0.2, backoff_max=1.0)
RAISED = get_topic(CameraAlert.Raised)


@pytest.fixture
def container(pg_settings: Settings) -> Iterator[Container]:
    c = bootstrap(pg_settings)
    yield c
    c.close()


@pytest.fixture(scope="module")
def clip_frames() -> list[np.ndarray]:
    return [frame.image for frame in CameraSource(str(WORKER_CLIP)).frames()]


def register(
    container: Container, code: str, source: Path, *, zones: list[Zone] = (), rules: list[DetectionRule] = ()
) -> UUID:
    app = container.app
    camera = app.register_camera(
        code=code,
        name=f"Camera {code}",
        community=Community.KO_LOI,
        owner=PartnerSector.BUSINESS,
        owner_name="Night market association",
        consent_reference="MOU 12/2569",
        source=str(source),
        by=SYSTEM_USER_ID,
    ).id
    if zones:
        app.set_camera_zones(camera, zones=list(zones), by=SYSTEM_USER_ID)
    if rules:
        app.set_camera_rules(camera, rules=list(rules), by=SYSTEM_USER_ID)
    return camera


def write_sequence(folder: Path, images: list[np.ndarray]) -> Path:
    folder.mkdir(parents=True)
    for number, image in enumerate(images):
        cv2.imwrite(str(folder / f"frame_{number:05d}.jpg"), image)
    return folder


def alerts(container: Container, camera_id: UUID) -> list[Any]:
    """The Raised events of the camera's alerts, from the log."""
    app = container.app
    events = [
        app.mapper.to_domain_event(n)
        for n in app.recorder.select_notifications(start=1, limit=100_000, topics=[RAISED])
    ]
    return [e for e in events if e.camera_id == camera_id]


def lease(container: Container, camera_id: UUID) -> Any:
    with container.engine.connect() as conn:
        return conn.execute(select(camera_leases).where(camera_leases.c.camera_id == camera_id)).one_or_none()


def status(container: Container, camera_id: UUID) -> str | None:
    """The camera's status in its lease row; None until a worker has read the camera from the log."""
    row = lease(container, camera_id)
    return None if row is None else row.status


def owners(container: Container) -> dict[str | None, int]:
    with container.engine.connect() as conn:
        rows = conn.execute(select(camera_leases.c.owner)).scalars().all()
    return {owner: rows.count(owner) for owner in set(rows)}


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def metric(lines: list[str], name: str, code: str) -> float:
    prefix = f'{name}{{camera="{code}"}} '
    [value] = [line.removeprefix(prefix) for line in lines if line.startswith(prefix)]
    return float(value)


class InProcessWorker:
    def __init__(self, container: Container, options: WorkerOptions):
        self.worker = CameraWorker(
            container.app,
            container.engine,
            container.settings,
            secrets=container.camera_secrets,
            options=options,
            worker_id="in-process",
        )
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.worker.run, args=(self.stop,), daemon=True)

    def __enter__(self) -> CameraWorker:
        self.thread.start()
        return self.worker

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=20)
        assert not self.thread.is_alive()


def test_a_person_walking_through_the_zone_is_one_alert_of_each_rule_with_its_snapshot_and_a_dark_view_is_tampering(
    container: Container, tmp_path: Path, clip_frames: list[np.ndarray]
) -> None:
    walking = tmp_path / "cam01.gif"
    shutil.copy(WORKER_CLIP, walking)
    cam01 = register(container, "CAM-01", walking, zones=[WORK_AREA], rules=ALL_DAY)
    # Two seconds of the scene, four of a black picture (someone covers the lens or cuts the lamp), then
    # seven of the scene again: at 15 fps.
    black = np.zeros_like(clip_frames[0])
    scene_again = clip_frames[45:] + [clip_frames[-1]] * (105 - len(clip_frames[45:]))
    covered = write_sequence(tmp_path / "cam03", clip_frames[:45] + [black] * 60 + scene_again)
    cam03 = register(container, "CAM-03", covered)
    started = datetime.now(UTC)

    with InProcessWorker(container, FAST):
        wait_until(lambda: status(container, cam01) == "streaming", 20, "CAM-01 streaming")
        health = wait_until(
            lambda: (
                (lines := camera_metrics(container.engine)) and metric(lines, "ssz_camera_fps", "CAM-01") > 5 and lines
            ),
            10,
            "CAM-01's frame rate in the metrics",
        )
        wait_until(
            lambda: status(container, cam01) == "ended" and status(container, cam03) == "ended",
            40,
            "both sources played to their end",
        )
        # Played once: the lease is given back as ended, while the worker keeps running, and nobody plays it again.
        wait_until(lambda: lease(container, cam01).owner is None, 10, "CAM-01's lease given back")
        time.sleep(3 * FAST.tick_seconds)
        assert status(container, cam01) == "ended" and lease(container, cam01).owner is None
    finished = datetime.now(UTC)

    # While it streamed, the metrics showed the camera up, at about the clip's 16.7 fps, with fresh frames.
    assert metric(health, "ssz_camera_up", "CAM-01") == 1
    assert 10 < metric(health, "ssz_camera_fps", "CAM-01") < 25
    assert metric(health, "ssz_camera_last_frame_age_seconds", "CAM-01") < 3
    assert metric(health, "ssz_camera_reconnects_total", "CAM-01") == 0

    raised = alerts(container, cam01)
    assert sorted(e.kind.value for e in raised) == ["motion_in_zone", "person_at_night"]
    store = SnapshotStore(container.settings.snapshot_dir)
    for event in raised:
        data = store.open(event.snapshot_digest)
        assert hashlib.sha256(data).hexdigest() == event.snapshot_digest
        assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR).shape == clip_frames[0].shape
        assert event.zone == "work area" and 0 < event.score <= 1 and event.detail == ""
        assert event.actor.user_id == SYSTEM_USER_ID and event.actor.role is Role.SYSTEM
        assert started <= event.occurred_at <= finished  # the frame's time, the clip played as a live camera
        assert container.app.repository.get(event.originator_id).status is AlertStatus.RAISED

    [tampered] = alerts(container, cam03)
    assert tampered.kind is AlertKind.TAMPERED and tampered.detail == "dark"
    snapshot = cv2.imdecode(np.frombuffer(store.open(tampered.snapshot_digest), np.uint8), cv2.IMREAD_GRAYSCALE)
    assert hashlib.sha256(store.open(tampered.snapshot_digest)).hexdigest() == tampered.snapshot_digest
    assert snapshot.mean() < 5  # the black picture is the evidence
    history = container.app.history(tampered.originator_id)
    # Its clip (seconds before and after) is attached once the seconds after it were seen.
    assert [e.event for e in history if e.event != "ClipAttached"] == ["Raised", "Closed"]
    assert history[-1].reason == VIEW_RESTORED or history[-2].reason == VIEW_RESTORED

    assert lease(container, cam01).owner is None and lease(container, cam01).status == "ended"


def test_a_source_that_breaks_is_one_offline_alert_closed_when_it_comes_back(
    container: Container, tmp_path: Path, clip_frames: list[np.ndarray]
) -> None:
    # The clip forth and back: 142 frames, nine and a half seconds at 15 fps.
    folder = write_sequence(tmp_path / "cam02", clip_frames + clip_frames[::-1])
    hidden = tmp_path / "unplugged"
    cam02 = register(container, "CAM-02", folder)

    with InProcessWorker(container, FAST):
        wait_until(lambda: status(container, cam02) == "streaming", 20, "CAM-02 streaming")
        time.sleep(1.0)
        folder.rename(hidden)  # the recorder's export disappears while it is read
        [offline] = wait_until(lambda: alerts(container, cam02), 10, "the offline alert")
        # Several attempts to reconnect, with backoff, and still one alert.
        wait_until(lambda: lease(container, cam02).reconnects >= 3, 15, "reconnection attempts")
        assert lease(container, cam02).status == "offline"
        down = camera_metrics(container.engine)
        assert (
            metric(down, "ssz_camera_up", "CAM-02") == 0 and metric(down, "ssz_camera_reconnects_total", "CAM-02") >= 3
        )
        assert container.app.repository.get(offline.originator_id).status is AlertStatus.RAISED

        hidden.rename(folder)  # back
        wait_until(
            lambda: container.app.repository.get(offline.originator_id).status is AlertStatus.CLOSED,
            10,
            "the offline alert closed",
        )
        wait_until(lambda: status(container, cam02) == "streaming", 5, "CAM-02 streaming again")
        assert metric(camera_metrics(container.engine), "ssz_camera_up", "CAM-02") == 1

    assert offline.kind is AlertKind.OFFLINE and offline.snapshot_digest == "" and "cannot be read" in offline.detail
    assert len(alerts(container, cam02)) == 1
    history = container.app.history(offline.originator_id)
    assert [e.event for e in history] == ["Raised", "Closed"] and history[-1].reason == BACK_ONLINE
    assert history[-1].actor_id == SYSTEM_USER_ID


def start_worker(settings: Settings, name: str, log_path: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "SSZ_DATA_DIR": str(settings.data_dir),
        "SSZ_ENVIRONMENT": "test",
        "SSZ_LOG_FORMAT": "json",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli", "cameras", "run", "--worker-id", name, "--tick-seconds", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(log_path, "ab"),
    )


def test_two_worker_processes_split_the_cameras_and_the_survivor_takes_over_a_killed_ones(
    container: Container, tmp_path: Path
) -> None:
    # A recording long enough (over 100 s at 2 fps) to be still playing when the survivor takes over: one
    # played to its end is given back as ended and not played again.
    long_clip = tmp_path / "long.avi"
    frames = [frame.image for frame in CameraSource(str(WORKER_CLIP)).frames()] * 3
    writer = cv2.VideoWriter(str(long_clip), cv2.VideoWriter_fourcc(*"MJPG"), 2.0, frames[0].shape[1::-1])
    for image in frames:
        writer.write(image)
    writer.release()
    cameras = [register(container, f"CAM-1{n}", long_clip) for n in range(4)]
    log_path = tmp_path / "workers.log"
    first, second = (
        start_worker(container.settings, "first", log_path),
        start_worker(container.settings, "second", log_path),
    )
    try:
        wait_until(lambda: owners(container) == {"first": 2, "second": 2}, 45, "a 2/2 split")

        first.send_signal(signal.SIGKILL)
        first.wait()
        killed = time.monotonic()
        wait_until(lambda: owners(container) == {"second": 4}, 20, "the survivor owning all four")
        assert time.monotonic() - killed <= 15

        lines = camera_metrics(container.engine)
        assert {line.split("{")[0].split(" ")[0] for line in lines if not line.startswith("#")} == {
            "ssz_camera_up",
            "ssz_camera_fps",
            "ssz_camera_last_frame_age_seconds",
            "ssz_camera_reconnects_total",
            "ssz_camera_workers",
        }
        assert [line for line in lines if line.startswith("ssz_camera_reconnects_total")] == [
            f'ssz_camera_reconnects_total{{camera="CAM-1{n}"}} 0' for n in range(4)
        ]
        assert "ssz_camera_workers 1" in lines

        second.send_signal(signal.SIGTERM)  # a graceful stop hands the leases back
        assert second.wait(timeout=20) == 0
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.kill()
                process.wait()
    assert owners(container) == {None: 4}
    with container.engine.connect() as conn:
        assert conn.execute(select(camera_workers.c.worker_id)).scalars().all() == [
            "first"
        ]  # the killed one's last heartbeat
    assert all(lease(container, camera).status == "unowned" for camera in cameras)


def test_analysing_a_recording_gives_the_same_alerts_as_the_live_worker_playing_it(
    container: Container, tmp_path: Path
) -> None:
    """Two people arriving 2 s apart, recorded: the worker plays the file as a camera (in real time), `analyse`
    runs it at full speed into another camera with the same zones and rules; the alerts are the same kinds, in
    the same zones, the same time apart, each within its visit."""
    from infrastructure.vision.recordings import analyse
    from testkit.footage import arrivals

    sequence = arrivals(datetime(2026, 12, 7, 15, 0, tzinfo=UTC), gaps=(2.0,), hold_visit=-1, lead=2.0, tail=1.0)
    video = sequence.write(tmp_path / "two-visitors.avi")
    person = [DetectionRule(AlertKind.PERSON_AT_NIGHT, min_score=0.5, min_area=0.005)]
    live = register(container, "CAM-61", video, zones=[WORK_AREA], rules=person)
    offline = register(container, "CAM-62", Path("/srv/recordings/none.avi"), zones=[WORK_AREA], rules=person)

    with InProcessWorker(container, FAST):
        wait_until(lambda: status(container, live) == "ended", 60, "the recording played to its end")
    camera = container.app.load(offline, fresh=True)
    result = analyse(container.app, SnapshotStore(container.settings.snapshot_dir), camera, video, start=sequence.start)

    played = sorted(alerts(container, live), key=lambda e: e.occurred_at)
    # (The worker found CAM-62's own source missing: that camera's offline alert is not the analysis's.)
    analysed = sorted(
        (e for e in alerts(container, offline) if e.kind is not AlertKind.OFFLINE), key=lambda e: e.occurred_at
    )
    assert len(result.alerts) == len(analysed) == len(played) == 2
    assert [(e.kind, e.zone) for e in played] == [(e.kind, e.zone) for e in analysed]
    gap_played = (played[1].occurred_at - played[0].occurred_at).total_seconds()
    gap_analysed = (analysed[1].occurred_at - analysed[0].occurred_at).total_seconds()
    assert abs(gap_played - gap_analysed) < 0.01
    for event, visit in zip(analysed, sequence.visits, strict=True):
        assert visit.start <= event.occurred_at <= visit.end
    # Each person's alert is updated once when they leave, by the worker as by the analysis.
    for event in played + analysed:
        history = [e.event for e in container.app.history(event.originator_id)]
        assert history[0] == "Raised" and sorted(history[1:]) == ["ClipAttached", "PersonLeft"]


def test_the_live_worker_updates_a_loitering_persons_one_alert_rather_than_raising_another(
    container: Container, tmp_path: Path
) -> None:
    """One visitor who stands still a few seconds, played by the worker as a camera (in real time) under a person
    rule and a loitering rule of 2 s: one alert, updated when they pass the loitering time and when they leave."""
    from testkit.footage import arrivals

    sequence = arrivals(datetime(2026, 12, 7, 15, 0, tzinfo=UTC), gaps=(), hold_visit=0, hold=3.0, lead=2.0, tail=1.0)
    video = sequence.write(tmp_path / "one-visitor.avi")
    rules = [
        DetectionRule(AlertKind.PERSON, min_score=0.5, min_area=0.005),
        DetectionRule(AlertKind.LOITERING, min_area=0.005, dwell=2),
    ]
    camera = register(container, "CAM-63", video, zones=[WORK_AREA], rules=rules)

    with InProcessWorker(container, FAST):
        wait_until(lambda: status(container, camera) == "ended", 60, "the recording played to its end")

    (alert,) = alerts(container, camera)
    assert alert.kind is AlertKind.PERSON
    history = [e.event for e in container.app.history(alert.originator_id)]
    assert [e for e in history if e.startswith("Person")] == ["PersonLoitered", "PersonLeft"]
