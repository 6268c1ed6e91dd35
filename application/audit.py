"""Audit reads: an aggregate's history and past state. A reporter's contact shows there only as sealed or erased: it is
read on purpose, and recorded, through application/personal_data.py."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError

from application.errors import NotFound
from application.unit_of_work import UnitOfWork, Work
from domain.incident import Incident
from domain.permissions import Action, authorize
from domain.personal_data import ErasureChannel, ErasureRequester, LegalBasis
from domain.values import MAX_SHORT_TEXT, Role, SealedContact, clean_text

log = structlog.get_logger()
ERASED = {"erased": True}
SEALED = {"sealed": True}
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
            return ERASED if self.vault.is_erased(value) else SEALED
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
        """PDPA erasure in one call (a request recorded, approved and carried out: three events): destroys the
        reporter's key. The log is untouched; every copy of the contact becomes unreadable. 0 when nothing matches."""
        actor = Work(self).actor(by)
        authorize(actor, Action.ERASE_PERSONAL_DATA)
        reason = clean_text(reason, "reason", required=True, max_len=MAX_SHORT_TEXT)
        if not self.vault.key_ids_for_phone(phone):
            return 0
        request = self.receive_erasure_request(  # type: ignore[attr-defined]
            request_reference=f"ERASE-{uuid.uuid4().hex[:12].upper()}",
            requester=ErasureRequester.DATA_SUBJECT,
            channel=ErasureChannel.IN_PERSON,
            legal_basis=LegalBasis.OTHER,
            basis_text=reason,
            phone=phone,
            by=by,
        )
        self.carry_out_erasure(request.id, by=by)  # type: ignore[attr-defined]
        erased = self.load(request.id, fresh=True)
        return getattr(erased, "keys_destroyed", 0)
