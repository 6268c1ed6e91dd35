"""One camera of `ssz cameras run` (infrastructure.vision.worker): a thread reads its frames, runs them through the
CameraMonitor and raises and closes the camera's alerts through the application."""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import structlog

from domain.cameras import Camera, CameraAlert
from domain.errors import DomainError
from domain.values import SYSTEM_USER_ID, AlertKind, AlertStatus
from infrastructure.vision.clips import ClipRecorder, ClipStore
from infrastructure.vision.debounce import EpisodeEnded, EpisodeEvent, EpisodeLoitered, EpisodeStarted
from infrastructure.vision.pipeline import CameraMonitor
from infrastructure.vision.recordings import alert_id_for, attach_clip, note_left, note_loitered
from infrastructure.vision.sources import CameraSource, Frame, SourceBroken, SourceKind, redact

if TYPE_CHECKING:
    from infrastructure.vision.worker import CameraWorker

log = structlog.get_logger()

OFFLINE_KEY = "offline"
BACK_ONLINE = "camera back online"
VIEW_RESTORED = "camera view back to normal"

# Lease row statuses.
UNOWNED, STARTING, STREAMING, OFFLINE, ENDED = "unowned", "starting", "streaming", "offline", "ended"


def utc_now() -> datetime:
    return datetime.now(UTC)


