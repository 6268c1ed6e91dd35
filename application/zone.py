"""The zone's one Application: one log, one order. One method per command; each returns the id it
acted on and the notification id of its last event, so a caller can wait for projections."""

from __future__ import annotations

import copy
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError, Application, project_aggregate
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Transcoder

from application.errors import ConflictError, NotFound, RecordKind
from application.group_commit import GroupCommit
from application.ports import CameraSecrets, CodeSigner, Contact, ContactVault, Credentials
from application.transcodings import register_all
from domain.accounts import UserAccount, check_username
from domain.cameras import Camera, CameraAlert
from domain.errors import DomainError, InvalidInput
from domain.incident import Incident, IntakeKey, ReferenceBook
from domain.patrol import PatrolUnit, PatrolVisit, RedBox, RefusedCheckIn, check_code, refused
from domain.permissions import Action, authorize
from domain.values import (
    MAX_SHORT_TEXT,
    SYSTEM,
    SYSTEM_USER_ID,
    Actor,
    AlertKind,
    AlertStatus,
    CancelReason,
    Category,
    CheckInRefusal,
    Channel,
    Community,
    DetectionRule,
    FalseAlarmReason,
    GeoPoint,
    Outcome,
    PartnerSector,
    Priority,
    Role,
    SealedContact,
    UnitKind,
    Zone,
    be_year,
    check_occurred_at,
    clean_text,
)

log = structlog.get_logger()
T = TypeVar("T", bound=Aggregate)
MAX_ATTEMPTS = 12
PHONE = re.compile(r"[\d+\-() ]+")  # digits (Thai ones too), spaces, dashes, brackets and +
# Aggregates a command usually only reads to check a rule (is the account enabled, is the token current,
# is the camera retired): a save would not notice that they changed meanwhile, so they are always read
# fresh from the store. Every other aggregate may come from this process's cache: if another process
# changed it, the save conflicts and the command runs again on the fresh state.
_READ_FRESH = (UserAccount, RedBox, Camera)
_WHAT = {
    Incident: RecordKind.INCIDENT,
    PatrolUnit: RecordKind.PATROL_UNIT,
    RedBox: RecordKind.RED_BOX,
    PatrolVisit: RecordKind.PATROL_VISIT,
    Camera: RecordKind.CAMERA,
    CameraAlert: RecordKind.CAMERA_ALERT,
    UserAccount: RecordKind.USER_ACCOUNT,
}
# Aggregates that a batch keeps between flushes: few, long-lived and touched by many commands.
_LONG_LIVED = (UserAccount, PatrolUnit, RedBox, Camera, ReferenceBook)


MIN_PASSWORD = 10


def check_password(password: str) -> None:
    if not (MIN_PASSWORD <= len(password or "") <= 200):
        raise InvalidInput("A password needs at least {min_length} characters.", field="password", min_length=MIN_PASSWORD)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class CommandResult:
    id: UUID
    notification_id: int | None
    """None when the command stored nothing new (an idempotent retry) or ran inside a batch."""


@dataclass(frozen=True)
class Reported(CommandResult):
    """A report's result, with what its reporter is told: the incident's reference and when it was reported."""

    reference: str
    reported_at: datetime


@dataclass(frozen=True)
class HistoryEntry:
    version: int
    event: str
    occurred_at: datetime
    recorded_at: datetime
    actor_id: UUID
    actor_role: Role
    reason: str | None
    details: dict[str, Any]


ERASED = {"erased": True}


class _Work:
    """The aggregates one command reads and changes; saved together in one atomic save."""

    def __init__(self, app: ZoneApplication, aggregates: dict[UUID, Aggregate] | None = None):
        self.app = app
        self.aggregates: dict[UUID, Aggregate] = {} if aggregates is None else aggregates

    def find(self, aggregate_id: UUID, cls: type[T]) -> T | None:
        aggregate = self.aggregates.get(aggregate_id)
        if aggregate is None:
            aggregate = self.app.load(aggregate_id, fresh=cls in _READ_FRESH)
            if aggregate is None:
                return None
            self.aggregates[aggregate_id] = aggregate
        return aggregate if isinstance(aggregate, cls) else None

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


@dataclass(frozen=True)
class _Intake:
    """One report, checked, waiting to be committed (alone, or with others); its contact is sealed with the group's."""

    by: UUID
    key: str | None
    contact: Contact | None
    fields: dict[str, Any]


@dataclass
class _Batch:
    flush_every: int
    aggregates: dict[UUID, Aggregate] = field(default_factory=dict)
    commands: int = 0
    events: int = 0


