"""`ssz cameras analyse`: a recording run through a camera's zones and rules at full speed, its alerts raised
through the application with `occurred_at` = the recording's start + the frame's time. The alerts are the
live worker's (the same monitor, the same alert ids from the episode), so analysing a file twice raises
each alert once."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import cv2

from application.zone import ZoneApplication
from domain.cameras import Camera, CameraAlert
from domain.values import SYSTEM_USER_ID, AlertKind
from infrastructure.vision.clips import ClipRecorder, ClipStore
from infrastructure.vision.debounce import EpisodeEnded, EpisodeEvent, EpisodeLoitered, EpisodeStarted
from infrastructure.vision.pipeline import CameraMonitor
from infrastructure.vision.snapshots import SnapshotStore
from infrastructure.vision.sources import CameraSource, SourceBroken, SourceKind


def alert_id_for(camera_id: UUID, event: EpisodeEvent) -> UUID:
    """An episode's alert id: the same for the same episode, so that a retry (or a second analysis of the same
    recording) raises it once; a tracked person's track is part of it (two people may arrive together)."""
    person = f"/track{event.track}" if event.track else ""
    return uuid.uuid5(
        camera_id, f"{event.kind.value}/{event.zone}/{event.reason}/{event.started_at.isoformat()}{person}"
    )


@dataclass
class FoundAlert:
    id: UUID
    kind: AlertKind
    zone: str
    at: datetime
    score: float
    ended_at: datetime | None = None
    loitered_at: datetime | None = None  # the person stayed past a loitering rule's time (an update, not an alert)
    new: bool = True


@dataclass
class Analysis:
    frames: int = 0
    seconds: float = 0.0
    start: datetime | None = None
    alerts: list[FoundAlert] = field(default_factory=list)


def recording_length(path: Path) -> tuple[int, float]:
    """Frames and frame rate the file says it has (0 frames: unknown)."""
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise SourceBroken(str(path), "the file is not a video that can be read")
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        fps = capture.get(cv2.CAP_PROP_FPS)
        return max(count, 0), fps if fps > 0 else 15.0
    finally:
        capture.release()


def recording_start(path: Path) -> datetime:
    """Without --from: a recorder writes a file until it ends, so it started its length before it was last
    written."""
    count, fps = recording_length(path)
    written = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    return written - timedelta(seconds=count / fps)


def analyse(
    app: ZoneApplication,
    snapshots: SnapshotStore,
    camera: Camera,
    path: Path,
    *,
    start: datetime | None = None,
    progress: Callable[[int], None] = lambda frames: None,
    raise_alerts: bool = True,
    last: timedelta | None = None,
) -> Analysis:
    """Runs `path` through the camera's monitor; raises each alert (once) unless `raise_alerts` is False.
    `last`: only the recording's last stretch this long (the set-up page's "test on the last minute")."""
    if not path.is_file():
        raise SourceBroken(str(path), "the video file does not exist")
    start = start or recording_start(path)
    source = CameraSource(str(path), start=start)
    if source.kind is not SourceKind.FILE:
        raise SourceBroken(str(path), "it is not a video file")
    monitor = CameraMonitor(camera.zones, camera.rules)
    clips = ClipRecorder()
    clip_store = ClipStore(snapshots.root.parent / "clips")
    result = Analysis(start=start)
    by_episode: dict[tuple, FoundAlert] = {}

    def handle(events: list[EpisodeEvent]) -> None:
        for event in events:
            key = (event.kind, event.zone, event.reason, event.track)
            if isinstance(event, EpisodeStarted):
                found = FoundAlert(
                    alert_id_for(camera.id, event), event.kind, event.zone, event.snapshot_at, event.score
                )
                if raise_alerts:
                    found.new = _raise(app, snapshots, camera, found, event)
                    if found.new:
                        clips.start(found.id, event.confirmed_at)
                result.alerts.append(found)
                by_episode[key] = found
            elif isinstance(event, EpisodeLoitered) and key in by_episode:
                by_episode[key].loitered_at = event.loitered_at
                if raise_alerts:
                    note_loitered(app, by_episode[key].id, event)
            elif isinstance(event, EpisodeEnded) and key in by_episode:
                found = by_episode.pop(key)
                found.ended_at = event.ended_at
                if raise_alerts and event.track:
                    note_left(app, found.id, event)

    skip = 0
    if last is not None:
        count, fps = recording_length(path)
        skip = max(0, count - round(last.total_seconds() * fps))
    last_at = start
    for frame in source.frames():
        if frame.index < skip:
            continue
        handle(monitor.process(frame.image, frame.at))
        for alert_id, frames in clips.feed(frame.image, frame.at):
            attach_clip(app, clip_store, alert_id, frames, frame.at)
        result.frames += 1
        last_at = frame.at
        progress(1)
    handle(monitor.close())
    for alert_id, frames in clips.finish():
        attach_clip(app, clip_store, alert_id, frames, last_at)
    result.seconds = (last_at - start).total_seconds()
    return result


def _raise(
    app: ZoneApplication, snapshots: SnapshotStore, camera: Camera, found: FoundAlert, event: EpisodeStarted
) -> bool:
    if app.load(found.id, fresh=True) is not None:
        return False
    app.raise_camera_alert(
        camera_id=camera.id,
        id=found.id,
        kind=event.kind,
        score=min(1.0, max(0.0, event.score)),
        snapshot_digest=snapshots.put(event.snapshot),
        frame_at=event.snapshot_at,
        zone=event.zone,
        detail=event.reason,
        by=SYSTEM_USER_ID,
    )
    return True


def note_left(app: ZoneApplication, alert_id: UUID, event: EpisodeEnded) -> bool:
    """The update on a tracked person's alert when they leave; once (a retry or a second analysis changes nothing)."""
    alert = app.load(alert_id, fresh=True)
    if not isinstance(alert, CameraAlert) or alert.left_at is not None:
        return False
    stayed = (event.ended_at - event.started_at).total_seconds()
    app.note_person(alert_id, left=True, stayed_seconds=stayed, at=event.ended_at, by=SYSTEM_USER_ID)
    return True


def note_loitered(app: ZoneApplication, alert_id: UUID, event: EpisodeLoitered) -> bool:
    """The update on a tracked person's alert when they stay past the loitering time; once."""
    alert = app.load(alert_id, fresh=True)
    if not isinstance(alert, CameraAlert) or alert.loitered_at is not None or alert.left_at is not None:
        return False
    stayed = event.stayed.total_seconds()
    app.note_person(alert_id, left=False, stayed_seconds=stayed, at=event.loitered_at, by=SYSTEM_USER_ID)
    return True


def attach_clip(app: ZoneApplication, store: ClipStore, alert_id: UUID, frames: list, at: datetime) -> None:
    alert = app.load(alert_id, fresh=True)
    if isinstance(alert, CameraAlert) and not alert.clip_digest:
        app.attach_alert_clip(alert_id, clip_digest=store.put_frames(frames), by=SYSTEM_USER_ID, occurred_at=at)
