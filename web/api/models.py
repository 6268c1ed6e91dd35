"""What the JSON API takes and gives: Pydantic models, which FastAPI turns into the OpenAPI description.

Requests are checked here only for shape (types, enums, lengths); the domain checks the rest and says why
in English (`422` with the field at fault). Responses never carry a reporter's name or phone, except
`reporter` on one incident, for a key with the `contacts` scope."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    model_validator,
)

from domain.values import (
    MAX_SHORT_TEXT,
    MAX_TEXT,
    AlertKind,
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

PREFIX = "/api/v1"
REFERENCE_PATTERN = r"^CR-[0-9]{4}-[0-9]{6}$"
CODE_PATTERN = r"^[A-Za-z0-9-]{2,24}$"
REFERENCE_EXAMPLE = "CR-2569-000123"


def _unicode(value: str) -> str:
    # JSON can carry lone surrogates ("\ud800"); they are not text, and no database would store them.
    if any("\ud800" <= c <= "\udfff" for c in value):
        raise ValueError("must be valid Unicode text")
    return value


def _written_out(value: object) -> object:
    # Pydantic would also take a number (or a numeric string) as seconds since 1970: the API takes only the
    # ISO 8601 / RFC 3339 text its description promises.
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO.match(value)):
        return value
    raise ValueError("must be a date and time with its time zone, e.g. 2026-11-25T21:04:00+07:00")


_ISO = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ]")


def _plausible(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("must be a time between the years 1900 and 2200") from None
    if not 1900 <= utc.year <= 2200:
        raise ValueError("must be a time between the years 1900 and 2200")
    return utc


Text = Annotated[str, AfterValidator(_unicode)]
Instant = Annotated[AwareDatetime, BeforeValidator(_written_out), AfterValidator(_plausible)]
# Numbers and booleans in bodies are JSON's own: "0.5" or "true" as text are refused, as the description says.
Number = Annotated[float, Strict()]
Flag = Annotated[bool, Strict()]


def _whole(value: object) -> object:
    # JSON has one number type, and JSON Schema counts 3.0 as an integer: the schema says integer, so 3.0 is taken.
    return int(value) if isinstance(value, float) and value.is_integer() else value


Version = Annotated[
    int,
    BeforeValidator(_whole),
    Strict(),
    Field(
        ge=1,
        le=1_000_000_000,
        description="The incident's version this decision was made on; "
        "409 with `current_version` if it has changed since.",
    ),
]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- problems (RFC 9457) ----------------------------------------------------------------------------------------
class FieldError(BaseModel):
    field: str = Field(
        description="The input at fault: a body field (dotted for nested ones), a query or path parameter, or a header",
        examples=["location"],
    )
    message: str = Field(examples=["The location must not be empty."])


class Problem(BaseModel):
    """RFC 9457 problem details, sent as `application/problem+json`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:ssz:problem:conflict",
                    "title": "Changed by someone else first",
                    "status": 409,
                    "detail": "CR-2569-000123 was changed by someone else while you were looking at it; here is how it stands now.",
                    "instance": "/api/v1/incidents/CR-2569-000123/triage",
                    "current_version": 4,
                }
            ]
        }
    )

    type: str = Field(description="A URN naming the kind of problem", examples=["urn:ssz:problem:invalid"])
    title: str
    status: int
    detail: str = Field(description="What went wrong, in English")
    instance: str | None = Field(None, description="The path of the request")
    errors: list[FieldError] | None = Field(None, description="With 422 (and 400): each input at fault")
    current_version: int | None = Field(None, description="With 409: the incident's version now")


# --- intake -----------------------------------------------------------------------------------------------------
class Position(Request):
    lat: Number = Field(ge=-90, le=90, allow_inf_nan=False, examples=[19.9105])
    lon: Number = Field(ge=-180, le=180, allow_inf_nan=False, examples=[99.8406])


class ReporterIn(Request):
    """The reporter's name and phone, for calling back. Encrypted before it is stored (erasable on request, PDPA)."""

    name: Text = Field("", max_length=200, examples=["Somchai J."])
    phone: Text = Field("", max_length=40, pattern=r"^[0-9+\-() ]*$", examples=["081-234-5678"])


class IncidentIn(Request):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "channel": "mobile_sos",
                    "category": "sexual_harassment",
                    "priority": "P1",
                    "community": "chet_yot",
                    "location": "Night market, Chet Yot road",
                    "description": "SOS button pressed in the app; caller is followed.",
                    "occurred_at": "2026-11-25T21:04:00+07:00",
                    "position": {"lat": 19.9105, "lon": 99.8406},
                    "reporter": {"name": "Somchai J.", "phone": "081-234-5678"},
                }
            ]
        },
    )

    channel: Channel
    category: Category
    priority: Priority
    community: Community
    location: Text = Field(min_length=1, max_length=MAX_SHORT_TEXT)
    description: Text = Field(min_length=1, max_length=MAX_TEXT)
    occurred_at: Instant | None = Field(None, description="When it happened, if earlier than now (with its time zone)")
    position: Position | None = None
    reporter: ReporterIn | None = None


class IntakeOut(BaseModel):
    """What an intake answers (201 the first time, 200 with the same body on a retry with the same Idempotency-Key)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0b0e0d5e-53b1-5d4c-8f3a-0a4f6c1c2e11",
                    "reference": REFERENCE_EXAMPLE,
                    "reported_at": "2026-11-25T14:04:00Z",
                    "href": f"/api/v1/incidents/{REFERENCE_EXAMPLE}",
                }
            ]
        }
    )

    id: UUID
    reference: str = Field(examples=[REFERENCE_EXAMPLE])
    reported_at: datetime
    href: str = Field(description="Where the incident reads")


# --- camera alerts ----------------------------------------------------------------------------------------------
class CameraAlertIn(Request):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "camera_code": "CAM-07",
                    "kind": "person_at_night",
                    "score": 0.82,
                    "frame_at": "2026-11-25T21:04:05+07:00",
                    "zone": "alley",
                    "snapshot_digest": "9f2c" + "0" * 60,
                }
            ]
        },
    )

    camera_code: Text = Field(pattern=CODE_PATTERN, examples=["CAM-07"])
    kind: AlertKind
    score: Number = Field(ge=0, le=1, allow_inf_nan=False)
    frame_at: Instant = Field(description="When the frame was taken")
    zone: Text = Field("", max_length=MAX_SHORT_TEXT)
    detail: Text = Field("", max_length=MAX_SHORT_TEXT, description="What the analytics saw beyond the kind")
    snapshot_digest: str | None = Field(
        None, pattern=r"^[0-9a-f]{64}$", description="SHA-256 of a snapshot already in the shared snapshot store"
    )
    snapshot_jpeg_base64: str | None = Field(
        None, max_length=4_000_000, description="The snapshot itself (a JPEG, base64): stored by its digest"
    )


class CameraAlertOut(BaseModel):
    id: UUID
    camera_code: str
    kind: AlertKind
    score: float
    frame_at: datetime
    snapshot_digest: str


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
    call_sign: Text | None = Field(None, pattern=CODE_PATTERN)
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
    reporter: ReporterOut | None = Field(None, description="Only on one incident, for a key with the `contacts` scope")
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