class CameraRunner:
    """Reads one camera's frames on its own thread until stopped; everything it knows about the camera
    is in memory, except the open self-clearing alerts, which it keeps in the lease row."""

    def __init__(
        self, worker: CameraWorker, camera_id: UUID, code: str, *, reconnects: int, open_alerts: dict[str, UUID]
    ):
        self.worker = worker
        self.app = worker.app
        self.options = worker.options
        self.camera_id = camera_id
        self.code = code
        self.log = log.bind(camera=code, worker=worker.worker_id)
        self.reconnects = reconnects
        self.open_alerts = dict(open_alerts)
        # Alerts left open by a previous owner: closed once the view shows they no longer hold.
        self.inherited = {key for key in open_alerts if key != OFFLINE_KEY}
        self.status = STARTING
        self.last_frame_at: datetime | None = None
        self.first_frame_at: datetime | None = None
        self.config_version = 0
        self._retry_close_at = 0.0
        self._frame_clock: deque[float] = deque()
        self.clips = ClipRecorder()
        self.clip_store = ClipStore(worker.snapshots.root.parent / "clips")
        self._stop = threading.Event()
        self._reload = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"camera-{code}", daemon=True)

    # --- control from the worker's thread ---------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def failed(self) -> bool:
        """The thread ended without being asked to (the camera could not be read from the store, a bug)."""
        return not self._thread.is_alive() and not self._stop.is_set() and self.status != ENDED

    @property
    def ended(self) -> bool:
        """The recording was played to its end and the thread is done."""
        return not self._thread.is_alive() and self.status == ENDED

    def reload_if_changed(self, config_version: int) -> None:
        if config_version != self.config_version:
            self._reload.set()

    @property
    def fps(self) -> float:
        stamps = list(self._frame_clock)
        if self.status != STREAMING or len(stamps) < 2 or time.monotonic() - stamps[-1] > self.options.fps_window:
            return 0.0
        return (len(stamps) - 1) / max(stamps[-1] - stamps[0], 1e-6)

    # --- the camera's thread ------------------------------------------------------------------------
    def _run(self) -> None:
        with structlog.contextvars.bound_contextvars(camera=self.code, worker=self.worker.worker_id):
            try:
                self._watch()
            except Exception as error:  # a camera's failure must not go unnoticed, nor take the worker down
                self.log.exception("camera.failed", error=str(error))
                self.status = OFFLINE
            finally:
                self.log.info("camera.stopped")

    def _load(self) -> Camera | None:
        camera = self.app.load(self.camera_id, fresh=True)
        if not isinstance(camera, Camera) or camera.retired:
            return None
        self.config_version = camera.version
        return camera

    def _monitor(self, camera: Camera, previous: CameraMonitor | None) -> CameraMonitor:
        monitor = CameraMonitor(camera.zones, camera.rules)
        if previous is not None:
            # New zones or rules: the tamper reference and the episodes under way still hold.
            monitor.tamper, monitor.debouncer = previous.tamper, previous.debouncer
        return monitor

    def _watch(self) -> None:
        camera = self._load()
        if camera is None:
            return
        monitor = self._monitor(camera, None)
        backoff = self.options.backoff_initial
        attempts = 0
        self.log.info("camera.watching", source=redact(camera.source), zones=len(camera.zones), rules=len(camera.rules))
        while not self._stop.is_set():
            if attempts:
                self.reconnects += 1  # the status stays offline until a frame arrives
            attempts += 1
            source = CameraSource(self.worker.source_of(camera))
            frames = source.frames()
            connected = False
            try:
                for frame in self._paced(frames, source):
                    if not connected:
                        connected = True
                        backoff = self.options.backoff_initial
                        self._connected(frame)
                    if self._reload.is_set():
                        self._reload.clear()
                        camera = self._load() or camera
                        monitor = self._monitor(camera, monitor)
                        self.log.info("camera.reloaded", zones=len(camera.zones), rules=len(camera.rules))
                    self._frame(monitor, frame)
                if self._stop.is_set():
                    return
                # A recording played once: what is under way ends with it, and the thread ends; the worker
                # then gives the camera's lease back as ended, and keeps watching its other cameras.
                for event in monitor.close():
                    self._episode(event)
                for alert_id, clip_frames in self.clips.finish():
                    self._attach_clip(alert_id, clip_frames, frame.at)
                self.status = ENDED
                self.log.info("camera.source_ended", frames=frame.index + 1 if connected else 0)
                return
            except SourceBroken as broken:
                self._broken(broken.reason)
            finally:
                frames.close()
            self._stop.wait(backoff)
            backoff = min(backoff * 2, self.options.backoff_max)

    def _paced(self, frames: Iterator[Frame], source: CameraSource) -> Iterator[Frame]:
        """Frames of files and sequences at their own rate, as a camera delivers them; streams as they come."""
        for frame in frames:
            if self._stop.is_set():
                return
            if source.kind is not SourceKind.STREAM:
                delay = (frame.at - utc_now()).total_seconds()
                if delay > 0 and self._stop.wait(delay):
                    return
            yield frame

    def _connected(self, frame: Frame) -> None:
        self.status = STREAMING
        self.log.info("camera.streaming", reconnects=self.reconnects)
        alert_id = self.open_alerts.get(OFFLINE_KEY)
        if alert_id is not None:
            self._retry_close_at = time.monotonic() + self.options.backoff_max
            if self._close(OFFLINE_KEY, alert_id, BACK_ONLINE, frame.at):
                self.log.info("camera.back_online", alert_id=str(alert_id))

    def _frame(self, monitor: CameraMonitor, frame: Frame) -> None:
        self.last_frame_at = frame.at
        if self.first_frame_at is None:
            self.first_frame_at = frame.at
        now = time.monotonic()
        self._frame_clock.append(now)
        while self._frame_clock and now - self._frame_clock[0] > self.options.fps_window:
            self._frame_clock.popleft()
        for event in monitor.process(frame.image, frame.at):
            self._episode(event)
        for alert_id, clip_frames in self.clips.feed(frame.image, frame.at):
            self._attach_clip(alert_id, clip_frames, frame.at)
        self._clear_inherited(monitor, frame)
        if OFFLINE_KEY in self.open_alerts and now >= self._retry_close_at:
            # Closing it when the frames came back failed (the database had a bad moment): again, now and then.
            self._retry_close_at = now + self.options.backoff_max
            self._close(OFFLINE_KEY, self.open_alerts[OFFLINE_KEY], BACK_ONLINE, frame.at)

    def _clear_inherited(self, monitor: CameraMonitor, frame: Frame) -> None:
        """Tampering a previous owner reported: after a while of frames, what is not tampered still is over."""
        if not self.inherited or self.first_frame_at is None:
            return
        if frame.at - self.first_frame_at < self.options.inherited_grace:
            return
        still = {
            f"tampered/{reason}" for kind, _, reason, _ in monitor.debouncer.open_episodes if kind is AlertKind.TAMPERED
        }
        for key in list(self.inherited):
            self.inherited.discard(key)
            if key not in still and key in self.open_alerts:
                self._close(key, self.open_alerts[key], VIEW_RESTORED, frame.at)

    def _episode(self, event: EpisodeEvent) -> None:
        if isinstance(event, EpisodeStarted):
            key = f"tampered/{event.reason}" if event.kind is AlertKind.TAMPERED else ""
            if key and key in self.open_alerts:
                self.log.info("camera.tampering_continues", reason=event.reason)
                return
            digest = self.worker.snapshots.put(event.snapshot)
            alert_id = alert_id_for(self.camera_id, event)
            raised = self._raise(
                alert_id,
                kind=event.kind,
                score=min(1.0, max(0.0, event.score)),
                snapshot_digest=digest,
                frame_at=event.snapshot_at,
                zone=event.zone,
                detail=event.reason,
            )
            if raised:
                self.clips.start(alert_id, event.confirmed_at)
            if raised and key:
                self._remember(key, alert_id)
        elif isinstance(event, EpisodeLoitered):
            alert_id = alert_id_for(self.camera_id, event)
            self._command("note_person_loitered", lambda: note_loitered(self.app, alert_id, event))
        elif isinstance(event, EpisodeEnded) and event.track:
            alert_id = alert_id_for(self.camera_id, event)
            self._command("note_person_left", lambda: note_left(self.app, alert_id, event))
        elif isinstance(event, EpisodeEnded) and event.kind is AlertKind.TAMPERED:
            key = f"tampered/{event.reason}"
            alert_id = self.open_alerts.get(key)
            if alert_id is not None:
                self._close(key, alert_id, VIEW_RESTORED, event.ended_at)

    def _attach_clip(self, alert_id: UUID, frames: list, at: datetime) -> None:
        self._command("attach_alert_clip", lambda: attach_clip(self.app, self.clip_store, alert_id, frames, at))

    def _broken(self, reason: str) -> None:
        self.status = OFFLINE
        if OFFLINE_KEY in self.open_alerts:
            self.log.info("camera.still_offline", reason=reason, reconnects=self.reconnects)
            return
        at = utc_now()
        alert_id = uuid.uuid5(self.camera_id, f"offline/{at.isoformat()}")
        if self._raise(
            alert_id, kind=AlertKind.OFFLINE, score=1.0, snapshot_digest="", frame_at=at, zone="", detail=reason
        ):
            self._remember(OFFLINE_KEY, alert_id)
            self.log.warning("camera.offline", reason=reason, alert_id=str(alert_id))

    # --- through the application --------------------------------------------------------------------
    def _raise(self, alert_id: UUID, **fields: Any) -> bool:
        if not self.worker.holds(self.camera_id):
            self.log.warning("camera.alert_withheld", reason="lease not held", kind=fields["kind"].value)
            return False

        def command() -> None:
            if self.app.load(alert_id, fresh=True) is None:  # a retry after an unknown outcome raises it once
                self.app.raise_camera_alert(camera_id=self.camera_id, id=alert_id, by=SYSTEM_USER_ID, **fields)

        if self._command("raise_camera_alert", command):
            self.log.info(
                "camera.alert_raised",
                alert_id=str(alert_id),
                kind=fields["kind"].value,
                zone=fields["zone"],
                score=round(fields["score"], 3),
                detail=fields["detail"],
                snapshot=fields["snapshot_digest"][:12],
            )
            return True
        return False

    def _close(self, key: str, alert_id: UUID, reason: str, at: datetime) -> bool:
        def command() -> None:
            alert = self.app.load(alert_id, fresh=True)
            # Closed by itself only while nobody has decided on it; a dispatcher's decision stands.
            if isinstance(alert, CameraAlert) and alert.status in (AlertStatus.RAISED, AlertStatus.ACKNOWLEDGED):
                self.app.close_alert(alert_id, reason=reason, by=SYSTEM_USER_ID, occurred_at=min(at, utc_now()))

        if not self._command("close_alert", command):
            return False
        self.open_alerts.pop(key, None)
        self.worker.save_open_alerts(self.camera_id, self.open_alerts)
        return True

    def _remember(self, key: str, alert_id: UUID) -> None:
        self.open_alerts[key] = alert_id
        self.worker.save_open_alerts(self.camera_id, self.open_alerts)

    def _command(self, name: str, command: Callable[[], None]) -> bool:
        wait = 0.5
        for attempt in range(1, self.options.command_attempts + 1):
            try:
                command()
                return True
            except DomainError as error:  # the rules refuse it (e.g. the camera was retired): no use retrying
                self.log.warning("camera.command_refused", command=name, reason=error.message)
                return False
            except Exception as error:  # noqa: BLE001 — the database had a bad moment
                self.log.warning("camera.command_failed", command=name, attempt=attempt, error=str(error))
                if attempt == self.options.command_attempts or self._stop.wait(wait):
                    break
                wait *= 2
        self.log.error("camera.command_given_up", command=name)
        return False
