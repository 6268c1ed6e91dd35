"""An incident's lifecycle over the JSON API: triage, dispatch, the units' steps, resolve, close, reopen, cancel
and notes. Each answers from the write itself, with the incident's status and version after it."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from domain.incident import Incident
from domain.patrol import PatrolUnit, check_call_sign
from web.api.incident_models import (
    ActionOut,
    CancelIn,
    ClearIn,
    CloseIn,
    DispatchIn,
    NoteIn,
    ReopenIn,
    ResolveIn,
    StepIn,
    TriageIn,
)
from web.api.incidents import WRITE, Reference, UnitName, act_on, unit_id_of
from web.api.models import PREFIX
from web.api.problems import known_query_only, responses
from web.deps import (
    ApiCanceller,
    ApiCloser,
    ApiCrew,
    ApiDispatcher,
    ApiNoteTaker,
    ApiReopener,
    ApiResolver,
    ApiTriager,
    Zone,
)

router = APIRouter(prefix=PREFIX, dependencies=[Depends(known_query_only)])


# --- lifecycle --------------------------------------------------------------------------------------------------
@router.post(
    "/incidents/{reference}/triage",
    response_model=ActionOut,
    tags=["lifecycle"],
    summary="Triage",
    responses=responses(*WRITE),
)
def triage(reference: Reference, body: TriageIn, request: Request, zone: Zone, caller: ApiTriager) -> ActionOut:
    return act_on(
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
    unit_id = body.unit_id or PatrolUnit.id_for(check_call_sign(body.call_sign or ""))
    return act_on(
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
    unit_id, version = unit_id_of(unit), body.expected_version if body else None
    return act_on(
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
    unit_id, version = unit_id_of(unit), body.expected_version if body else None
    return act_on(
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
    unit_id, body = unit_id_of(unit), body or ClearIn()
    return act_on(
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
    return act_on(
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
    return act_on(
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
    return act_on(
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
    return act_on(
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
    return act_on(
        request,
        reference,
        lambda i: zone.app.add_incident_note(i, text=body.text, by=caller.user_id),
        aliases={"note": "text"},
    )
