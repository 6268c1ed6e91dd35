from __future__ import annotations

import math
import re
import unicodedata
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import event

from domain.base import ZoneAggregate
from domain.errors import InvalidInput, TransitionRefused, UnitUnavailable
from domain.incident import NAMESPACE
from domain.permissions import Action, authorize
from domain.red_box import RedBox
from domain.red_box import RefusedCheckIn as RefusedCheckIn
from domain.red_box import check_code as check_code
from domain.red_box import refused as refused
from domain.values import (
    MAX_SHORT_TEXT,
    Actor,
    Community,
    GeoPoint,
    Role,
    UnitKind,
    UnitStatus,
    VisitStatus,
    check_occurred_at,
    clean_text,
)

# A unit's call sign as the zone writes it: Thai (ชร-101) or Latin (M-01) letters, digits and dashes.
_CALL_SIGN = re.compile(r"^[0-9A-Z\u0e01-\u0e5b][0-9A-Z\u0e01-\u0e5b-]{1,23}$")


def check_call_sign(call_sign: str, field: str = "call_sign") -> str:
    call_sign = unicodedata.normalize("NFC", (call_sign or "").strip()).upper()
    if not _CALL_SIGN.match(call_sign):
        raise InvalidInput(
            "A call sign is 2–24 Thai or Latin letters, digits or dashes, e.g. ชร-101 or M-01.", field=field
        )
    return call_sign


