"""`ssz cameras run`: the worker that watches the zone's cameras and raises their alerts.

Several workers share the cameras through the database. Each camera is leased to one worker at a time
(`camera_leases`: an atomic compare-and-set on the owner and the lease's expiry, the same on SQLite and
PostgreSQL); leases are renewed every tick, and a dead worker's cameras are free once their leases expire.
Workers write heartbeats into `camera_workers`; with N of them alive, none holds more than
ceil(cameras / N), so a worker that joins gets its share as the others hand theirs back.

The list of cameras comes from the log: each tick reads the Camera events (registered, zones set, rules
set, retired) after the position remembered in `camera_catalog` and writes the cameras' current state
into `camera_leases` (their sources masked). A camera is opened at its source as the log recorded it with
the secret part kept outside the log (infrastructure.camera_secrets) put back.

Per owned camera a thread reads frames (infrastructure.vision.sources), runs them through the
CameraMonitor (tamper checks, detections by the camera's zones and rules, debouncing into episodes) and
raises one alert per episode through the application, with the best frame stored in the snapshot store
(its SHA-256 in the event) and that frame's time as the alert's time. A source that breaks raises one
OFFLINE alert and is reopened with capped exponential backoff; its first frame back closes that alert
("camera back online"). A TAMPERED alert (detail: dark, covered, blurred or moved) is closed when the
view has been normal for the episode's quiet spell. Open self-clearing alerts are kept in the lease row,
so a worker that takes a camera over closes them rather than raising them again.

Files and image sequences are played at their frame rate, as a camera would deliver them; when one ends
the camera's status is "ended" (a recording has no more to show; it is not a break)."""

from __future__ import annotations

import json
import math
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy import Connection, Engine, delete, func, or_, select, update

from application.zone import ZoneApplication
from domain.cameras import Camera
from infrastructure.camera_secrets import SqlCameraSecrets
from infrastructure.settings import Settings
from infrastructure.tables import camera_leases, camera_workers
from infrastructure.vision.camera_metrics import camera_metrics as camera_metrics
from infrastructure.vision.camera_runner import ENDED, STARTING, UNOWNED, CameraRunner, utc_now
from infrastructure.vision.catalog import sync_catalog
from infrastructure.vision.lease_store import LEASE_SECONDS, as_utc, db_now, insert_for
from infrastructure.vision.snapshots import SnapshotStore

log = structlog.get_logger()


@dataclass(frozen=True)
class WorkerOptions:
    lease_seconds: float = LEASE_SECONDS  # a dead worker's cameras are taken over this long after its last renewal
    tick_seconds: float = 2.0  # heartbeat, lease renewal, health, catalog and balance, every tick
    backoff_initial: float = 1.0  # first wait before reopening a broken source
    backoff_max: float = 30.0  # the wait doubles after each failed attempt, up to this
    command_attempts: int = 3  # tries of an application command that fails for a reason other than the rules
    fps_window: float = 5.0  # frame rate measured over this many seconds
    inherited_grace: timedelta = timedelta(seconds=10)  # frames a new owner sees before it clears inherited tampering
    catalog_page: int = 500

    def __post_init__(self) -> None:
        if self.tick_seconds * 2 > self.lease_seconds:
            raise ValueError("A lease must outlast at least two ticks, or it expires between renewals.")


def _alerts_json(open_alerts: dict[str, UUID]) -> str:
    return json.dumps({key: str(alert_id) for key, alert_id in sorted(dict(open_alerts).items())})


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


