"""Reporters' personal data: every reading of a contact, and every erasure request (Thai PDPA), as events of
aggregates of their own, so that a reading never conflicts with a dispatcher's change to the incident.

The log never holds a name or a phone: a reading records who read which incidents' contacts, why and from where;
a request records who asked, how, under which basis and which reporters' keys it concerns (random ids)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from uuid import UUID, uuid4, uuid5

from eventsourcing.domain import event

from domain.base import ZoneAggregate
from domain.errors import InvalidInput, TransitionRefused
from domain.incident import NAMESPACE
from domain.permissions import Action, authorize
from domain.values import MAX_SHORT_TEXT, Actor, clean_text


class ContactReadPurpose(Enum):
    CALL_BACK = "call_back"
    INVESTIGATION = "investigation"
    COURT_REQUEST = "court_request"
    OTHER = "other"


class ContactReadKind(Enum):
    INCIDENT = "incident"  # one incident's reporter
    PHONE_LOOKUP = "phone_lookup"  # the reports made from a phone number


class ContactReadOutcome(Enum):
    SHOWN = "shown"
    ERASED = "erased"  # the contact had been erased: nothing personal was shown


class ErasureRequester(Enum):
    DATA_SUBJECT = "data_subject"
    REPRESENTATIVE = "representative"
    AUTHORITY = "authority"
    RETENTION = "retention"  # nobody asked: the retention period ran out


class ErasureChannel(Enum):
    IN_PERSON = "in_person"
    PHONE = "phone"
    LETTER = "letter"
    EMAIL = "email"
    WEB_FORM = "web_form"
    RETENTION = "retention"


class LegalBasis(Enum):
    PDPA_ERASURE = "pdpa_erasure"  # PDPA s. 33: the right to erasure
    CONSENT_WITHDRAWN = "consent_withdrawn"  # PDPA s. 19
    COURT_ORDER = "court_order"
    RETENTION_EXPIRED = "retention_expired"
    OTHER = "other"


class ErasureStatus(Enum):
    RECEIVED = "received"
    REFUSED = "refused"
    APPROVED = "approved"  # decided; the keys are being destroyed
    ERASED = "erased"


_REFERENCE = re.compile(r"^[\w][\w./-]{0,39}$")


def check_request_reference(reference: str) -> str:
    reference = (reference or "").strip()
    if not reference:
        raise InvalidInput("The {field} must not be empty.", field="request_reference")
    if not _REFERENCE.match(reference):
        raise InvalidInput(
            "A request reference is 1–40 letters, digits, dots, slashes or dashes, e.g. PDPA-2569/017.",
            field="request_reference",
        )
    return reference


class ContactRead(ZoneAggregate):
    """One deliberate reading of reporters' contacts: by whom, why, from where, of which incidents."""

    id: UUID

    @classmethod
    def record(
        cls,
        *,
        kind: ContactReadKind,
        purpose: ContactReadPurpose | None,
        reason: str,
        incident_ids: list[UUID],
        references: list[str],
        source: str,
        outcome: ContactReadOutcome,
        actor: Actor,
        occurred_at: datetime,
    ) -> ContactRead:
        authorize(actor, Action.READ_REPORTER_CONTACT)
        if purpose is None:
            raise InvalidInput("Say why you need the reporter's contact.", field="purpose")
        reason = clean_text(reason, "reason", required=purpose is ContactReadPurpose.OTHER, max_len=MAX_SHORT_TEXT)
        if not incident_ids:
            raise InvalidInput("A reading concerns at least one incident.", field="incident")
        return cls(
            id=uuid4(),
            kind=kind,
            purpose=purpose,
            reason=reason,
            incident_ids=list(incident_ids),
            references=list(references),
            source=clean_text(source, "source", required=True, max_len=200),
            outcome=outcome,
            actor=actor,
            occurred_at=occurred_at,
        )

    @event("Recorded")
    def __init__(
        self,
        kind: ContactReadKind,
        purpose: ContactReadPurpose,
        reason: str,
        incident_ids: list[UUID],
        references: list[str],
        source: str,
        outcome: ContactReadOutcome,
        actor: Actor,
        occurred_at: datetime,
    ):
        self.kind = kind
        self.purpose = purpose
        self.incident_ids = incident_ids
        self.references = references
        self.outcome = outcome


