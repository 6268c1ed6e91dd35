"""Shift handovers, for the supervisors' handover page."""

from __future__ import annotations

import json
from typing import Any

from domain.handover import ShiftHandover
from infrastructure.readmodels import tables as t
from infrastructure.readmodels.base import Projection, updating
from infrastructure.readmodels.rows import RowSet


class HandoversProjection(Projection):
    name = "handovers"
    table = t.handovers

    def __init__(self) -> None:
        def handed_over(e: Any, rows: RowSet) -> None:
            rows.put(
                {
                    "id": e.originator_id,
                    "shift_from": e.shift_from,
                    "shift_to": e.shift_to,
                    "briefing": e.briefing,
                    "summary": json.dumps(e.summary, ensure_ascii=False),
                    "handed_by": e.actor.user_id,
                    "handed_at": e.occurred_at,
                    "acknowledged_by": None,
                    "acknowledged_at": None,
                    "acknowledgement": None,
                    "version": e.originator_version,
                }
            )

        def acknowledged(e: Any, row: dict[str, Any]) -> None:
            row.update(acknowledged_by=e.actor.user_id, acknowledged_at=e.occurred_at, acknowledgement=e.note)

        self.handlers = {ShiftHandover.HandedOver: handed_over, ShiftHandover.Acknowledged: updating(acknowledged)}
        super().__init__()
