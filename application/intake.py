"""Intake: reports of incidents. Each takes the next reference from the year's one reference book, so reports made
at the same time in this process are committed together (a group commit); an idempotency key makes a retried report
return the incident it first reported."""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.application import project_aggregate
from eventsourcing.persistence import IntegrityError, PersistenceError

from application.errors import ConflictError, IdempotencyKeyReused, NotFound
from application.group_commit import GroupCommit
from application.ports import Contact
from application.unit_of_work import MAX_ATTEMPTS, CommandResult, UnitOfWork, Work
from domain.errors import DomainError, InvalidInput
from domain.incident import Incident
from domain.intake import IntakeKey, ReferenceBook
from domain.values import (
    MAX_SHORT_TEXT,
    Actor,
    Category,
    Channel,
    Community,
    GeoPoint,
    Priority,
    SealedContact,
    be_year,
    clean_text,
)

log = structlog.get_logger()
PHONE = re.compile(r"[\d+\-() ]+")  # digits (Thai ones too), spaces, dashes, brackets and +


@dataclass(frozen=True)
class Reported(CommandResult):
    """A report's result, with what its reporter is told: the incident's reference and when it was reported."""

    reference: str
    reported_at: datetime


@dataclass(frozen=True)
class PendingReport:
    """One report, checked, waiting to be committed (alone, or with others); its contact is sealed with the group's."""

    by: UUID
    key: str | None
    contact: Contact | None
    fields: dict[str, Any]
    fingerprint: str = ""


def new_incident(work: Work, actor: Actor, now: datetime, **fields: Any) -> Incident:
    """The incident is made (and so checked) before the book issues its reference: a refused report leaves no
    gap, even among reports saved together."""
    year = be_year(now)
    book = work.find(ReferenceBook.id_for(year), ReferenceBook) or ReferenceBook.open(year, actor, now)
    reference = book.next_reference
    incident = Incident.report(id=Incident.id_for(reference), reference=reference, now=now, actor=actor, **fields)
    book.issue(actor, now)
    work.add(book)
    work.add(incident)
    return incident


def checked_contact(contact: Contact | None) -> Contact | None:
    """A reporter's contact checked and trimmed; None when it says nothing."""
    if contact is None:
        return None
    name = clean_text(contact.name, "reporter_name", required=False, max_len=200)
    phone = clean_text(contact.phone, "reporter_phone", required=False, max_len=40)
    if phone and not PHONE.fullmatch(phone):
        raise InvalidInput("A phone number has only digits, spaces, dashes, brackets and +.", field="reporter_phone")
    return Contact(name, phone) if name or phone else None


def fingerprint(fields: dict[str, Any], occurred_at_given: bool) -> str:
    """A digest of what a report says (its reporter's contact left out: no personal data in the log, not even
    hashed); the time it happened counts only when the sender gave one, since the server's "now" differs per try."""

    def plain(value: Any) -> Any:
        if isinstance(value, GeoPoint):
            return [value.lat, value.lon]
        if isinstance(value, datetime):
            return value.isoformat()
        return getattr(value, "value", value) if value is not None else None

    said = {k: plain(v) for k, v in fields.items() if k != "occurred_at" or occurred_at_given}
    text = json.dumps(said, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _check_same_report(claimed: IntakeKey, report: PendingReport) -> None:
    if not claimed.same_report(report.fingerprint):
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used for a different report; a retry must send the same report, "
            "and a new report needs a new key.",
            field="idempotency_key",
            incident_id=claimed.incident_id,  # the page tells which incident the key made (a resent form)
        )


def _logged(result: Reported) -> Reported:
    log.info(
        "command.done", command="report_incident", aggregate_id=str(result.id), notification_id=result.notification_id
    )
    return result


