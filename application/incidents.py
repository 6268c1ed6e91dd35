"""Commands on incidents after their report (triage, dispatch, the units' progress, resolution), and on patrol
units. Reports themselves come in through `application.intake`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from application.errors import NotFound, RecordKind
from application.unit_of_work import CommandResult, UnitOfWork, Work
from domain.accounts import UserAccount
from domain.errors import InvalidInput
from domain.incident import Incident
from domain.patrol import PatrolUnit
from domain.rounds import OfficerRound
from domain.values import (
    Actor,
    CancelReason,
    Category,
    GeoPoint,
    IncidentStatus,
    Outcome,
    Priority,
    Role,
    UnitKind,
)


@dataclass(frozen=True)
class IncidentState:
    """What the write side knows of an incident this instant (the read side may lag): for an answer to its command."""

    id: UUID
    reference: str
    status: IncidentStatus
    version: int


def _release(work: Work, unit_ids: list[UUID], incident_id: UUID, actor: Actor, at: datetime) -> None:
    for unit_id in unit_ids:
        work.get(unit_id, PatrolUnit, RecordKind.PATROL_UNIT).release(
            incident_id=incident_id, actor=actor, occurred_at=at
        )


def _round_of(work: Work, officer_id: UUID, actor: Actor, at: datetime) -> OfficerRound:
    officer_round = work.find(OfficerRound.id_for(officer_id), OfficerRound) or OfficerRound.begin(
        officer_id, actor, at
    )
    work.add(officer_round)
    return officer_round


class IncidentCommands(UnitOfWork):
    def incident_id_for(self, reference: str) -> UUID:
        incident_id = Incident.id_for(reference.strip().upper())
        if incident_id not in self.repository:
            raise NotFound("There is no incident {reference}.", reference=reference)
        return incident_id

    def incident_state(self, incident_id: UUID) -> IncidentState | None:
        incident = self.load(incident_id, fresh=True)
        if not isinstance(incident, Incident):
            return None
        return IncidentState(incident.id, incident.reference, incident.status, incident.version)

    def triage_incident(
        self,
        incident_id: UUID,
        *,
        reason: str,
        by: UUID,
        category: Category | None = None,
        priority: Priority | None = None,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        at = self._at(occurred_at)
        return self._run_on(
            "triage_incident",
            incident_id,
            Incident,
            by,
            lambda incident, actor, work: incident.triage(
                actor=actor, occurred_at=at, reason=reason, category=category, priority=priority
            ),
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
        return self.dispatch_units(
            incident_id,
            [unit_id],
            by=by,
            reassign=reassign,
            reason=reason,
            occurred_at=occurred_at,
            expected_version=expected_version,
        )

    def dispatch_units(
        self,
        incident_id: UUID,
        unit_ids: Sequence[UUID],
        *,
        by: UUID,
        reassign: bool = False,
        reason: str = "",
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Dispatches every one of the units (a unit named twice counts once), or none: the incident, the units and,
        on reassignment, the incidents they leave are saved in one atomic save. `expected_version` is the incident's,
        as the dispatcher saw it."""
        at = self._at(occurred_at)
        units = list(dict.fromkeys(unit_ids))
        if not units:
            raise ValueError("dispatch_units needs at least one unit")  # the forms and the API ask for one

        def dispatch(incident: Incident, actor: Actor, work: Work) -> None:
            for unit_id in units:
                unit = work.get(unit_id, PatrolUnit, RecordKind.PATROL_UNIT)
                incident.check_dispatch(unit_id=unit.id, call_sign=unit.call_sign, actor=actor)
                previous = unit.assign(
                    incident_id=incident.id,
                    reference=incident.reference,
                    actor=actor,
                    occurred_at=at,
                    reassign=reassign,
                )
                incident.dispatch(unit_id=unit.id, call_sign=unit.call_sign, actor=actor, occurred_at=at, reason=reason)
                if previous is not None:
                    left = work.get(previous, Incident, RecordKind.INCIDENT)
                    if unit.id in left.active_unit_ids:
                        left.clear_unit(
                            unit_id=unit.id, actor=actor, occurred_at=at, reason=f"reassigned to {incident.reference}"
                        )

        return self._run_on("dispatch_units", incident_id, Incident, by, dispatch, expected_version)

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
        return self._run_on(
            "mark_en_route",
            incident_id,
            Incident,
            by,
            lambda incident, actor, work: incident.mark_en_route(unit_id=unit_id, actor=actor, occurred_at=at),
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
        return self._run_on(
            "mark_on_scene",
            incident_id,
            Incident,
            by,
            lambda incident, actor, work: incident.mark_on_scene(unit_id=unit_id, actor=actor, occurred_at=at),
            expected_version,
        )

    def acknowledge_dispatch(
        self, incident_id: UUID, unit_id: UUID, *, by: UUID, occurred_at: datetime | None = None
    ) -> CommandResult:
        """The unit's crew confirms it has seen its assignment."""
        at = self._at(occurred_at)

        def acknowledge(incident: Incident, actor: Actor, work: Work) -> None:
            unit = work.get(unit_id, PatrolUnit, RecordKind.PATROL_UNIT)
            incident.acknowledge_dispatch(unit_id=unit.id, crew=unit.officer_ids, actor=actor, occurred_at=at)

        return self._run_on("acknowledge_dispatch", incident_id, Incident, by, acknowledge)

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

        def clear(incident: Incident, actor: Actor, work: Work) -> None:
            incident.clear_unit(unit_id=unit_id, actor=actor, occurred_at=at, reason=reason)
            _release(work, [unit_id], incident.id, actor, at)

        return self._run_on("clear_unit", incident_id, Incident, by, clear, expected_version)

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

        def resolve(incident: Incident, actor: Actor, work: Work) -> None:
            released = incident.resolve(outcome=outcome, summary=summary, actor=actor, occurred_at=at)
            _release(work, released, incident.id, actor, at)

        return self._run_on("resolve_incident", incident_id, Incident, by, resolve, expected_version)

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
        return self._run_on(
            "close_incident",
            incident_id,
            Incident,
            by,
            lambda incident, actor, work: incident.close(actor=actor, occurred_at=at, reason=reason),
            expected_version,
        )

    def reopen_incident(
        self,
        incident_id: UUID,
        *,
        reason: str,
        by: UUID,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        at = self._at(occurred_at)
        return self._run_on(
            "reopen_incident",
            incident_id,
            Incident,
            by,
            lambda incident, actor, work: incident.reopen(reason=reason, actor=actor, occurred_at=at),
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
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        at = self._at(occurred_at)

        def cancel(incident: Incident, actor: Actor, work: Work) -> None:
            original = work.get(duplicate_of, Incident, RecordKind.INCIDENT) if duplicate_of is not None else None
            released = incident.cancel(
                cancel_reason=cancel_reason, actor=actor, occurred_at=at, note=note, duplicate_of=original
            )
            _release(work, released, incident.id, actor, at)

        return self._run_on("cancel_incident", incident_id, Incident, by, cancel, expected_version)

    def add_incident_note(
        self, incident_id: UUID, *, text: str, by: UUID, occurred_at: datetime | None = None
    ) -> CommandResult:
        at = self._at(occurred_at)
        return self._run_on(
            "add_incident_note",
            incident_id,
            Incident,
            by,
            lambda incident, actor, work: incident.add_note(text=text, actor=actor, occurred_at=at),
        )

    # --- patrol units --------------------------------------------------------
    def register_unit(
        self, *, call_sign: str, kind: UnitKind, by: UUID, occurred_at: datetime | None = None
    ) -> CommandResult:
        at = self._at(occurred_at)

        def register(work: Work) -> UUID:
            unit = PatrolUnit.register(call_sign=call_sign, kind=kind, actor=work.actor(by), occurred_at=at)
            if work.find(unit.id, PatrolUnit) is not None:
                raise InvalidInput(
                    "A unit with call sign {call_sign} exists already.", field="call_sign", call_sign=unit.call_sign
                )
            work.add(unit)
            return unit.id

        return self._run("register_unit", register)

    def unit_on_duty(
        self, unit_id: UUID, *, officer_ids: list[UUID], by: UUID, occurred_at: datetime | None = None
    ) -> CommandResult:
        at = self._at(occurred_at)

        def on_duty(work: Work) -> UUID:
            actor = work.actor(by)
            for officer_id in officer_ids:
                if work.get(officer_id, UserAccount, RecordKind.OFFICER).role is not Role.OFFICER:
                    raise InvalidInput("Only officers can crew a patrol unit.", field="officer_ids")
            work.get(unit_id, PatrolUnit, RecordKind.PATROL_UNIT).go_on_duty(
                officer_ids=officer_ids, actor=actor, occurred_at=at
            )
            for officer_id in officer_ids:
                _round_of(work, officer_id, actor, at).join(unit_id, actor=actor, occurred_at=at)
            return unit_id

        return self._run("unit_on_duty", on_duty)

    def unit_off_duty(
        self, unit_id: UUID, *, by: UUID, reason: str = "", occurred_at: datetime | None = None
    ) -> CommandResult:
        at = self._at(occurred_at)

        def off_duty(unit: PatrolUnit, actor: Actor, work: Work) -> None:
            crew = list(unit.officer_ids)
            unit.go_off_duty(actor=actor, occurred_at=at, reason=reason)
            for officer_id in crew:
                _round_of(work, officer_id, actor, at).leave(unit_id, actor=actor, occurred_at=at)

        return self._run_on("unit_off_duty", unit_id, PatrolUnit, by, off_duty)

    def report_unit_position(
        self,
        unit_id: UUID,
        *,
        position: GeoPoint,
        accuracy_m: float,
        by: UUID,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        at = self._at(occurred_at)
        return self._run_on(
            "report_unit_position",
            unit_id,
            PatrolUnit,
            by,
            lambda unit, actor, work: unit.report_position(
                position=position, accuracy_m=accuracy_m, actor=actor, occurred_at=at
            ),
        )

    def retire_unit(
        self, unit_id: UUID, *, reason: str, by: UUID, occurred_at: datetime | None = None
    ) -> CommandResult:
        at = self._at(occurred_at)
        return self._run_on(
            "retire_unit",
            unit_id,
            PatrolUnit,
            by,
            lambda unit, actor, work: unit.retire(reason=reason, actor=actor, occurred_at=at),
        )
