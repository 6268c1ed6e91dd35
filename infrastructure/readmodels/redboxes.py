"""The red boxes and the refused check-ins, for the supervisors' red-box pages and the officers' check-in."""

from __future__ import annotations

from typing import Any

from domain.patrol import RedBox, RefusedCheckIn
from infrastructure.readmodels import tables as t
from infrastructure.readmodels.base import Projection, updating
from infrastructure.readmodels.rows import RowSet
from infrastructure.readmodels.stored import Handler


class RedBoxesProjection(Projection):
    name = "red_boxes"
    table = t.red_boxes

    def __init__(self) -> None:
        def registered(e: Any, rows: RowSet) -> None:
            rows.put(
                {
                    "id": e.originator_id,
                    "code": e.code,
                    "name_th": e.name_th,
                    "name_en": e.name_en,
                    "community": e.community.value,
                    "lat": e.position.lat,
                    "lon": e.position.lon,
                    "token_version": 1,
                    "token_rotated_at": None,
                    "retired": False,
                    "registered_at": e.occurred_at,
                    "updated_at": e.timestamp,
                    "version": e.originator_version,
                }
            )

        def update(**changes: Any) -> Handler:
            return updating(
                lambda e, row: row.update({column: value(e) for column, value in changes.items()}), stamped=True
            )

        self.handlers = {
            RedBox.Registered: registered,
            RedBox.TokenRotated: update(
                token_version=lambda e: e.token_version, token_rotated_at=lambda e: e.timestamp
            ),
            RedBox.Moved: update(lat=lambda e: e.position.lat, lon=lambda e: e.position.lon),
            RedBox.Retired: update(retired=lambda e: True),
        }
        super().__init__()


class RefusedCheckInsProjection(Projection):
    name = "refused_check_ins"
    table = t.refused_check_ins

    def __init__(self) -> None:
        def recorded(e: Any, rows: RowSet) -> None:
            rows.put(
                {
                    "id": e.originator_id,
                    "box_id": e.box_id,
                    "box_code": e.box_code,
                    "refusal": e.refusal.value,
                    "token_version": e.token_version,
                    "officer_id": e.actor.user_id,
                    "attempted_at": e.occurred_at,
                    "lat": e.position.lat if e.position else None,
                    "lon": e.position.lon if e.position else None,
                }
            )

        self.handlers = {RefusedCheckIn.Recorded: recorded}
        super().__init__()