# --- the worker ---------------------------------------------------------------------------------------
class CameraWorker:
    def __init__(
        self,
        app: ZoneApplication,
        engine: Engine,
        settings: Settings,
        *,
        secrets: SqlCameraSecrets,
        options: WorkerOptions | None = None,
        worker_id: str | None = None,
    ):
        self.app = app
        self.engine = engine
        self.settings = settings
        self.secrets = secrets
        self.options = options or WorkerOptions()
        self.worker_id = worker_id or new_worker_id()
        self.snapshots = SnapshotStore(settings.snapshot_dir)
        self.log = log.bind(worker=self.worker_id)
        self.runners: dict[UUID, CameraRunner] = {}
        self._stopping: list[CameraRunner] = []
        self._deadlines: dict[UUID, float] = {}  # monotonic instant until which this worker surely holds the lease
        self._lock = threading.Lock()
        self._started_at = utc_now()

    # --- shared with the camera threads ------------------------------------------------------------
    def source_of(self, camera: Camera) -> str:
        """The address a camera is opened at: its source as the log recorded it, with the secret part kept outside
        the log put back (a camera registered before secrets were kept apart recorded its whole source)."""
        return self.secrets.full_source(camera.id, camera.source)

    def holds(self, camera_id: UUID) -> bool:
        with self._lock:
            return time.monotonic() < self._deadlines.get(camera_id, 0.0)

    def save_open_alerts(self, camera_id: UUID, open_alerts: dict[str, UUID]) -> None:
        value = _alerts_json(open_alerts)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    update(camera_leases)
                    .where(camera_leases.c.camera_id == camera_id, camera_leases.c.owner == self.worker_id)
                    .values(open_alerts=value, updated_at=utc_now())
                )
        except Exception as error:  # noqa: BLE001 — written again with the next lease renewal
            self.log.warning("camera.open_alerts_not_saved", camera_id=str(camera_id), error=str(error))

    # --- the loop -----------------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        self.log.info(
            "cameras.worker_started", lease_seconds=self.options.lease_seconds, tick_seconds=self.options.tick_seconds
        )
        try:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    self.tick()
                except Exception as error:  # the worker outlives a bad moment of the database
                    self.log.exception("cameras.tick_failed", error=str(error))
                    self._drop_expired()
                stop.wait(max(0.0, self.options.tick_seconds - (time.monotonic() - started)))
        finally:
            self.shutdown()

    def tick(self) -> None:
        self._reap()
        self.sync_catalog()
        ticked = time.monotonic()
        with self.engine.begin() as conn:
            now = db_now(conn)
            self._heartbeat(conn, now)
            live = conn.execute(
                select(func.count()).select_from(camera_workers).where(camera_workers.c.heartbeat_at > now - self._ttl)
            ).scalar_one()
            rows = {
                r.camera_id: r for r in conn.execute(select(camera_leases).where(camera_leases.c.retired.is_(False)))
            }
        quota = math.ceil(len(rows) / max(1, live)) if rows else 0
        self._renew(rows, ticked)
        for camera_id in sorted(self.runners, key=str, reverse=True)[: max(0, len(self.runners) - quota)]:
            self._release(camera_id, "over this worker's share")
        if len(self.runners) < quota:
            self._acquire(rows, quota)

    @property
    def _ttl(self) -> timedelta:
        return timedelta(seconds=self.options.lease_seconds)

    def _heartbeat(self, conn: Connection, now: datetime) -> None:
        insert = insert_for(conn, camera_workers)
        conn.execute(
            insert.values(
                worker_id=self.worker_id,
                host=socket.gethostname()[:255],
                pid=os.getpid(),
                started_at=self._started_at,
                heartbeat_at=now,
            ).on_conflict_do_update(index_elements=["worker_id"], set_={"heartbeat_at": now})
        )
        # Workers gone for long are forgotten (their leases expired long ago).
        conn.execute(delete(camera_workers).where(camera_workers.c.heartbeat_at < now - 100 * self._ttl))

    def _renew(self, rows: dict[UUID, Any], ticked: float) -> None:
        """Extends this worker's leases and writes its cameras' health; gives up those it lost or that were retired."""
        for camera_id in [c for c in self.runners if c not in rows]:
            self._release(camera_id, "retired")
        for camera_id in [c for c, runner in self.runners.items() if runner.failed]:
            self._release(camera_id, "its thread ended; to be started again")
        for camera_id in [c for c, runner in self.runners.items() if runner.ended]:
            self._release(camera_id, "its recording was played to the end", status=ENDED)
        if not self.runners:
            return
        lost = []
        with self.engine.begin() as conn:
            now = db_now(conn)
            for camera_id, runner in self.runners.items():
                renewed = conn.execute(
                    update(camera_leases)
                    .where(camera_leases.c.camera_id == camera_id, camera_leases.c.owner == self.worker_id)
                    .values(
                        lease_expires_at=now + self._ttl,
                        status=runner.status,
                        fps=round(runner.fps, 2),
                        last_frame_at=runner.last_frame_at,
                        reconnects=runner.reconnects,
                        open_alerts=_alerts_json(runner.open_alerts),
                        health_at=now,
                        updated_at=now,
                    )
                )
                if renewed.rowcount != 1:
                    lost.append(camera_id)
        for camera_id, runner in list(self.runners.items()):
            if camera_id in lost:
                self.log.warning("camera.lease_lost", camera=runner.code)
                self._forget(camera_id)
            else:
                self._hold(camera_id, ticked)
                runner.reload_if_changed(rows[camera_id].config_version)

    def _acquire(self, rows: dict[UUID, Any], quota: int) -> None:
        busy = {r.camera_id for r in self._stopping if r.alive}
        with self.engine.connect() as conn:
            now = db_now(conn)
        free = [
            r
            for r in rows.values()
            if r.camera_id not in self.runners
            and r.camera_id not in busy
            and r.status != ENDED  # a recording played to its end is not played again
            and (
                r.owner is None
                or r.owner == self.worker_id
                or as_utc(r.lease_expires_at) is None
                or as_utc(r.lease_expires_at) < now
            )
        ]
        # Cameras nobody holds first, then those of workers that died; in a stable order.
        free.sort(key=lambda r: (r.owner is not None, r.code))
        for row in free:
            if len(self.runners) >= quota:
                return
            ticked = time.monotonic()
            with self.engine.begin() as conn:
                now = db_now(conn)
                taken = conn.execute(
                    update(camera_leases)
                    .where(
                        camera_leases.c.camera_id == row.camera_id,
                        camera_leases.c.retired.is_(False),
                        camera_leases.c.status != ENDED,
                        or_(
                            camera_leases.c.owner.is_(None),
                            camera_leases.c.owner == self.worker_id,
                            camera_leases.c.lease_expires_at < now,
                        ),
                    )
                    .values(
                        owner=self.worker_id,
                        lease_expires_at=now + self._ttl,
                        status=STARTING,
                        fps=0.0,
                        health_at=now,
                        updated_at=now,
                    )
                )
                if taken.rowcount != 1:
                    continue  # another worker was quicker
                current = conn.execute(
                    select(camera_leases.c.reconnects, camera_leases.c.open_alerts).where(
                        camera_leases.c.camera_id == row.camera_id
                    )
                ).one()
            self._hold(row.camera_id, ticked)
            open_alerts = {key: UUID(value) for key, value in json.loads(current.open_alerts or "{}").items()}
            runner = CameraRunner(self, row.camera_id, row.code, reconnects=current.reconnects, open_alerts=open_alerts)
            self.runners[row.camera_id] = runner
            self.log.info(
                "camera.lease_acquired", camera=row.code, previous_owner=row.owner, inherited_alerts=sorted(open_alerts)
            )
            runner.start()

    def _hold(self, camera_id: UUID, ticked: float) -> None:
        # Measured from before the renewal was sent, less a margin: surely still ours until then.
        with self._lock:
            self._deadlines[camera_id] = ticked + self.options.lease_seconds - min(1.0, self.options.tick_seconds)

    def _forget(self, camera_id: UUID) -> None:
        with self._lock:
            self._deadlines.pop(camera_id, None)
        runner = self.runners.pop(camera_id, None)
        if runner is not None:
            runner.stop()
            self._stopping.append(runner)

    def _release(self, camera_id: UUID, why: str, status: str = UNOWNED) -> None:
        runner = self.runners.get(camera_id)
        self._forget(camera_id)
        with self.engine.begin() as conn:
            values: dict[str, Any] = {
                "owner": None,
                "lease_expires_at": None,
                "status": status,
                "fps": 0.0,
                "updated_at": utc_now(),
            }
            if runner is not None:
                values.update(reconnects=runner.reconnects, last_frame_at=runner.last_frame_at)
            conn.execute(
                update(camera_leases)
                .where(camera_leases.c.camera_id == camera_id, camera_leases.c.owner == self.worker_id)
                .values(**values)
            )
        self.log.info("camera.lease_released", camera=runner.code if runner else str(camera_id), why=why)

    def _drop_expired(self) -> None:
        """The database could not be reached: cameras whose leases may have passed to others are let go."""
        now = time.monotonic()
        for camera_id in [c for c in self.runners if self._deadlines.get(c, 0.0) <= now]:
            self.log.warning("camera.lease_expired", camera=self.runners[camera_id].code)
            self._forget(camera_id)

    def _reap(self) -> None:
        self._stopping = [runner for runner in self._stopping if runner.alive]

    def shutdown(self) -> None:
        for camera_id in list(self.runners):
            try:
                self._release(camera_id, "worker stopping")
            except Exception as error:  # noqa: BLE001 — the lease expires by itself
                self.log.warning("camera.release_failed", camera_id=str(camera_id), error=str(error))
        deadline = time.monotonic() + 10.0  # a stream read may block until its timeout: do not wait for ever
        for runner in self._stopping:
            runner.join(timeout=max(0.0, deadline - time.monotonic()))
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(camera_workers).where(camera_workers.c.worker_id == self.worker_id))
        except Exception as error:  # noqa: BLE001 — the heartbeat ages out by itself
            self.log.warning("cameras.heartbeat_not_removed", error=str(error))
        self.log.info("cameras.worker_stopped")

    # --- the list of cameras, from the log -----------------------------------------------------------
    def sync_catalog(self) -> int:
        """Brings camera_leases up to the log's head; returns the number of Camera events read."""
        return sync_catalog(self.app, self.engine, self.options.catalog_page, self.log)
