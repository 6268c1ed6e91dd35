"""A rebuild of read models: the whole log replayed into the chosen projections' rows in memory, each event decoded
once, and written in one go (on PostgreSQL by two processes, each for half of the aggregates, through staging
tables, only the rows that differ)."""

from __future__ import annotations

import gc
import multiprocessing
import threading
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from datetime import UTC, datetime
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any
from uuid import UUID

import psycopg
import structlog
from eventsourcing.persistence import StoredEvent
from psycopg import sql
from sqlalchemy import Connection, update

from infrastructure.readmodels.base import Projection
from infrastructure.readmodels.rows import copy_rows, copying, driver, replace_with_stage
from infrastructure.readmodels.stored import Record, class_version, loads, upcast
from infrastructure.readmodels.tables import projection_positions
from infrastructure.readmodels.timeline import TimelineProjection, recorded, timeline_values

if TYPE_CHECKING:
    from infrastructure.readmodels.runner import Projections

log = structlog.get_logger()

# The two halves of the aggregates that the two processes of a rebuild replay (ids are uniform: uuid4, uuid5).
LOWER_HALF = "originator_id < '80000000-0000-0000-0000-000000000000'"
UPPER_HALF = "originator_id >= '80000000-0000-0000-0000-000000000000'"


class Rebuild:
    """One rebuild, by the process's projections (which hold the projections' lock meanwhile)."""

    def __init__(self, projections: Projections):
        self.app = projections.app
        self.engine = projections.engine
        self.dsn = projections.dsn
        self.page_size = projections.page_size
        self.json_text = projections.json_text
        self.head = projections.head

    def run(self, chosen: list[Projection], progress: Callable[[int], None] | None) -> int:
        head = self.head()
        for projection in [p for p in chosen if hasattr(p, "rebuild")]:  # the ledger: the whole log in order, by itself
            projection.rebuild(self.engine, head, progress if len(chosen) == 1 else None)
        if not (chosen := [p for p in chosen if not hasattr(p, "rebuild")]):
            return head
        for projection in chosen:  # rows a catch-up kept at hand: the replay makes every row anew
            projection.rows.forget()
        # Every row stays in memory until the end: the cyclic GC would walk them again and again (it
        # doubled the time of decoding); rows and events hold no cycles.
        collecting = gc.isenabled()
        gc.disable()
        try:
            if self.engine.dialect.name == "postgresql":
                self._postgres(chosen, head, progress)
            else:
                self._sqlite(chosen, head, progress)
        finally:
            if collecting:
                gc.enable()
            for projection in chosen:
                projection.rows.forget()
        log.info("projections.rebuilt", projections=[p.name for p in chosen], events=head)
        return head

    def _sqlite(self, chosen: list[Projection], head: int, progress: Callable[[int], None] | None) -> None:
        """One transaction: the tables emptied, the log replayed into rows in memory, the rows inserted."""
        with self.engine.begin() as conn:
            for projection in chosen:
                projection.reset(conn)
            timeline = self._timeline(chosen)
            self._replay(
                self._stored(head, self._topics(chosen)),
                chosen,
                head,
                progress,
                timeline.pending.append if timeline else None,
            )
            for projection in chosen:
                projection.write_all(conn)
            self._set_positions(conn, chosen, head)

    def _postgres(self, chosen: list[Projection], head: int, progress: Callable[[int], None] | None) -> None:
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
                        c.exec_driver_sql("SET LOCAL statement_timeout = 0")  # the pools' limit is for requests
                        c.exec_driver_sql("SET LOCAL work_mem = '256MB'")
                        c.exec_driver_sql("SET LOCAL jit = off")
                self._replay_part(
                    driver(conn), driver(tconn) if timeline else None, chosen, head, stages, LOWER_HALF, progress
                )
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
                    for c in (read, write):
                        c.execute("SET LOCAL statement_timeout = 0")
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

    def _replay_part(
        self,
        read: psycopg.Connection,
        write: psycopg.Connection | None,
        chosen: list[Projection],
        head: int,
        stages: dict[str, str],
        part: str,
        progress: Callable[[int], None] | None,
    ) -> None:
        """One half of the aggregates replayed from the log (read on `read`) into the staging tables: the
        timeline's rows by COPY on `write` as they are made, the other projections' at the end, on `read`."""
        timeline = self._timeline(chosen)
        rest = [p for p in chosen if p is not timeline]
        columns = {p.name: [c.name for c in p.table.columns] for p in chosen}
        with ExitStack() as copy:
            sink = (
                copy.enter_context(copying(write, stages[timeline.name], columns[timeline.name], queued=True))
                if timeline
                else None
            )
            self._replay(self._stream(read, head, self._topics(chosen), part), rest, head, progress, sink)
        for projection in rest:
            copy_rows(
                read,
                stages[projection.name],
                columns[projection.name],
                projection.rows.stored(projection.rows.rows.values()),
            )
            projection.rows.forget()

    @staticmethod
    def _timeline(projections: list[Projection]) -> TimelineProjection | None:
        return next((p for p in projections if isinstance(p, TimelineProjection)), None)

    @staticmethod
    def _set_positions(conn: Connection, projections: list[Projection], head: int) -> None:
        if projections:
            conn.execute(
                update(projection_positions)
                .where(projection_positions.c.name.in_([p.name for p in projections]))
                .values(position=head, updated_at=datetime.now(UTC))
            )

    def _replay(
        self,
        stored: Iterable[tuple[int, UUID, int, str, bytes]],
        projections: list[Projection],
        head: int,
        progress: Callable[[int], None] | None,
        timeline: Callable[[tuple], None] | None = None,
    ) -> None:
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
        plain, split, to_event, make = self.json_text, recorded, mapper.to_domain_event, tuple.__new__
        # Per topic: (its class version when some projection reads its JSON (else 0), whether some read its
        # domain event, what applies it).
        plans: dict[str, tuple[int, bool, list[Callable[[Record], None]]]] = {}

        def plan(topic: str) -> tuple[int, bool, list[Callable[[Record], None]]]:
            found = plans[topic] = (
                class_version(topic) if topic in json_topics else 0,
                topic in event_topics,
                routes.get(topic, []) + every,
            )
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
            notifications = self.app.recorder.select_notifications(
                start=position + 1, limit=limit, stop=head, topics=topics
            )
            for n in notifications:
                yield n.id, n.originator_id, n.originator_version, n.topic, n.state
            if len(notifications) < limit:
                return
            position = notifications[-1].id

    def _stream(
        self, raw: psycopg.Connection, head: int, topics: list[str], part: str | None = None, batch: int = 10_000
    ) -> Iterable[tuple[int, UUID, int, str, bytes]]:
        """PostgreSQL: the log up to the head, of the given topics (all when none) and aggregates (`part`:
        a condition on originator_id), through a server-side cursor in binary on the given connection, in its
        transaction (rows are made in C, a batch at a time: half the client time of COPY's row by row)."""
        query = sql.SQL(
            "SELECT notification_id::int8, originator_id::uuid, originator_version::int8, topic::text, "
            "state::bytea FROM {events} WHERE notification_id <= %s{topics}{part} ORDER BY notification_id"
        ).format(
            events=sql.SQL(self.app.recorder.events_table_name),
            topics=sql.SQL(" AND topic = ANY(%s)") if topics else sql.SQL(""),
            part=sql.SQL(f" AND {part}") if part else sql.SQL(""),
        )
        with raw.cursor(name="ssz_rebuild", binary=True) as cursor:
            cursor.execute(query, (head, topics) if topics else (head,))
            while rows := cursor.fetchmany(batch):
                yield from rows
