"""What the JSON API's lifecycle actions and reads take and give (the shared types and the rules they follow are
in web/api/models.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.values import (
    MAX_SHORT_TEXT,
    MAX_TEXT,
    Assignment,
    CancelReason,
    Category,
    Channel,
    Community,
    IncidentStatus,
    Outcome,
    Priority,
    Role,
)
from web.api.models import (
    CALL_SIGN_PATTERN,
    REFERENCE_EXAMPLE,
    REFERENCE_PATTERN,
    Flag,
    Request,
    Text,
    Version,
)


# --- lifecycle --------------------------------------------------------------------------------------------------
class TriageIn(Request):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"priority": "P1", "reason": "Caller says a knife was shown", "expected_version": 1}]
        },
    )

    category: Category | None = None
    priority: Priority | None = None
    reason: Text = Field(min_length=1, max_length=MAX_SHORT_TEXT)
    expected_version: Version | None = None


class DispatchIn(Request):
    """One unit, named by its id or its call sign."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"call_sign": "M-01", "expected_version": 2}]}
    )

    unit_id: UUID | None = None
    call_sign: Text | None = Field(None, pattern=CALL_SIGN_PATTERN)
    reassign: Flag = Field(False, description="Take the unit off the incident it is busy with")
    reason: Text = Field("", max_length=MAX_SHORT_TEXT)
    expected_version: Version | None = None

    @model_validator(mode="after")
    def _one_unit(self) -> DispatchIn:
        if (self.unit_id is None) == (self.call_sign is None):
            raise ValueError("name the unit by unit_id or by call_sign (one of them)")
        return self


class StepIn(Request):
    expected_version: Version | None = None


class ClearIn(Request):
    reason: Text = Field("", max_length=MAX_SHORT_TEXT)
    expected_version: Version | None = None


class ResolveIn(Request):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"outcome": "warning_given", "summary": "Two men separated; warned.", "expected_version": 5}]
        },
    )

    outcome: Outcome
    summary: Text = Field(min_length=1, max_length=MAX_TEXT)
    expected_version: Version | None = None


class CloseIn(Request):
    reason: Text = Field("", max_length=MAX_SHORT_TEXT)
    expected_version: Version | None = None


class ReopenIn(Request):
    reason: Text = Field(min_length=1, max_length=MAX_SHORT_TEXT)
    expected_version: Version | None = None


class CancelIn(Request):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"cancel_reason": "duplicate", "duplicate_of": "CR-2569-000122", "note": "Same fight, second caller"}
            ]
        },
    )

    cancel_reason: CancelReason
    note: Text = Field("", max_length=MAX_SHORT_TEXT)
    duplicate_of: str | None = Field(
        None, pattern=REFERENCE_PATTERN, description="With `duplicate`: the incident that stands"
    )
    expected_version: Version | None = None


class NoteIn(Request):
    text: Text = Field(
        min_length=1, max_length=MAX_TEXT, examples=["Caller rang again: the men left towards the river."]
    )


class ActionOut(BaseModel):
    """The incident right after the action."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0b0e0d5e-53b1-5d4c-8f3a-0a4f6c1c2e11",
                    "reference": REFERENCE_EXAMPLE,
                    "status": "dispatched",
                    "version": 3,
                    "position": 48211,
                }
            ]
        }
    )

    id: UUID
    reference: str
    status: IncidentStatus
    version: int = Field(description="Pass it as `expected_version` with the next decision")
    position: int | None = Field(
        description="The log position of this action's last event (null: nothing new was "
        "recorded); reads show it once they reach it"
    )


# --- reads ------------------------------------------------------------------------------------------------------
class UnitOnIncident(BaseModel):
    unit_id: UUID
    call_sign: str
    state: Assignment


class ReporterOut(BaseModel):
    name: str | None = None
    phone: str | None = None
    erased: bool = Field(False, description="The reporter's data was erased on request (PDPA)")


class IncidentOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0b0e0d5e-53b1-5d4c-8f3a-0a4f6c1c2e11",
                    "reference": REFERENCE_EXAMPLE,
                    "status": "on_scene",
                    "priority": "P1",
                    "category": "assault",
                    "community": "si_koet",
                    "channel": "phone_191",
                    "location": "Soi Si Koet 2",
                    "description": "A fight outside the bar.",
                    "has_contact": True,
                    "units": [
                        {"unit_id": "5c3e1f0a-8a0d-5f7b-9d55-1d7c2b9b0a01", "call_sign": "M-01", "state": "on_scene"}
                    ],
                    "outcome": None,
                    "cancel_reason": None,
                    "duplicate_of": None,
                    "source_alert_id": None,
                    "reopen_count": 0,
                    "notes_count": 1,
                    "reported_at": "2026-11-25T14:04:00Z",
                    "recorded_at": "2026-11-25T14:04:02Z",
                    "updated_at": "2026-11-25T14:15:40Z",
                    "closed_at": None,
                    "version": 5,
                }
            ]
        }
    )

    id: UUID
    reference: str
    status: IncidentStatus
    priority: Priority
    category: Category
    community: Community
    channel: Channel
    location: str
    description: str
    has_contact: bool = Field(
        description="Whether the report left a contact (which reads only with the `contacts` scope)"
    )
    reporter: ReporterOut | None = Field(None, description="Always null: read a contact with POST …/contact (recorded)")
    units: list[UnitOnIncident]
    outcome: Outcome | None
    cancel_reason: CancelReason | None
    duplicate_of: UUID | None
    source_alert_id: UUID | None
    reopen_count: int
    notes_count: int
    reported_at: datetime
    recorded_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    version: int


class IncidentPage(BaseModel):
    items: list[IncidentOut]
    total: int
    page: int
    page_size: int
    pages: int


class ActorOut(BaseModel):
    id: UUID
    role: Role
    name: str | None = Field(description="The account's display name (null for the system)")


class TimelineEvent(BaseModel):
    version: int
    event: str = Field(examples=["UnitDispatched"])
    occurred_at: datetime
    recorded_at: datetime
    actor: ActorOut
    reason: str | None
    details: dict[str, Any] = Field(description="The event's own attributes as recorded (a reporter's contact never)")


class Timeline(BaseModel):
    reference: str
    events: list[TimelineEvent]


SortField = Literal["reported_at", "priority", "updated_at", "reference"]
