"""Incidents over the JSON API: intake, every lifecycle action, and reads. Each route checks its key with an
`ApiGuard`, calls one application command as the key's account (so the domain's permissions apply and the
log says which integration acted), and answers from the write itself; reads come from the read models."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

import structlog
from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response

from application.errors import ConflictError, NotFound, RecordKind
from application.ports import Contact
from application.zone import CommandResult
from domain.errors import DomainError, TransitionRefused
from domain.incident import Incident
from domain.patrol import PatrolUnit, check_code
from domain.values import Category, Channel, Community, GeoPoint, IncidentStatus, Priority
from infrastructure.api_keys import Scope
from infrastructure.readmodels.queries import IncidentFilter
from web.api.models import (
    PREFIX,
    REFERENCE_EXAMPLE,
    REFERENCE_PATTERN,
    ActionOut,
    ActorOut,
    CancelIn,
    ClearIn,
    CloseIn,
    DispatchIn,
    IncidentIn,
    IncidentOut,
    IncidentPage,
    Instant,
    IntakeOut,
    NoteIn,
    ReopenIn,
    ReporterOut,
    ResolveIn,
    SortField,
    StepIn,
    Timeline,
    TimelineEvent,
    TriageIn,
)
from web.api.problems import ApiProblem, known_query_only, responses
from web.deps import (
    ApiCanceller,
    ApiCloser,
    ApiCrew,
    ApiDispatcher,
    ApiIntake,
    ApiNoteTaker,
    ApiReader,
    ApiReopener,
    ApiResolver,
    ApiTriager,
    Zone,
    container_of,
)
from web.forms import READ_YOUR_WRITES_SECONDS
from web.timeline import plain

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


def _unknown(reference: str) -> ApiProblem:
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
            raise _unknown(reference) from None
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


def _action(
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


def _unit_id(name: str) -> UUID:
    try:
        return UUID(name)
    except ValueError:
        return PatrolUnit.id_for(check_code(name, "unit"))


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


# --- lifecycle --------------------------------------------------------------------------------------------------
@router.post(
    "/incidents/{reference}/triage",
    response_model=ActionOut,
    tags=["lifecycle"],
    summary="Triage",
    responses=responses(*WRITE),
)
def triage(reference: Reference, body: TriageIn, request: Request, zone: Zone, caller: ApiTriager) -> ActionOut:
    return _action(
        request,
        reference,
        lambda i: zone.app.triage_incident(
            i,
            category=body.category,
            priority=body.priority,
            reason=body.reason,
            by=caller.user_id,
            expected_version=body.expected_version,
        ),
    )


@router.post(
    "/incidents/{reference}/dispatch",
    response_model=ActionOut,
    tags=["lifecycle"],
    summary="Dispatch a unit",
    responses=responses(*WRITE),
)
def dispatch(reference: Reference, body: DispatchIn, request: Request, zone: Zone, caller: ApiDispatcher) -> ActionOut:
    """One unit per call. A unit busy on another incident is refused (409) unless `reassign` is true."""
    unit_id = body.unit_id or PatrolUnit.id_for(check_code(body.call_sign or "", "call_sign"))
    return _action(
        request,
        reference,
        lambda i: zone.app.dispatch_unit(
            i,
            unit_id,
            reassign=body.reassign,
            reason=body.reason,
            by=caller.user_id,
            expected_version=body.expected_version,
        ),
        aliases={"unit": "unit_id" if body.unit_id is not None else "call_sign"},
    )


@router.post(
    "/incidents/{reference}/units/{unit}/en-route",
    response_model=ActionOut,
    tags=["lifecycle"],
    summary="A unit is en route",
    responses=responses(*WRITE),
)
def unit_en_route(
    reference: Reference, unit: UnitName, request: Request, zone: Zone, caller: ApiCrew, body: StepIn | None = None
) -> ActionOut:
    unit_id, version = _unit_id(unit), body.expected_version if body else None
    return _action(
        request, reference, lambda i: zone.app.mark_en_route(i, unit_id, by=caller.user_id, expected_version=version)
    )


@router.post(
    "/incidents/{reference}/units/{unit}/on-scene",
    response_model=ActionOut,
    tags=["lifecycle"],
    summary="A unit is on scene",
    responses=responses(*WRITE),
)
def unit_on_scene(
    reference: Reference, unit: UnitName, request: Request, zone: Zone, caller: ApiCrew, body: StepIn | None = None
) -> ActionOut:
    unit_id, version = _unit_id(unit), body.expected_version if body else None
    return _action(
        request, reference, lambda i: zone.app.mark_on_scene(i, unit_id, by=caller.user_id, expected_version=version)
    )


@router.post(
    "/incidents/{reference}/units/{unit}/clear",
    response_model=ActionOut,
    tags=["lifecycle"],
    summary="Clear a unit from the incident",
    responses=responses(*WRITE),
)
def unit_clear(
    reference: Reference, unit: UnitName, request: Request, zone: Zone, caller: ApiCrew, body: ClearIn | None = None
) -> ActionOut:
    unit_id, body = _unit_id(unit), body or ClearIn()
    return _action(
        request,
        reference,
        lambda i: zone.app.clear_unit(
            i, unit_id, reason=body.reason, by=caller.user_id, expected_version=body.expected_version
        ),
    )


@router.post(
    "/incidents/{reference}/resolve",
    response_model=ActionOut,
    tags=["lifecycle"],
    summary="Resolve",
    responses=responses(*WRITE),
)
def resolve(reference: Reference, body: ResolveIn, request: Request, zone: Zone, caller: ApiResolver) -> ActionOut:
    return _action(
        request,
        reference,
        lambda i: zone.app.resolve_incident(
            i, outcome=body.outcome, summary=body.summary, by=caller.user_id, expected_version=body.expected_version
        ),
    )


@router.post(
    "/incidents/{reference}/close",
    response_model=ActionOut,
    tags=["lifecycle"],
    summary="Close (supervisors)",
    responses=responses(*WRITE),
)
def close(
    reference: Reference, request: Request, zone: Zone, caller: ApiCloser, body: CloseIn | None = None
) -> ActionOut:
    body = body or CloseIn()
    return _action(
        request,
        reference,
        lambda i: zone.app.close_incident(
            i, reason=body.reason, by=caller.user_id, expected_version=body.expected_version
        ),
    )


@router.post(
    "/incidents/{reference}/reopen",
    response_model=ActionOut,
    tags=["lifecycle"],
    summary="Reopen (supervisors)",
    responses=responses(*WRITE),
)
def reopen(reference: Reference, body: ReopenIn, request: Request, zone: Zone, caller: ApiReopener) -> ActionOut:
    return _action(
        request,
        reference,
        lambda i: zone.app.reopen_incident(
            i, reason=body.reason, by=caller.user_id, expected_version=body.expected_version
        ),
    )


@router.post(
    "/incidents/{reference}/cancel",
    response_model=ActionOut,
    tags=["lifecycle"],
    summary="Cancel",
    responses=responses(*WRITE),
)
def cancel(reference: Reference, body: CancelIn, request: Request, zone: Zone, caller: ApiCanceller) -> ActionOut:
    original = Incident.id_for(body.duplicate_of) if body.duplicate_of else None
    return _action(
        request,
        reference,
        lambda i: zone.app.cancel_incident(
            i,
            cancel_reason=body.cancel_reason,
            note=body.note,
            duplicate_of=original,
            by=caller.user_id,
            expected_version=body.expected_version,
        ),
    )


@router.post(
    "/incidents/{reference}/notes",
    response_model=ActionOut,
    tags=["lifecycle"],
    summary="Add a note",
    responses=responses(*WRITE),
)
def add_note(reference: Reference, body: NoteIn, request: Request, zone: Zone, caller: ApiNoteTaker) -> ActionOut:
    return _action(
        request,
        reference,
        lambda i: zone.app.add_incident_note(i, text=body.text, by=caller.user_id),
        aliases={"note": "text"},
    )


# --- reads ------------------------------------------------------------------------------------------------------
def _incident_out(row: dict[str, Any], reporter: ReporterOut | None = None) -> IncidentOut:
    fields = {name: row[name] for name in IncidentOut.model_fields if name in row and name != "reporter"}
    return IncidentOut(**fields, reporter=reporter)


def _row(request: Request, reference: str) -> dict[str, Any]:
    """The incident's read-model row. Just after it was reported (the read models not there yet), waits for
    them briefly, so that a client that reports and then reads finds it."""
    container = container_of(request)
    incident_id = Incident.id_for(reference)
    row = container.reads.incident(incident_id)
    if row is None and container.app.incident_state(incident_id) is not None:
        container.read_side.wait(container.read_side.head(), timeout=READ_YOUR_WRITES_SECONDS)
        row = container.reads.incident(incident_id)
    if row is None:
        raise _unknown(reference)
    return row


@router.get(
    "/incidents", response_model=IncidentPage, tags=["reads"], summary="Search incidents", responses=responses(*READ)
)
def search(
    request: Request,
    zone: Zone,
    caller: ApiReader,
    status: Annotated[list[IncidentStatus], Query()] = [],  # noqa: B006 — FastAPI copies defaults
    community: Annotated[list[Community], Query()] = [],  # noqa: B006
    category: Annotated[list[Category], Query()] = [],  # noqa: B006
    priority: Annotated[list[Priority], Query()] = [],  # noqa: B006
    channel: Annotated[list[Channel], Query()] = [],  # noqa: B006
    reported_from: Annotated[Instant | None, Query(description="Reported at or after")] = None,
    reported_to: Annotated[Instant | None, Query(description="Reported before")] = None,
    reference: Annotated[
        str, Query(max_length=20, pattern=r"^[A-Za-z0-9-]*$", description="A reference, or its start (CR-2569-0001)")
    ] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    sort: SortField = "reported_at",
    direction: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
) -> IncidentPage:
    """The same filters, sorting and paging as the officers' incident list. Items never carry a reporter's contact."""
    where = IncidentFilter(
        status=tuple(s.value for s in status),
        community=tuple(c.value for c in community),
        category=tuple(c.value for c in category),
        priority=tuple(p.value for p in priority),
        channel=tuple(c.value for c in channel),
        reported_from=reported_from,
        reported_to=reported_to,
        reference=reference,
    )
    found = zone.reads.search_incidents(
        where, page=page, page_size=page_size, sort=sort, direction="asc" if direction == "asc" else "desc"
    )
    return IncidentPage(
        items=[_incident_out(r) for r in found.items],
        total=found.total,
        page=found.page,
        page_size=found.page_size,
        pages=found.pages,
    )


@router.get(
    "/incidents/{reference}",
    response_model=IncidentOut,
    tags=["reads"],
    summary="One incident",
    responses=responses(401, 403, 404, 422, 429),
)
def incident(reference: Reference, request: Request, zone: Zone, response: Response, caller: ApiReader) -> IncidentOut:
    """With the `contacts` scope (and an account that may read them), `reporter` holds the reporter's name and phone;
    every such reading is logged. Otherwise `reporter` is null, always."""
    response.headers["cache-control"] = "no-store"  # personal data: in no cache on the way
    row = _row(request, reference)
    reporter = None
    if Scope.CONTACTS in caller.scopes and row["has_contact"]:
        contact = zone.app.reporter_contact(row["id"], by=caller.user_id)
        if contact is not None:
            reporter = ReporterOut(erased=True) if contact.get("erased") else ReporterOut(**contact)
    return _incident_out(row, reporter)


@router.get(
    "/incidents/{reference}/timeline",
    response_model=Timeline,
    tags=["reads"],
    summary="An incident's timeline",
    responses=responses(401, 403, 404, 422, 429),
)
def timeline(reference: Reference, request: Request, zone: Zone, response: Response, caller: ApiReader) -> Timeline:
    """Every event of the incident, in order, with who did it, why, and when it happened and was recorded."""
    response.headers["cache-control"] = "no-store"
    row = _row(request, reference)
    reads = zone.reads
    rows = reads.timeline(row["id"])
    names = reads.user_names(r["actor_id"] for r in rows)
    events = []
    for r in rows:
        details = plain(r["params"])
        details.pop("contact", None)  # a reporter's contact never leaves through the API's timeline
        events.append(
            TimelineEvent(
                version=r["version"],
                event=r["event"],
                occurred_at=r["occurred_at"],
                recorded_at=r["recorded_at"],
                reason=r["reason"],
                details=details,
                actor=ActorOut(id=r["actor_id"], role=r["actor_role"], name=names.get(r["actor_id"])),
            )
        )
    return Timeline(reference=row["reference"], events=events)
