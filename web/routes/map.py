"""The zone map's data, units' positions from officers' phones, the crew's "received", moving red boxes and cameras
on the map, and the officer's live phone page (server-sent events)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from jinja2_fragments import render_block

from application.zone import CommandResult
from domain.errors import DomainError
from domain.patrol import IMPRECISE_ACCURACY_M
from domain.values import Role
from infrastructure.web_sessions import SignedIn
from web import i18n
from web.access import BOARD, Guard, csrf_token
from web.deps import CameraManager, Crew, Officer, RedBoxManager, Zone, container_of
from web.forms import Form, submit
from web.incident_view import act_on_incident
from web.map_view import install, map_data, position_from
from web.pages import ENV, context, message_of
from web.routes.cameras import _camera, _detail
from web.routes.redboxes import _box, _boxes_page
from web.routes.units import my_page_context

router = APIRouter(include_in_schema=False)  # HTML pages and their data: not part of the API description
MapReader = Annotated[SignedIn, Depends(Guard(BOARD.roles | {Role.ADMIN}))]  # admins: boxes and cameras only
HEARTBEAT_SECONDS = 15
install(ENV)
MY_TEMPLATE = "my.html"


@router.get("/map/data")
def zone_map_data(request: Request, zone: Zone, user: MapReader) -> JSONResponse:
    data = map_data(zone, live=Role(user.role) in BOARD.roles, now=zone.app.clock())
    return JSONResponse(data, headers={"cache-control": "no-store"})


# --- positions from the officers' phones ---------------------------------------------------------------------
@router.post("/my/position")
async def my_position(request: Request, zone: Zone, user: Officer) -> Response:
    """The phone's position, sent when the officer acts (with their consent, see phone.js): recorded on each unit
    they crew that is on duty. A fix worse than a kilometre is kept, marked imprecise, and the officer is told."""
    form = Form(await request.form())
    found = position_from(form)
    if found is None:
        return JSONResponse(
            {"message": i18n.gettext("The position was not readable; nothing was recorded.")}, status_code=422
        )
    point, accuracy = found

    def record() -> list[str]:
        done = []
        for unit in zone.reads.units_of_officer(user.user_id):
            if unit["status"] in ("available", "assigned"):
                zone.app.report_unit_position(unit["id"], position=point, accuracy_m=accuracy, by=user.user_id)
                done.append(unit["call_sign"])
        return done

    try:
        units = await run_in_threadpool(record)
    except DomainError as error:
        return JSONResponse({"message": message_of(error)}, status_code=422)
    if not units:
        message = i18n.gettext("You are not on duty with a unit; your position was not recorded.")
    elif accuracy > IMPRECISE_ACCURACY_M:
        message = i18n.gettext(
            "Your position is imprecise (± %(metres)s m): it is kept, but not used to suggest the nearest unit."
        ) % {"metres": i18n.current().number(round(accuracy))}
    else:
        message = i18n.gettext("Position shared (± %(metres)s m).") % {"metres": i18n.current().number(round(accuracy))}
    return JSONResponse({"message": message, "units": units, "imprecise": accuracy > IMPRECISE_ACCURACY_M})


# --- the crew's "received" -------------------------------------------------------------------------------------
@router.post("/incidents/{reference}/units/{unit_id}/acknowledge")
async def acknowledge(request: Request, reference: str, unit_id: UUID, user: Crew) -> Response:
    def command(form: Form, incident: dict[str, Any]) -> CommandResult | None:
        return container_of(request).app.acknowledge_dispatch(incident["id"], unit_id, by=user.user_id)

    return await act_on_incident(request, user, reference, "acknowledge", command)


# --- moving red boxes and cameras (administrators) ------------------------------------------------------------
@router.post("/red-boxes/{code}/move")
async def move_red_box(request: Request, zone: Zone, code: str, user: RedBoxManager) -> Response:
    box = await run_in_threadpool(_box, request, code)

    def command(form: Form) -> CommandResult | None:
        position, reason = form.position(required=True), form.text("reason", required=True)
        return zone.app.move_red_box(box["id"], position=position, reason=reason, by=user.user_id) if form.ok else None

    form, result = await submit(request, command)
    if result is None:
        errors = {f"move:{box['code']}": message for message in form.errors.values()}
        return await run_in_threadpool(lambda: _boxes_page(request, user, status_code=422, errors=errors))
    return RedirectResponse("/red-boxes", status_code=303)


@router.post("/cameras/{camera_id}/move")
async def move_camera(request: Request, zone: Zone, camera_id: str, user: CameraManager) -> Response:
    camera = await run_in_threadpool(_camera, request, camera_id)

    def command(form: Form) -> CommandResult | None:
        position, reason = form.position(required=True), form.text("reason", required=True)
        return (
            zone.app.move_camera(camera["id"], position=position, reason=reason, by=user.user_id) if form.ok else None
        )

    form, result = await submit(request, command)
    if result is None:
        errors = {f"move:{k}": v for k, v in form.errors.items()}
        return await run_in_threadpool(lambda: _detail(request, user, camera, status_code=422, errors=errors))
    return RedirectResponse(f"/cameras/{camera['id']}", status_code=303)


# --- the officer's live phone page -------------------------------------------------------------------------------
def _sse(name: str, html: str) -> str:
    return f"event: {name}\n" + "".join(f"data: {line}\n" for line in html.splitlines() or [""]) + "\n"


@router.get("/my/stream")
async def my_stream(request: Request, user: Officer) -> StreamingResponse:
    """Server-sent events: the assignment block of the phone page whenever it changes (a new dispatch appears
    within the board feed's polling interval, without a reload)."""
    feed = request.app.state.feed
    token = csrf_token(request)
    base = context(request)

    def render() -> str:
        return render_block(
            ENV, MY_TEMPLATE, "assignment", {**base, **my_page_context(request, user), "csrf_token": token}
        )

    async def events() -> AsyncIterator[str]:
        sent = ""
        seen: tuple[int, ...] = ()
        yield "retry: 1000\n\n"
        while not await request.is_disconnected():
            seen = await feed.next_change(seen, HEARTBEAT_SECONDS)
            html = await run_in_threadpool(render)
            digest = hashlib.sha1(html.encode()).hexdigest()
            if digest != sent:
                yield _sse("assignment", html)
                sent = digest
            else:
                yield ": still here\n\n"

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"cache-control": "no-store", "x-accel-buffering": "no"}
    )
