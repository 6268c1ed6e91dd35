"""Patrol units: who is on duty with which crew; registering and retiring units; an officer's own assignments."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from application.zone import CommandResult
from domain.permissions import PERMISSIONS
from domain.values import Role, UnitKind
from infrastructure.web_sessions import SignedIn
from web.deps import DutyChanger, Officer, UnitManager, UnitViewer, Zone, container_of
from web.forms import Form, submit
from web.pages import render

router = APIRouter(include_in_schema=False)
MY_CHECK_INS = timedelta(
    hours=12
)  # an officer's own red-box check-ins of the shift, on the phone page  # HTML pages: not part of the API description


def _page(
    request: Request,
    user: SignedIn,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    reads = container_of(request).reads
    return render(
        request,
        "units.html",
        status_code=status_code,
        units=reads.units(include_retired=True),
        officers=reads.users(role=Role.OFFICER.value, enabled_only=True),
        errors=errors or {},
        values=values or {},
        allowed={a.name for a in PERMISSIONS[Role(user.role)]},
    )


@router.get("/units")
def units_page(request: Request, user: UnitViewer) -> Response:
    return _page(request, user)


async def _unit_command(request: Request, user: SignedIn, command: Callable[[Form], CommandResult | None]) -> Response:
    form, result = await submit(request, command)
    if result is None and form.raw("next") == "/my":  # an officer's tap on the phone page: refused there
        return await run_in_threadpool(
            lambda: render(request, "my.html", status_code=422, errors=form.errors, **my_page_context(request, user))
        )
    if result is None:
        values = {k: form.raw(k) for k in ("call_sign", "kind")}
        return await run_in_threadpool(lambda: _page(request, user, status_code=422, errors=form.errors, values=values))
    return RedirectResponse("/my" if form.raw("next") == "/my" else "/units", status_code=303)


@router.post("/units")
async def register_unit(request: Request, zone: Zone, user: UnitManager) -> Response:
    def command(form: Form) -> CommandResult | None:
        call_sign, kind = form.text("call_sign", required=True), form.choice("kind", UnitKind)
        return zone.app.register_unit(call_sign=call_sign, kind=kind, by=user.user_id) if form.ok else None

    return await _unit_command(request, user, command)


@router.post("/units/{unit_id}/on-duty")
async def on_duty(request: Request, zone: Zone, unit_id: UUID, user: DutyChanger) -> Response:
    def command(form: Form) -> CommandResult | None:
        officers = form.uuids("officer_id")
        if Role(user.role) is Role.OFFICER and user.user_id not in officers:
            officers.append(user.user_id)  # an officer who takes a unit out is on its crew
        return zone.app.unit_on_duty(unit_id, officer_ids=officers, by=user.user_id) if form.ok else None

    return await _unit_command(request, user, command)


@router.post("/units/{unit_id}/off-duty")
async def off_duty(request: Request, zone: Zone, unit_id: UUID, user: DutyChanger) -> Response:
    def command(form: Form) -> CommandResult | None:
        reason = form.text("reason")
        return zone.app.unit_off_duty(unit_id, reason=reason, by=user.user_id) if form.ok else None

    return await _unit_command(request, user, command)


@router.post("/units/{unit_id}/retire")
async def retire(request: Request, zone: Zone, unit_id: UUID, user: UnitManager) -> Response:
    def command(form: Form) -> CommandResult | None:
        reason = form.text("reason", required=True)
        return zone.app.retire_unit(unit_id, reason=reason, by=user.user_id) if form.ok else None

    return await _unit_command(request, user, command)


def my_page_context(request: Request, user: SignedIn) -> dict[str, Any]:
    """What the phone page shows (the page, and its live stream in web/routes/map.py)."""
    zone = container_of(request)
    reads = zone.reads
    units = reads.units_of_officer(user.user_id)
    incidents: dict[Any, dict[str, Any]] = {}
    for unit in units:
        if unit["incident_id"] is not None and unit["incident_id"] not in incidents:
            incident = reads.incident(unit["incident_id"])
            if incident is not None:
                incidents[unit["incident_id"]] = incident
    now = zone.app.clock()
    return dict(
        units=units,
        incidents=incidents,
        idle_units=[u for u in reads.units() if u["status"] == "off_duty"],
        check_ins=reads.visits_between(now - MY_CHECK_INS, now + timedelta(minutes=5), officer_id=user.user_id),
    )


@router.get("/my")
def my_assignments(request: Request, zone: Zone, user: Officer) -> Response:
    """The officer's phone page: the incidents of the units they crew, next steps as big buttons."""
    return render(request, "my.html", **my_page_context(request, user))
