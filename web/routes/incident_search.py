"""The incident list: search by status, community, category, priority, channel, days and words, sorted and paged,
and the search's result as CSV for supervisors and auditors."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from domain.values import BANGKOK, Category, Channel, Community, IncidentStatus, Outcome, Priority, Role
from infrastructure.readmodels.queries import SORTS, IncidentFilter
from web import i18n, parse
from web.deps import Exporter, Reader, Zone
from web.forms import Form
from web.incident_view import NO_STORE
from web.pages import render

# Registered before web/routes/incidents.py: /incidents/export.csv would otherwise be read as an incident's page.
router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25


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


def _search(request: Request) -> tuple[Form, IncidentFilter, str, str]:
    """The search the query string asks for: its form (with what was refused), filter, sort and direction."""
    form = Form(request.query_params)  # type: ignore[arg-type]
    where = _filter(request, form)
    sort = request.query_params.get("sort", "reported_at")
    if sort not in SORTS:
        form.fail("sort", i18n.gettext("Please choose one of the options."))
    direction = "asc" if request.query_params.get("dir") == "asc" else "desc"
    return form, where, sort, direction


@router.get("/incidents")
def incident_list(request: Request, zone: Zone, user: Reader) -> Response:
    form, where, sort, direction = _search(request)
    page = form.integer("page", required=False, low=1, high=100_000) or 1
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
    form, where, sort, direction = _search(request)
    if not form.ok:
        message = "; ".join(form.errors.values())
        return Response(message, status_code=422, media_type="text/plain; charset=utf-8")
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
