"""The purge job (`ssz cameras purge`): snapshots (and the alerts' clips) older than their camera's retention (days; 30 unless set) are
deleted from the snapshot store, each purge recorded as an event on its alert (the event keeps the digest, so the
alert's history still shows it). A picture that an alert still within its retention shares (the store is
content-addressed) stays until that alert expires too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import Engine, select

from application.zone import ZoneApplication
from domain.cameras import Camera, CameraAlert
from domain.values import SYSTEM_USER_ID
from infrastructure.readmodels import tables as t
from infrastructure.vision.clips import ClipStore
from infrastructure.vision.snapshots import SnapshotStore


@dataclass(frozen=True)
class Purged:
    alert_id: UUID
    camera_code: str
    digest: str
    file_deleted: bool


def purge_expired(app: ZoneApplication, engine: Engine, store: SnapshotStore, now: datetime) -> list[Purged]:
    a = t.camera_alerts.c
    with engine.connect() as conn:
        camera_ids = conn.execute(select(t.cameras.c.id)).scalars().all()
    expired: list[tuple[UUID, str, str, int]] = []
    for camera_id in camera_ids:
        camera = app.load(camera_id, fresh=True)
        if not isinstance(camera, Camera):
            continue
        cutoff = now - timedelta(days=camera.keeps_days)
        with engine.connect() as conn:
            rows = conn.execute(
                select(a.id, a.snapshot_digest).where(
                    a.camera_id == camera_id, a.raised_at < cutoff, a.snapshot_digest != ""
                )
            ).all()
        expired += [(row.id, camera.code, row.snapshot_digest, camera.keeps_days) for row in rows]
    purged_ids = {alert_id for alert_id, *_ in expired}
    digests = {digest for _, _, digest, _ in expired}
    with engine.connect() as conn:
        still_used = (
            set(
                conn.execute(
                    select(a.snapshot_digest).where(a.snapshot_digest.in_(digests), a.id.not_in(purged_ids))
                ).scalars()
            )
            if digests
            else set()
        )
    done = []
    clips = ClipStore(store.root.parent / "clips")
    for alert_id, code, digest, days in expired:
        alert = app.load(alert_id, fresh=True)
        app.purge_alert_snapshot(alert_id, retention_days=days, by=SYSTEM_USER_ID, occurred_at=now)
        if isinstance(alert, CameraAlert) and alert.clip_digest:
            clips.path(alert.clip_digest).unlink(missing_ok=True)
        deleted = False
        if digest not in still_used:
            try:
                store.path(digest).unlink()
                deleted = True
            except FileNotFoundError:
                pass
        done.append(Purged(alert_id, code, digest, deleted))
    return done
