"""A camera's password on real SQLite and real PostgreSQL: the log, the read models and the workers' list of cameras
never hold it; it is kept outside the log, encrypted, and put back only where a worker opens the camera. A camera
registered before, whose event holds its password, still opens with it, and what the read side shows is masked."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import Engine, inspect, select, text, update

from alembic import command
from domain.cameras import Camera
from domain.values import Actor, Community, PartnerSector, Role
from infrastructure.bootstrap import Container, alembic_config
from infrastructure.readmodels import tables as t
from infrastructure.tables import camera_leases, camera_secrets
from infrastructure.vision.worker import CameraWorker
from tests.integration.conftest import World
from tests.integration.recompute import differences, expected_tables, read_log, read_tables

SOURCE = "rtsp://admin:S3cret@cam.example:554/s?token=abcXYZ987"
RECORDED = "rtsp://admin@cam.example:554/s?token="
MASKED = "rtsp://***@cam.example:554/s?token=***"
SECRETS = (b"S3cret", b"abcXYZ987")  # the token is longer than "abc", which any id's hex digits may hold
OLD_SOURCE = "rtsp://admin:0ld-Pa55@10.71.1.11:554/stream1"
OLD_MASKED = "rtsp://***@10.71.1.11:554/stream1"
CAMERA = dict(
    name="Clock tower east",
    community=Community.WAT_PHRA_KAEO,
    owner=PartnerSector.BUSINESS,
    owner_name="Tower Hotel",
    consent_reference="MOU 2569/4",
)


def every_value(engine: Engine) -> dict[str, bytes]:
    """Every value of every table of the database (the event store's too), as bytes, by table."""
    found: dict[str, bytes] = {}
    with engine.connect() as conn:
        for name in inspect(conn).get_table_names():
            rows = conn.execute(text(f'SELECT * FROM "{name}"')).all()
            found[name] = b"\n".join(
                bytes(v) if isinstance(v, (bytes, memoryview)) else str(v).encode() for row in rows for v in row
            )
    return found


def worker(container: Container) -> CameraWorker:
    """A worker as `ssz cameras run` makes one, with the composition root's store of secrets."""
    return CameraWorker(
        container.app, container.engine, container.settings, secrets=container.camera_secrets, worker_id="test-worker"
    )


def register_as_before(container: Container, world: World, code: str, source: str) -> UUID:
    """A camera registered the way it was before secrets were kept apart: its whole source in its event."""
    camera = Camera.register(
        code=code, source=source, actor=Actor(world.admin, Role.ADMIN), occurred_at=datetime.now(UTC), **CAMERA
    )
    container.app.save(camera)
    return camera.id


def timeline_source(container: Container, camera_id: UUID) -> str:
    [registered] = [row for row in container.reads.timeline(camera_id) if row["event"] == "Registered"]
    return registered["params"]["source"]


def test_a_password_and_a_token_are_kept_only_encrypted_outside_the_log(container: Container, world: World) -> None:
    camera_id = container.app.register_camera(code="CAM-01", source=SOURCE, by=world.admin, **CAMERA).id
    container.projections.catch_up()
    assert worker(container).sync_catalog() == 1

    assert container.app.load(camera_id, fresh=True).source == RECORDED
    stored = every_value(container.engine)
    events = stored[container.app.recorder.events_table_name]
    assert RECORDED.encode() in events
    for table in ("rm_timeline", "camera_leases", "rm_cameras"):
        assert MASKED.encode() in stored[table], table
    for table, values in stored.items():
        for secret in SECRETS:
            assert secret not in values, (table, secret)
    with container.engine.connect() as conn:
        [sealed] = conn.execute(
            select(camera_secrets.c.sealed).where(camera_secrets.c.camera_id == camera_id)
        ).scalars()
    assert len(sealed) > len(b"S3cret") + len(b"abcXYZ987")  # it is there, sealed


def test_a_worker_opens_the_camera_at_its_whole_source_again(container: Container, world: World) -> None:
    camera_id = container.app.register_camera(code="CAM-02", source=SOURCE, by=world.admin, **CAMERA).id
    plain = container.app.register_camera(code="CAM-03", source="/srv/footage/market.mp4", by=world.admin, **CAMERA).id
    load = container.app.load
    assert worker(container).source_of(load(camera_id, fresh=True)) == SOURCE
    assert worker(container).source_of(load(plain, fresh=True)) == "/srv/footage/market.mp4"


def test_a_camera_whose_event_holds_its_password_opens_as_before_and_is_shown_masked(
    container: Container, world: World
) -> None:
    camera_id = register_as_before(container, world, "CAM-04", OLD_SOURCE)
    container.projections.catch_up()
    worker(container).sync_catalog()

    assert worker(container).source_of(container.app.load(camera_id, fresh=True)) == OLD_SOURCE
    assert timeline_source(container, camera_id) == OLD_MASKED
    stored = every_value(container.engine)
    assert b"0ld-Pa55" in stored[container.app.recorder.events_table_name]  # the log stays as it was written
    for table in ("rm_timeline", "camera_leases", "rm_cameras"):
        assert OLD_MASKED.encode() in stored[table] and b"0ld-Pa55" not in stored[table], table
    expected = expected_tables(read_log(container.app))
    assert not differences(
        {"rm_timeline": expected["rm_timeline"]}, {"rm_timeline": read_tables(container.engine)["rm_timeline"]}
    )

    container.projections.rebuild(["timeline"])
    assert timeline_source(container, camera_id) == OLD_MASKED
    assert b"0ld-Pa55" not in every_value(container.engine)["rm_timeline"]


def test_the_migration_masks_the_sources_copied_out_of_the_log_before_it(container: Container, world: World) -> None:
    camera_id = register_as_before(container, world, "CAM-05", OLD_SOURCE)
    container.projections.catch_up()
    worker(container).sync_catalog()
    with container.engine.begin() as conn:  # as the code before it wrote them: the whole source
        conn.execute(update(camera_leases).where(camera_leases.c.camera_id == camera_id).values(source=OLD_SOURCE))
        row = t.timeline.c
        where = (row.originator_id == camera_id) & (row.version == 1)
        params = conn.execute(select(row.params).where(where)).scalar_one()
        conn.execute(update(t.timeline).where(where).values(params=params.replace(OLD_MASKED, OLD_SOURCE)))
    assert b"0ld-Pa55" in every_value(container.engine)["rm_timeline"]

    config = alembic_config(container.settings)
    command.downgrade(config, "0007")
    command.upgrade(config, "head")

    stored = every_value(container.engine)
    for table in ("rm_timeline", "camera_leases"):
        assert OLD_MASKED.encode() in stored[table] and b"0ld-Pa55" not in stored[table], table
    assert timeline_source(container, camera_id) == OLD_MASKED
    assert "camera_secrets" in stored