class ZoneApplication(Application[UUID]):
    name = "ssz"
    env = {"AGGREGATE_CACHE_MAXSIZE": "20000", "IS_SNAPSHOTTING_ENABLED": "y"}
    # Units are touched by every dispatch: without snapshots, a cold read would replay a year of them.
    snapshotting_intervals = {ReferenceBook: 200, PatrolUnit: 500}

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
        self._intakes: GroupCommit[_Intake, Reported] = GroupCommit(self._commit_intakes)
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

    # --- command machinery ---------------------------------------------------
    def _run(self, command: str, fn: Callable[[_Work], UUID]) -> CommandResult:
        batch: _Batch | None = getattr(self._local, "batch", None)
        if batch is not None:
            result = fn(_Work(self, batch.aggregates))
            batch.commands += 1
            if batch.commands % batch.flush_every == 0:
                self._flush(batch)
            return CommandResult(result, None)
        with structlog.contextvars.bound_contextvars(command=command, command_id=uuid.uuid4().hex[:12]):
            for attempt in range(1, MAX_ATTEMPTS + 1):
                work = _Work(self)
                try:
                    result = fn(work)
                except (ConflictError, NotFound):
                    raise
                except DomainError as error:
                    if attempt == 1:
                        log.info("command.refused", reason=error.message)
                        raise
                    # The first attempt lost a race; against the winner's state the command no longer holds.
                    log.info("command.conflict", reason=error.message, attempt=attempt)
                    raise ConflictError("Someone else acted first: {cause}", cause=error) from error
                try:
                    recordings = self.save(*work.aggregates.values())
                except IntegrityError:
                    log.info("command.retry_after_concurrent_write", attempt=attempt)
                    self._evict(work.aggregates)
                    time.sleep(random.uniform(0, 0.005 * attempt))  # jitter, so that racing writers spread out
                    continue
                self._remember(work.aggregates, recordings)
                notification_id = recordings[-1].notification.id if recordings else None
                log.info("command.done", aggregate_id=str(result), events=len(recordings), notification_id=notification_id)
                return CommandResult(result, notification_id)
        raise ConflictError("Too many people changed this at the same moment; please try again.")

    def load(self, aggregate_id: UUID, *, fresh: bool) -> Aggregate | None:
        cache = self.repository.cache
        if not fresh and cache is not None:
            try:
                return copy.deepcopy(cache.get(aggregate_id))
            except KeyError:
                pass
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
    def batch(self, flush_every: int = 500) -> Iterator[_Batch]:
        """Collects the commands of this thread and saves them in large atomic saves (bulk loads, the demo)."""
        batch = _Batch(flush_every)
        self._local.batch = batch
        try:
            yield batch
        finally:
            self._local.batch = None
        self._flush(batch)

    def _flush(self, batch: _Batch) -> None:
        recordings = self.save(*batch.aggregates.values())
        self._remember(batch.aggregates, recordings)
        batch.events += len(recordings)
        for aggregate_id in [i for i, a in batch.aggregates.items() if not isinstance(a, _LONG_LIVED)]:
            del batch.aggregates[aggregate_id]

    def _at(self, occurred_at: datetime | None) -> datetime:
        now = self.clock()
        if occurred_at is None:
            return now
        check_occurred_at(occurred_at, now)
        return occurred_at.astimezone(timezone.utc)

    # --- user accounts -------------------------------------------------------
    def create_user(self, *, username: str, display_name: str, role: Role, password: str, by: UUID, occurred_at: datetime | None = None) -> CommandResult:
        check_password(password)

        def fn(w: _Work) -> UUID:
            actor = w.actor(by)
            if w.find(UserAccount.id_for(username), UserAccount) is not None:
                raise InvalidInput("The username '{username}' is taken.", field="username", username=username)
            user = UserAccount.create(
                username=username, display_name=display_name, role=role, actor=actor, occurred_at=self._at(occurred_at)
            )
            w.add(user)
            return user.id

        result = self._run("create_user", fn)
        self.credentials.set_password(result.id, check_username(username), password)
        return result

    def ensure_first_admin(self, *, username: str, password: str) -> CommandResult | None:
        """Creates the first administrator when no account has a password yet."""
        if self.credentials.any_users():
            return None
        user_id = UserAccount.id_for(username)
        if user_id in self.repository:
            self.credentials.set_password(user_id, check_username(username), password)
            return CommandResult(user_id, None)
        return self.create_user(
            username=username, display_name="Administrator", role=Role.ADMIN, password=password, by=SYSTEM_USER_ID
        )

    def change_user_role(self, user_id: UUID, *, role: Role, reason: str, by: UUID) -> CommandResult:
        return self._on(
            "change_user_role",
            user_id,
            UserAccount,
            by,
            lambda it, actor, w: it.change_role(role=role, reason=reason, actor=actor, occurred_at=self._at(None)),
        )

    def disable_user(self, user_id: UUID, *, reason: str, by: UUID) -> CommandResult:
        return self._on(
            "disable_user",
            user_id,
            UserAccount,
            by,
            lambda it, actor, w: it.disable(reason=reason, actor=actor, occurred_at=self._at(None)),
        )

    def enable_user(self, user_id: UUID, *, reason: str, by: UUID) -> CommandResult:
        return self._on(
            "enable_user",
            user_id,
            UserAccount,
            by,
            lambda it, actor, w: it.enable(reason=reason, actor=actor, occurred_at=self._at(None)),
        )

    def reset_password(self, user_id: UUID, *, new_password: str, reason: str, by: UUID) -> CommandResult:
        check_password(new_password)

        def fn(w: _Work) -> UUID:
            actor = w.actor(by)
            w.get(user_id, UserAccount, RecordKind.USER_ACCOUNT).record_password_reset(
                reason=reason, actor=actor, occurred_at=self._at(None)
            )
            return user_id

        result = self._run("reset_password", fn)
        self.credentials.set_password(user_id, self.get_user(user_id).username, new_password)
        return result

    def get_user(self, user_id: UUID) -> UserAccount:
        try:
            user = self.repository.get(user_id)
        except AggregateNotFoundError:
            raise NotFound("There is no {what} with id {aggregate_id}.",
                           what=RecordKind.USER_ACCOUNT, aggregate_id=user_id) from None
        if not isinstance(user, UserAccount):
            raise NotFound("There is no {what} with id {aggregate_id}.", what=RecordKind.USER_ACCOUNT, aggregate_id=user_id)
        return user

    def authenticate(self, username: str, password: str) -> Actor | None:
        """The actor for these credentials, or None; a disabled account never authenticates."""
        user_id = self.credentials.verify(username, password)
        if user_id is None:
            return None
        user = self.get_user(user_id)
        return None if user.disabled else user.as_actor

    # --- incidents -----------------------------------------------------------
    def report_incident(
        self,
        *,
        channel: Channel,
        category: Category,
        priority: Priority,
        community: Community,
        location: str,
        description: str,
        by: UUID,
        occurred_at: datetime | None = None,
        position: GeoPoint | None = None,
        contact: Contact | None = None,
        idempotency_key: str | None = None,
        source_alert_id: UUID | None = None,
    ) -> Reported | CommandResult:
        """Reports made at the same time in this process are committed together (`_commit_intakes`): every report
        takes the next number from the year's one reference book, so one at a time they would only queue or conflict.
        A retry with the same `idempotency_key` returns the incident the key first reported (no notification id).
        Inside a batch, the result is a plain CommandResult."""
        intake = self._intake(channel=channel, category=category, priority=priority, community=community, location=location,
                              description=description, by=by, occurred_at=occurred_at, position=position, contact=contact,
                              idempotency_key=idempotency_key, source_alert_id=source_alert_id)
        if getattr(self._local, "batch", None) is not None:
            sealed = self.vault.seal(intake.contact) if intake.contact is not None else None
            return self._run("report_incident", lambda w: self._take_in(w, intake, look_up=True, contact=sealed)[0])
        if intake.key is not None:  # a retry of a report this process saved is answered at once, without a group
            claimed = self._claimed(None, intake.key, look_up=False)
            if claimed is not None:
                incident = self.load(claimed.incident_id, fresh=False)
                if isinstance(incident, Incident):
                    return Reported(incident.id, None, incident.reference, incident.reported_at)
        return self._reported(self._intakes.submit(intake))

    async def report_incident_async(self, **command: Any) -> Reported:
        """`report_incident` for a caller in an event loop (the JSON API): the same checks and the same group commit,
        and no thread waits for the report while it is committed."""
        return self._reported(await self._intakes.submit_async(self._intake(**command)))

    def _intake(self, *, channel: Channel, category: Category, priority: Priority, community: Community, location: str,
                description: str, by: UUID, occurred_at: datetime | None = None, position: GeoPoint | None = None,
                contact: Contact | None = None, idempotency_key: str | None = None,
                source_alert_id: UUID | None = None) -> _Intake:
        """A report checked cheaply before anything touches the vault or the store: a refusal here never joins a group."""
        description = clean_text(description, "description", required=True)
        location = clean_text(location, "location", required=True, max_len=MAX_SHORT_TEXT)
        occurred_at = self._at(occurred_at)
        contact = self._contact(contact)
        key = clean_text(idempotency_key, "idempotency_key", required=False, max_len=200) or None
        return _Intake(by, key, contact, dict(
            channel=channel, category=category, priority=priority, community=community, location=location,
            description=description, occurred_at=occurred_at, position=position, source_alert_id=source_alert_id))

    @staticmethod
    def _reported(result: Reported) -> Reported:
        log.info("command.done", command="report_incident", aggregate_id=str(result.id),
                 notification_id=result.notification_id)
        return result

    def _take_in(self, w: _Work, intake: _Intake, *, look_up: bool, contact: SealedContact | None = None) -> tuple[UUID, bool]:
        """One report in a command's work: the incident's id, and whether it is new. An idempotency key is looked for
        in the work (a retry in the same group) and in this process's cache; with `look_up`, in the store too."""
        if intake.key is not None:
            claimed = self._claimed(w, intake.key, look_up=look_up)
            if claimed is not None:
                return claimed.incident_id, False
        actor = w.actor(intake.by)
        incident = self._new_incident(w, actor, **{"contact": contact, **intake.fields})
        if intake.key is not None:
            w.add(IntakeKey.claim(intake.key, incident.id, actor, self.clock()))
        return incident.id, True

    def _commit_intakes(self, intakes: Sequence[_Intake]) -> list[Reported | DomainError]:
        """Reports handed in together: their contacts sealed in one go, references issued in their order from the
        year's book, then the book, every new incident and its idempotency key saved in one atomic save. A report the
        domain refuses gets its refusal and takes no number; the others go ahead. When another process saved first
        (a reference, a key), the whole group runs again on the fresh state: references stay gapless and unique, and
        a key claimed meanwhile returns the incident it reported.

        Idempotency keys are checked optimistically: the first attempt looks for each only in the group and in this
        process's cache (where every key this process claimed or read is); a key claimed elsewhere (another process,
        or long ago) makes the save conflict, and the next attempt looks each key up in the store. A retry is rare,
        and a lookup on every intake would cost a query each."""
        with structlog.contextvars.bound_contextvars(command="report_incident", command_id=uuid.uuid4().hex[:12]):
            contacts = [i.contact for i in intakes]
            sealed = iter(self.vault.seal_many([c for c in contacts if c is not None]) if any(contacts) else [])
            sealed_contacts = [next(sealed) if c is not None else None for c in contacts]
            for attempt in range(1, MAX_ATTEMPTS + 1):
                work = _Work(self)
                outcomes: list[tuple[UUID, bool] | DomainError] = []
                for intake, contact in zip(intakes, sealed_contacts, strict=True):
                    try:
                        outcomes.append(self._take_in(work, intake, look_up=attempt > 1, contact=contact))
                    except DomainError as error:
                        log.info("command.refused", reason=error.message)
                        outcomes.append(error)
                changed = [a for a in work.aggregates.values() if a.pending_events]
                try:
                    recordings = self.save(*changed) if changed else []
                except IntegrityError:
                    log.info("command.retry_after_concurrent_write", attempt=attempt, group=len(intakes))
                    self._evict(work.aggregates)
                    time.sleep(random.uniform(0, 0.005 * attempt))  # jitter, so that racing writers spread out
                    continue
                self._remember(work.aggregates, recordings)
                positions = {r.domain_event.originator_id: r.notification.id for r in recordings}
                log.info("command.group_saved", group=len(intakes), events=len(recordings), attempt=attempt)
                results: list[Reported | DomainError] = []
                for intake, outcome in zip(intakes, outcomes, strict=True):
                    if isinstance(outcome, DomainError):
                        results.append(outcome)
                        continue
                    incident_id, new = outcome
                    incident = work.aggregates.get(incident_id) or self.load(incident_id, fresh=False)
                    if not isinstance(incident, Incident):  # a key whose incident is gone cannot be: the log is kept
                        raise NotFound("There is no incident {reference}.", reference=str(incident_id))
                    key_id = IntakeKey.id_for(intake.key) if intake.key is not None else None
                    position = max(positions[incident_id], positions.get(key_id, 0)) if new else None
                    results.append(Reported(incident_id, position, incident.reference, incident.reported_at))
                return results
        raise ConflictError("Too many people changed this at the same moment; please try again.")

    def _claimed(self, w: _Work | None, key: str, *, look_up: bool) -> IntakeKey | None:
        """The claim of this idempotency key in the work, in this process's cache, or (`look_up`) in the store: one
        query, since a key is one event and never snapshotted (the repository would look for a snapshot first)."""
        key_id = IntakeKey.id_for(key)
        claimed = w.aggregates.get(key_id) if w is not None else None
        if claimed is None and self.repository.cache is not None:
            try:
                claimed = self.repository.cache.get(key_id)
            except KeyError:
                pass
        if claimed is None and look_up:
            claimed = project_aggregate(None, self.events.get(key_id))
        return claimed if isinstance(claimed, IntakeKey) else None

    def _new_incident(self, w: _Work, actor: Actor, **fields: Any) -> Incident:
        """The incident is made (and so checked) before the book issues its reference: a refused report leaves no
        gap, even among reports saved together."""
        now = self.clock()
        year = be_year(now)
        book = w.find(ReferenceBook.id_for(year), ReferenceBook) or ReferenceBook.open(year, actor, now)
        reference = book.next_reference
        incident = Incident.report(id=Incident.id_for(reference), reference=reference, now=now, actor=actor, **fields)
        book.issue(actor, now)
        w.add(book)
        w.add(incident)
        return incident

    @staticmethod
    def _contact(contact: Contact | None) -> Contact | None:
        """A reporter's contact checked and trimmed; None when it says nothing."""
        if contact is None:
            return None
        name = clean_text(contact.name, "reporter_name", required=False, max_len=200)
        phone = clean_text(contact.phone, "reporter_phone", required=False, max_len=40)
        if phone and not PHONE.fullmatch(phone):
            raise InvalidInput("A phone number has only digits, spaces, dashes, brackets and +.", field="reporter_phone")
        return Contact(name, phone) if name or phone else None

    def incident_id_for(self, reference: str) -> UUID:
        incident_id = Incident.id_for(reference.strip().upper())
        if incident_id not in self.repository:
            raise NotFound("There is no incident {reference}.", reference=reference)
        return incident_id

    def _on(
        self,
        command: str,
        aggregate_id: UUID,
        cls: type[T],
        by: UUID,
        act: Callable[[T, Actor, _Work], Any],
        expected_version: int | None = None,
    ) -> CommandResult:
        """A command on one aggregate (and whatever `act` gets from the work besides): who acts, then what."""

        def fn(w: _Work) -> UUID:
            actor = w.actor(by)
            act(w.get(aggregate_id, cls, _WHAT[cls], expected_version), actor, w)
            return aggregate_id

        return self._run(command, fn)

    def triage_incident(
        self,
        incident_id: UUID,
        *,
        reason: str,
        by: UUID,
        category: Category | None = None,
        priority: Priority | None = None,
        expected_version: int | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        at = self._at(occurred_at)
        return self._on(
            "triage_incident",
            incident_id,
            Incident,
            by,
            lambda i, a, w: i.triage(actor=a, occurred_at=at, reason=reason, category=category, priority=priority),
            expected_version,
        )

    def dispatch_unit(
        self,
        incident_id: UUID,
        unit_id: UUID,
        *,
        by: UUID,
        reassign: bool = False,
        reason: str = "",
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Saves the incident and the unit (and, on reassignment, the incident it leaves) in one atomic save."""
        at = self._at(occurred_at)

        def act(incident: Incident, actor: Actor, w: _Work) -> None:
            unit = w.get(unit_id, PatrolUnit, RecordKind.PATROL_UNIT)
            incident.check_dispatch(unit_id=unit.id, call_sign=unit.call_sign, actor=actor)
            previous = unit.assign(
                incident_id=incident.id, reference=incident.reference, actor=actor, occurred_at=at, reassign=reassign
            )
            incident.dispatch(unit_id=unit.id, call_sign=unit.call_sign, actor=actor, occurred_at=at, reason=reason)
            if previous is not None:
                left = w.get(previous, Incident, RecordKind.INCIDENT)
                if unit.id in left.active_unit_ids:
                    left.clear_unit(unit_id=unit.id, actor=actor, occurred_at=at, reason=f"reassigned to {incident.reference}")

        return self._on("dispatch_unit", incident_id, Incident, by, act, expected_version)

    def mark_en_route(
        self,
        incident_id: UUID,
        unit_id: UUID,
        *,
        by: UUID,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        at = self._at(occurred_at)
        return self._on(
            "mark_en_route",
            incident_id,
            Incident,
            by,
            lambda i, a, w: i.mark_en_route(unit_id=unit_id, actor=a, occurred_at=at),
            expected_version,
        )

    def mark_on_scene(
        self,
        incident_id: UUID,
        unit_id: UUID,
        *,
        by: UUID,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        at = self._at(occurred_at)
        return self._on(
            "mark_on_scene",
            incident_id,
            Incident,
            by,
            lambda i, a, w: i.mark_on_scene(unit_id=unit_id, actor=a, occurred_at=at),
            expected_version,
        )

    def clear_unit(
        self,
        incident_id: UUID,
        unit_id: UUID,
        *,
        by: UUID,
        reason: str = "",
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        at = self._at(occurred_at)

        def act(incident: Incident, actor: Actor, w: _Work) -> None:
            incident.clear_unit(unit_id=unit_id, actor=actor, occurred_at=at, reason=reason)
            w.get(unit_id, PatrolUnit, RecordKind.PATROL_UNIT).release(incident_id=incident.id, actor=actor, occurred_at=at)

        return self._on("clear_unit", incident_id, Incident, by, act, expected_version)

    def _release(self, w: _Work, unit_ids: list[UUID], incident_id: UUID, actor: Actor, at: datetime) -> None:
        for unit_id in unit_ids:
            w.get(unit_id, PatrolUnit, RecordKind.PATROL_UNIT).release(incident_id=incident_id, actor=actor, occurred_at=at)

    def resolve_incident(
        self,
        incident_id: UUID,
        *,
        outcome: Outcome,
        summary: str,
        by: UUID,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        at = self._at(occurred_at)

        def act(incident: Incident, actor: Actor, w: _Work) -> None:
            released = incident.resolve(outcome=outcome, summary=summary, actor=actor, occurred_at=at)
            self._release(w, released, incident.id, actor, at)

        return self._on("resolve_incident", incident_id, Incident, by, act, expected_version)

    def close_incident(
        self,
        incident_id: UUID,
        *,
        by: UUID,
        reason: str = "",
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        at = self._at(occurred_at)
        return self._on(
            "close_incident",
            incident_id,
            Incident,
            by,
            lambda i, a, w: i.close(actor=a, occurred_at=at, reason=reason),
            expected_version,
        )

    def reopen_incident(self, incident_id: UUID, *, reason: str, by: UUID, expected_version: int | None = None, occurred_at: datetime | None = None) -> CommandResult:
        at = self._at(occurred_at)
        return self._on(
            "reopen_incident",
            incident_id,
            Incident,
            by,
            lambda i, a, w: i.reopen(reason=reason, actor=a, occurred_at=at),
            expected_version,
        )

    def cancel_incident(
        self,
        incident_id: UUID,
        *,
        cancel_reason: CancelReason,
        by: UUID,
        note: str = "",
        duplicate_of: UUID | None = None,
        expected_version: int | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        at = self._at(occurred_at)

        def act(incident: Incident, actor: Actor, w: _Work) -> None:
            original = w.get(duplicate_of, Incident, RecordKind.INCIDENT) if duplicate_of is not None else None
            released = incident.cancel(cancel_reason=cancel_reason, actor=actor, occurred_at=at, note=note, duplicate_of=original)
            self._release(w, released, incident.id, actor, at)

        return self._on("cancel_incident", incident_id, Incident, by, act, expected_version)

    def add_incident_note(self, incident_id: UUID, *, text: str, by: UUID, occurred_at: datetime | None = None) -> CommandResult:
        at = self._at(occurred_at)
        return self._on(
            "add_incident_note", incident_id, Incident, by, lambda i, a, w: i.add_note(text=text, actor=a, occurred_at=at)
        )

    def erase_reporter_contact(self, *, phone: str, reason: str, by: UUID) -> int:
        """PDPA erasure: destroys the reporter's key. The log is untouched; every copy of the contact becomes unreadable."""
        actor = _Work(self).actor(by)
        authorize(actor, Action.ERASE_PERSONAL_DATA)
        reason = clean_text(reason, "reason", required=True, max_len=MAX_SHORT_TEXT)
        erased = self.vault.erase(phone, reason=reason, erased_by=actor.user_id)
        log.info("pdpa.contact_erased", keys=erased, by=str(actor.user_id))
        return erased

    def reporter_contact(self, incident_id: UUID, *, by: UUID) -> dict[str, Any] | None:
        """The reporter's name and phone for the people who call back (`{"erased": True}` after a PDPA
        erasure); None when the report left none. Every reading is logged."""
        actor = _Work(self).actor(by)
        authorize(actor, Action.READ_REPORTER_CONTACT)
        incident = _Work(self).get(incident_id, Incident, RecordKind.INCIDENT)
        if incident.contact is None:
            return None
        log.info("pdpa.contact_read", incident=incident.reference, by=str(actor.user_id), role=actor.role.value)
        return self._readable(incident.contact)

    # --- patrol units --------------------------------------------------------
    def register_unit(self, *, call_sign: str, kind: UnitKind, by: UUID, occurred_at: datetime | None = None) -> CommandResult:
        def fn(w: _Work) -> UUID:
            actor = w.actor(by)
            unit = PatrolUnit.register(call_sign=call_sign, kind=kind, actor=actor, occurred_at=self._at(occurred_at))
            if w.find(unit.id, PatrolUnit) is not None:
                raise InvalidInput("A unit with call sign {call_sign} exists already.",
                                   field="call_sign", call_sign=unit.call_sign)
            w.add(unit)
            return unit.id

        return self._run("register_unit", fn)

    def unit_on_duty(
        self, unit_id: UUID, *, officer_ids: list[UUID], by: UUID, occurred_at: datetime | None = None
    ) -> CommandResult:
        at = self._at(occurred_at)

        def fn(w: _Work) -> UUID:
            actor = w.actor(by)
            for officer_id in officer_ids:
                if w.get(officer_id, UserAccount, RecordKind.OFFICER).role is not Role.OFFICER:
                    raise InvalidInput("Only officers can crew a patrol unit.", field="officer_ids")
            w.get(unit_id, PatrolUnit, RecordKind.PATROL_UNIT).go_on_duty(officer_ids=officer_ids, actor=actor, occurred_at=at)
            return unit_id

        return self._run("unit_on_duty", fn)

    def unit_off_duty(self, unit_id: UUID, *, by: UUID, reason: str = "", occurred_at: datetime | None = None) -> CommandResult:
        at = self._at(occurred_at)

        return self._on(
            "unit_off_duty",
            unit_id,
            PatrolUnit,
            by,
            lambda it, actor, w: it.go_off_duty(actor=actor, occurred_at=at, reason=reason),
        )

    def retire_unit(self, unit_id: UUID, *, reason: str, by: UUID) -> CommandResult:
        return self._on(
            "retire_unit",
            unit_id,
            PatrolUnit,
            by,
            lambda it, actor, w: it.retire(reason=reason, actor=actor, occurred_at=self._at(None)),
        )

    # --- red boxes and visits ------------------------------------------------
    def register_red_box(
        self, *, code: str, name_th: str, name_en: str, community: Community, position: GeoPoint, by: UUID, occurred_at: datetime | None = None
    ) -> CommandResult:
        def fn(w: _Work) -> UUID:
            box = RedBox.register(
                code=code,
                name_th=name_th,
                name_en=name_en,
                community=community,
                position=position,
                actor=w.actor(by),
                occurred_at=self._at(occurred_at),
            )
            if w.find(box.id, RedBox) is not None:
                raise InvalidInput("A red box with code {code} exists already.", field="code", code=box.code)
            w.add(box)
            return box.id

        return self._run("register_red_box", fn)

    def rotate_red_box_token(self, box_id: UUID, *, reason: str, by: UUID, occurred_at: datetime | None = None) -> CommandResult:
        return self._on(
            "rotate_red_box_token",
            box_id,
            RedBox,
            by,
            lambda it, actor, w: it.rotate_token(reason=reason, actor=actor, occurred_at=self._at(occurred_at)),
        )

    def move_red_box(self, box_id: UUID, *, position: GeoPoint, reason: str, by: UUID) -> CommandResult:
        return self._on(
            "move_red_box",
            box_id,
            RedBox,
            by,
            lambda it, actor, w: it.move(position=position, reason=reason, actor=actor, occurred_at=self._at(None)),
        )

    def retire_red_box(self, box_id: UUID, *, reason: str, by: UUID) -> CommandResult:
        return self._on(
            "retire_red_box",
            box_id,
            RedBox,
            by,
            lambda it, actor, w: it.retire(reason=reason, actor=actor, occurred_at=self._at(None)),
        )

    def log_patrol_visit(
        self,
        *,
        box_id: UUID,
        token_version: int | None,
        by: UUID,
        unit_id: UUID | None = None,
        position: GeoPoint | None = None,
        observation: str = "",
        occurred_at: datetime | None = None,
        previous_visit_id: UUID | None = None,
        id: UUID | None = None,
    ) -> CommandResult:
        """Logs a check-in; flags it when implausible given the officer's previous visit (from the read model)."""
        at = self._at(occurred_at)

        def fn(w: _Work) -> UUID:
            box = w.get(box_id, RedBox, RecordKind.RED_BOX)
            visit = PatrolVisit.log(
                id=id or uuid.uuid4(),
                box=box,
                token_version=token_version,
                unit_id=unit_id,
                actor=w.actor(by),
                occurred_at=at,
                now=self.clock(),
                position=position,
                observation=observation,
            )
            w.add(visit)
            previous = w.find(previous_visit_id, PatrolVisit) if previous_visit_id else None
            previous_box = w.find(previous.box_id, RedBox) if previous else None
            finding = visit.implausibility(box, previous, previous_box)
            if finding:
                visit.flag_finding(finding, actor=SYSTEM, occurred_at=at)
            return visit.id

        return self._run("log_patrol_visit", fn)

    def scan_code(self, *, code: str, token: str, by: UUID, position: GeoPoint | None = None) -> tuple[RedBox, int]:
        """A scanned red-box code (its box's code and signed token): the box and the token's version, or the
        refusal (TokenRefused, with its `refusal`), which is recorded as a RefusedCheckIn before it is raised."""
        try:
            box = self.load(RedBox.id_for(check_code(code)), fresh=True)
        except InvalidInput:
            box = None
        if isinstance(box, RedBox):
            version = self.codes.version_of(box.id, token)
            refusal = box.refusal(version)
        else:
            box, version, refusal = None, None, CheckInRefusal.UNKNOWN_BOX
        if refusal is None:
            authorize(self.get_user(by).as_actor, Action.LOG_VISIT)
            return box, version
        at = self._at(None)

        def record(w: _Work) -> UUID:
            attempt = RefusedCheckIn.record(id=uuid.uuid4(), box=box, code=code, refusal=refusal, token_version=version,
                                            position=position, actor=w.actor(by), occurred_at=at)
            w.add(attempt)
            return attempt.id

        self._run("record_refused_check_in", record)
        raise refused(refusal, box.code if box else code)

    def check_in(
        self,
        *,
        code: str,
        token: str,
        by: UUID,
        unit_id: UUID | None = None,
        position: GeoPoint | None = None,
        observation: str = "",
        previous_visit_id: UUID | None = None,
    ) -> CommandResult:
        """An officer's check-in through a red box's QR code: the code is scanned (a refusal is recorded and
        raised), then the visit logged; its save checks the token once more against the box's current state."""
        box, version = self.scan_code(code=code, token=token, by=by, position=position)
        return self.log_patrol_visit(box_id=box.id, token_version=version, by=by, unit_id=unit_id, position=position,
                                     observation=observation, previous_visit_id=previous_visit_id)

    def red_box_code(self, box_id: UUID) -> tuple[RedBox, str]:
        """A red box and the token its QR code carries now (for its printed sheet)."""
        box = self.load(box_id, fresh=True)
        if not isinstance(box, RedBox):
            raise NotFound("There is no {what} with id {aggregate_id}.", what=RecordKind.RED_BOX, aggregate_id=box_id)
        return box, self.codes.token(box.id, box.token_version)

    def add_visit_observation(self, visit_id: UUID, *, text: str, by: UUID, occurred_at: datetime | None = None) -> CommandResult:
        return self._on(
            "add_visit_observation",
            visit_id,
            PatrolVisit,
            by,
            lambda it, actor, w: it.add_observation(text=text, actor=actor, occurred_at=self._at(occurred_at)),
        )

    def flag_visit(self, visit_id: UUID, *, reason: str, by: UUID, occurred_at: datetime | None = None) -> CommandResult:
        return self._on(
            "flag_visit",
            visit_id,
            PatrolVisit,
            by,
            lambda it, actor, w: it.flag(reason=reason, actor=actor, occurred_at=self._at(occurred_at)),
        )

    def void_visit(self, visit_id: UUID, *, reason: str, by: UUID, occurred_at: datetime | None = None) -> CommandResult:
        return self._on(
            "void_visit",
            visit_id,
            PatrolVisit,
            by,
            lambda it, actor, w: it.void(reason=reason, actor=actor, occurred_at=self._at(occurred_at)),
        )

    # --- cameras and alerts --------------------------------------------------
    def register_camera(
        self,
        *,
        code: str,
        name: str,
        community: Community,
        owner: PartnerSector,
        owner_name: str,
        consent_reference: str,
        source: str,
        by: UUID,
        position: GeoPoint | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        """The log records the source without its secret part (a password, credential-like query values), which the
        camera secrets' store keeps outside it once the camera is saved."""
        address, secret = self.camera_secrets.split(source)

        def fn(w: _Work) -> UUID:
            camera = Camera.register(
                code=code,
                name=name,
                community=community,
                owner=owner,
                owner_name=owner_name,
                consent_reference=consent_reference,
                source=address,
                actor=w.actor(by),
                occurred_at=self._at(occurred_at),
                position=position,
            )
            if w.find(camera.id, Camera) is not None:
                raise InvalidInput("A camera with code {code} exists already.", field="code", code=camera.code)
            w.add(camera)
            return camera.id

        result = self._run("register_camera", fn)
        if secret:
            self.camera_secrets.keep(result.id, secret)
        return result

    def set_camera_zones(self, camera_id: UUID, *, zones: list[Zone], by: UUID, occurred_at: datetime | None = None) -> CommandResult:
        return self._on(
            "set_camera_zones",
            camera_id,
            Camera,
            by,
            lambda it, actor, w: it.set_zones(zones=zones, actor=actor, occurred_at=self._at(occurred_at)),
        )

    def set_camera_rules(self, camera_id: UUID, *, rules: list[DetectionRule], by: UUID, occurred_at: datetime | None = None) -> CommandResult:
        return self._on(
            "set_camera_rules",
            camera_id,
            Camera,
            by,
            lambda it, actor, w: it.set_rules(rules=rules, actor=actor, occurred_at=self._at(occurred_at)),
        )

    def retire_camera(self, camera_id: UUID, *, reason: str, by: UUID) -> CommandResult:
        return self._on(
            "retire_camera",
            camera_id,
            Camera,
            by,
            lambda it, actor, w: it.retire(reason=reason, actor=actor, occurred_at=self._at(None)),
        )

    def raise_camera_alert(
        self,
        *,
        camera_id: UUID,
        kind: AlertKind,
        score: float,
        snapshot_digest: str,
        frame_at: datetime,
        zone: str = "",
        detail: str = "",
        by: UUID = SYSTEM_USER_ID,
        id: UUID | None = None,
    ) -> CommandResult:
        at = self._at(frame_at)

        def fn(w: _Work) -> UUID:
            alert = CameraAlert.raise_alert(
                id=id or uuid.uuid4(),
                camera=w.get(camera_id, Camera, RecordKind.CAMERA),
                kind=kind,
                score=score,
                snapshot_digest=snapshot_digest,
                actor=w.actor(by),
                occurred_at=at,
                zone=zone,
                detail=detail,
            )
            w.add(alert)
            return alert.id

        return self._run("raise_camera_alert", fn)

    def acknowledge_alert(self, alert_id: UUID, *, by: UUID, occurred_at: datetime | None = None) -> CommandResult:
        at = self._at(occurred_at)

        return self._on(
            "acknowledge_alert", alert_id, CameraAlert, by, lambda it, actor, w: it.acknowledge(actor=actor, occurred_at=at)
        )

    def _acknowledged(self, w: _Work, alert_id: UUID, actor: Actor, at: datetime) -> CameraAlert:
        """The alert, acknowledged first when a dispatcher decides on it straight away."""
        alert = w.get(alert_id, CameraAlert, RecordKind.CAMERA_ALERT)
        if alert.status is AlertStatus.RAISED:
            alert.acknowledge(actor=actor, occurred_at=at)
        return alert

    def dismiss_alert(
        self, alert_id: UUID, *, reason: FalseAlarmReason, note: str = "", by: UUID, occurred_at: datetime | None = None
    ) -> CommandResult:
        at = self._at(occurred_at)

        def fn(w: _Work) -> UUID:
            actor = w.actor(by)
            self._acknowledged(w, alert_id, actor, at).dismiss(reason=reason, note=note, actor=actor, occurred_at=at)
            return alert_id

        return self._run("dismiss_alert", fn)

    def escalate_alert(
        self,
        alert_id: UUID,
        *,
        category: Category,
        priority: Priority,
        location: str,
        description: str,
        by: UUID,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        """Opens an incident from the alert; both record the link, in one atomic save. Returns the incident."""
        at = self._at(occurred_at)

        def fn(w: _Work) -> UUID:
            actor = w.actor(by)
            alert = self._acknowledged(w, alert_id, actor, at)
            alert.check_can_escalate(actor)
            incident = self._new_incident(
                w,
                actor,
                channel=Channel.CCTV,
                category=category,
                priority=priority,
                community=alert.community,
                location=location,
                description=description,
                occurred_at=alert.raised_at,
                position=None,
                contact=None,
                source_alert_id=alert.id,
            )
            alert.escalate(incident_id=incident.id, reference=incident.reference, actor=actor, occurred_at=at)
            return incident.id

        return self._run("escalate_alert", fn)

    def close_alert(self, alert_id: UUID, *, reason: str = "", by: UUID, occurred_at: datetime | None = None) -> CommandResult:
        at = self._at(occurred_at)

        return self._on(
            "close_alert", alert_id, CameraAlert, by, lambda it, actor, w: it.close(reason=reason, actor=actor, occurred_at=at)
        )

    # --- audit queries -------------------------------------------------------
    def history(self, aggregate_id: UUID) -> list[HistoryEntry]:
        events = list(self.events.get(aggregate_id))
        if not events:
            raise NotFound("Nothing with id {aggregate_id} was ever recorded.", aggregate_id=aggregate_id)
        return [self._entry(e) for e in events]

    def _entry(self, event: Any) -> HistoryEntry:
        skip = {"originator_id", "originator_version", "timestamp", "originator_topic", "actor", "occurred_at", "reason"}
        details = {k: self._readable(v) for k, v in event.__dict__.items() if k not in skip}
        return HistoryEntry(
            version=event.originator_version,
            event=type(event).__name__,
            occurred_at=event.occurred_at,
            recorded_at=event.timestamp,
            actor_id=event.actor.user_id,
            actor_role=event.actor.role,
            reason=getattr(event, "reason", None) or None,
            details=details,
        )

    def _readable(self, value: Any) -> Any:
        if isinstance(value, SealedContact):
            contact = self.vault.unseal(value)
            return ERASED if contact is None else {"name": contact.name, "phone": contact.phone}
        return value

    def state_at(self, aggregate_id: UUID, *, version: int | None = None, recorded_at: datetime | None = None) -> dict[str, Any]:
        """The aggregate as it stood at a version, or as the store knew it at an instant, as plain data."""
        if recorded_at is not None:
            known = [e.originator_version for e in self.events.get(aggregate_id) if e.timestamp <= recorded_at]
            if not known:
                raise NotFound("Nothing with id {aggregate_id} had been recorded by {recorded_at}.",
                               aggregate_id=aggregate_id, recorded_at=recorded_at)
            version = known[-1] if version is None else min(version, known[-1])
        try:
            aggregate = self.repository.get(aggregate_id, version=version)
        except AggregateNotFoundError:
            raise NotFound("Nothing with id {aggregate_id} was ever recorded.", aggregate_id=aggregate_id) from None
        state = {k.lstrip("_"): self._readable(v) for k, v in aggregate.__dict__.items() if k not in ("_pending_events",)}
        state["aggregate"] = type(aggregate).__name__
        if isinstance(aggregate, Incident):
            state["status"] = aggregate.status
        return state
