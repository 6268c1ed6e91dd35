"""The shift handover: the outgoing supervisor reads what happened in the shift and writes a briefing (an event);
the incoming supervisor reads it and acknowledges it (an event). Both pages print on A4."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from domain.errors import DomainError
from domain.handover import check_shift
from infrastructure.web_sessions import SignedIn
from web import i18n, parse
from web.access import not_found
from web.deps import Handover, Zone
from web.forms import Form, submit
from web.pages import render

router = APIRouter(include_in_schema=False)  # HTML pages: not part of the API description


def _page(request: Request, zone: Zone, user: SignedIn, *, status_code: int = 200, **ctx: Any) -> Response:
    now = datetime.now(UTC)
    start = zone.reads.shift_start(now)
    ctx.setdefault("errors", {})
    ctx.setdefault("briefing", "")
    return render(
        request,
        "handover/page.html",
        status_code=status_code,
        report=zone.reads.shift_report(start, now),
        handovers=zone.reads.handovers(limit=10),
        me=user.user_id,
        **ctx,
    )


@router.get("/handover")
def handover_page(request: Request, zone: Zone, user: Handover) -> Response:
    return _page(request, zone, user)


def _instant(form: Form, name: str) -> datetime | None:
    try:
        return parse.local_instant(form.raw(name))
    except parse.Unreadable as error:
        form.fail(name, error.message)
        return None


@router.post("/handover")
async def hand_over(request: Request, zone: Zone, user: Handover) -> Response:
    def command(form: Form) -> Any:
        start, end = _instant(form, "shift_from"), _instant(form, "shift_to")
        briefing = form.raw("briefing").strip()
        if not briefing:
            form.fail(
                "briefing",
                i18n.gettext("Write a briefing for the incoming supervisor, even if it is only “nothing to report”."),
            )
        if not form.ok or start is None or end is None:
            return None
        try:
            check_shift(start, end)  # before the shift's report is read: its cost grows with the shift's length
        except DomainError as error:
            form.refuse(error)
            return None
        report = zone.reads.shift_report(start, end)
        return zone.app.hand_over_shift(
            shift_from=start, shift_to=end, briefing=briefing, summary=report.summary(), by=user.user_id
        )

    form, result = await submit(request, command)
    if result is None:
        return await run_in_threadpool(
            lambda: _page(request, zone, user, status_code=422, errors=form.errors, briefing=form.raw("briefing"))
        )
    return RedirectResponse(f"/handover/{result.id}", status_code=303)


def _handover(zone: Zone, handover_id: UUID) -> dict[str, Any]:
    row = zone.reads.handover(handover_id)
    if row is None:
        raise not_found(i18n.gettext("There is no such handover."))
    return row


@router.get("/handover/{handover_id}")
def handover_record(request: Request, zone: Zone, handover_id: UUID, user: Handover) -> Response:
    return render(request, "handover/record.html", handover=_handover(zone, handover_id), me=user.user_id, errors={})


@router.post("/handover/{handover_id}/acknowledge")
async def acknowledge(request: Request, zone: Zone, handover_id: UUID, user: Handover) -> Response:
    await run_in_threadpool(_handover, zone, handover_id)
    form, result = await submit(
        request, lambda f: zone.app.acknowledge_handover(handover_id, note=f.raw("note"), by=user.user_id)
    )
    if result is None:
        row = await run_in_threadpool(_handover, zone, handover_id)
        return render(
            request, "handover/record.html", status_code=422, handover=row, me=user.user_id, errors=form.errors
        )
    return RedirectResponse(f"/handover/{handover_id}", status_code=303)
