"""What the JSON API takes and gives: Pydantic models, which FastAPI turns into the OpenAPI description. Here
the shared types, problems, intake and camera alerts; an incident's lifecycle and reads in web/api/incident_models.py.

Requests are checked here only for shape (types, enums, lengths); the domain checks the rest and says why
in English (`422` with the field at fault). Responses never carry a reporter's name or phone, except
`reporter` on one incident, for a key with the `contacts` scope."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
)

from domain.values import (
    MAX_SHORT_TEXT,
    MAX_TEXT,
    AlertKind,
    Category,
    Channel,
    Community,
    Priority,
)

PREFIX = "/api/v1"
REFERENCE_PATTERN = r"^CR-[0-9]{4}-[0-9]{6}$"
CODE_PATTERN = r"^[A-Za-z0-9-]{2,24}$"
CALL_SIGN_PATTERN = r"^[A-Za-z0-9\u0e01-\u0e5b-]{2,24}$"  # Thai call signs too: ชร-101
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


Whole = Annotated[int, BeforeValidator(_whole), Strict()]  # JSON's whole numbers only: not true/false, not "45"
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