class ErasureRequest(ZoneAggregate):
    """A request to erase a reporter's contact, from its receipt to the destruction of the keys. The request names
    the reporters' keys it concerns (random ids), never the phone or the name it was found by."""

    id: UUID

    @staticmethod
    def id_for(request_reference: str) -> UUID:
        return uuid5(NAMESPACE, f"erasure-request/{request_reference.strip().upper()}")

    @classmethod
    def receive(
        cls,
        *,
        request_reference: str,
        requester: ErasureRequester,
        channel: ErasureChannel,
        legal_basis: LegalBasis,
        basis_text: str,
        key_ids: list[str],
        references: list[str],
        actor: Actor,
        occurred_at: datetime,
    ) -> ErasureRequest:
        authorize(actor, Action.ERASE_PERSONAL_DATA)
        reference = check_request_reference(request_reference)
        basis_text = clean_text(
            basis_text, "basis_text", required=legal_basis is LegalBasis.OTHER, max_len=MAX_SHORT_TEXT
        )
        if not key_ids:
            raise InvalidInput("No report on record was made from this phone number.", field="phone")
        return cls(
            id=cls.id_for(reference),
            request_reference=reference,
            requester=requester,
            channel=channel,
            legal_basis=legal_basis,
            basis_text=basis_text,
            key_ids=sorted(set(key_ids)),
            references=sorted(set(references)),
            actor=actor,
            occurred_at=occurred_at,
        )

    @event("Received")
    def __init__(
        self,
        request_reference: str,
        requester: ErasureRequester,
        channel: ErasureChannel,
        legal_basis: LegalBasis,
        basis_text: str,
        key_ids: list[str],
        references: list[str],
        actor: Actor,
        occurred_at: datetime,
    ):
        self.request_reference = request_reference
        self.requester = requester
        self.key_ids = key_ids
        self.references = references
        self.status = ErasureStatus.RECEIVED

    def _check_undecided(self) -> None:
        if self.status is not ErasureStatus.RECEIVED:
            raise TransitionRefused(
                "Request {reference} was already decided ({status}).",
                reference=self.request_reference,
                status=self.status,
            )

    def refuse(self, *, reason: str, actor: Actor, occurred_at: datetime) -> None:
        self._decide(self._refused, reason, required=True, actor=actor, occurred_at=occurred_at)

    @event("Refused")
    def _refused(self, reason: str, actor: Actor, occurred_at: datetime) -> None:
        self.status = ErasureStatus.REFUSED

    def approve(self, *, actor: Actor, occurred_at: datetime, reason: str = "") -> None:
        self._decide(self._approved, reason, required=False, actor=actor, occurred_at=occurred_at)

    def _decide(
        self, decided: Callable[..., None], reason: str, *, required: bool, actor: Actor, occurred_at: datetime
    ) -> None:
        """A decision on a request still undecided, by someone who may erase personal data, with its reason (a
        refusal must give one)."""
        authorize(actor, Action.ERASE_PERSONAL_DATA)
        self._check_undecided()
        decided(
            reason=clean_text(reason, "reason", required=required, max_len=MAX_SHORT_TEXT),
            actor=actor,
            occurred_at=occurred_at,
        )

    @event("Approved")
    def _approved(self, reason: str, actor: Actor, occurred_at: datetime) -> None:
        self.status = ErasureStatus.APPROVED

    def record_erasure(
        self, *, keys_destroyed: int, references: list[str], actor: Actor, occurred_at: datetime
    ) -> None:
        """The keys were destroyed (`keys_destroyed` of them now; the others had been destroyed before)."""
        authorize(actor, Action.ERASE_PERSONAL_DATA)
        if self.status is not ErasureStatus.APPROVED:
            raise TransitionRefused(
                "Request {reference} cannot be carried out now ({status}).",
                reference=self.request_reference,
                status=self.status,
            )
        self._erased(
            keys_destroyed=keys_destroyed, references=sorted(set(references)), actor=actor, occurred_at=occurred_at
        )

    @event("Erased")
    def _erased(self, keys_destroyed: int, references: list[str], actor: Actor, occurred_at: datetime) -> None:
        self.status = ErasureStatus.ERASED
        self.keys_destroyed = keys_destroyed
        self.references = sorted(set(self.references) | set(references))
