"""Shift handovers: the outgoing supervisor's briefing and the incoming supervisor's acknowledgement."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from application.errors import RecordKind
from application.unit_of_work import CommandResult, UnitOfWork, Work
from domain.handover import ShiftHandover


class HandoverCommands(UnitOfWork):
    def hand_over_shift(
        self,
        *,
        shift_from: datetime,
        shift_to: datetime,
        briefing: str,
        summary: dict[str, Any],
        by: UUID,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        """`summary`: the shift's figures as the outgoing supervisor saw them (counts and references), kept with the
        briefing so that the history says what was handed over, whatever the read models say later."""
        at = self._at(occurred_at)

        def hand_over(work: Work) -> UUID:
            handover = ShiftHandover.hand_over(
                shift_from=shift_from,
                shift_to=shift_to,
                briefing=briefing,
                summary=summary,
                actor=work.actor(by),
                occurred_at=at,
            )
            work.add(handover)
            return handover.id

        return self._run("hand_over_shift", hand_over)

    def acknowledge_handover(
        self, handover_id: UUID, *, note: str = "", by: UUID, occurred_at: datetime | None = None
    ) -> CommandResult:
        at = self._at(occurred_at)

        def acknowledge(work: Work) -> UUID:
            actor = work.actor(by)
            work.get(handover_id, ShiftHandover, RecordKind.SHIFT_HANDOVER).acknowledge(
                note=note, actor=actor, occurred_at=at
            )
            return handover_id

        return self._run("acknowledge_handover", acknowledge)
