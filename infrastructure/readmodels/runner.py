"""Runs the projections: reads the log in pages from the lowest position among them, applies each
event to the projections that have not seen it, and commits their rows with their new positions in
one transaction, so a crash never applies an event twice or skips one.

One worker owns the projections at a time (a PostgreSQL advisory lock, or a file lock on the embedded
store); another worker waits and takes over when the owner dies. On PostgreSQL the worker wakes on the
log's NOTIFY; on SQLite it polls."""

from __future__ import annotations

import gc
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.persistence import StoredEvent
from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.dialects import postgresql, sqlite

from application.zone import ZoneApplication
from infrastructure.readmodels.base import Projection
from infrastructure.readmodels.ownership import AdvisoryLock, FileLock, Waker, libpq_dsn
from infrastructure.readmodels.projections import all_projections
from infrastructure.readmodels.rebuild import Rebuild
from infrastructure.readmodels.stored import Page, Record, loads, upcast
from infrastructure.readmodels.tables import projection_positions
from infrastructure.readmodels.timeline import TimelineProjection, recorded
from infrastructure.settings import Settings

log = structlog.get_logger()


class LostOwnership(Exception):
    """Another worker, or a rebuild, moved a projection's position under this one."""


class Projections:
    """The projections of one process: positions, lag, read-your-writes, rebuilds, and the worker."""

    # Told the positions after each page this process commits (infrastructure/readmodels/read_side.py wakes on it).
    notifier: Callable[[dict[str, int]], None] | None = None

    def __init__(
        self,
        app: ZoneApplication,
        engine: Engine,
        settings: Settings,
        *,
        projections: list[Projection] | None = None,
        page_size: int = 2000,
    ):
        self.app = app
        self.engine = engine
        self.settings = settings
        self.projections = projections or all_projections(app.recorder.events_table_name)
        self.by_name = {p.name: p for p in self.projections}
        for projection in self.projections:
            if isinstance(projection, TimelineProjection):  # it reads every event's state as recorded
                projection.decode = self._recorded
        self.page_size = page_size
        self.dsn = libpq_dsn(settings) if settings.uses_postgres else None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._positions_ensured = False
        self.lock = self._new_lock()

    def _new_lock(self) -> AdvisoryLock | FileLock:
        if self.dsn:
            return AdvisoryLock(self.dsn, zlib.crc32(b"ssz-projections"))
        return FileLock(self.settings.data_dir / "projections.lock")

    # --- positions --------------------------------------------------------------------------
    def _ensure_positions(self) -> None:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(
                dialect.insert(projection_positions).on_conflict_do_nothing(index_elements=["name"]),
                [{"name": p.name, "position": 0, "updated_at": now} for p in self.projections],
            )

    def positions(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            found = dict(conn.execute(select(projection_positions.c.name, projection_positions.c.position)).all())
        return {p.name: found.get(p.name, 0) for p in self.projections}

    def head(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def lag(self) -> dict[str, int]:
        head = self.head()
        return {name: head - position for name, position in self.positions().items()}

    def wait(self, notification_id: int | None, *, names: list[str] | None = None, timeout: float = 2.0) -> bool:
        """Read-your-writes: waits (bounded) until the named projections (all by default) have
        processed the given notification. True when they have."""
        if notification_id is None:
            return True
        deadline = time.monotonic() + timeout
        wanted = names or list(self.by_name)
        while True:
            positions = self.positions()
            if all(positions[n] >= notification_id for n in wanted):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    # --- processing -------------------------------------------------------------------------
    def json_text(self, stored: bytes | str) -> bytes | str:
        """A stored state's JSON text: decrypted and decompressed when the application stores it so."""
        mapper = self.app.mapper
        if mapper.cipher:
            stored = mapper.cipher.decrypt(stored)
        if mapper.compressor:
            stored = mapper.compressor.decompress(stored)
        return stored

    def _recorded(self, stored: bytes | str) -> tuple[dict[str, Any], str]:
        """A stored state as JSON, as it was recorded, and the text of its timeline parameters."""
        return recorded(self.json_text(stored))

    def _decode(self, topic: str, stored: bytes | str) -> dict[str, Any]:
        """A stored state as JSON, upcast to its event class's current version (no domain objects)."""
        return upcast(topic, loads(self.json_text(stored)))

    def _page(self, rows: Iterable[tuple[int, UUID, int, str, bytes]], projections: list[Projection]) -> Page:
        """Records of stored events; each decoded only in the form(s) that some of the projections read."""
        json_topics = {t for p in projections if p.reads_json for t in p.topics}
        event_topics = {t for p in projections if not p.reads_json for t in p.topics}
        decode, to_event = self._decode, self.app.mapper.to_domain_event
        return [
            Record(
                nid,
                oid,
                version,
                topic,
                stored,
                decode(topic, stored) if topic in json_topics else None,
                to_event(StoredEvent(oid, version, topic, stored)) if topic in event_topics else None,
            )
            for nid, oid, version, topic, stored in rows
        ]

    def _read(self, start: int, stop: int, projections: list[Projection]) -> tuple[Page, int]:
        """A page of the log after `start`, up to `stop`. Returns the page and the position it brings the
        projections to."""
        notifications = self.app.recorder.select_notifications(start=start + 1, limit=self.page_size, stop=stop)
        page = self._page(
            ((n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in notifications), projections
        )
        return page, notifications[-1].id if len(notifications) == self.page_size else stop

    def catch_up(self, *, until: int | None = None, progress: Callable[[int], None] | None = None) -> int:
        """Processes the log up to its head (or `until`), a page per transaction; returns how many
        notifications were read."""
        if not self._positions_ensured:  # (their rows are never deleted)
            self._ensure_positions()
            self._positions_ensured = True
        positions = self.positions()
        read = 0
        # One connection for every page: each checkout from the pool would ping the server first.
        with self.engine.connect() as conn:
            while True:
                head = self.head() if until is None else min(until, self.head())
                start = min(positions.values())
                if start >= head:
                    return read
                behind = [p for p in self.projections if positions[p.name] < head]
                page, last = self._read(start, head, behind)
                try:
                    self._commit_page(conn, page, positions, last)
                except Exception:
                    for projection in self.projections:
                        projection.rows.forget()
                    raise
                for name in positions:
                    positions[name] = max(positions[name], last)
                if self.notifier is not None:
                    self.notifier(dict(positions))
                read += len(page)
                if progress:
                    progress(len(page))

    def _commit_page(self, conn: Connection, page: Page, positions: dict[str, int], last: int) -> None:
        """In one transaction: the positions of the projections behind `last` moved to it (each only from
        where this worker saw it: one statement per position they start from, usually one), and the page
        applied to each from there."""
        now = datetime.now(UTC)
        applied = [p for p in self.projections if positions[p.name] < last]
        starts: dict[int, list[str]] = {}
        for projection in applied:
            starts.setdefault(positions[projection.name], []).append(projection.name)
        with conn.begin():
            for old, names in starts.items():
                moved = conn.execute(
                    update(projection_positions)
                    .where(projection_positions.c.name.in_(names), projection_positions.c.position == old)
                    .values(position=last, updated_at=now)
                )
                if moved.rowcount != len(names):
                    raise LostOwnership(f"the position of a projection of {', '.join(names)} moved under this worker")
            for projection in applied:
                old = positions[projection.name]
                projection.apply_page(conn, page if not page or page[0].id > old else [r for r in page if r.id > old])
        log.info(
            "projection.batch",
            projections=[p.name for p in applied],
            first=page[0].id if page else last,
            last=last,
            events=len(page),
        )

    def run(self, stop: threading.Event | None = None, *, poll_interval: float = 0.05) -> None:
        """Owns and follows the projections until stopped; waits its turn while another worker owns them."""
        stop = stop or self._stop
        waker = Waker(self.dsn, self.app.recorder.channel_name if self.dsn else "", poll_interval)
        owner = False
        next_tick = 0.0  # when the projections' work on time is next due (Projection.tick)
        # What the process holds when it starts following (modules, classes, the application: ~100k objects) is
        # set aside from the cyclic GC while it follows, so that a full collection, which comes every so many
        # pages, does not walk all of it again (under the lag bench: pauses of 85-250 ms before, 15-50 ms after).
        # Not where the process froze its start itself already (a serving process running the projections).
        freezing = gc.get_freeze_count() == 0
        if freezing:
            gc.collect()
            gc.freeze()
        try:
            while not stop.is_set():
                if not self.lock.try_acquire():
                    stop.wait(1.0)
                    continue
                if not owner:
                    owner = True
                    log.info("projections.owner", projections=list(self.by_name))
                try:
                    self.catch_up()
                    if time.monotonic() >= next_tick:  # (not on every wake: the log's NOTIFYs come by the hundred)
                        next_tick = time.monotonic() + max(self.tick(), poll_interval)
                except LostOwnership as error:
                    log.info("projections.reloaded", reason=str(error))
                    continue
                except Exception as error:  # the worker must outlive a bad moment of the database
                    log.exception("projections.failed", error=str(error))
                    stop.wait(1.0)
                    continue
                waker.wait(timeout=min(1.0, max(next_tick - time.monotonic(), poll_interval)))
        finally:
            waker.close()
            self.lock.release()
            if freezing:
                gc.unfreeze()

    def tick(self) -> float:
        """The projections' work on time rather than on events (the ledger's checkpoints), by the worker that owns
        them: returns how soon one of them wants to be called again (in seconds)."""
        wanted = [p.tick(self.engine) for p in self.projections]
        return min((w for w in wanted if w is not None), default=1.0)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="projections", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def rebuild(self, names: list[str] | None = None, *, progress: Callable[[int], None] | None = None) -> int:
        """Replays the whole log into the named projections (all by default): their tables end up holding
        exactly the rows of the replay.

        With the projections' lock: each group (on PostgreSQL the timeline, which the database builds
        itself, beside the rest, which Python builds in memory from the stored JSON) in one transaction,
        so readers keep seeing the old rows until the new ones commit, and a crash leaves the old ones;
        on PostgreSQL only the rows that differ are written. If a worker owns the projections, they are
        emptied and that worker replays them."""
        chosen = [self.by_name[n] for n in (names or list(self.by_name))]
        self._ensure_positions()
        lock = self._new_lock()
        if lock.try_acquire():
            try:
                return Rebuild(self).run(chosen, progress)
            finally:
                lock.release()
        with self.engine.begin() as conn:
            for projection in chosen:
                projection.reset(conn)
                conn.execute(
                    update(projection_positions)
                    .where(projection_positions.c.name == projection.name)
                    .values(position=0, updated_at=datetime.now(UTC))
                )
            if self.dsn:  # wake the owner
                conn.exec_driver_sql(f"NOTIFY {self.app.recorder.channel_name}")
        head, seen = self.head(), 0
        while (done := min(self.positions()[p.name] for p in chosen)) < head:
            if progress and done > seen:
                progress(done - seen)
                seen = done
            time.sleep(0.2)
        return head
