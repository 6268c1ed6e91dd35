"""The camera registry read model: each camera with its owner partner, consent, zones and detection schedule —
for the cameras page and for naming a camera anywhere else. Its video source is stored masked (`masked_source`),
because pages are rendered from read models and an RTSP address may carry a password (a camera registered before
its secrets were kept outside the log recorded it whole)."""

from __future__ import annotations

import json
from typing import Any

from domain.cameras import Camera
from domain.values import DetectionRule, Zone
from infrastructure.camera_secrets import masked_source
from infrastructure.readmodels import tables as t
from infrastructure.readmodels.base import Projection, updating
from infrastructure.readmodels.rows import RowSet
from infrastructure.readmodels.stored import Handler


def zones_json(zones: list[Zone]) -> str:
    return json.dumps(
        [{"name": z.name, "points": [[x, y] for x, y in z.points], "name_th": z.name_th} for z in zones],
        ensure_ascii=False,
    )


def rules_json(rules: list[DetectionRule]) -> str:
    return json.dumps(
        [
            {
                "kind": r.kind.value,
                "start": r.start.isoformat(),
                "end": r.end.isoformat(),
                "min_score": r.min_score,
                "min_area": r.min_area,
                "zone": r.zone,
                "dwell": r.dwell,
            }
            for r in rules
        ]
    )


class CamerasProjection(Projection):
    name = "cameras"
    table = t.cameras

    def __init__(self) -> None:
        def registered(e: Any, rows: RowSet) -> None:
            position = e.position
            rows.put(
                {
                    "id": e.originator_id,
                    "code": e.code,
                    "name": e.name,
                    "community": e.community.value,
                    "owner": e.owner.value,
                    "owner_name": e.owner_name,
                    "consent_reference": e.consent_reference,
                    "source": masked_source(e.source),
                    "lat": position.lat if position else None,
                    "lon": position.lon if position else None,
                    "zones": "[]",
                    "rules": "[]",
                    "retired": False,
                    "retired_at": None,
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
            Camera.Registered: registered,
            Camera.ZonesSet: update(zones=lambda e: zones_json(e.zones)),
            Camera.RulesSet: update(rules=lambda e: rules_json(e.rules)),
            Camera.Retired: update(retired=lambda e: True, retired_at=lambda e: e.occurred_at),
            Camera.Moved: update(lat=lambda e: e.position.lat, lon=lambda e: e.position.lon),
        }
        super().__init__()
