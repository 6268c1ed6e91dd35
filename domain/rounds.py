"""An officer's round as the write side knows it: the unit they crew now, and their latest visits. A check-in is
judged against the officer's previous visit ("too fast between boxes"), and that is decided by the command from
this aggregate, not by a page from a read model that may lag."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import event

from domain.base import ZoneAggregate
from domain.incident import NAMESPACE
from domain.values import Actor

RECENT_VISITS = 10  # enough to find the latest one not voided; older ones never decide a check-in


class OfficerRound(ZoneAggregate):
    id: UUID

    @staticmethod
    def id_for(officer_id: UUID) -> UUID:
        return uuid5(NAMESPACE, f"officer-round/{officer_id}")

    @classmethod
    def begin(cls, officer_id: UUID, actor: Actor, occurred_at: datetime) -> OfficerRound:
        return cls(id=cls.id_for(officer_id), officer_id=officer_id, actor=actor, occurred_at=occurred_at)

    @event("Begun")
    def __init__(self, officer_id: UUID, actor: Actor, occurred_at: datetime):
        self.officer_id = officer_id
        self.unit_id: UUID | None = None
        self.recent_visit_ids: list[UUID] = []
        self.last_at = occurred_at

    # A backdated visit or shift (entered after the fact) is recorded on the round when it is entered: the round's
    # own events keep their order in time, as every aggregate's do.
    def join(self, unit_id: UUID, *, actor: Actor, occurred_at: datetime) -> None:
        if self.unit_id != unit_id:
            self._crewed(unit_id=unit_id, actor=actor, occurred_at=max(occurred_at, self.last_at))

    def leave(self, unit_id: UUID, *, actor: Actor, occurred_at: datetime) -> None:
        if self.unit_id == unit_id:
            self._crewed(unit_id=None, actor=actor, occurred_at=max(occurred_at, self.last_at))

    @event("Crewed")
    def _crewed(self, unit_id: UUID | None, actor: Actor, occurred_at: datetime) -> None:
        self.unit_id = unit_id
        self.last_at = occurred_at

    def visited(self, visit_id: UUID, *, actor: Actor, occurred_at: datetime) -> None:
        self._visited(visit_id=visit_id, actor=actor, occurred_at=max(occurred_at, self.last_at))

    @event("Visited")
    def _visited(self, visit_id: UUID, actor: Actor, occurred_at: datetime) -> None:
        self.recent_visit_ids = [*self.recent_visit_ids, visit_id][-RECENT_VISITS:]
        self.last_at = occurred_at
