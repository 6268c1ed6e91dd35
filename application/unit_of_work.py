"""The unit of work: what every command shares. A command reads aggregates into a `Work`, changes them, and the
work is saved in one atomic save; a save that meets a concurrent write runs the command again on the fresh state."""

from __future__ import annotations

import copy
import random
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Transcoder

from application.errors import ConflictError, NotFound, RecordKind
from application.ports import CameraSecrets, CodeSigner, ContactVault, Credentials
from application.transcodings import register_all
from domain.accounts import UserAccount
from domain.cameras import Camera, CameraAlert
from domain.errors import DomainError
from domain.handover import ShiftHandover
from domain.incident import Incident
from domain.intake import ReferenceBook
from domain.patrol import PatrolUnit, PatrolVisit, RedBox
from domain.values import SYSTEM, SYSTEM_USER_ID, Actor, check_occurred_at

log = structlog.get_logger()
T = TypeVar("T", bound=Aggregate)
MAX_ATTEMPTS = 12
# Aggregates a command usually only reads to check a rule (is the account enabled, is the token current,
# is the camera retired) are always read through the repository, which brings a cached copy up to date with one
# query. Every other aggregate may be served from this process's cache unchecked: one the command changes is proven
# current by its save (a stale one conflicts); one it only read is checked, with the others, in one round trip
# before the save, and a refusal decided on cached state is confirmed on the latest state before anyone sees it.
_READ_FRESH = (UserAccount, RedBox, Camera)
RECORD_KINDS = {
    Incident: RecordKind.INCIDENT,
    PatrolUnit: RecordKind.PATROL_UNIT,
    RedBox: RecordKind.RED_BOX,
    PatrolVisit: RecordKind.PATROL_VISIT,
    Camera: RecordKind.CAMERA,
    CameraAlert: RecordKind.CAMERA_ALERT,
    UserAccount: RecordKind.USER_ACCOUNT,
    ShiftHandover: RecordKind.SHIFT_HANDOVER,
}
# Aggregates that a batch keeps between flushes: few, long-lived and touched by many commands.
_LONG_LIVED = (UserAccount, PatrolUnit, RedBox, Camera, ReferenceBook)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class CommandResult:
    id: UUID
    notification_id: int | None
    """None when the command stored nothing new (an idempotent retry) or ran inside a batch."""


class Work:
    """The aggregates one command reads and changes; saved together in one atomic save."""

    def __init__(
        self, app: UnitOfWork, aggregates: dict[UUID, Aggregate] | None = None, *, latest: Collection[UUID] | bool = ()
    ):
        self.app = app
        self.aggregates: dict[UUID, Aggregate] = {} if aggregates is None else aggregates
        self.latest = latest
        """True, or the ids, to read at their latest stored version rather than as this process's cache has them."""
        self.from_cache: set[UUID] = set()
        """The ids served from the cache without a check: not yet proven current."""

    def find(self, aggregate_id: UUID, cls: type[T]) -> T | None:
        aggregate = self.aggregates.get(aggregate_id)
        if aggregate is None:
            latest = self.latest is True or aggregate_id in self.latest or cls in _READ_FRESH
            aggregate = None if latest else self.app.cached_copy(aggregate_id)
            if aggregate is not None:
                self.from_cache.add(aggregate_id)
            else:
                aggregate = self.app.load(aggregate_id, fresh=True)
            if aggregate is None:
                return None
            self.aggregates[aggregate_id] = aggregate
        return aggregate if isinstance(aggregate, cls) else None

    def unproven(self) -> dict[UUID, int]:
        """The aggregates served from the cache that this work does not change (a save would not notice that they
        are stale), with their versions."""
        return {
            aggregate_id: self.aggregates[aggregate_id].version
            for aggregate_id in self.from_cache
            if not self.aggregates[aggregate_id].pending_events
        }

    def get(self, aggregate_id: UUID, cls: type[T], what: RecordKind, expected_version: int | None = None) -> T:
        aggregate = self.find(aggregate_id, cls)
        if aggregate is None:
            raise NotFound("There is no {what} with id {aggregate_id}.", what=what, aggregate_id=aggregate_id)
        if expected_version is not None and aggregate.version != expected_version:
            label = getattr(aggregate, "reference", None) or getattr(aggregate, "call_sign", None) or what
            raise ConflictError(
                "{label} was changed by someone else while you were looking at it; here is how it stands now.",
                aggregate_id=aggregate_id,
                current_version=aggregate.version,
                label=label,
            )
        return aggregate

    def add(self, aggregate: Aggregate) -> None:
        self.aggregates[aggregate.id] = aggregate

    def actor(self, user_id: UUID) -> Actor:
        if user_id == SYSTEM_USER_ID:
            return SYSTEM
        return self.get(user_id, UserAccount, RecordKind.USER_ACCOUNT).as_actor