class PatrolUnit(ZoneAggregate):
    id: UUID

    @staticmethod
    def id_for(call_sign: str) -> UUID:
        return uuid5(NAMESPACE, f"unit/{call_sign}")

    @classmethod
    def register(cls, *, call_sign: str, kind: UnitKind, actor: Actor, occurred_at: datetime) -> PatrolUnit:
        authorize(actor, Action.MANAGE_UNITS)
        call_sign = check_call_sign(call_sign)
        return cls(id=cls.id_for(call_sign), call_sign=call_sign, kind=kind, actor=actor, occurred_at=occurred_at)

    @event("Registered")
    def __init__(self, call_sign: str, kind: UnitKind, actor: Actor, occurred_at: datetime):
        self.call_sign = call_sign
        self.kind = kind
        self.status = UnitStatus.OFF_DUTY
        self.officer_ids: list[UUID] = []
        self.incident_id: UUID | None = None
        self.position: GeoPoint | None = None

    def go_on_duty(self, *, officer_ids: list[UUID], actor: Actor, occurred_at: datetime) -> None:
        authorize(actor, Action.CHANGE_DUTY)
        if self.status is not UnitStatus.OFF_DUTY:
            raise TransitionRefused(
                "Unit {call_sign} is {status}, not off duty.", call_sign=self.call_sign, status=self.status
            )
        if not officer_ids:
            raise InvalidInput("A unit goes on duty with at least one officer.", field="officer_ids")
        self._went_on_duty(officer_ids=list(dict.fromkeys(officer_ids)), actor=actor, occurred_at=occurred_at)

    @event("WentOnDuty")
    def _went_on_duty(self, officer_ids: list[UUID], actor: Actor, occurred_at: datetime) -> None:
        self.status = UnitStatus.AVAILABLE
        self.officer_ids = officer_ids

    def assign(
        self, *, incident_id: UUID, reference: str, actor: Actor, occurred_at: datetime, reassign: bool = False
    ) -> UUID | None:
        """Assigns the unit; returns the incident it was taken from when reassigned."""
        authorize(actor, Action.DISPATCH_UNIT)
        if self.status is UnitStatus.ASSIGNED and self.incident_id == incident_id:
            raise TransitionRefused(
                "Unit {call_sign} is already assigned to {reference}.", call_sign=self.call_sign, reference=reference
            )
        if self.status is UnitStatus.ASSIGNED and reassign:
            previous = self.incident_id
            self._reassigned(
                from_incident_id=previous,
                incident_id=incident_id,
                reference=reference,
                actor=actor,
                occurred_at=occurred_at,
            )
            return previous
        if self.status is UnitStatus.ASSIGNED:
            raise UnitUnavailable(
                "Unit {call_sign} is busy on another incident; reassign it explicitly to take it off that one.",
                call_sign=self.call_sign,
            )
        if self.status is not UnitStatus.AVAILABLE:
            raise UnitUnavailable(
                "Unit {call_sign} is {status} and cannot be dispatched.", call_sign=self.call_sign, status=self.status
            )
        self._assigned(incident_id=incident_id, reference=reference, actor=actor, occurred_at=occurred_at)
        return None

    @event("Assigned")
    def _assigned(self, incident_id: UUID, reference: str, actor: Actor, occurred_at: datetime) -> None:
        self.status = UnitStatus.ASSIGNED
        self.incident_id = incident_id

    @event("Reassigned")
    def _reassigned(
        self, from_incident_id: UUID, incident_id: UUID, reference: str, actor: Actor, occurred_at: datetime
    ) -> None:
        self.incident_id = incident_id

    def release(self, *, incident_id: UUID, actor: Actor, occurred_at: datetime) -> bool:
        """Frees the unit from `incident_id`; does nothing when it already works elsewhere."""
        authorize(actor, Action.UPDATE_ASSIGNMENT)
        if self.status is not UnitStatus.ASSIGNED or self.incident_id != incident_id:
            return False
        self._released(incident_id=incident_id, actor=actor, occurred_at=occurred_at)
        return True

    @event("Released")
    def _released(self, incident_id: UUID, actor: Actor, occurred_at: datetime) -> None:
        self.status = UnitStatus.AVAILABLE
        self.incident_id = None

    def go_off_duty(self, *, actor: Actor, occurred_at: datetime, reason: str = "") -> None:
        authorize(actor, Action.CHANGE_DUTY)
        if self.status is UnitStatus.ASSIGNED:
            raise TransitionRefused(
                "Unit {call_sign} is still assigned to an incident; clear it first.", call_sign=self.call_sign
            )
        if self.status is not UnitStatus.AVAILABLE:
            raise TransitionRefused(
                "Unit {call_sign} is {status}, not on duty.", call_sign=self.call_sign, status=self.status
            )
        self._went_off_duty(
            reason=clean_text(reason, "reason", required=False, max_len=MAX_SHORT_TEXT),
            actor=actor,
            occurred_at=occurred_at,
        )

    @event("WentOffDuty")
    def _went_off_duty(self, reason: str, actor: Actor, occurred_at: datetime) -> None:
        self.status = UnitStatus.OFF_DUTY
        self.officer_ids = []

    def report_position(self, *, position: GeoPoint, accuracy_m: float, actor: Actor, occurred_at: datetime) -> None:
        """Where the unit was, as its crew's phone measured it (or a dispatcher heard on the radio). A fix worse than
        IMPRECISE_ACCURACY_M is kept, marked imprecise: shown, never used to suggest the nearest unit."""
        authorize(actor, Action.UPDATE_ASSIGNMENT)
        if self.status in (UnitStatus.OFF_DUTY, UnitStatus.RETIRED):
            raise TransitionRefused(
                "Unit {call_sign} is {status}; its position is recorded only while on duty.",
                call_sign=self.call_sign,
                status=self.status,
            )
        if actor.role is Role.OFFICER and actor.user_id not in self.officer_ids:
            raise TransitionRefused(
                "Only the crew of unit {call_sign} can report its position.", call_sign=self.call_sign
            )
        if not isinstance(accuracy_m, int | float) or not math.isfinite(accuracy_m) or not 0 <= accuracy_m <= 1e6:
            raise InvalidInput("A position's accuracy is a distance in metres (0 to 1,000,000).", field="accuracy")
        self._position_reported(
            position=position,
            accuracy_m=round(float(accuracy_m), 1),
            imprecise=accuracy_m > IMPRECISE_ACCURACY_M,
            actor=actor,
            occurred_at=occurred_at,
        )

    @event("PositionReported")
    def _position_reported(
        self, position: GeoPoint, accuracy_m: float, imprecise: bool, actor: Actor, occurred_at: datetime
    ) -> None:
        self.position = position
        self.position_accuracy_m = accuracy_m
        self.position_at = occurred_at

    def retire(self, *, reason: str, actor: Actor, occurred_at: datetime) -> None:
        authorize(actor, Action.MANAGE_UNITS)
        if self.status is UnitStatus.RETIRED:
            raise TransitionRefused("Unit {call_sign} is already retired.", call_sign=self.call_sign)
        if self.status is not UnitStatus.OFF_DUTY:
            raise TransitionRefused("Unit {call_sign} must be off duty before it is retired.", call_sign=self.call_sign)
        self._retired(
            reason=clean_text(reason, "reason", required=True, max_len=MAX_SHORT_TEXT),
            actor=actor,
            occurred_at=occurred_at,
        )

    @event("Retired")
    def _retired(self, reason: str, actor: Actor, occurred_at: datetime) -> None:
        self.status = UnitStatus.RETIRED


