"""Incident pages: report, list and search, the incident with its timeline, and every lifecycle action.
Each action reads its form, calls one application command, waits (bounded) for the read models to show
it, and redirects; a refusal re-renders the page with the message, a conflict with the fresh state."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID

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
    BANGKOK,
    CancelReason,
    Category,
    Channel,
    Community,
    GeoPoint,
    IncidentStatus,
    Outcome,
    Priority,
    Role,
)
from infrastructure.readmodels.queries import SORTS, IncidentFilter
from infrastructure.web_sessions import SignedIn
from web import i18n, parse
from web.access import not_found
from web.deps import (
    Canceller,
    Closer,
    Crew,
    Dispatcher,
    Exporter,
    NoteTaker,
    Reader,
    Reopener,
    Reporter,
    Resolver,
    Triager,
    Zone,
    container_of,
)
from web.forms import Form, read_your_writes, submit
from web.map_view import landmark_position
from web.pages import message_of, render
from web.timeline import timeline_in_words

router = APIRouter(include_in_schema=False)  # HTML pages: not part of the API description
REFERENCE = re.compile(r"^CR-\d{4}-\d{6}$")
PAGE_SIZE = 25
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


# --- reading -----------------------------------------------------------------------------------
def _filter(request: Request, form: Form) -> IncidentFilter:
    def many(name: str, enum: type) -> tuple[str, ...]:
        chosen = tuple(v for v in request.query_params.getlist(name) if v)
        for value in chosen:
            if value not in {m.value for m in enum}:
                form.fail(name, i18n.gettext("Please choose one of the options."))
        return chosen

    def days(name: str) -> tuple[date, date] | None:
        value = request.query_params.get(name, "").strip()
        if not value:
            return None
        try:
            return parse.day_range(value)
        except parse.Unreadable as error:
            form.fail(name, error.message)
            return None

    def words() -> tuple[str, ...]:
        try:
            return parse.search_words(request.query_params.get("q", ""))
        except parse.Unreadable as error:
            form.fail("q", error.message)
            return ()

    since, until = days("from"), days("to")
    return IncidentFilter(
        status=many("status", IncidentStatus),
        community=many("community", Community),
        category=many("category", Category),
        priority=many("priority", Priority),
        channel=many("channel", Channel),
        reported_from=datetime.combine(since[0], time(0), BANGKOK) if since else None,
        reported_to=datetime.combine(until[1], time(0), BANGKOK) + timedelta(days=1) if until else None,
        reference=request.query_params.get("ref", "")[:20],
        text=words(),
    )


def _window(where: IncidentFilter) -> tuple[date, date] | None:
    """The days the search covers, as the page says them back (in Buddhist-era years in Thai)."""
    if where.reported_from is None and where.reported_to is None:
        return None
    first = where.reported_from.astimezone(BANGKOK).date() if where.reported_from else None
    last = (where.reported_to - timedelta(days=1)).astimezone(BANGKOK).date() if where.reported_to else None
    return (first, last) if first and last else None


@router.get("/incidents")
def incident_list(request: Request, zone: Zone, user: Reader) -> Response:
    form = Form(request.query_params)  # type: ignore[arg-type]
    where = _filter(request, form)
    page = form.integer("page", required=False, low=1, high=100_000) or 1
    sort = request.query_params.get("sort", "reported_at")
    if sort not in SORTS:
        form.fail("sort", i18n.gettext("Please choose one of the options."))
    direction = "asc" if request.query_params.get("dir") == "asc" else "desc"
    results = None
    if form.ok:
        results = zone.reads.search_incidents(where, page=page, page_size=PAGE_SIZE, sort=sort, direction=direction)
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    return render(
        request,
        "incidents/list.html",
        status_code=200 if form.ok else 422,
        results=results,
        errors=form.errors,
        query=query,
        params=request.query_params,
        sort=sort,
        direction=direction,
        window=_window(where) if form.ok else None,
        can_export=Role(user.role) in EXPORTERS,
    )


EXPORTERS = {Role.SUPERVISOR, Role.AUDITOR}
EXPORT_LIMIT = 10_000
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """A spreadsheet cell: text that a spreadsheet would run as a formula is quoted (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


@router.get("/incidents/export.csv")
def export_incidents(request: Request, zone: Zone, user: Exporter) -> Response:
    """The search's result as CSV (UTF-8 with a byte-order mark, so spreadsheets read Thai), in the user's language."""
    form = Form(request.query_params)  # type: ignore[arg-type]
    where = _filter(request, form)
    sort = request.query_params.get("sort", "reported_at")
    if sort not in SORTS:
        form.fail("sort", i18n.gettext("Please choose one of the options."))
    if not form.ok:
        message = "; ".join(form.errors.values())
        return Response(message, status_code=422, media_type="text/plain; charset=utf-8")
    direction = "asc" if request.query_params.get("dir") == "asc" else "desc"
    rows = zone.reads.export_incidents(where, limit=EXPORT_LIMIT, sort=sort, direction=direction)
    t = i18n.current()
    out = io.StringIO()
    writer = csv.writer(out)
    _ = i18n.gettext
    writer.writerow(
        [_("Reference"), _("Reported"), _("Priority"), _("Status"), _("Category"), _("Community"), _("Channel")]
        + [_("Location"), _("Description"), _("Outcome"), _("Closed")]
    )
    for i in rows:
        writer.writerow(
            _cell(v)
            for v in (
                i["reference"],
                t.datetime(i["reported_at"]),
                i["priority"],
                t.label_value(IncidentStatus, i["status"]),
                t.label_value(Category, i["category"]),
                t.label_value(Community, i["community"]),
                t.label_value(Channel, i["channel"]),
                i["location"],
                i["description"],
                t.label_value(Outcome, i["outcome"]) if i["outcome"] else "",
                t.datetime(i["closed_at"]) if i["closed_at"] else "",
            )
        )
    stamp = datetime.now(BANGKOK).strftime("%Y%m%d-%H%M")
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="incidents-{stamp}.csv"', "cache-control": NO_STORE},
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


# --- lifecycle ----------------------------------------------------------------------------------
def _version(form: Form) -> int | None:
    return form.version()


@router.post("/incidents/{reference}/triage")
async def triage(request: Request, zone: Zone, reference: str, user: Triager) -> Response:
    def command(form: Form, incident: dict[str, Any]) -> CommandResult | None:
        category, priority = form.choice("category", Category), form.choice("priority", Priority)
        reason, version = form.text("reason", required=True), _version(form)
        if not form.ok:
            return None
        return zone.app.triage_incident(
            incident["id"],
            category=category,
            priority=priority,
            reason=reason,
            by=user.user_id,
            expected_version=version,
        )

    return await _act(request, user, reference, "triage", command)


@router.post("/incidents/{reference}/dispatch")
async def dispatch(request: Request, reference: str, user: Dispatcher) -> Response:
    def command(form: Form, incident: dict[str, Any]) -> CommandResult | None:
        unit_ids, reassign, reason, version = (
            form.uuids("unit_id"),
            form.flag("reassign"),
            form.text("reason"),
            _version(form),
        )
        if not unit_ids:
            form.fail("unit_id", i18n.gettext("Please choose at least one unit."))
        if not form.ok:
            return None
        return container_of(request).app.dispatch_units(
            incident["id"], unit_ids, reassign=reassign, reason=reason, by=user.user_id, expected_version=version
        )

    return await _act(request, user, reference, "dispatch", command)


def _unit_step(step: str) -> Callable[..., Any]:
    async def progress(request: Request, reference: str, unit_id: UUID, user: Crew) -> Response:
        def command(form: Form, incident: dict[str, Any]) -> CommandResult | None:
            app = container_of(request).app
            if step == "en-route":
                return app.mark_en_route(incident["id"], unit_id, by=user.user_id)
            if step == "on-scene":
                return app.mark_on_scene(incident["id"], unit_id, by=user.user_id)
            return app.clear_unit(incident["id"], unit_id, reason=form.text("reason"), by=user.user_id)

        return await _act(request, user, reference, step, command)

    progress.__name__ = f"unit_{step.replace('-', '_')}"
    return progress


for _step in ("en-route", "on-scene", "clear"):
    router.add_api_route(f"/incidents/{{reference}}/units/{{unit_id}}/{_step}", _unit_step(_step), methods=["POST"])


@router.post("/incidents/{reference}/resolve")
async def resolve(request: Request, zone: Zone, reference: str, user: Resolver) -> Response:
    def command(form: Form, incident: dict[str, Any]) -> CommandResult | None:
        outcome, summary, version = form.choice("outcome", Outcome), form.text("summary", required=True), _version(form)
        if not form.ok:
            return None
        return zone.app.resolve_incident(
            incident["id"], outcome=outcome, summary=summary, by=user.user_id, expected_version=version
        )

    return await _act(request, user, reference, "resolve", command)


@router.post("/incidents/{reference}/close")
async def close(request: Request, zone: Zone, reference: str, user: Closer) -> Response:
    def command(form: Form, incident: dict[str, Any]) -> CommandResult | None:
        reason, version = form.text("reason"), _version(form)
        if not form.ok:
            return None
        return zone.app.close_incident(incident["id"], reason=reason, by=user.user_id, expected_version=version)

    return await _act(request, user, reference, "close", command)


@router.post("/incidents/{reference}/reopen")
async def reopen(request: Request, zone: Zone, reference: str, user: Reopener) -> Response:
    def command(form: Form, incident: dict[str, Any]) -> CommandResult | None:
        reason, version = form.text("reason", required=True), _version(form)
        if not form.ok:
            return None
        return zone.app.reopen_incident(incident["id"], reason=reason, by=user.user_id, expected_version=version)

    return await _act(request, user, reference, "reopen", command)


@router.post("/incidents/{reference}/cancel")
async def cancel(request: Request, zone: Zone, reference: str, user: Canceller) -> Response:
    def command(form: Form, incident: dict[str, Any]) -> CommandResult | None:
        why, note, version = form.choice("cancel_reason", CancelReason), form.text("note"), _version(form)
        original = form.text("duplicate_of").upper()
        duplicate_of = None
        if original:
            if not REFERENCE.match(original):
                form.fail("duplicate_of", i18n.gettext("Give the other incident's reference, like CR-2569-000123."))
            else:
                duplicate_of = Incident.id_for(original)
                if zone.reads.incident(duplicate_of) is None:
                    form.fail(
                        "duplicate_of", i18n.gettext("There is no incident %(reference)s.") % {"reference": original}
                    )
        if not form.ok:
            return None
        return zone.app.cancel_incident(
            incident["id"],
            cancel_reason=why,
            note=note,
            duplicate_of=duplicate_of,
            by=user.user_id,
            expected_version=version,
        )

    return await _act(request, user, reference, "cancel", command)


@router.post("/incidents/{reference}/notes")
async def add_note(request: Request, zone: Zone, reference: str, user: NoteTaker) -> Response:
    def command(form: Form, incident: dict[str, Any]) -> CommandResult | None:
        text = form.text("text", required=True)
        if not form.ok:
            return None
        return zone.app.add_incident_note(incident["id"], text=text, by=user.user_id)

    return await _act(request, user, reference, "note", command)
