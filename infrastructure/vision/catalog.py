"""The list of cameras the workers share, kept from the log: each tick reads the Camera events after the
position remembered in `camera_catalog` and writes the cameras' current state into `camera_leases`."""

from __future__ import annotations

from typing import Any

from eventsourcing.utils import get_topic
from sqlalchemy import Connection, Engine, select, update

from application.zone import ZoneApplication
from domain.cameras import Camera
from infrastructure.camera_secrets import masked_source
from infrastructure.tables import camera_catalog, camera_leases
from infrastructure.vision.camera_runner import UNOWNED, utc_now
from infrastructure.vision.lease_store import insert_for

CAMERA_TOPICS = [get_topic(cls) for cls in (Camera.Registered, Camera.ZonesSet, Camera.RulesSet, Camera.Retired)]
CATALOG = "cameras"


def sync_catalog(app: ZoneApplication, engine: Engine, page_size: int, log: Any) -> int:
    """Brings camera_leases up to the log's head from the remembered position; returns the number of
    Camera events read. Several workers may do it at once: the rows only move forward."""
    with engine.begin() as conn:
        conn.execute(
            insert_for(conn, camera_catalog)
            .values(name=CATALOG, position=0, updated_at=utc_now())
            .on_conflict_do_nothing(index_elements=["name"])
        )
        position = conn.execute(select(camera_catalog.c.position).where(camera_catalog.c.name == CATALOG)).scalar_one()
    read = 0
    recorder = app.recorder
    while True:
        # The head first: every event up to it is committed (writers commit in notification order).
        head = recorder.max_notification_id() or 0
        if head <= position:
            return read
        page = recorder.select_notifications(start=position + 1, limit=page_size, stop=head, topics=CAMERA_TOPICS)
        reached = page[-1].id if len(page) == page_size else head
        cameras = {n.originator_id for n in page}
        states = [
            camera
            for camera in (app.load(camera_id, fresh=True) for camera_id in cameras)
            if isinstance(camera, Camera)
        ]
        with engine.begin() as conn:
            for camera in states:
                _upsert_camera(conn, camera)
            conn.execute(
                update(camera_catalog)
                .where(camera_catalog.c.name == CATALOG, camera_catalog.c.position < reached)
                .values(position=reached, updated_at=utc_now())
            )
        if states:
            log.info("cameras.catalog", cameras=sorted(c.code for c in states), position=reached)
        read += len(page)
        position = reached


def _upsert_camera(conn: Connection, camera: Camera) -> None:
    now = utc_now()
    insert = insert_for(conn, camera_leases)
    excluded = insert.excluded
    # Masked: a camera registered before its secrets were kept apart recorded its password in the log.
    conn.execute(
        insert.values(
            camera_id=camera.id,
            code=camera.code,
            source=masked_source(camera.source),
            retired=camera.retired,
            config_version=camera.version,
            owner=None,
            lease_expires_at=None,
            status=UNOWNED,
            fps=0.0,
            last_frame_at=None,
            reconnects=0,
            open_alerts="{}",
            health_at=None,
            updated_at=now,
        ).on_conflict_do_update(
            index_elements=["camera_id"],
            set_={
                "code": excluded.code,
                "source": excluded.source,
                "retired": excluded.retired,
                "config_version": excluded.config_version,
                "updated_at": excluded.updated_at,
            },
            where=camera_leases.c.config_version < excluded.config_version,
        )
    )
