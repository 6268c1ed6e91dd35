"""Audit reads: an aggregate's history and past state, the reporter's contact (every reading logged), and the PDPA
erasure of a reporter's contact."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError

from application.errors import NotFound, RecordKind
from application.unit_of_work import UnitOfWork, Work
from domain.incident import Incident
from domain.permissions import Action, authorize
from domain.values import MAX_SHORT_TEXT, Role, SealedContact, clean_text

log = structlog.get_logger()
ERASED = {"erased": True}
_NOT_DETAILS = {
    "originator_id",
    "originator_version",
    "timestamp",
    "originator_topic",
    "actor",
    "occurred_at",
    "reason",
}


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


class AuditQueries(UnitOfWork):
    def history(self, aggregate_id: UUID) -> list[HistoryEntry]:
        events = list(self.events.get(aggregate_id))
        if not events:
            raise NotFound("Nothing with id {aggregate_id} was ever recorded.", aggregate_id=aggregate_id)
        return [self._entry(event) for event in events]

    def _entry(self, event: Any) -> HistoryEntry:
        details = {name: self._readable(value) for name, value in event.__dict__.items() if name not in _NOT_DETAILS}
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

    def state_at(
        self, aggregate_id: UUID, *, version: int | None = None, recorded_at: datetime | None = None
    ) -> dict[str, Any]:
        """The aggregate as it stood at a version, or as the store knew it at an instant, as plain data."""
        if recorded_at is not None:
            known = [e.originator_version for e in self.events.get(aggregate_id) if e.timestamp <= recorded_at]
            if not known:
                raise NotFound(
                    "Nothing with id {aggregate_id} had been recorded by {recorded_at}.",
                    aggregate_id=aggregate_id,
                    recorded_at=recorded_at,
                )
            version = known[-1] if version is None else min(version, known[-1])
        try:
            aggregate = self.repository.get(aggregate_id, version=version)
        except AggregateNotFoundError:
            raise NotFound("Nothing with id {aggregate_id} was ever recorded.", aggregate_id=aggregate_id) from None
        state = {
            name.lstrip("_"): self._readable(value)
            for name, value in aggregate.__dict__.items()
            if name != "_pending_events"
        }
        state["aggregate"] = type(aggregate).__name__
        if isinstance(aggregate, Incident):
            state["status"] = aggregate.status
        return state

    def erase_reporter_contact(self, *, phone: str, reason: str, by: UUID) -> int:
        """PDPA erasure: destroys the reporter's key. The log is untouched; every copy of the contact becomes unreadable."""
        actor = Work(self).actor(by)
        authorize(actor, Action.ERASE_PERSONAL_DATA)
        reason = clean_text(reason, "reason", required=True, max_len=MAX_SHORT_TEXT)
        erased = self.vault.erase(phone, reason=reason, erased_by=actor.user_id)
        log.info("pdpa.contact_erased", keys=erased, by=str(actor.user_id))
        return erased

    def reporter_contact(self, incident_id: UUID, *, by: UUID) -> dict[str, Any] | None:
        """The reporter's name and phone for the people who call back (`{"erased": True}` after a PDPA
        erasure); None when the report left none. Every reading is logged."""
        actor = Work(self).actor(by)
        authorize(actor, Action.READ_REPORTER_CONTACT)
        incident = Work(self).get(incident_id, Incident, RecordKind.INCIDENT)
        if incident.contact is None:
            return None
        log.info("pdpa.contact_read", incident=incident.reference, by=str(actor.user_id), role=actor.role.value)
        return self._readable(incident.contact)