class IntakeCommands(UnitOfWork):
    def __init__(self, *args: Any, **kwargs: Any):
        self._intakes: GroupCommit[PendingReport, Reported] = GroupCommit(self._commit_reports)
        super().__init__(*args, **kwargs)

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
        """Reports made at the same time in this process are committed together (`_commit_reports`).
        A retry with the same `idempotency_key` returns the incident the key first reported (no notification id).
        Inside a batch, the result is a plain CommandResult."""
        report = self._checked_report(
            channel=channel,
            category=category,
            priority=priority,
            community=community,
            location=location,
            description=description,
            by=by,
            occurred_at=occurred_at,
            position=position,
            contact=contact,
            idempotency_key=idempotency_key,
            source_alert_id=source_alert_id,
        )
        if self._in_batch():
            sealed = self.vault.seal(report.contact) if report.contact is not None else None
            return self._run(
                "report_incident", lambda work: self._take_in(work, report, look_up=True, contact=sealed)[0]
            )
        if report.key is not None:  # a retry of a report this process saved is answered at once, without a group
            claimed = self._claimed(None, report.key, look_up=False)
            if claimed is not None:
                _check_same_report(claimed, report)
                incident = self.load(claimed.incident_id, fresh=False)
                if isinstance(incident, Incident):
                    return Reported(incident.id, None, incident.reference, incident.reported_at)
        return _logged(self._intakes.submit(report))

    async def report_incident_async(self, **command: Any) -> Reported:
        """`report_incident` for a caller in an event loop (the JSON API): the same checks and the same group commit,
        and no thread waits for the report while it is committed."""
        return _logged(await self._intakes.submit_async(self._checked_report(**command)))

    def _checked_report(
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
    ) -> PendingReport:
        """A report checked cheaply before anything touches the vault or the store: a refusal here never joins a group."""
        description = clean_text(description, "description", required=True)
        location = clean_text(location, "location", required=True, max_len=MAX_SHORT_TEXT)
        occurred_at_given = occurred_at is not None
        occurred_at = self._at(occurred_at)
        contact = checked_contact(contact)
        key = clean_text(idempotency_key, "idempotency_key", required=False, max_len=200) or None
        fields = dict(
            channel=channel,
            category=category,
            priority=priority,
            community=community,
            location=location,
            description=description,
            occurred_at=occurred_at,
            position=position,
            source_alert_id=source_alert_id,
        )
        return PendingReport(by, key, contact, fields, fingerprint(fields, occurred_at_given) if key else "")

    def _take_in(
        self, work: Work, report: PendingReport, *, look_up: bool, contact: SealedContact | None = None
    ) -> tuple[UUID, bool]:
        """One report in a command's work: the incident's id, and whether it is new. An idempotency key is looked for
        in the work (a retry in the same group) and in this process's cache; with `look_up`, in the store too."""
        if report.key is not None:
            claimed = self._claimed(work, report.key, look_up=look_up)
            if claimed is not None:
                _check_same_report(claimed, report)
                return claimed.incident_id, False
        actor = work.actor(report.by)
        incident = new_incident(work, actor, self.clock(), **{"contact": contact, **report.fields})
        if report.key is not None:
            work.add(IntakeKey.claim(report.key, incident.id, actor, self.clock(), report.fingerprint))
        return incident.id, True

    def _commit_reports(self, reports: Sequence[PendingReport]) -> list[Reported | Exception]:
        """The group's reports committed together; when that fails before anything was stored (a report the store
        cannot take, say), each is committed alone, so the one at fault fails alone. A failure of the store itself
        (its outcome may be unknown) is every member's: committing them again could store them twice."""
        try:
            return list(self._commit_together(reports))
        except PersistenceError:
            raise
        except Exception as error:
            if len(reports) == 1:
                raise
            log.warning("command.group_failed", error=repr(error), group=len(reports))
            return [self._commit_alone(report) for report in reports]

    def _commit_alone(self, report: PendingReport) -> Reported | Exception:
        try:
            return self._commit_together([report])[0]
        except PersistenceError:
            raise
        except Exception as error:  # this report's own failure is its answer; the others' commits stand
            return error

    def _commit_together(self, reports: Sequence[PendingReport]) -> list[Reported | DomainError]:
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
            contacts = [report.contact for report in reports]
            sealed = iter(self.vault.seal_many([c for c in contacts if c is not None]) if any(contacts) else [])
            sealed_contacts = [next(sealed) if c is not None else None for c in contacts]
            for attempt in range(1, MAX_ATTEMPTS + 1):
                work = Work(self)
                outcomes: list[tuple[UUID, bool] | DomainError] = []
                for report, contact in zip(reports, sealed_contacts, strict=True):
                    try:
                        outcomes.append(self._take_in(work, report, look_up=attempt > 1, contact=contact))
                    except DomainError as error:
                        log.info("command.refused", reason=error.message)
                        outcomes.append(error)
                changed = [aggregate for aggregate in work.aggregates.values() if aggregate.pending_events]
                try:
                    recordings = self.save(*changed) if changed else []
                except IntegrityError:
                    log.info("command.retry_after_concurrent_write", attempt=attempt, group=len(reports))
                    self._evict(work.aggregates)
                    time.sleep(random.uniform(0, 0.005 * attempt))  # jitter, so that racing writers spread out
                    continue
                self._remember(work.aggregates, recordings)
                positions = {r.domain_event.originator_id: r.notification.id for r in recordings}
                log.info("command.group_saved", group=len(reports), events=len(recordings), attempt=attempt)
                return [
                    self._answer(work, report, outcome, positions)
                    for report, outcome in zip(reports, outcomes, strict=True)
                ]
        raise ConflictError("Too many people changed this at the same moment; please try again.")

    def _answer(
        self, work: Work, report: PendingReport, outcome: tuple[UUID, bool] | DomainError, positions: dict[UUID, int]
    ) -> Reported | DomainError:
        if isinstance(outcome, DomainError):
            return outcome
        incident_id, new = outcome
        incident = work.aggregates.get(incident_id) or self.load(incident_id, fresh=False)
        if not isinstance(incident, Incident):  # a key whose incident is gone cannot be: the log is kept
            raise NotFound("There is no incident {reference}.", reference=str(incident_id))
        key_id = IntakeKey.id_for(report.key) if report.key is not None else None
        position = max(positions[incident_id], positions.get(key_id, 0)) if new else None
        return Reported(incident_id, position, incident.reference, incident.reported_at)

    def _claimed(self, work: Work | None, key: str, *, look_up: bool) -> IntakeKey | None:
        """The claim of this idempotency key in the work, in this process's cache, or (`look_up`) in the store: one
        query, since a key is one event and never snapshotted (the repository would look for a snapshot first)."""
        key_id = IntakeKey.id_for(key)
        claimed = work.aggregates.get(key_id) if work is not None else None
        if claimed is None and self.repository.cache is not None:
            try:
                claimed = self.repository.cache.get(key_id)
            except KeyError:
                pass
        if claimed is None and look_up:
            claimed = project_aggregate(None, self.events.get(key_id))
        return claimed if isinstance(claimed, IntakeKey) else None
