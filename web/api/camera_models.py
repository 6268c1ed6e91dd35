"""What the camera set-up part of the JSON API takes and gives. Shapes only (types, lengths, choices): whether a
zone is a real polygon inside the picture, a rule's zone exists or a schedule ends after it starts is the domain's
to say (domain/values.py, domain/camera_setup.py), as for the web form and the CLI."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.camera_setup import ADVANCED, Schedule, Sensitivity
from domain.values import DETECTION_ALERT_KINDS, MAX_SHORT_TEXT, Community, PartnerSector
from web.api.models import CODE_PATTERN, Number, Request, Text, Whole

RuleKind = Enum("RuleKind", sorted((k.name, k.value) for k in DETECTION_ALERT_KINDS))  # type: ignore[misc]
SensitivityWord = Enum(  # type: ignore[misc]
    "SensitivityWord", [(s.name, s.value) for s in Sensitivity] + [(ADVANCED.upper(), ADVANCED)]
)
Corner = tuple[Number, Number]


class CameraIn(Request):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "code": "CAM-07",
                    "name": "Clock tower east",
                    "community": "wat_phra_kaeo",
                    "owner": "business",
                    "owner_name": "Tower Hotel",
                    "consent_reference": "MOU 12/2569",
                    "source": "rtsp://10.0.0.7/stream",
                }
            ]
        },
    )

    code: Text = Field(pattern=CODE_PATTERN, examples=["CAM-07"])
    name: Text = Field(max_length=MAX_SHORT_TEXT)
    community: Community
    owner: PartnerSector = Field(description="The owner partner's sector")
    owner_name: Text = Field(max_length=MAX_SHORT_TEXT)
    consent_reference: Text = Field(max_length=MAX_SHORT_TEXT, description="The owner's consent record")
    source: Text = Field(
        max_length=1000,
        description="rtsp://…, a video file or a folder of numbered frames; a password in it is kept outside the log",
    )
    lat: Number | None = Field(None, allow_inf_nan=False)
    lon: Number | None = Field(None, allow_inf_nan=False)


class ZoneIn(Request):
    name: Text = Field(max_length=MAX_SHORT_TEXT, description="How rules and alerts name the zone (English or Thai)")
    name_th: Text = Field("", max_length=MAX_SHORT_TEXT, description="Its Thai name, when `name` is English")
    points: list[Corner] = Field(
        max_length=64,
        description="The polygon's corners in order around the area, each [x, y] in 0..1 of the picture "
        "(at least three; it may not cross itself)",
        examples=[[[0.1, 0.5], [0.6, 0.5], [0.6, 0.95], [0.1, 0.95]]],
    )


class ZonesIn(Request):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"zones": [{"name": "gate", "name_th": "ประตู", "points": [[0.1, 0.5], [0.6, 0.5], [0.6, 0.95]]}]}
            ]
        },
    )

    zones: list[ZoneIn] = Field(max_length=32, description="The camera's zones, replacing those it had ([]: none)")


class RuleIn(Request):
    kind: RuleKind  # type: ignore[valid-type]
    zone: Text = Field("", max_length=MAX_SHORT_TEXT, description="One of the camera's zones; empty: every zone")
    schedule: Schedule = Field(Schedule.ALL_DAY, description="all_day, night (18:00–06:00) or custom hours")
    start: Text = Field("", max_length=8, description="For a custom schedule: HH:MM, local time", examples=["08:00"])
    end: Text = Field("", max_length=8, description="For a custom schedule: HH:MM, after `start`", examples=["17:00"])
    sensitivity: SensitivityWord = Field(  # type: ignore[valid-type]
        SensitivityWord.NORMAL, description="A preset, or `advanced` with `min_score` and `min_area`"
    )
    min_score: Number | None = Field(None, allow_inf_nan=False, description="Advanced: 0..1; overrides the preset")
    min_area: Number | None = Field(
        None, allow_inf_nan=False, description="Advanced: fraction of the picture, 0..1; overrides the preset"
    )
    loiter_seconds: Whole | None = Field(None, description="For loitering: seconds of presence before it alerts")


class RulesIn(Request):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "rules": [
                        {"kind": "person", "zone": "gate", "schedule": "all_day", "sensitivity": "normal"},
                        {"kind": "loitering", "zone": "gate", "schedule": "night", "loiter_seconds": 60},
                    ]
                }
            ]
        },
    )

    rules: list[RuleIn] = Field(max_length=32, description="The camera's rules, replacing those it had ([]: none)")


class ZoneOut(BaseModel):
    name: str
    name_th: str
    points: list[tuple[float, float]]


class RuleOut(BaseModel):
    kind: str
    zone: str
    schedule: str
    start: str = Field(description="HH:MM for a custom schedule, else empty")
    end: str
    sensitivity: str = Field(description="The preset its numbers are, or `advanced`")
    min_score: float
    min_area: float
    loiter_seconds: int | None


class ChangeOut(BaseModel):
    version: int
    event: str = Field(examples=["ZonesSet"])
    occurred_at: datetime
    by: str = Field(description="The account that made the change (an integration's account for the API)")
    role: str


class CameraOut(BaseModel):
    id: UUID
    code: str
    name: str
    community: str
    owner: str
    owner_name: str
    retired: bool
    retention_days: int = Field(description="Days its alerts' snapshots and clips are kept")
    zones: list[ZoneOut]
    rules: list[RuleOut]
    history: list[ChangeOut] | None = Field(None, description="Who changed what, oldest first (one camera only)")


class CameraList(BaseModel):
    items: list[CameraOut]
