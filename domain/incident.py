from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import event

from domain.base import ZoneAggregate
from domain.errors import InvalidInput, TransitionRefused
from domain.permissions import Action, authorize
from domain.values import (
    MAX_SHORT_TEXT,
    OPEN_INCIDENT_STATUSES,
    Actor,
    Assignment,
    CancelReason,
    Category,
    Channel,
    Community,
    GeoPoint,
    IncidentStatus,
    Outcome,
    Priority,
    Role,
    SealedContact,
    check_occurred_at,
    clean_text,
    incident_status,
)

NAMESPACE = UUID("6f1c2a0e-9b7d-4c59-a1f3-52b3c1d0e8a4")
_ACTIVE = (Assignment.DISPATCHED, Assignment.EN_ROUTE, Assignment.ON_SCENE)


class Incident(ZoneAggregate):
    id: UUID

    @staticmethod
    def id_for(reference: str) -> UUID:
        return uuid5(NAMESPACE, f"incident/{reference}")

    @classmethod
    def report(
        cls,
        *,
        id: UUID,
        reference: str,
        channel: Channel,
        category: Category,
        priority: Priority,
        community: Community,
        location: str,
        description: str,
        occurred_at: datetime,
        now: datetime,
        actor: Actor,
        position: GeoPoint | None = None,
        contact: SealedContact | None = None,
        source_alert_id: UUID | None = None,
    ) -> Incident:
        authorize(actor, Action.REPORT_INCIDENT)
        check_occurred_at(occurred_at, now)
        return cls(
            id=id,
            reference=reference,
            channel=channel,
            category=category,
            priority=priority,
            community=community,
            location=clean_text(location, "location", required=True, max_len=MAX_SHORT_TEXT),
            description=clean_text(description, "description", required=True),
            position=position,
            contact=contact,
            source_alert_id=source_alert_id,
            actor=actor,
            occurred_at=occurred_at,
        )

    @event("Reported")
    def __init__(
        self,
        reference: str,
        channel: Channel,
        category: Category,
        priority: Priority,
        community: Community,
        location: str,
        description: str,
        position: GeoPoint | None,
        contact: SealedContact | None,
        source_alert_id: UUID | None,
        actor: Actor,
        occurred_at: datetime,
    ):
        self.reference = reference
        self.channel = channel
        self.category = category
        self.priority = priority
        self.community = community
        self.location = location
        self.description = description
        self.position = position
        self.contact = contact
        self.source_alert_id = source_alert_id
        self.reported_at = occurred_at
        self.reported_by = actor
        self.assignments: dict[UUID, Assignment] = {}
        self.call_signs: dict[UUID, str] = {}
        self.phase = IncidentStatus.REPORTED
        self.outcome: Outcome | None = None
        self.cancel_reason: CancelReason | None = None
        self.duplicate_of: UUID | None = None
        self.duplicates: list[UUID] = []
        self.notes: list[tuple[str, Actor, datetime]] = []
        self.reopen_count = 0

    @property
    def status(self) -> IncidentStatus:
        return incident_status(self.phase, self.assignments.values())

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_INCIDENT_STATUSES

    @property
    def active_unit_ids(self) -> list[UUID]:
        return [u for u, a in self.assignments.items() if a in _ACTIVE]

    def _call_sign(self, unit_id: UUID) -> str:
        return self.call_signs.get(unit_id, str(unit_id)[:8])

    # --- triage -------------------------------------------------------------
    def triage(
        self,
        *,
        actor: Actor,
        occurred_at: datetime,
        reason: str,
        category: Category | None = None,
        priority: Priority | None = None,
    ) -> None:
        authorize(actor, Action.TRIAGE_INCIDENT)
        if not self.is_open:
            raise TransitionRefused(
                "Incident {reference} is {status}; it cannot be triaged.", reference=self.reference, status=self.status
            )
        category = category if category is not None else self.category
        priority = priority if priority is not None else self.priority
        if (category, priority) == (self.category, self.priority):
            raise InvalidInput("Triage changes nothing: category and priority are already these.", field="priority")
        self._triaged(
            category=category,
            priority=priority,
            reason=clean_text(reason, "reason", required=True, max_len=MAX_SHORT_TEXT),
            actor=actor,
            occurred_at=occurred_at,
        )

    @event("Triaged")
    def _triaged(
        self, category: Category, priority: Priority, reason: str, actor: Actor, occurred_at: datetime
    ) -> None:
        self.category = category
        self.priority = priority

    # --- units --------------------------------------------------------------
    def check_dispatch(self, *, unit_id: UUID, call_sign: str, actor: Actor) -> None:
        authorize(actor, Action.DISPATCH_UNIT)
        if not self.is_open:
            raise TransitionRefused(
                "Incident {reference} is {status}; it cannot be dispatched to.",
                reference=self.reference,
                status=self.status,
            )
        if self.assignments.get(unit_id) in _ACTIVE:
            raise TransitionRefused(
                "Unit {call_sign} is already assigned to incident {reference}.",
                call_sign=call_sign,
                reference=self.reference,
            )

    def dispatch(self, *, unit_id: UUID, call_sign: str, actor: Actor, occurred_at: datetime, reason: str = "") -> None:
        self.check_dispatch(unit_id=unit_id, call_sign=call_sign, actor=actor)
        reason = clean_text(reason, "reason", required=False, max_len=MAX_SHORT_TEXT)
        self._unit_dispatched(unit_id=unit_id, call_sign=call_sign, reason=reason, actor=actor, occurred_at=occurred_at)

    @event("UnitDispatched")
    def _unit_dispatched(self, unit_id: UUID, call_sign: str, reason: str, actor: Actor, occurred_at: datetime) -> None:
        self.assignments[unit_id] = Assignment.DISPATCHED
        self.call_signs[unit_id] = call_sign
        if unit_id in self.acknowledged_by_units:  # dispatched again: a new assignment to confirm
            self.acknowledged = [u for u in self.acknowledged_by_units if u != unit_id]

    def mark_en_route(self, *, unit_id: UUID, actor: Actor, occurred_at: datetime) -> None:
        authorize(actor, Action.UPDATE_ASSIGNMENT)
        self._check_open_for_update()
        if self.assignments.get(unit_id) is not Assignment.DISPATCHED:
            raise self._not_dispatched(unit_id, arriving=False)
        self._unit_en_route(unit_id=unit_id, actor=actor, occurred_at=occurred_at)

    @event("UnitEnRoute")
    def _unit_en_route(self, unit_id: UUID, actor: Actor, occurred_at: datetime) -> None:
        self.assignments[unit_id] = Assignment.EN_ROUTE

    def mark_on_scene(self, *, unit_id: UUID, actor: Actor, occurred_at: datetime) -> None:
        authorize(actor, Action.UPDATE_ASSIGNMENT)
        self._check_open_for_update()
        if self.assignments.get(unit_id) not in (Assignment.DISPATCHED, Assignment.EN_ROUTE):
            raise self._not_dispatched(unit_id, arriving=True)
        self._unit_on_scene(unit_id=unit_id, actor=actor, occurred_at=occurred_at)

    @event("UnitOnScene")
    def _unit_on_scene(self, unit_id: UUID, actor: Actor, occurred_at: datetime) -> None:
        self.assignments[unit_id] = Assignment.ON_SCENE

    def _check_open_for_update(self) -> None:
        if not self.is_open:
            raise TransitionRefused(
                "Incident {reference} is {status}; it cannot be updated.", reference=self.reference, status=self.status
            )

    def _not_dispatched(self, unit_id: UUID, *, arriving: bool) -> TransitionRefused:
        state = self.assignments.get(unit_id)
        about = {"call_sign": self._call_sign(unit_id), "reference": self.reference}
        if state is Assignment.ON_SCENE:
            return TransitionRefused("Unit {call_sign} is already on scene at {reference}.", **about)
        if state is Assignment.EN_ROUTE and not arriving:
            return TransitionRefused("Unit {call_sign} is already en route to {reference}.", **about)
        if arriving:
            return TransitionRefused(
                "Unit {call_sign} has not been dispatched to {reference}, so it cannot arrive.", **about
            )
        return TransitionRefused(
            "Unit {call_sign} has not been dispatched to {reference}, so it cannot go en route.", **about
        )

    def acknowledge_dispatch(self, *, unit_id: UUID, crew: Sequence[UUID], actor: Actor, occurred_at: datetime) -> None:
        """The unit's crew confirms it has seen its assignment ("received"): the board shows who has."""
        authorize(actor, Action.UPDATE_ASSIGNMENT)
        about = {"call_sign": self._call_sign(unit_id), "reference": self.reference}
        if self.assignments.get(unit_id) not in _ACTIVE:
            raise TransitionRefused("Unit {call_sign} is not assigned to {reference}.", **about)
        if actor.role is Role.OFFICER and actor.user_id not in crew:
            raise TransitionRefused("Only the crew of unit {call_sign} can confirm its assignment.", **about)
        if unit_id in self.acknowledged_by_units:
            raise TransitionRefused("Unit {call_sign} has already confirmed {reference}.", **about)
        self._dispatch_acknowledged(
            unit_id=unit_id, call_sign=self._call_sign(unit_id), actor=actor, occurred_at=occurred_at
        )

    @property
    def acknowledged_by_units(self) -> list[UUID]:
        return getattr(self, "acknowledged", [])

    @event("DispatchAcknowledged")
    def _dispatch_acknowledged(self, unit_id: UUID, call_sign: str, actor: Actor, occurred_at: datetime) -> None:
        self.acknowledged = [*self.acknowledged_by_units, unit_id]

    def clear_unit(self, *, unit_id: UUID, actor: Actor, occurred_at: datetime, reason: str = "") -> None:
        authorize(actor, Action.UPDATE_ASSIGNMENT)
        if self.assignments.get(unit_id) not in _ACTIVE:
            raise TransitionRefused(
                "Unit {call_sign} is not assigned to {reference}.",
                call_sign=self._call_sign(unit_id),
                reference=self.reference,
            )
        self._unit_cleared(
            unit_id=unit_id,
            reason=clean_text(reason, "reason", required=False, max_len=MAX_SHORT_TEXT),
            actor=actor,
            occurred_at=occurred_at,
        )

    @event("UnitCleared")
    def _unit_cleared(self, unit_id: UUID, reason: str, actor: Actor, occurred_at: datetime) -> None:
        self.assignments[unit_id] = Assignment.CLEARED

    # --- outcome ------------------------------------------------------------
    def resolve(self, *, outcome: Outcome, summary: str, actor: Actor, occurred_at: datetime) -> list[UUID]:
        """Resolves and clears every unit still on the incident; returns those units."""
        authorize(actor, Action.RESOLVE_INCIDENT)
        if self.phase is IncidentStatus.RESOLVED:
            raise TransitionRefused("Incident {reference} is already resolved.", reference=self.reference)
        if not self.is_open:
            raise TransitionRefused(
                "Incident {reference} is {status}; it cannot be resolved.", reference=self.reference, status=self.status
            )
        released = self.active_unit_ids
        self._resolved(
            outcome=outcome,
            summary=clean_text(summary, "summary", required=False),
            actor=actor,
            occurred_at=occurred_at,
        )
        return released

    @event("Resolved")
    def _resolved(self, outcome: Outcome, summary: str, actor: Actor, occurred_at: datetime) -> None:
        self._clear_all()
        self.phase = IncidentStatus.RESOLVED
        self.outcome = outcome

    def _clear_all(self) -> None:
        for unit_id in self.active_unit_ids:
            self.assignments[unit_id] = Assignment.CLEARED

    def close(self, *, actor: Actor, occurred_at: datetime, reason: str = "") -> None:
        authorize(actor, Action.CLOSE_INCIDENT)
        if self.phase is IncidentStatus.CLOSED:
            raise TransitionRefused("Incident {reference} is already closed.", reference=self.reference)
        if self.phase is IncidentStatus.CANCELLED:
            raise TransitionRefused("Incident {reference} is cancelled; it cannot be closed.", reference=self.reference)
        if self.phase is not IncidentStatus.RESOLVED:
            raise TransitionRefused(
                "Incident {reference} must be resolved with an outcome before it can be closed.",
                reference=self.reference,
            )
        self._closed(
            reason=clean_text(reason, "reason", required=False, max_len=MAX_SHORT_TEXT),
            actor=actor,
            occurred_at=occurred_at,
        )

    @event("Closed")
    def _closed(self, reason: str, actor: Actor, occurred_at: datetime) -> None:
        self.phase = IncidentStatus.CLOSED

    def reopen(self, *, reason: str, actor: Actor, occurred_at: datetime) -> None:
        authorize(actor, Action.REOPEN_INCIDENT)
        if self.phase not in (IncidentStatus.RESOLVED, IncidentStatus.CLOSED):
            raise TransitionRefused(
                "Only a resolved or closed incident can be reopened; {reference} is {status}.",
                reference=self.reference,
                status=self.status,
            )
        self._reopened(
            reason=clean_text(reason, "reason", required=True, max_len=MAX_SHORT_TEXT),
            actor=actor,
            occurred_at=occurred_at,
        )

    @event("Reopened")
    def _reopened(self, reason: str, actor: Actor, occurred_at: datetime) -> None:
        self.phase = IncidentStatus.REPORTED
        self.outcome = None
        self.reopen_count += 1

    def cancel(
        self,
        *,
        cancel_reason: CancelReason,
        actor: Actor,
        occurred_at: datetime,
        note: str = "",
        duplicate_of: Incident | None = None,
    ) -> list[UUID]:
        """Cancels and clears every unit still on the incident; returns those units."""
        authorize(actor, Action.CANCEL_INCIDENT)
        if not self.is_open:
            raise TransitionRefused(
                "Incident {reference} is {status}; it cannot be cancelled.",
                reference=self.reference,
                status=self.status,
            )
        if cancel_reason is CancelReason.DUPLICATE:
            if duplicate_of is None:
                raise InvalidInput("Say which incident this one duplicates.", field="duplicate_of")
            if duplicate_of.id == self.id:
                raise InvalidInput("An incident cannot be a duplicate of itself.", field="duplicate_of")
            if duplicate_of.phase is IncidentStatus.CANCELLED:
                raise InvalidInput(
                    "Incident {reference} is itself cancelled; link to the incident that stands.",
                    field="duplicate_of",
                    reference=duplicate_of.reference,
                )
        elif duplicate_of is not None:
            raise InvalidInput("Only a duplicate names another incident.", field="duplicate_of")
        released = self.active_unit_ids
        self._cancelled(
            cancel_reason=cancel_reason,
            duplicate_of=duplicate_of.id if duplicate_of else None,
            reason=clean_text(note, "note", required=False, max_len=MAX_SHORT_TEXT),
            actor=actor,
            occurred_at=occurred_at,
        )
        if duplicate_of is not None:
            duplicate_of._duplicate_linked(
                duplicate_id=self.id, duplicate_reference=self.reference, actor=actor, occurred_at=occurred_at
            )
        return released

    @event("Cancelled")
    def _cancelled(
        self, cancel_reason: CancelReason, duplicate_of: UUID | None, reason: str, actor: Actor, occurred_at: datetime
    ) -> None:
        self._clear_all()
        self.phase = IncidentStatus.CANCELLED
        self.cancel_reason = cancel_reason
        self.duplicate_of = duplicate_of

    @event("DuplicateLinked")
    def _duplicate_linked(
        self, duplicate_id: UUID, duplicate_reference: str, actor: Actor, occurred_at: datetime
    ) -> None:
        self.duplicates.append(duplicate_id)

    def add_note(self, *, text: str, actor: Actor, occurred_at: datetime) -> None:
        authorize(actor, Action.ADD_NOTE)
        self._note_added(text=clean_text(text, "note", required=True), actor=actor, occurred_at=occurred_at)

    @event("NoteAdded")
    def _note_added(self, text: str, actor: Actor, occurred_at: datetime) -> None:
        self.notes.append((text, actor, occurred_at))


# Schema history of Incident.Reported: version 1 had neither a map position nor a source alert.
def _reported_v1_to_v2(state: dict) -> None:
    state.setdefault("position", None)
    state.setdefault("source_alert_id", None)


Incident.Reported.class_version = 2
Incident.Reported.upcast_v1_v2 = staticmethod(_reported_v1_to_v2)
