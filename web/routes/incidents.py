"""Incident pages: the report form, and the incident with its timeline; what every incident page shares (the
incident by its reference, the page with a refusal's message, and how a lifecycle action runs). The list, search and
CSV export are in incident_search.py, the lifecycle actions in incident_actions.py.
Each action reads its form, calls one application command, waits (bounded) for the read models to show
it, and redirects; a refusal re-renders the page with the message, a conflict with the fresh state."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from application.errors import ConflictError
from application.ports import Contact
from application.zone import CommandResult
from domain.errors import DomainError, TransitionRefused
from domain.incident import Incident
from domain.permissions import PERMISSIONS
from domain.values import (
    Category,
    Channel,
    Community,
    GeoPoint,
    Priority,
    Role,
)
from infrastructure.web_sessions import SignedIn
from web import i18n
from web.access import not_found
from web.deps import (
    Reader,
    Reporter,
    Zone,
    container_of,
)
from web.forms import Form, read_your_writes, submit
from web.map_view import landmark_position
from web.pages import message_of, render
from web.timeline import timeline_in_words

router = APIRouter(include_in_schema=False)  # HTML pages: not part of the API description
REFERENCE = re.compile(r"^CR-\d{4}-\d{6}$")
NO_STORE = "no-store"


def _incident(request: Request, reference: str) -> dict[str, Any]:
    reference = reference.strip().upper()
    row = container_of(request).reads.incident(Incident.id_for(reference)) if REFERENCE.match(reference) else None
    if row is None:
        raise not_found(i18n.gettext("There is no incident %(reference)s.") % {"reference": reference[:40]})
    return row


def _detail(
    request: Request,
    user: SignedIn,
    incident: dict[str, Any],
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    open_form: str = "",
    banner: str = "",
    contact: dict[str, Any] | None = None,
) -> Response:
    reads = container_of(request).reads
    units = reads.units()
    call_signs = {str(u["id"]): u["call_sign"] for u in units}
    call_signs.update({str(u["unit_id"]): u["call_sign"] for u in incident["units"] if u.get("call_sign")})
    rows = reads.timeline(incident["id"])
    names = reads.user_names(r["actor_id"] for r in rows)
    linked = {}
    if incident.get("duplicate_of"):
        linked = reads.incident(incident["duplicate_of"]) or {}
    duplicates = [r["params"]["duplicate_reference"] for r in rows if r["event"] == "DuplicateLinked"]
    source_alert = reads.camera_alert(incident["source_alert_id"]) if incident.get("source_alert_id") else None
    allowed = {a.name for a in PERMISSIONS[Role(user.role)]}
    response = render(
        request,
        "incidents/detail.html",
        status_code=status_code,
        incident=incident,
        timeline=timeline_in_words(rows, names, call_signs),
        units=units,
        allowed=allowed,
        errors=errors or {},
        open_form=open_form,
        banner=banner,
        duplicate_of=linked,
        duplicates=duplicates,
        contact=contact,  # shown once, to the person who asked for it with a reason (web/routes/personal_data.py)
        source_alert=source_alert,
    )
    response.headers["cache-control"] = NO_STORE  # a reporter's name and phone, a victim's story: in no cache
    return response


async def _act(
    request: Request,
    user: SignedIn,
    reference: str,
    form_name: str,
    command: Callable[[Form, dict[str, Any]], CommandResult | None],
) -> Response:
    incident = await run_in_threadpool(_incident, request, reference)
    container = container_of(request)
    try:
        form, result = await submit(request, lambda f: command(f, incident), passes=(ConflictError, TransitionRefused))
    except (ConflictError, TransitionRefused) as error:
        # Someone else got there first, or the incident has moved on: say so, and show how it stands now.
        await read_your_writes(container)
        fresh, message = await run_in_threadpool(_incident, request, reference), message_of(error)
        if not isinstance(error, ConflictError):  # refused on the incident as it stands: no one else is to blame
            errors = {"_": message}
            return await run_in_threadpool(lambda: _detail(request, user, fresh, status_code=409, errors=errors))
        return await run_in_threadpool(lambda: _detail(request, user, fresh, status_code=409, banner=message))
    if result is None:
        return await run_in_threadpool(
            lambda: _detail(request, user, incident, status_code=422, errors=form.errors, open_form=form_name)
        )
    target = form.raw("next")
    return RedirectResponse(
        target if target in ("/board", "/my") else f"/incidents/{incident['reference']}", status_code=303
    )


@router.get("/incidents/new")
def new_incident(request: Request, user: Reporter) -> Response:
    return render(request, "incidents/new.html", errors={}, values={})


@router.post("/incidents")
async def report(request: Request, zone: Zone, user: Reporter) -> Response:
    form = Form(await request.form())
    container = zone
    fields = dict(
        channel=form.choice("channel", Channel),
        category=form.choice("category", Category),
        priority=form.choice("priority", Priority),
        community=form.choice("community", Community),
        location=form.text("location", required=True),
        description=form.text("description", required=True),
        occurred_at=form.instant("occurred_at"),
    )
    lat, lon = form.number("lat"), form.number("lon")
    if (lat is None) != (lon is None) and form.ok:
        form.fail("lat" if lat is None else "lon", i18n.gettext("Give both latitude and longitude, or neither."))
    lat, lon = landmark_position(form, lat, lon)  # a landmark picked without a point on the map (issue 18)
    name, phone = form.text("reporter_name"), form.text("reporter_phone")
    key = form.text("idempotency_key") or None
    result = None
    if form.ok:
        try:
            position = GeoPoint(lat, lon) if lat is not None and lon is not None else None
            contact = Contact(name, phone) if name or phone else None
            result = await run_in_threadpool(
                lambda: container.app.report_incident(
                    **fields, position=position, contact=contact, idempotency_key=key, by=user.user_id
                )
            )
        except DomainError as error:
            form.refuse(error)
    if result is None:
        values = {
            k: form.raw(k)
            for k in (
                "channel",
                "category",
                "priority",
                "community",
                "location",
                "description",
                "occurred_at",
                "lat",
                "lon",
                "landmark",
                "reporter_name",
                "reporter_phone",
                "idempotency_key",
            )
        }
        return render(request, "incidents/new.html", status_code=422, errors=form.errors, values=values)
    await read_your_writes(container, result.notification_id)
    reference = (await run_in_threadpool(container.reads.incident, result.id) or {}).get("reference")
    return RedirectResponse(f"/incidents/{reference}" if reference else "/incidents", status_code=303)


@router.get("/incidents/{reference}")
def incident_page(request: Request, reference: str, user: Reader) -> Response:
    return _detail(request, user, _incident(request, reference))
