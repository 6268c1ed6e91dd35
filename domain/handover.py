"""A supervisor's shift handover: the outgoing supervisor's briefing on the shift (with the figures they saw), and
the incoming supervisor's acknowledgement. Both are events of the one log, so the handover is part of the history."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import event

from domain.base import ZoneAggregate
from domain.errors import InvalidInput, TransitionRefused
from domain.permissions import Action, authorize
from domain.values import MAX_SHORT_TEXT, Actor, clean_text

MAX_BRIEFING = 4000
LONGEST_SHIFT = timedelta(hours=24)  # the page offers at most 12 hours (since the last handover); a day leaves room


def check_shift(shift_from: datetime, shift_to: datetime) -> None:
    """A shift ends after it starts and lasts at most a day."""
    if shift_from >= shift_to:
        raise InvalidInput("A shift must end after it starts.", field="shift_from")
    if shift_to - shift_from > LONGEST_SHIFT:
        raise InvalidInput(
            "A shift lasts at most {hours} hours; reload the handover page for the current shift.",
            field="shift_to",
            hours=int(LONGEST_SHIFT.total_seconds() // 3600),
        )


class ShiftHandover(ZoneAggregate):
    TOPIC = "domain.handover:ShiftHandover"  # pinned: the log keeps these topics if the class ever moves

    class Created(ZoneAggregate.Created):
        TOPIC = "domain.handover:ShiftHandover.Created"

    id: UUID

    @classmethod
    def hand_over(
        cls,
        *,
        shift_from: datetime,
        shift_to: datetime,
        briefing: str,
        summary: dict[str, Any],
        actor: Actor,
        occurred_at: datetime,
    ) -> ShiftHandover:
        authorize(actor, Action.HAND_OVER_SHIFT)
        check_shift(shift_from, shift_to)
        return cls(
            id=uuid4(),
            shift_from=shift_from,
            shift_to=shift_to,
            briefing=clean_text(briefing, "briefing", required=True, max_len=MAX_BRIEFING),
            summary=summary,
            actor=actor,
            occurred_at=occurred_at,
        )

    @event("HandedOver", topic="domain.handover:ShiftHandover.HandedOver")
    def __init__(
        self,
        shift_from: datetime,
        shift_to: datetime,
        briefing: str,
        summary: dict[str, Any],
        actor: Actor,
        occurred_at: datetime,
    ):
        self.shift_from = shift_from
        self.shift_to = shift_to
        self.briefing = briefing
        self.summary = summary
        self.handed_by = actor.user_id
        self.acknowledged_by: UUID | None = None

    def acknowledge(self, *, note: str, actor: Actor, occurred_at: datetime) -> None:
        authorize(actor, Action.HAND_OVER_SHIFT)
        if self.acknowledged_by is not None:
            raise TransitionRefused("This handover has been acknowledged already.")
        if actor.user_id == self.handed_by:
            raise TransitionRefused("The incoming supervisor acknowledges a handover, not the one who wrote it.")
        self._acknowledged(
            note=clean_text(note, "note", required=False, max_len=MAX_SHORT_TEXT), actor=actor, occurred_at=occurred_at
        )

    @event("Acknowledged", topic="domain.handover:ShiftHandover.Acknowledged")
    def _acknowledged(self, note: str, actor: Actor, occurred_at: datetime) -> None:
        self.acknowledged_by = actor.user_id
