"""Runs the projections: reads the log in pages from the lowest position among them, applies each
event to the projections that have not seen it, and commits their rows with their new positions in
one transaction, so a crash never applies an event twice or skips one.

One worker owns the projections at a time (a PostgreSQL advisory lock, or a file lock on the embedded
store); another worker waits and takes over when the owner dies. On PostgreSQL the worker wakes on the
log's NOTIFY; on SQLite it polls."""

from __future__ import annotations

import fcntl
import gc
import multiprocessing
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from datetime import datetime, timezone
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import structlog
from eventsourcing.persistence import StoredEvent
from psycopg import sql
from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.dialects import postgresql, sqlite

from application.zone import ZoneApplication
from infrastructure.readmodels.projections import (
    Page, Projection, Record, TimelineProjection, all_projections, class_version, copy_rows, copying, driver, loads, recorded,
    replace_with_stage, timeline_values, upcast,
)
from infrastructure.readmodels.tables import projection_positions
from infrastructure.settings import Settings

log = structlog.get_logger()


# The two halves of the aggregates that the two processes of a rebuild replay (ids are uniform: uuid4, uuid5).
LOWER_HALF = "originator_id < '80000000-0000-0000-0000-000000000000'"
UPPER_HALF = "originator_id >= '80000000-0000-0000-0000-000000000000'"


class LostOwnership(Exception):
    """Another worker, or a rebuild, moved a projection's position under this one."""


