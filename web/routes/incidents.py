"""Incident pages: the report form, and the incident with its timeline. What every incident page shares (the incident
by its reference, the page with a refusal's message, how a lifecycle action runs) is in web/incident_view.py; the
list, search and CSV export are in incident_search.py, the lifecycle actions in incident_actions.py."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from application.errors import IdempotencyKeyReused
from application.ports import Contact
from domain.errors import DomainError
from domain.values import (
    Category,
    Channel,
    Community,
    GeoPoint,
    Priority,
)
from web import i18n
from web.deps import (
    Reader,
    Reporter,
    Zone,
)
from web.forms import Form, read_your_writes
from web.incident_view import incident_or_404, render_incident
from web.map_view import landmark_position
from web.pages import render

router = APIRouter(include_in_schema=False)  # HTML pages: not part of the API description


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
    result, sent_before = None, None
    if form.ok:
        try:
            position = GeoPoint(lat, lon) if lat is not None and lon is not None else None
            contact = Contact(name, phone) if name or phone else None
            result = await run_in_threadpool(
                lambda: container.app.report_incident(
                    **fields, position=position, contact=contact, idempotency_key=key, by=user.user_id
                )
            )
        except IdempotencyKeyReused as error:  # the form came back (the back button) with other fields
            sent_before = await run_in_threadpool(container.reads.incident, error.params["incident_id"])
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
        if sent_before is not None:  # a fresh key: pressing Report again records a new incident, on purpose
            values["idempotency_key"] = ""
        return render(
            request,
            "incidents/new.html",
            status_code=409 if sent_before else 422,
            errors=form.errors,
            values=values,
            sent_before=sent_before,
        )
    await read_your_writes(container, result.notification_id)
    reference = (await run_in_threadpool(container.reads.incident, result.id) or {}).get("reference")
    return RedirectResponse(f"/incidents/{reference}" if reference else "/incidents", status_code=303)


@router.get("/incidents/{reference}")
def incident_page(request: Request, reference: str, user: Reader) -> Response:
    return render_incident(request, user, incident_or_404(request, reference))
