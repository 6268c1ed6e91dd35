"""Incidents and their timelines over the JSON API, from the read models. Only one incident's `reporter`, for a
key with the `contacts` scope, ever carries a reporter's contact."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from domain.incident import Incident
from domain.values import Category, Channel, Community, IncidentStatus, Priority
from infrastructure.readmodels.queries import IncidentFilter
from web.api.incident_models import ActorOut, IncidentOut, IncidentPage, ReporterOut, SortField, Timeline, TimelineEvent
from web.api.incidents import READ, Reference, not_found
from web.api.models import PREFIX, Instant
from web.api.problems import known_query_only, responses
from web.deps import ApiReader, Zone, container_of
from web.forms import READ_YOUR_WRITES_SECONDS
from web.timeline import plain

router = APIRouter(prefix=PREFIX, dependencies=[Depends(known_query_only)])


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
        raise not_found(reference)
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
    """`reporter` is null, always: a reporter's contact is read on purpose with `POST .../contact` (recorded)."""
    response.headers["cache-control"] = "no-store"  # personal data: in no cache on the way
    return _incident_out(_row(request, reference))


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
