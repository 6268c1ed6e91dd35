"""The append-to-visible lag of bench/projections.py: commands at a sustained rate from writer threads while a
projection worker follows the log in a process of its own, and a watcher process that sees when every projection
has reached each command's events."""

from __future__ import annotations

import bisect
import itertools
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from bench._common import metric
from domain.accounts import UserAccount
from domain.cameras import Camera
from domain.errors import InvalidInput
from domain.values import (
    SYSTEM_USER_ID,
    AlertKind,
    Category,
    Channel,
    Community,
    PartnerSector,
    Priority,
    Role,
)
from infrastructure.bootstrap import bootstrap
from infrastructure.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
WRITERS = 6


def bench_camera(app) -> object:  # noqa: ANN001
    camera_id = Camera.id_for("BENCH-CAM")
    if camera_id not in app.repository:
        app.register_camera(
            code="BENCH-CAM",
            name="Load generator",
            community=Community.KO_LOI,
            owner=PartnerSector.POLICE,
            owner_name="CCOC",
            consent_reference="bench",
            source="bench://",
            by=SYSTEM_USER_ID,
        )
    return camera_id


# The watcher of the positions: reads them every 2 ms until they reach the notification id given on its stdin,
# then writes every read (time.monotonic() when it came back, the lowest position) to its stdout.
OBSERVER = """
import json, sys, threading, time
import psycopg
last = []
threading.Thread(target=lambda: last.append(int(sys.stdin.readline())), daemon=True).start()
seen = []
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    query = ("SELECT min(position) FROM projection_positions WHERE name = ANY(%s)", (sys.argv[2:],))
    conn.execute(*query, prepare=True)
    print("ready", flush=True)
    while not (last and seen and seen[-1][1] >= last[0]):
        position = conn.execute(*query, prepare=True).fetchone()[0]
        seen.append((time.monotonic(), position))
        time.sleep(0.002)
json.dump(seen, sys.stdout)
"""


def observed_lags(committed: list[tuple[int, float]], seen: list[tuple[float, int]]) -> list[float]:
    """Each command's lag in ms: from its commit to the first read of the positions, at or after the commit,
    that finds every projection at or past its notification id (reads that found them there before the
    command's thread took its time count as the first read after it)."""
    times = [t for t, _ in seen]
    positions = [p for _, p in seen]
    assert all(a <= b for a, b in zip(positions, positions[1:], strict=False)), (
        "a tracking position went back during the run"
    )
    lags = []
    for notification_id, at in committed:
        first = max(bisect.bisect_left(times, at), bisect.bisect_left(positions, notification_id))
        assert first < len(seen), f"notification {notification_id} was never seen processed"
        lags.append((times[first] - at) * 1000)
    return lags


def bench_dispatcher(app) -> UUID:  # noqa: ANN001
    """The account the bench's reports are made by."""
    try:
        return app.create_user(
            username="bench.dispatcher",
            display_name="Bench dispatcher",
            role=Role.DISPATCHER,
            password="bench-password-2569",
            by=SYSTEM_USER_ID,
        ).id
    except InvalidInput:  # made by an earlier run
        return UserAccount.id_for("bench.dispatcher")


def lag_under_load(settings: Settings, events_per_s: int = 1000, seconds: float = 20.0) -> list[float]:
    container = bootstrap(settings)
    app, projections = container.app, container.projections
    camera = bench_camera(app)
    dispatcher = bench_dispatcher(app)
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "SSZ_DATA_DIR": str(settings.data_dir),
        "SSZ_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    spawned = time.monotonic()
    worker = subprocess.Popen([sys.executable, "-m", "entrypoints.cli", "projections", "run"], cwd=ROOT, env=env)
    observer = None

    def alert() -> int:
        """A camera alert (one event): the zone's most frequent command."""
        return app.raise_camera_alert(
            camera_id=camera,
            kind=AlertKind.MOTION_IN_ZONE,
            score=0.5,
            snapshot_digest="0" * 64,
            frame_at=datetime.now(UTC),
        ).notification_id

    def intake() -> int:
        """An SOS reported (two events: the reference issued, the incident reported): the command whose visibility
        on the board matters most."""
        return app.report_incident(
            channel=Channel.MOBILE_SOS,
            category=Category.SEXUAL_HARASSMENT,
            priority=Priority.P1,
            community=Community.CHET_YOT,
            location="Night market",
            description="SOS (bench)",
            by=dispatcher,
        ).notification_id

    committed: list[tuple[int, float]] = []  # (notification id, time.monotonic(): the same clock in every process)
    stop = threading.Event()

    def write(rate_per_writer: float) -> None:
        """An alert, then two intakes, and again, paced to `rate_per_writer` events a second."""
        next_at = time.monotonic()
        for command, events in itertools.cycle(((alert, 1), (intake, 2), (intake, 2))):
            if stop.is_set():
                return
            notification_id = command()
            committed.append((notification_id, time.monotonic()))
            next_at += events / rate_per_writer
            time.sleep(max(0.0, next_at - time.monotonic()))

    try:
        # The worker is up and following the log once a command written now has been processed (waiting only for
        # the head would not do: the read models may already stand there, left by a rebuild or a previous run).
        if not projections.wait(alert(), timeout=600):
            raise RuntimeError("the projection worker did not process a command within 10 minutes")
        print(
            f"# projection worker following the log {time.monotonic() - spawned:.1f} s after it was started; "
            f"then {WRITERS} writers for {seconds:.0f} s",
            flush=True,
        )
        observer = subprocess.Popen(
            [sys.executable, "-c", OBSERVER, projections.dsn, *projections.by_name],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        if observer.stdout.readline().strip() != "ready":
            raise RuntimeError("the observer of the positions did not start")
        writers = [threading.Thread(target=write, args=(events_per_s / WRITERS,)) for _ in range(WRITERS)]
        start_head = projections.head()
        for w in writers:
            w.start()
        time.sleep(seconds)
        stop.set()
        for w in writers:
            w.join()
        achieved = (projections.head() - start_head) / seconds
        seen = json.loads(observer.communicate(f"{max(n for n, _ in committed)}\n", timeout=60)[0])
    finally:
        stop.set()
        if observer is not None:
            observer.kill()
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        container.close()
    metric("projection.lag_load_events_per_s", round(achieved))
    return observed_lags(committed, seen)


def percentile(values: list[float], p: float) -> float:
    """Nearest rank, as in KPIS.md."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]