class FileLock:
    def __init__(self, path: Path):
        self.path = path
        self.handle: Any = None

    def try_acquire(self) -> bool:
        if self.handle is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 — held open for as long as the lock is
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self.handle = handle
        return True

    def release(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


class AdvisoryLock:
    """A session-level advisory lock on its own connection: released by the server when the owner dies."""

    def __init__(self, dsn: str, key: int):
        self.dsn = dsn
        self.key = key
        self.conn: psycopg.Connection | None = None

    def try_acquire(self) -> bool:
        if self.conn is not None and not self.conn.closed:
            return True
        conn = psycopg.connect(self.dsn, autocommit=True)
        if conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()[0]:
            self.conn = conn
            return True
        conn.close()
        return False

    def release(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Waker:
    """Wakes the worker when the log grows: LISTEN on PostgreSQL, a short poll on SQLite."""

    def __init__(self, dsn: str | None, channel: str, poll_interval: float):
        self.dsn = dsn
        self.channel = channel
        self.poll_interval = poll_interval
        self.conn: psycopg.Connection | None = None

    def wait(self, timeout: float) -> None:
        """Returns when the log may have grown: on its NOTIFY, after `timeout`, or at once when it has just started
        listening (what was committed before the LISTEN told it nothing: the caller must look at the log again)."""
        if self.dsn is None:
            time.sleep(self.poll_interval)
            return
        try:
            if self.conn is None or self.conn.closed:
                self.conn = psycopg.connect(self.dsn, autocommit=True)
                self.conn.execute(f"LISTEN {self.channel}")
                return
            for _ in self.conn.notifies(timeout=timeout, stop_after=1):
                pass
        except psycopg.Error:
            self.close()
            time.sleep(self.poll_interval)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def libpq_dsn(settings: Settings) -> str:
    p = settings.postgres_params()
    return (f"dbname={p['POSTGRES_DBNAME']} host={p['POSTGRES_HOST']} port={p['POSTGRES_PORT']} "
            f"user={p['POSTGRES_USER']}" + (f" password={p['POSTGRES_PASSWORD']}" if p["POSTGRES_PASSWORD"] else ""))


class Projections:
    """The projections of one process: positions, lag, read-your-writes, rebuilds, and the worker."""

    # Told the positions after each page this process commits (infrastructure/readmodels/read_side.py wakes on it).
    notifier: Callable[[dict[str, int]], None] | None = None

    def __init__(self, app: ZoneApplication, engine: Engine, settings: Settings, *,
                 projections: list[Projection] | None = None, page_size: int = 2000):
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
        now = datetime.now(timezone.utc)
        with self.engine.begin() as conn:
            conn.execute(dialect.insert(projection_positions).on_conflict_do_nothing(index_elements=["name"]),
                         [{"name": p.name, "position": 0, "updated_at": now} for p in self.projections])

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
    def _plain(self, stored: bytes | str) -> bytes | str:
        """A stored state's JSON text: decrypted and decompressed when the application stores it so."""
        mapper = self.app.mapper
        if mapper.cipher:
            stored = mapper.cipher.decrypt(stored)
        if mapper.compressor:
            stored = mapper.compressor.decompress(stored)
        return stored

    def _recorded(self, stored: bytes | str) -> tuple[dict[str, Any], str]:
        """A stored state as JSON, as it was recorded, and the text of its timeline parameters."""
        return recorded(self._plain(stored))

    def _decode(self, topic: str, stored: bytes | str) -> dict[str, Any]:
        """A stored state as JSON, upcast to its event class's current version (no domain objects)."""
        return upcast(topic, loads(self._plain(stored)))

    def _page(self, rows: Iterable[tuple[int, UUID, int, str, bytes]], projections: list[Projection]) -> Page:
        """Records of stored events; each decoded only in the form(s) that some of the projections read."""
        json_topics = {t for p in projections if p.reads_json for t in p.topics}
        event_topics = {t for p in projections if not p.reads_json for t in p.topics}
        decode, to_event = self._decode, self.app.mapper.to_domain_event
        return [Record(nid, oid, version, topic, stored, decode(topic, stored) if topic in json_topics else None,
                       to_event(StoredEvent(oid, version, topic, stored)) if topic in event_topics else None)
                for nid, oid, version, topic, stored in rows]

    def _read(self, start: int, stop: int, projections: list[Projection]) -> tuple[Page, int]:
        """A page of the log after `start`, up to `stop`. Returns the page and the position it brings the
        projections to."""
        notifications = self.app.recorder.select_notifications(start=start + 1, limit=self.page_size, stop=stop)
        page = self._page(((n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in notifications), projections)
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
        now = datetime.now(timezone.utc)
        applied = [p for p in self.projections if positions[p.name] < last]
        starts: dict[int, list[str]] = {}
        for projection in applied:
            starts.setdefault(positions[projection.name], []).append(projection.name)
        with conn.begin():
            for old, names in starts.items():
                moved = conn.execute(update(projection_positions)
                                     .where(projection_positions.c.name.in_(names), projection_positions.c.position == old)
                                     .values(position=last, updated_at=now))
                if moved.rowcount != len(names):
                    raise LostOwnership(f"the position of a projection of {', '.join(names)} moved under this worker")
            for projection in applied:
                old = positions[projection.name]
                projection.apply_page(conn, page if not page or page[0].id > old else [r for r in page if r.id > old])
        log.info("projection.batch", projections=[p.name for p in applied], first=page[0].id if page else last, last=last, events=len(page))

    def run(self, stop: threading.Event | None = None, *, poll_interval: float = 0.05) -> None:
        """Owns and follows the projections until stopped; waits its turn while another worker owns them."""
        stop = stop or self._stop
        waker = Waker(self.dsn, self.app.recorder.channel_name if self.dsn else "", poll_interval)
        owner = False
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
                except LostOwnership as error:
                    log.info("projections.reloaded", reason=str(error))
                    continue
                except Exception as error:  # the worker must outlive a bad moment of the database
                    log.exception("projections.failed", error=str(error))
                    stop.wait(1.0)
                    continue
                waker.wait(timeout=1.0)
        finally:
            waker.close()
            self.lock.release()
            if freezing:
                gc.unfreeze()

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
                return self._rebuild_in_bulk(chosen, progress)
            finally:
                lock.release()
        with self.engine.begin() as conn:
            for projection in chosen:
                projection.reset(conn)
                conn.execute(update(projection_positions).where(projection_positions.c.name == projection.name)
                             .values(position=0, updated_at=datetime.now(timezone.utc)))
            if self.dsn:  # wake the owner
                conn.exec_driver_sql(f"NOTIFY {self.app.recorder.channel_name}")
        head, seen = self.head(), 0
        while (done := min(self.positions()[p.name] for p in chosen)) < head:
            if progress and done > seen:
                progress(done - seen)
                seen = done
            time.sleep(0.2)
        return head

    def _rebuild_in_bulk(self, chosen: list[Projection], progress: Callable[[int], None] | None) -> int:
        head = self.head()
        for projection in chosen:  # rows a catch-up kept at hand: the replay makes every row anew
            projection.rows.forget()
        # Every row stays in memory until the end: the cyclic GC would walk them again and again (it
        # doubled the time of decoding); rows and events hold no cycles.
        collecting = gc.isenabled()
        gc.disable()
        try:
            if self.engine.dialect.name == "postgresql":
                self._rebuild_postgres(chosen, head, progress)
            else:
                self._rebuild_sqlite(chosen, head, progress)
        finally:
            if collecting:
                gc.enable()
            for projection in chosen:
                projection.rows.forget()
        log.info("projections.rebuilt", projections=[p.name for p in chosen], events=head)
        return head

    def _rebuild_sqlite(self, chosen: list[Projection], head: int, progress: Callable[[int], None] | None) -> None:
        """One transaction: the tables emptied, the log replayed into rows in memory, the rows inserted."""
        with self.engine.begin() as conn:
            for projection in chosen:
                projection.reset(conn)
            timeline = self._timeline(chosen)
            self._replay(self._stored(head, self._topics(chosen)), chosen, head, progress,
                         timeline.pending.append if timeline else None)
            for projection in chosen:
                projection.write_all(conn)
            self._set_positions(conn, chosen, head)

    def _rebuild_postgres(self, chosen: list[Projection], head: int, progress: Callable[[int], None] | None) -> None:
        """Two processes replay the log, each for half of the aggregates (by originator id: every row of
        every read model belongs to one aggregate), each event decoded once; both put their rows into shared
        staging tables by binary COPY: the timeline's as they are made (PostgreSQL takes them in on the side),
        the other projections' from memory at the end. Then this process writes each table's difference
        from its staging table in two transactions, side by side: the timeline's and the other projections'
        (each committed with its positions; readers see the old rows until then)."""
        timeline = self._timeline(chosen)
        rest = [p for p in chosen if p is not timeline]
        stages = self._create_stages(chosen)
        helper, answer = self._fork(chosen, head, stages)
        try:
            with ExitStack() as stack:
                conn = stack.enter_context(self.engine.begin())
                tconn = stack.enter_context(self.engine.begin()) if timeline else None
                for c in (conn, tconn):
                    if c is not None:  # hash joins of a million rows in memory; no JIT compiling for seconds
                        c.exec_driver_sql("SET LOCAL work_mem = '256MB'")
                        c.exec_driver_sql("SET LOCAL jit = off")
                self._replay_part(driver(conn), driver(tconn) if timeline else None, chosen, head, stages, LOWER_HALF,
                                  progress)
                helper.join()
                error = answer.recv() if answer.poll() else f"exit code {helper.exitcode}"
                if error is not None:
                    raise RuntimeError(f"the rebuild's second process failed: {error}")
                failures: list[BaseException] = []

                def finish_timeline() -> None:
                    try:
                        replace_with_stage(tconn, timeline.table, stages[timeline.name])
                        self._set_positions(tconn, [timeline], head)
                    except BaseException as error:  # raised again in the caller's thread
                        failures.append(error)
                side = threading.Thread(target=finish_timeline) if timeline else None
                if side:
                    side.start()
                try:
                    for projection in rest:
                        replace_with_stage(conn, projection.table, stages[projection.name])
                    self._set_positions(conn, rest, head)
                finally:
                    if side:
                        side.join()
                if failures:
                    raise failures[0]
        except BaseException:
            if helper.is_alive():
                helper.terminate()
            helper.join()
            self._drop_stages(stages)
            raise

    def _create_stages(self, projections: list[Projection]) -> dict[str, str]:
        """Staging tables that both processes of a rebuild fill (unlogged: nothing of them goes to the WAL);
        each is dropped in the transaction that writes its table, or when the rebuild fails."""
        stages = {p.name: f"rebuild_{p.table.name}" for p in projections}
        with psycopg.connect(self.dsn, autocommit=True) as raw:
            for projection in projections:
                stage = stages[projection.name]
                raw.execute(f"DROP TABLE IF EXISTS {stage}")
                raw.execute(f"CREATE UNLOGGED TABLE {stage} (LIKE {projection.table.name})")
        return stages

    def _drop_stages(self, stages: dict[str, str]) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as raw:
            for stage in stages.values():
                raw.execute(f"DROP TABLE IF EXISTS {stage}")

    def _fork(self, chosen: list[Projection], head: int, stages: dict[str, str]) -> tuple[BaseProcess, Any]:
        """The second process of a rebuild: a fork of this one, so that it has the same projections (and
        nothing to import); it opens connections of its own and only exits (no clean-up of what it inherited)."""
        answer, report = multiprocessing.Pipe(duplex=False)

        def run() -> None:
            error = None
            try:
                with psycopg.connect(self.dsn) as read, psycopg.connect(self.dsn) as write:
                    self._replay_part(read, write, chosen, head, stages, UPPER_HALF, None)
                    write.commit()
                    read.commit()
            except BaseException as failure:
                error = f"{type(failure).__name__}: {failure}"
            report.send(error)
        process = multiprocessing.get_context("fork").Process(target=run, name="ssz-rebuild", daemon=True)
        process.start()
        report.close()
        return process, answer

    def _replay_part(self, read: psycopg.Connection, write: psycopg.Connection | None, chosen: list[Projection], head: int,
                     stages: dict[str, str], part: str, progress: Callable[[int], None] | None) -> None:
        """One half of the aggregates replayed from the log (read on `read`) into the staging tables: the
        timeline's rows by COPY on `write` as they are made, the other projections' at the end, on `read`."""
        timeline = self._timeline(chosen)
        rest = [p for p in chosen if p is not timeline]
        columns = {p.name: [c.name for c in p.table.columns] for p in chosen}
        with ExitStack() as copy:
            sink = copy.enter_context(copying(write, stages[timeline.name], columns[timeline.name], queued=True)) \
                if timeline else None
            self._replay(self._stream(read, head, self._topics(chosen), part), rest, head, progress, sink)
        for projection in rest:
            copy_rows(read, stages[projection.name], columns[projection.name],
                      projection.rows.stored(projection.rows.rows.values()))
            projection.rows.forget()

    @staticmethod
    def _timeline(projections: list[Projection]) -> TimelineProjection | None:
        return next((p for p in projections if isinstance(p, TimelineProjection)), None)

    @staticmethod
    def _set_positions(conn: Connection, projections: list[Projection], head: int) -> None:
        if projections:
            conn.execute(update(projection_positions).where(projection_positions.c.name.in_([p.name for p in projections]))
                         .values(position=head, updated_at=datetime.now(timezone.utc)))

    def _replay(self, stored: Iterable[tuple[int, UUID, int, str, bytes]], projections: list[Projection], head: int,
                progress: Callable[[int], None] | None, timeline: Callable[[tuple], None] | None = None) -> None:
        """Applies stored events one by one to the projections' rows in memory: each event decoded once,
        in the form(s) its projections read, and dropped as soon as they have applied it. `timeline`, when
        given, takes the timeline row of every event (made from its state as stored, before any upcast)."""
        projections = [p for p in projections if not isinstance(p, TimelineProjection)]
        routes: dict[str | None, list[Callable[[Record], None]]] = {}
        for projection in projections:
            for topic, apply in projection.routes().items():
                routes.setdefault(topic, []).append(apply)
        every = routes.pop(None, [])
        json_topics = {t for p in projections if p.reads_json for t in p.topics}
        event_topics = {t for p in projections if not p.reads_json for t in p.topics}
        mapper = self.app.mapper
        plain_json = not (mapper.cipher or mapper.compressor)
        plain, split, to_event, make = self._plain, recorded, mapper.to_domain_event, tuple.__new__
        # Per topic: (its class version when some projection reads its JSON (else 0), whether some read its
        # domain event, what applies it).
        plans: dict[str, tuple[int, bool, list[Callable[[Record], None]]]] = {}

        def plan(topic: str) -> tuple[int, bool, list[Callable[[Record], None]]]:
            found = plans[topic] = (class_version(topic) if topic in json_topics else 0, topic in event_topics,
                                    routes.get(topic, []) + every)
            return found
        row = timeline_values
        position = reported = 0
        for position, oid, version, topic, data in stored:
            current, wants_event, applies = plans.get(topic) or plan(topic)
            if not (applies or timeline):
                continue
            state = event = None
            if timeline:  # decode() inlined: this loop runs once per event of the log
                state, params = split(data if plain_json else plain(data))
                timeline(row(position, oid, version, topic, state, params))
            elif current:
                state = loads(data if plain_json else plain(data))
            if current:
                stored_version = state.pop("class_version", 1)
                if stored_version < current:
                    upcast(topic, state, stored_version)
            else:
                state = None
            if wants_event:
                event = to_event(StoredEvent(oid, version, topic, data))
            if applies:
                record = make(Record, (position, oid, version, topic, data, state, event))
                for apply in applies:
                    apply(record)
            if progress and position - reported >= 10_000:
                progress(position - reported)
                reported = position
        if progress and head > reported:
            progress(head - reported)

    def _topics(self, projections: list[Projection]) -> list[str]:
        """The topics the projections handle; none (every event) when one of them handles every event."""
        return [] if any(not p.topics for p in projections) else [t for p in projections for t in p.topics]

    def _stored(self, head: int, topics: list[str]) -> Iterable[tuple[int, UUID, int, str, bytes]]:
        """The log up to the head, of the given topics (all when none), through the recorder."""
        position, limit = 0, max(self.page_size, 10_000)
        while position < head:
            notifications = self.app.recorder.select_notifications(start=position + 1, limit=limit, stop=head, topics=topics)
            for n in notifications:
                yield n.id, n.originator_id, n.originator_version, n.topic, n.state
            if len(notifications) < limit:
                return
            position = notifications[-1].id

    def _stream(self, raw: psycopg.Connection, head: int, topics: list[str], part: str | None = None,
                batch: int = 10_000) -> Iterable[tuple[int, UUID, int, str, bytes]]:
        """PostgreSQL: the log up to the head, of the given topics (all when none) and aggregates (`part`:
        a condition on originator_id), through a server-side cursor in binary on the given connection, in its
        transaction (rows are made in C, a batch at a time: half the client time of COPY's row by row)."""
        query = sql.SQL("SELECT notification_id::int8, originator_id::uuid, originator_version::int8, topic::text, "
                        "state::bytea FROM {events} WHERE notification_id <= %s{topics}{part} ORDER BY notification_id").format(
            events=sql.SQL(self.app.recorder.events_table_name),
            topics=sql.SQL(" AND topic = ANY(%s)") if topics else sql.SQL(""),
            part=sql.SQL(f" AND {part}") if part else sql.SQL(""))
        with raw.cursor(name="ssz_rebuild", binary=True) as cursor:
            cursor.execute(query, (head, topics) if topics else (head,))
            while rows := cursor.fetchmany(batch):
                yield from rows
