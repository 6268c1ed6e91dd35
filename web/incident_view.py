"""What every incident page shares: the incident by its reference (404 when there is none), the incident page with a
refusal's message or a conflict's banner, and how a lifecycle action runs: it reads its form, calls one application
command, waits (bounded) for the read models to show it, and redirects; a refusal re-renders the page with the
message, a conflict with the fresh state. Used by the incident routes, the map's moves and personal-data reads."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from application.errors import ConflictError
from application.zone import CommandResult
from domain.errors import TransitionRefused
from domain.incident import Incident
from domain.permissions import PERMISSIONS
from domain.values import Role
from infrastructure.web_sessions import SignedIn
from web import i18n
from web.access import not_found
from web.deps import container_of
from web.forms import Form, read_your_writes, submit
from web.pages import message_of, render
from web.timeline import timeline_in_words

REFERENCE = re.compile(r"^CR-\d{4}-\d{6}$")
NO_STORE = "no-store"


def incident_or_404(request: Request, reference: str) -> dict[str, Any]:
    reference = reference.strip().upper()
    row = container_of(request).reads.incident(Incident.id_for(reference)) if REFERENCE.match(reference) else None
    if row is None:
        raise not_found(i18n.gettext("There is no incident %(reference)s.") % {"reference": reference[:40]})
    return row


def render_incident(
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


async def act_on_incident(
    request: Request,
    user: SignedIn,
    reference: str,
    form_name: str,
    command: Callable[[Form, dict[str, Any]], CommandResult | None],
) -> Response:
    incident = await run_in_threadpool(incident_or_404, request, reference)
    container = container_of(request)
    try:
        form, result = await submit(request, lambda f: command(f, incident), passes=(ConflictError, TransitionRefused))
    except (ConflictError, TransitionRefused) as error:
        # Someone else got there first, or the incident has moved on: say so, and show how it stands now.
        await read_your_writes(container)
        fresh, message = await run_in_threadpool(incident_or_404, request, reference), message_of(error)
        if not isinstance(error, ConflictError):  # refused on the incident as it stands: no one else is to blame
            errors = {"_": message}
            return await run_in_threadpool(
                lambda: render_incident(request, user, fresh, status_code=409, errors=errors)
            )
        return await run_in_threadpool(lambda: render_incident(request, user, fresh, status_code=409, banner=message))
    if result is None:
        return await run_in_threadpool(
            lambda: render_incident(request, user, incident, status_code=422, errors=form.errors, open_form=form_name)
        )
    target = form.raw("next")
    return RedirectResponse(
        target if target in ("/board", "/my") else f"/incidents/{incident['reference']}", status_code=303
    )