@dataclass
class Batch:
    flush_every: int
    aggregates: dict[UUID, Aggregate] = field(default_factory=dict)
    commands: int = 0
    events: int = 0


Command = Callable[[Work], UUID]


class UnitOfWork(Application[UUID]):
    """The application's machinery, shared by the command modules: the ports, the clock, running a command."""

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        vault: ContactVault,
        credentials: Credentials,
        codes: CodeSigner,
        camera_secrets: CameraSecrets,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.vault = vault
        self.credentials = credentials
        self.codes = codes
        self.camera_secrets = camera_secrets
        self.clock = clock
        self._local = threading.local()
        super().__init__(env)

    def _take_snapshots(self, processing_event: Any) -> None:
        """As the library's rule (a snapshot when an aggregate's version reaches a multiple of its interval), but of the
        aggregate in hand, as saved, instead of one read back from the store: for the reference book that read was up
        to 200 events on every 200th report, inside the group commit. Snapshots are made only here."""
        if not (self.snapshots and self.snapshotting_intervals):
            return
        due: dict[UUID, Aggregate] = {}
        for event in processing_event.events:
            aggregate = processing_event.aggregates.get(event.originator_id)
            interval = self.snapshotting_intervals.get(type(aggregate))
            if interval is not None and event.originator_version % interval == 0:
                due[event.originator_id] = aggregate
        for aggregate in due.values():
            self.snapshots.put([getattr(type(aggregate), "Snapshot", self.snapshot_class).take(aggregate)])

    def register_transcodings(self, transcoder: Transcoder) -> None:
        super().register_transcodings(transcoder)
        register_all(transcoder)

    def _run(self, name: str, command: Command) -> CommandResult:
        batch: Batch | None = getattr(self._local, "batch", None)
        if batch is not None:
            result = command(Work(self, batch.aggregates))
            batch.commands += 1
            if batch.commands % batch.flush_every == 0:
                self._flush(batch)
            return CommandResult(result, None)
        with structlog.contextvars.bound_contextvars(command=name, command_id=uuid.uuid4().hex[:12]):
            latest: set[UUID] | bool = set()
            lost_race = False
            for attempt in range(1, MAX_ATTEMPTS + 1):
                work = Work(self, latest=latest)
                try:
                    result = command(work)
                except NotFound:
                    raise
                except DomainError as error:
                    if work.from_cache:  # decided on this process's cache, which may lag: decide again on the latest
                        log.info("command.refusal_to_confirm", reason=error.message, attempt=attempt)
                        latest = True
                        continue
                    if isinstance(error, ConflictError) or not lost_race:
                        log.info("command.refused", reason=error.message)
                        raise
                    # The command lost a race; against the winner's state it no longer holds.
                    log.info("command.conflict", reason=error.message, attempt=attempt)
                    raise ConflictError("Someone else acted first: {cause}", cause=error) from error
                stale = self._stale(work.unproven())
                if stale:  # another process changed what this command read: run it again on the latest
                    log.info("command.retry_on_newer_state", aggregates=len(stale), attempt=attempt)
                    latest = True if latest is True else latest | stale
                    continue
                try:
                    recordings = self.save(*work.aggregates.values())
                except IntegrityError:
                    log.info("command.retry_after_concurrent_write", attempt=attempt)
                    lost_race = True
                    self._evict(work.aggregates)
                    time.sleep(random.uniform(0, 0.005 * attempt))  # jitter, so that racing writers spread out
                    continue
                self._remember(work.aggregates, recordings)
                notification_id = recordings[-1].notification.id if recordings else None
                log.info(
                    "command.done", aggregate_id=str(result), events=len(recordings), notification_id=notification_id
                )
                return CommandResult(result, notification_id)
        raise ConflictError("Too many people changed this at the same moment; please try again.")

    def _stale(self, versions: dict[UUID, int]) -> set[UUID]:
        """The ids whose stored version is newer than the one given: on PostgreSQL in one round trip (the recorder's
        `max_versions`), elsewhere one local read each."""
        if not versions:
            return set()
        max_versions = getattr(self.recorder, "max_versions", None)
        if max_versions is not None:
            stored = max_versions(list(versions))
            return {aggregate_id for aggregate_id, version in versions.items() if stored.get(aggregate_id, 0) > version}
        return {
            aggregate_id
            for aggregate_id, version in versions.items()
            if self.recorder.select_events(aggregate_id, gt=version, limit=1)
        }

    def _run_on(
        self,
        name: str,
        aggregate_id: UUID,
        cls: type[T],
        by: UUID,
        act: Callable[[T, Actor, Work], Any],
        expected_version: int | None = None,
    ) -> CommandResult:
        """A command on one aggregate (and whatever `act` gets from the work besides): who acts, then what."""

        def command(work: Work) -> UUID:
            actor = work.actor(by)
            act(work.get(aggregate_id, cls, RECORD_KINDS[cls], expected_version), actor, work)
            return aggregate_id

        return self._run(name, command)

    def cached_copy(self, aggregate_id: UUID) -> Aggregate | None:
        """A copy of the aggregate as this process's cache has it (it may lag behind other processes), or None."""
        if self.repository.cache is None:
            return None
        try:
            return copy.deepcopy(self.repository.cache.get(aggregate_id))
        except KeyError:
            return None

    def load(self, aggregate_id: UUID, *, fresh: bool) -> Aggregate | None:
        """The aggregate at its latest stored version (`fresh`: a cached copy is brought up to date with one query),
        or as this process's cache has it."""
        if not fresh:
            cached = self.cached_copy(aggregate_id)
            if cached is not None:
                return cached
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def _remember(self, aggregates: dict[UUID, Aggregate], recordings: list[Any]) -> None:
        """Puts what a command saved into the cache, so the next command on it needs no read.
        The command's own copies are handed over: nothing else holds them once the command is done."""
        if self.repository.cache is not None:
            for aggregate_id in {r.domain_event.originator_id for r in recordings}:
                self.repository.cache.put(aggregate_id, aggregates[aggregate_id])

    def _evict(self, aggregates: dict[UUID, Aggregate]) -> None:
        if self.repository.cache is not None:
            for aggregate_id in aggregates:
                try:
                    self.repository.cache.get(aggregate_id, evict=True)
                except KeyError:
                    pass

    @contextmanager
    def batch(self, flush_every: int = 500) -> Iterator[Batch]:
        """Collects the commands of this thread and saves them in large atomic saves (bulk loads, the demo)."""
        batch = Batch(flush_every)
        self._local.batch = batch
        try:
            yield batch
        finally:
            self._local.batch = None
        self._flush(batch)

    def _in_batch(self) -> bool:
        return getattr(self._local, "batch", None) is not None

    def _flush(self, batch: Batch) -> None:
        recordings = self.save(*batch.aggregates.values())
        self._remember(batch.aggregates, recordings)
        batch.events += len(recordings)
        for aggregate_id in [
            key for key, aggregate in batch.aggregates.items() if not isinstance(aggregate, _LONG_LIVED)
        ]:
            del batch.aggregates[aggregate_id]

    def _at(self, occurred_at: datetime | None) -> datetime:
        now = self.clock()
        if occurred_at is None:
            return now
        check_occurred_at(occurred_at, now)
        return occurred_at.astimezone(UTC)