# A phone's fix less accurate than this (metres) is kept but marked imprecise, and never used for suggestions.
IMPRECISE_ACCURACY_M = 1000.0

# A check-in further than this from its box, or reached faster than a patrol can move, is flagged.
MAX_DISTANCE_M = 150.0
MAX_SPEED_M_PER_S = 15.0  # ≈ 54 km/h, fast for a town-centre patrol


# The kinds of an implausible check-in's finding (PatrolVisit.implausibility).
FAR_FROM_BOX = "far_from_box"  # metres, box
TOO_FAST = "too_fast"  # metres, from_box, seconds
# No position came with the check-in (the phone did not share one): a photographed code can be scanned anywhere, so
# such a visit is flagged, which under KPIS.md means it does not count; a supervisor reads it on the day's list.
NO_POSITION = "no_position"


def finding_text(finding: dict[str, Any]) -> str:
    """A finding in English."""
    if finding["kind"] == FAR_FROM_BOX:
        return f"scanned {finding['metres']} m from red box {finding['box']}"
    if finding["kind"] == NO_POSITION:
        return "no position: the phone did not share where it was"
    return (
        f"{finding['metres']} m from red box {finding['from_box']} in {timedelta(seconds=finding['seconds'])}, "
        "faster than a patrol can travel"
    )


