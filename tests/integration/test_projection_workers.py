"""Projection workers as real processes on real PostgreSQL: killed at random points during a catch-up
and restarted, they end with the same tables as a clean replay; two workers never apply the same event."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from domain.cameras import Camera
from domain.values import SYSTEM_USER_ID, AlertKind, Community, PartnerSector
from infrastructure.bootstrap import Container, bootstrap
from infrastructure.readmodels.runner import Waker, libpq_dsn
from infrastructure.settings import Settings
from simulation import generate

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def tables(container: Container) -> dict[str, list[tuple[Any, ...]]]:
    dump = {}
    with container.engine.connect() as conn:
        for projection in container.projections.projections:
            for table in projection.tables:
                key = list(table.primary_key.columns)
                dump[table.name] = [tuple(r) for r in conn.execute(select(table).order_by(*key)).all()]
    return dump


def worker(settings: Settings, log_path: Path, page_size: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "SSZ_DATA_DIR": str(settings.data_dir),
        "SSZ_ENVIRONMENT": "test",
        "SSZ_LOG_FORMAT": "json",
        "SSZ_PROJECTION_PAGE_SIZE": str(page_size),
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli", "projections", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(log_path, "ab"),
    )  # noqa: SIM115


def batches(log_path: Path) -> list[tuple[int, int]]:
    ranges = []
    for line in log_path.read_text().splitlines():
        if line.startswith("{") and '"projection.batch"' in line:
            entry = json.loads(line)
            ranges.append((entry["first"], entry["last"]))
    return ranges


def wait_until(condition, timeout: float = 120.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.fixture
def history(pg_settings: Settings):
    container = bootstrap(pg_settings)
    # A fixed end, so the history is the same size on every run.
    generate(container.settings, months=1, seed=11, until=datetime(2026, 11, 1, 5, 0, tzinfo=UTC), progress=False)
    yield container
    container.close()


def more_history(container: Container, alerts: int = 3000) -> None:
    """The zone goes on: a burst of camera alerts, so that a worker that caught up has more to do."""
    app = container.app
    camera = Camera.id_for("TEST-CAM")
    if camera not in app.repository:
        app.register_camera(
            code="TEST-CAM",
            name="Test camera",
            community=Community.KO_LOI,
            owner=PartnerSector.POLICE,
            owner_name="CCOC",
            consent_reference="test",
            source="test://",
            by=SYSTEM_USER_ID,
        )
    now = datetime.now(UTC)
    with app.batch(flush_every=1000):
        for _ in range(alerts):
            app.raise_camera_alert(
                camera_id=camera, kind=AlertKind.MOTION_IN_ZONE, score=0.5, snapshot_digest="0" * 64, frame_at=now
            )


def test_a_worker_killed_at_random_points_and_restarted_ends_with_the_tables_of_a_clean_replay(
    history, tmp_path
) -> None:
    container, settings = history, history.settings
    projections = container.projections
    head, rng, kills = projections.head(), random.Random(5), 0
    assert head > 15_000
    log_path = tmp_path / "worker.log"
    for _ in range(100):
        before = min(projections.positions().values())
        if before >= head:  # caught up between kills: give it more to catch up on
            more_history(container)
            head = projections.head()
        process = worker(settings, log_path, page_size=20)
        # Kill at a random point after the worker has started to make progress: how long the start takes
        # depends on the machine's load, so wait for the first committed page rather than a fixed time.
        deadline = time.monotonic() + 60
        while (
            min(projections.positions().values()) <= before and time.monotonic() < deadline and process.poll() is None
        ):
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.4))
        process.send_signal(signal.SIGKILL)
        process.wait()
        after = min(projections.positions().values())
        if before < after < head:
            kills += 1  # killed in the middle of the catch-up, after some progress
        if kills >= 20:
            break
    assert kills >= 20
    final = worker(settings, log_path, page_size=2000)
    wait_until(lambda: min(projections.positions().values()) >= head)
    final.send_signal(signal.SIGTERM)
    final.wait(timeout=30)

    after_kills = tables(container)
    projections.rebuild()
    assert tables(container) == after_kills
    timeline_rows = len(after_kills["rm_timeline"])
    assert timeline_rows == head


def test_two_workers_never_apply_the_same_event_and_the_second_takes_over_when_the_first_dies(
    history, tmp_path
) -> None:
    container, settings = history, history.settings
    projections = container.projections
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    first = worker(settings, logs[0], page_size=500)
    time.sleep(0.5)
    second = worker(settings, logs[1], page_size=500)
    head = projections.head()
    wait_until(lambda: min(projections.positions().values()) >= head)
    owner, standby = (first, second) if batches(logs[0]) else (second, first)
    assert not batches(logs[1] if owner is first else logs[0]), (
        "the standby worker applied events while the owner lived"
    )
    owner.send_signal(signal.SIGKILL)
    owner.wait()

    generate(container.settings, months=1, seed=12, progress=False)  # the zone goes on while the owner is dead
    new_head = projections.head()
    wait_until(lambda: min(projections.positions().values()) >= new_head)
    standby.send_signal(signal.SIGTERM)
    standby.wait(timeout=30)

    ranges = sorted(batches(logs[0]) + batches(logs[1]))
    assert ranges[0][0] == 1 and ranges[-1][1] == new_head
    for (_, last), (first_next, _) in zip(ranges, ranges[1:], strict=False):
        assert first_next > last, f"two batches overlap: {ranges}"
    assert len(tables(container)["rm_timeline"]) == new_head


def test_a_worker_looks_at_the_log_again_once_it_listens_and_then_wakes_on_a_commit(pg_settings: Settings) -> None:
    """A commit between a worker's first catch-up and its LISTEN notifies nobody: the waker returns at once when it
    has just started listening (the worker then catches up again) instead of leaving it until the timeout."""
    container = bootstrap(pg_settings)
    waker = Waker(libpq_dsn(pg_settings), container.app.recorder.channel_name, poll_interval=0.05)
    try:
        began = time.monotonic()
        waker.wait(timeout=5.0)
        assert time.monotonic() - began < 2.0

        began = time.monotonic()
        waker.wait(timeout=0.3)  # listening now, and nothing was committed
        assert time.monotonic() - began >= 0.3

        committing = threading.Timer(0.2, lambda: more_history(container, alerts=1))
        committing.start()
        began = time.monotonic()
        waker.wait(timeout=10.0)
        assert time.monotonic() - began < 5.0
        committing.join()
    finally:
        waker.close()
        container.close()
