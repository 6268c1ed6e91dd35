"""Incidents over the JSON API: intake, and what its lifecycle actions (web/api/lifecycle.py) and reads
(web/api/reads.py) share. Each route checks its key with an `ApiGuard`, calls one application command as the key's
account (so the domain's permissions apply and the log says which integration acted), and answers from the write
itself; reads come from the read models."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from uuid import UUID

import structlog
from fastapi import APIRouter, Depends, Header, Path, Request, Response

from application.errors import ConflictError, NotFound, RecordKind
from application.ports import Contact
from application.zone import CommandResult
from domain.errors import DomainError, TransitionRefused
from domain.incident import Incident
from domain.patrol import PatrolUnit, check_call_sign
from domain.values import GeoPoint
from web.api.incident_models import ActionOut
from web.api.models import PREFIX, REFERENCE_EXAMPLE, REFERENCE_PATTERN, IncidentIn, IntakeOut
from web.api.problems import ApiProblem, known_query_only, responses
from web.deps import ApiIntake, Zone, container_of

log = structlog.get_logger()
router = APIRouter(prefix=PREFIX, dependencies=[Depends(known_query_only)])


Reference = Annotated[
    str, Path(pattern=REFERENCE_PATTERN, examples=[REFERENCE_EXAMPLE], description="The incident's reference")
]
UnitName = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9-]{2,36}$", examples=["M-01"], description="The unit: its call sign, or its id")
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=r"^[!-~]{1,100}$",
        examples=["sos-7f3c9b2e"],
        description="Retrying with the same key (from the same integration) never reports twice: the retry answers 200 "
        "with the same body",
    ),
]
WRITE = (400, 401, 403, 404, 409, 422, 429)
READ = (401, 403, 422, 429)
# Where the domain's field names differ from the API's.
INTAKE_FIELDS = {"reporter_name": "reporter.name", "reporter_phone": "reporter.phone"}
NOT_FOUND_FIELDS = {
    RecordKind.PATROL_UNIT: "unit",
    RecordKind.INCIDENT: "duplicate_of",
    RecordKind.CAMERA: "camera_code",
}


def href(reference: str) -> str:
    return f"{PREFIX}/incidents/{reference}"


def not_found(reference: str) -> ApiProblem:
    return ApiProblem(404, "not-found", "Not found", f"There is no incident {reference}.")


def _run(
    request: Request,
    incident_id: UUID,
    reference: str,
    command: Callable[[], CommandResult],
    aliases: dict[str, str] | None = None,
) -> CommandResult:
    """Runs a command on an incident; an unknown incident is a 404, a conflict a 409 with the version now."""
    try:
        return command()
    except NotFound as error:
        if error.params.get("aggregate_id") == incident_id:
            raise not_found(reference) from None
        what = error.params.get("what")
        field = (aliases or {}).get(NOT_FOUND_FIELDS.get(what, ""), NOT_FOUND_FIELDS.get(what, ""))
        raise ApiProblem(
            422,
            "invalid",
            "The request was not valid",
            error.message,
            errors=[{"field": field, "message": error.message}],
        ) from None
    except (ConflictError, TransitionRefused) as error:
        version = getattr(error, "current_version", None)
        if version is None:
            current = container_of(request).app.incident_state(incident_id)
            version = current.version if current is not None else None
        raise ApiProblem(
            409, "conflict", "Refused in the incident's current state", error.message, current_version=version
        ) from None
    except DomainError as error:
        if aliases and error.field in aliases:
            error.field = aliases[error.field]
        raise


def act_on(
    request: Request, reference: str, command: Callable[[UUID], CommandResult], aliases: dict[str, str] | None = None
) -> ActionOut:
    incident_id = Incident.id_for(reference)
    result = _run(request, incident_id, reference, lambda: command(incident_id), aliases)
    incident = container_of(request).app.incident_state(incident_id)
    log.info("api.incident_action", reference=reference, status=incident.status.value, version=incident.version)
    return ActionOut(
        id=incident_id,
        reference=reference,
        status=incident.status,
        version=incident.version,
        position=result.notification_id,
    )


def unit_id_of(name: str) -> UUID:
    try:
        return UUID(name)
    except ValueError:
        return PatrolUnit.id_for(check_call_sign(name, "unit"))


# --- intake -----------------------------------------------------------------------------------------------------
@router.post(
    "/incidents",
    status_code=201,
    response_model=IntakeOut,
    tags=["intake"],
    summary="Report an incident",
    responses={
        200: {"model": IntakeOut, "description": "A retry with the same Idempotency-Key: the same body"},
        **responses(400, 401, 403, 409, 422, 429),
    },
)
async def report_incident(
    body: IncidentIn,
    request: Request,
    zone: Zone,
    response: Response,
    caller: ApiIntake,
    idempotency_key: IdempotencyKey = None,
) -> IntakeOut:
    """For the mobile app's SOS and partners' systems. Reported as the key's account, which needs a role that may
    report incidents. Send an `Idempotency-Key` so that a retry after a lost answer never reports twice."""
    app = zone.app
    reporter = body.reporter
    contact = Contact(reporter.name, reporter.phone) if reporter and (reporter.name or reporter.phone) else None
    # Scoped to the integration's account: two integrations that happen to pick the same key never meet.
    key = f"api/{caller.user_id}/{idempotency_key}" if idempotency_key else None
    try:  # concurrent intakes are committed together by the application, without a thread each
        result = await app.report_incident_async(
            channel=body.channel,
            category=body.category,
            priority=body.priority,
            community=body.community,
            location=body.location,
            description=body.description,
            occurred_at=body.occurred_at,
            position=GeoPoint(body.position.lat, body.position.lon) if body.position else None,
            contact=contact,
            idempotency_key=key,
            by=caller.user_id,
        )
    except ConflictError as error:
        raise ApiProblem(409, "conflict", "Refused in the current state", error.message) from None
    except DomainError as error:
        if error.field in INTAKE_FIELDS:
            error.field = INTAKE_FIELDS[error.field]
        raise
    retry = result.notification_id is None
    if retry:
        response.status_code = 200
    response.headers["location"] = href(result.reference)
    log.info("api.incident_reported", reference=result.reference, retry=retry, idempotent=key is not None)
    return IntakeOut(
        id=result.id, reference=result.reference, reported_at=result.reported_at, href=href(result.reference)
    )