class PatrolVisit(ZoneAggregate):
    id: UUID

    @classmethod
    def log(
        cls,
        *,
        id: UUID,
        box: RedBox,
        token_version: int | None,
        unit_id: UUID | None,
        actor: Actor,
        occurred_at: datetime,
        now: datetime,
        position: GeoPoint | None = None,
        observation: str = "",
    ) -> PatrolVisit:
        authorize(actor, Action.LOG_VISIT)
        check_occurred_at(occurred_at, now)
        box.check_token(token_version)
        return cls(
            id=id,
            box_id=box.id,
            box_code=box.code,
            community=box.community,
            token_version=token_version,
            unit_id=unit_id,
            position=position,
            observation=clean_text(observation, "observation", required=False),
            actor=actor,
            occurred_at=occurred_at,
        )

    @event("Logged")
    def __init__(
        self,
        box_id: UUID,
        box_code: str,
        community: Community,
        token_version: int,
        unit_id: UUID | None,
        position: GeoPoint | None,
        observation: str,
        actor: Actor,
        occurred_at: datetime,
    ):
        self.box_id = box_id
        self.box_code = box_code
        self.community = community
        self.officer_id = actor.user_id
        self.unit_id = unit_id
        self.position = position
        self.visited_at = occurred_at
        self.observations = [observation] if observation else []
        self.status = VisitStatus.LOGGED
        self.flags: list[str] = []

    def implausibility(
        self, box: RedBox, previous: PatrolVisit | None, previous_box: RedBox | None
    ) -> dict[str, Any] | None:
        """Why this check-in looks wrong, as a finding (its kind and figures, so that every reader words it in their
        language: `finding_text` in English), or None: scanned far from the box, too soon after a visit at a
        distant box for anyone to have made the trip, or with no position at all."""
        if self.position is not None:
            distance = self.position.metres_to(box.position)
            if distance > MAX_DISTANCE_M:
                return {"kind": FAR_FROM_BOX, "metres": round(distance), "box": box.code}
        if previous is not None and previous_box is not None and previous.id != self.id:
            distance = previous_box.position.metres_to(box.position)
            seconds = max((self.visited_at - previous.visited_at).total_seconds(), 1.0)
            if previous.visited_at <= self.visited_at and distance / seconds > MAX_SPEED_M_PER_S:
                return {
                    "kind": TOO_FAST,
                    "metres": round(distance),
                    "from_box": previous_box.code,
                    "seconds": int(seconds),
                }
        if self.position is None:
            return {"kind": NO_POSITION}
        return None

    def add_observation(self, *, text: str, actor: Actor, occurred_at: datetime) -> None:
        authorize(actor, Action.LOG_VISIT)
        if actor.user_id != self.officer_id:
            raise TransitionRefused("Only the officer who checked in can add observations to this visit.")
        self._check_not_voided()
        self._observation_added(
            text=clean_text(text, "observation", required=True), actor=actor, occurred_at=occurred_at
        )

    @event("ObservationAdded")
    def _observation_added(self, text: str, actor: Actor, occurred_at: datetime) -> None:
        self.observations.append(text)

    def _check_not_voided(self) -> None:
        if self.status is VisitStatus.VOIDED:
            raise TransitionRefused("This visit to red box {code} was voided.", code=self.box_code)

    def flag(self, *, reason: str, actor: Actor, occurred_at: datetime) -> None:
        """A supervisor's flag, in their own words."""
        authorize(actor, Action.FLAG_VISIT)
        self._check_not_voided()
        self._flagged(
            reason=clean_text(reason, "reason", required=True, max_len=MAX_SHORT_TEXT),
            finding=None,
            actor=actor,
            occurred_at=occurred_at,
        )

    def flag_finding(self, finding: dict[str, Any], *, actor: Actor, occurred_at: datetime) -> None:
        """The system's flag of an implausible check-in: the finding, and its English wording as the reason (what a
        reader of the raw log sees)."""
        authorize(actor, Action.FLAG_VISIT)
        self._check_not_voided()
        self._flagged(reason=finding_text(finding), finding=finding, actor=actor, occurred_at=occurred_at)

    @event("Flagged")
    def _flagged(self, reason: str, finding: dict[str, Any] | None, actor: Actor, occurred_at: datetime) -> None:
        self.status = VisitStatus.FLAGGED
        self.flags.append(reason)

    def void(self, *, reason: str, actor: Actor, occurred_at: datetime) -> None:
        authorize(actor, Action.VOID_VISIT)
        if self.status is VisitStatus.VOIDED:
            raise TransitionRefused("This visit to red box {code} is already voided.", code=self.box_code)
        self._voided(
            reason=clean_text(reason, "reason", required=True, max_len=MAX_SHORT_TEXT),
            actor=actor,
            occurred_at=occurred_at,
        )

    @event("Voided")
    def _voided(self, reason: str, actor: Actor, occurred_at: datetime) -> None:
        self.status = VisitStatus.VOIDED


# Schema history of PatrolVisit.Flagged: version 1 had only the reason's text (the system's findings in English).
def _flagged_v1_to_v2(state: dict) -> None:
    state.setdefault("finding", None)


PatrolVisit.Flagged.class_version = 2
PatrolVisit.Flagged.upcast_v1_v2 = staticmethod(_flagged_v1_to_v2)
