"""Reporters' personal data: reading a contact (a deliberate, recorded act), finding the reports made from a phone,
and the PDPA erasure of a reporter's contact, requested or by the retention period. Every reading and every step of
an erasure is an event; none holds a name or a phone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import structlog

from application.errors import NotFound, RecordKind
from application.ports import ContactIndex, SealedIncident
from application.unit_of_work import CommandResult, UnitOfWork, Work
from domain.errors import InvalidInput
from domain.incident import Incident
from domain.permissions import Action, authorize
from domain.personal_data import (
    ContactRead,
    ContactReadKind,
    ContactReadOutcome,
    ContactReadPurpose,
    ErasureChannel,
    ErasureRequest,
    ErasureRequester,
    ErasureStatus,
    LegalBasis,
)
from domain.values import SYSTEM_USER_ID, Actor

log = structlog.get_logger()
RETENTION_REASON = "retention period"


@dataclass(frozen=True)
class ShownContact:
    """A reporter's contact as shown to one person once; `erased` when a PDPA erasure destroyed it."""

    incident_id: UUID
    reference: str
    name: str
    phone: str
    erased: bool
    read_id: UUID
    notification_id: int | None


class PersonalDataCommands(UnitOfWork):
    def __init__(self, *args: Any, contact_index: ContactIndex | None = None, **kwargs: Any):
        self.contact_index = contact_index
        super().__init__(*args, **kwargs)

    # --- reading, recorded ---------------------------------------------------------------------------------------
    def read_contact(
        self,
        incident_id: UUID,
        *,
        by: UUID,
        purpose: ContactReadPurpose | None,
        reason: str = "",
        source: str,
        occurred_at: datetime | None = None,
    ) -> ShownContact | None:
        """The reporter's name and phone, once the reading is recorded (who, why, from where); None when the report
        left no contact (nothing is recorded then). An erased contact is recorded as read, with nothing shown."""
        at = self._at(occurred_at)
        incident = self._incident(incident_id, by)
        if incident.contact is None:
            return None
        erased = self.vault.is_erased(incident.contact)
        result = self._record_read(
            ContactReadKind.INCIDENT,
            [incident],
            by=by,
            purpose=purpose,
            reason=reason,
            source=source,
            at=at,
            erased=erased,
        )
        contact = None if erased else self.vault.unseal(incident.contact)
        log.info("pdpa.contact_read", incident=incident.reference, read_id=str(result.id))
        return ShownContact(
            incident.id,
            incident.reference,
            contact.name if contact else "",
            contact.phone if contact else "",
            contact is None,
            result.id,
            result.notification_id,
        )

    def find_contacts_by_phone(
        self,
        phone: str,
        *,
        by: UUID,
        purpose: ContactReadPurpose | None,
        reason: str = "",
        source: str,
        occurred_at: datetime | None = None,
    ) -> list[ShownContact]:
        """The reports made from this phone, with their contacts: matched on the keyed hash of the number (nobody's
        contact is decrypted to search), and recorded as one reading of them all. A number that matches nothing is
        refused and nothing is recorded."""
        at = self._at(occurred_at)
        actor = Work(self).actor(by)
        authorize(actor, Action.READ_REPORTER_CONTACT)
        self._check_purpose(purpose, reason)
        sealed = self._index().incidents_for_keys(self.vault.key_ids_for_phone(_phone(phone)))
        if not sealed:
            raise NotFound("No report on record was made from this phone number.", field="phone")
        incidents = [self._incident(s.incident_id, by) for s in sealed]
        result = self._record_read(
            ContactReadKind.PHONE_LOOKUP, incidents, by=by, purpose=purpose, reason=reason, source=source, at=at
        )
        shown = []
        for incident in incidents:
            contact = self.vault.unseal(incident.contact) if incident.contact is not None else None
            shown.append(
                ShownContact(
                    incident.id,
                    incident.reference,
                    contact.name if contact else "",
                    contact.phone if contact else "",
                    contact is None,
                    result.id,
                    result.notification_id,
                )
            )
        log.info("pdpa.phone_lookup", incidents=len(shown), read_id=str(result.id))
        return shown

    def _check_purpose(self, purpose: ContactReadPurpose | None, reason: str) -> None:
        """The reading's reason checked before anything is looked up (the event checks it again)."""
        if purpose is None:
            raise InvalidInput("Say why you need the reporter's contact.", field="purpose")
        if purpose is ContactReadPurpose.OTHER and not (reason or "").strip():
            raise InvalidInput("The {field} must not be empty.", field="reason")

    def _record_read(
        self,
        kind: ContactReadKind,
        incidents: list[Incident],
        *,
        by: UUID,
        purpose: ContactReadPurpose | None,
        reason: str,
        source: str,
        at: datetime,
        erased: bool = False,
    ) -> CommandResult:
        def command(work: Work) -> UUID:
            read = ContactRead.record(
                kind=kind,
                purpose=purpose,
                reason=reason,
                incident_ids=[i.id for i in incidents],
                references=[i.reference for i in incidents],
                source=source,
                outcome=ContactReadOutcome.ERASED if erased else ContactReadOutcome.SHOWN,
                actor=work.actor(by),
                occurred_at=at,
            )
            work.add(read)
            return read.id

        return self._run("read_contact", command)

    def _incident(self, incident_id: UUID, by: UUID) -> Incident:
        work = Work(self)
        authorize(work.actor(by), Action.READ_REPORTER_CONTACT)
        return work.get(incident_id, Incident, RecordKind.INCIDENT)

    def _index(self) -> ContactIndex:
        if self.contact_index is None:
            raise RuntimeError("The application was built without a contact index")
        return self.contact_index

    # --- PDPA erasure --------------------------------------------------------------------------------------------
    def erasure_matches(self, *, phone: str = "", reference: str = "") -> tuple[list[str], list[SealedIncident]]:
        """The reporters' keys an erasure by this phone (or of the reporter of this incident) would destroy, found
        without decrypting anyone's contact (the keyed hash of the number, or the incident's own report in the log),
        and the incidents those keys seal (from the read model, which may lag behind the log by a moment)."""
        if reference.strip():
            incident = self.load(Incident.id_for(reference.strip().upper()), fresh=True)
            sealed = incident.contact if isinstance(incident, Incident) else None
            key_ids = sorted(self.vault.live_keys([sealed.key_id])) if sealed is not None else []
        else:
            key_ids = self.vault.key_ids_for_phone(_phone(phone))
        return key_ids, self._index().incidents_for_keys(key_ids) if key_ids else []

    def receive_erasure_request(
        self,
        *,
        request_reference: str,
        requester: ErasureRequester,
        channel: ErasureChannel,
        legal_basis: LegalBasis,
        basis_text: str = "",
        by: UUID,
        phone: str = "",
        incident_reference: str = "",
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        """Records a request to erase the contact of the reporter found by phone (or by one of their incidents). The
        request names the incidents and the reporters' keys, never the phone. A phone that matches nothing is refused,
        and nothing is recorded."""
        at = self._at(occurred_at)
        actor = Work(self).actor(by)
        authorize(actor, Action.ERASE_PERSONAL_DATA)
        if not phone.strip() and not incident_reference.strip():
            raise InvalidInput(
                "Give the reporter's phone number or the reference of one of their reports.", field="phone"
            )
        key_ids, matches = self.erasure_matches(phone=phone, reference=incident_reference)
        if not key_ids:
            if incident_reference.strip() and not phone.strip():
                raise NotFound(
                    "No contact that can still be erased is on incident {reference}.",
                    field="phone",
                    reference=incident_reference.strip()[:40],
                )
            raise NotFound("No report on record was made from this phone number.", field="phone")

        def command(work: Work) -> UUID:
            request_id = ErasureRequest.id_for(request_reference)
            if work.find(request_id, ErasureRequest) is not None:
                raise InvalidInput(
                    "A request with the reference {reference} is already recorded.",
                    field="request_reference",
                    reference=request_reference.strip(),
                )
            request = ErasureRequest.receive(
                request_reference=request_reference,
                requester=requester,
                channel=channel,
                legal_basis=legal_basis,
                basis_text=basis_text,
                key_ids=key_ids,
                references=[m.reference for m in matches],
                actor=work.actor(by),
                occurred_at=at,
            )
            work.add(request)
            return request.id

        return self._run("receive_erasure_request", command)

    def refuse_erasure(
        self, request_id: UUID, *, reason: str, by: UUID, occurred_at: datetime | None = None
    ) -> CommandResult:
        at = self._at(occurred_at)

        def command(work: Work) -> UUID:
            self._request(work, request_id).refuse(reason=reason, actor=work.actor(by), occurred_at=at)
            return request_id

        return self._run("refuse_erasure", command)

    def carry_out_erasure(
        self, request_id: UUID, *, by: UUID, reason: str = "", occurred_at: datetime | None = None
    ) -> CommandResult:
        """Approves the request (an event), destroys the reporters' keys, and records the erasure (an event). If the
        process stops between the two, carrying the request out again finishes it."""
        at = self._at(occurred_at)

        def approve(work: Work) -> UUID:
            request = self._request(work, request_id)
            if request.status is ErasureStatus.RECEIVED:
                request.approve(actor=work.actor(by), reason=reason, occurred_at=at)
            elif request.status is not ErasureStatus.APPROVED:
                request._check_undecided()
            return request_id

        self._run("approve_erasure", approve)
        return self._erase_keys(request_id, by=by, at=at)

    def _erase_keys(self, request_id: UUID, *, by: UUID, at: datetime, purge: bool = True) -> CommandResult:
        request = self.load(request_id, fresh=True)
        assert isinstance(request, ErasureRequest)
        actor = Work(self).actor(by)
        touched = [s.reference for s in self._index().incidents_for_keys(request.key_ids)]
        destroyed = self.vault.erase_keys(
            request.key_ids, reason=f"{request.request_reference}", erased_by=actor.user_id
        )

        def record(work: Work) -> UUID:
            self._request(work, request_id).record_erasure(
                keys_destroyed=destroyed, references=touched, actor=work.actor(by), occurred_at=at
            )
            return request_id

        result = self._run("record_erasure", record)
        log.info("pdpa.contact_erased", request_id=str(request_id), keys=destroyed, incidents=len(touched))
        return result

    def erase_expired_contacts(self, *, days: int, now: datetime | None = None) -> list[UUID]:
        """The retention period: erases the contact of every reporter all of whose incidents were closed (or
        cancelled) more than `days` days ago, one recorded erasure per reporter. Safe to run in several processes
        at once: a reporter's retention request has one id, so the second process's save conflicts and it moves on."""
        if days <= 0:
            return []
        at = now or self.clock()
        candidates = self._index().keys_closed_before(at - timedelta(days=days))
        done = []
        for key_id in sorted(self.vault.live_keys(candidates)):
            request_id = self._retention_request(key_id, days, at)
            if request_id is not None:
                self._erase_keys(request_id, by=SYSTEM_USER_ID, at=at, purge=False)
                done.append(request_id)
        if done:
            self.vault.purge_old_versions()  # once for the whole run
        return done

    def _retention_request(self, key_id: str, days: int, at: datetime) -> UUID | None:
        reference = f"RETENTION-{key_id[:16].upper()}"
        references = [s.reference for s in self._index().incidents_for_keys([key_id])]

        def command(work: Work) -> UUID:
            request_id = ErasureRequest.id_for(reference)
            existing = work.find(request_id, ErasureRequest)
            if existing is not None:  # another process took it: let it finish
                return request_id
            actor: Actor = work.actor(SYSTEM_USER_ID)
            request = ErasureRequest.receive(
                request_reference=reference,
                requester=ErasureRequester.RETENTION,
                channel=ErasureChannel.RETENTION,
                legal_basis=LegalBasis.RETENTION_EXPIRED,
                basis_text=f"{days} days after closure",
                key_ids=[key_id],
                references=references,
                actor=actor,
                occurred_at=at,
            )
            request.approve(actor=actor, reason=RETENTION_REASON, occurred_at=at)
            work.add(request)
            return request_id

        result = self._run("retention_erasure", command)
        return result.id if result.notification_id is not None else None

    def _request(self, work: Work, request_id: UUID) -> ErasureRequest:
        request = work.find(request_id, ErasureRequest)
        if request is None:
            raise NotFound("There is no erasure request {reference}.", reference=str(request_id))
        return request


def _phone(phone: str) -> str:
    phone = (phone or "").strip()
    if not phone:
        raise InvalidInput("The {field} must not be empty.", field="phone")
    if len(phone) > 40 or not any(c.isdigit() for c in phone) or any(not (c.isdigit() or c in "+-() ") for c in phone):
        raise InvalidInput("A phone number has only digits, spaces, dashes, brackets and +.", field="phone")
    return phone
