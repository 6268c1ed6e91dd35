"""Red boxes: the officer's check-in through a box's QR code, the printable A4 sheet that carries it, and the
supervisors' pages — today's gaps (boxes late or with missed night slots, visits to look into, refused
codes) and patrol coverage over recent nights; a visit's own page, where a supervisor can void it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import segno
from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from application.zone import CommandResult
from domain.errors import TokenRefused
from domain.permissions import PERMISSIONS
from domain.values import BANGKOK, Community, Role
from infrastructure.readmodels.patrol_queries import NIGHT_SLOTS_EVENING, NIGHT_SLOTS_MORNING
from infrastructure.web_sessions import SignedIn
from web import i18n, parse
from web.access import not_found
from web.deps import Patrol, RedBoxManager, RedBoxWatcher, VisitReader, Voider, Zone, container_of
from web.forms import Form, read_your_writes, submit
from web.pages import message_of, render
from web.timeline import flag_reason, timeline_in_words

router = APIRouter(include_in_schema=False)  # HTML pages: not part of the API description
MAX_NIGHTS = 31
MAX_ECHOED_TOKEN = 64  # a signed token is at most 23 characters


def _allowed(user: SignedIn) -> set[str]:
    return {a.name for a in PERMISSIONS[Role(user.role)]}


def _box(request: Request, code: str) -> dict[str, Any]:
    box = container_of(request).reads.red_box_by_code(code) if len(code) <= 24 else None
    if box is None:
        raise not_found(i18n.gettext("There is no red box %(code)s.") % {"code": code[:24]})
    return box


def _day(value: str | None, today: date) -> date:
    try:
        return parse.day(value) if value else today
    except parse.Unreadable:
        raise not_found(i18n.gettext("There is no such day.")) from None


def _today(now: datetime) -> date:
    return now.astimezone(BANGKOK).date()


# --- the officer at the box ------------------------------------------------------------------------------
def _check_in_page(
    request: Request,
    box: dict[str, Any] | None,
    token: str,
    *,
    status_code: int = 200,
    refusal: str = "",
    recorded: bool = False,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    code: str = "",
) -> Response:
    return render(
        request,
        "redboxes/check_in.html",
        status_code=status_code,
        box=box,
        token=token,
        refusal=refusal,
        recorded=recorded,
        errors=errors or {},
        values=values or {},
        code=code,
    )


@router.get("/checkin/{code}")
def check_in_page(request: Request, code: str, user: Patrol, t: str = "") -> Response:
    """What the phone opens from the QR code. A refused code is said plainly here, with a button that posts it as
    scanned, so that the check-in records the refusal for the supervisor (a GET records nothing)."""
    container = container_of(request)
    try:
        container.app.scan_code(code=code, token=t, by=user.user_id)
    except TokenRefused as error:
        echoed = t if len(t) <= MAX_ECHOED_TOKEN and t.isprintable() else ""  # none this system signed: refused alike
        return _check_in_page(
            request,
            container.reads.red_box_by_code(code[:24]),
            echoed,
            status_code=422,
            refusal=message_of(error),
            code=code,
        )
    return _check_in_page(request, container.reads.red_box_by_code(code), t)


@router.post("/checkin/{code}")
async def check_in(request: Request, code: str, user: Patrol) -> Response:
    container = container_of(request)

    def command(form: Form) -> CommandResult | None:
        token, observation, position = form.text("t"), form.text("observation"), form.position()
        if not form.ok:
            return None
        return container.app.check_in(
            code=code, token=token, by=user.user_id, position=position, observation=observation
        )

    try:
        form, result = await submit(request, command, passes=(TokenRefused,))
    except TokenRefused as error:
        await read_your_writes(container)  # once told "reported", the supervisor sees the attempt
        box = await run_in_threadpool(container.reads.red_box_by_code, code[:24])
        return _check_in_page(request, box, "", status_code=422, refusal=message_of(error), recorded=True)
    if result is None:
        box = await run_in_threadpool(_box, request, code)
        values = {k: form.raw(k) for k in ("observation", "lat", "lon")}
        return _check_in_page(request, box, form.raw("t"), status_code=422, errors=form.errors, values=values)
    return RedirectResponse(f"/visits/{result.id}?checked_in=1", status_code=303)


# --- a visit ---------------------------------------------------------------------------------------------
def _visit_page(
    request: Request,
    user: SignedIn,
    visit_id: UUID,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    reads = container_of(request).reads
    visit = reads.visit(visit_id)
    if visit is None:
        raise not_found(i18n.gettext("There is no such visit."))
    rows = reads.timeline(visit_id)
    names = reads.user_names({r["actor_id"] for r in rows})
    return render(
        request,
        "redboxes/visit.html",
        status_code=status_code,
        visit=visit,
        box=reads.red_box_by_code(visit["box_code"]),
        timeline=timeline_in_words(rows, names, {}),
        flag_reason=flag_reason,
        allowed=_allowed(user),
        errors=errors or {},
        values=values or {},
        checked_in=request.query_params.get("checked_in") == "1",
    )


@router.get("/visits/{visit_id}")
def visit_page(request: Request, visit_id: UUID, user: VisitReader) -> Response:
    return _visit_page(request, user, visit_id)


async def _visit_command(request: Request, user: SignedIn, visit_id: UUID, command: Any) -> Response:
    form, result = await submit(request, command)
    if result is None:
        values = {k: form.raw(k) for k in ("reason", "observation")}
        return await run_in_threadpool(
            lambda: _visit_page(request, user, visit_id, status_code=422, errors=form.errors, values=values)
        )
    return RedirectResponse(f"/visits/{visit_id}", status_code=303)


@router.post("/visits/{visit_id}/void")
async def void_visit(request: Request, zone: Zone, visit_id: UUID, user: Voider) -> Response:
    def command(form: Form) -> CommandResult | None:
        reason = form.text("reason", required=True)
        return zone.app.void_visit(visit_id, reason=reason, by=user.user_id) if form.ok else None

    return await _visit_command(request, user, visit_id, command)


@router.post("/visits/{visit_id}/observations")
async def add_observation(request: Request, zone: Zone, visit_id: UUID, user: Patrol) -> Response:
    def command(form: Form) -> CommandResult | None:
        text = form.text("observation", required=True)
        return zone.app.add_visit_observation(visit_id, text=text, by=user.user_id) if form.ok else None

    return await _visit_command(request, user, visit_id, command)


# --- the supervisors' pages -------------------------------------------------------------------------------
def _boxes_page(
    request: Request,
    user: SignedIn,
    day_value: str | None = None,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    reads = container_of(request).reads
    now = container_of(request).app.clock()
    today = _today(now)
    day = _day(day_value, today)
    start = datetime.combine(day, datetime.min.time(), tzinfo=BANGKOK)
    coverage = reads.coverage_of_day(day, now)
    return render(
        request,
        "redboxes/list.html",
        status_code=status_code,
        day=day,
        today=today,
        now=now,
        flag_reason=flag_reason,
        previous_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1) if day < today else None,
        coverage=coverage,
        late=[c for c in coverage if c.late],
        missed=[c for c in coverage if c.missed],
        visits=reads.visits_between(start, start + timedelta(days=1)),
        refused=reads.refused_check_ins(start, start + timedelta(days=1)),
        night_slots=set(NIGHT_SLOTS_EVENING + NIGHT_SLOTS_MORNING),
        allowed=_allowed(user),
        errors=errors or {},
        values=values or {},
        communities=list(Community),
    )


@router.get("/red-boxes")
def red_boxes_page(request: Request, user: RedBoxWatcher, day: str = "") -> Response:
    return _boxes_page(request, user, day or None)


@router.post("/red-boxes")
async def register_red_box(request: Request, zone: Zone, user: RedBoxManager) -> Response:
    def command(form: Form) -> CommandResult | None:
        code, name_th, name_en = (
            form.text("code", required=True),
            form.text("name_th", required=True),
            form.text("name_en", required=True),
        )
        community, position = form.choice("community", Community), form.position(required=True)
        if not form.ok:
            return None
        return zone.app.register_red_box(
            code=code, name_th=name_th, name_en=name_en, community=community, position=position, by=user.user_id
        )

    form, result = await submit(request, command)
    if result is None:
        values = {k: form.raw(k) for k in ("code", "name_th", "name_en", "community", "lat", "lon")}
        return await run_in_threadpool(
            lambda: _boxes_page(request, user, status_code=422, errors=form.errors, values=values)
        )
    return RedirectResponse("/red-boxes", status_code=303)


@router.post("/red-boxes/{code}/rotate")
async def rotate_code(request: Request, zone: Zone, code: str, user: RedBoxManager) -> Response:
    box = await run_in_threadpool(_box, request, code)

    def command(form: Form) -> CommandResult | None:
        reason = form.text("reason", required=True)
        return zone.app.rotate_red_box_token(box["id"], reason=reason, by=user.user_id) if form.ok else None

    form, result = await submit(request, command)
    if result is None:
        errors = {f"rotate:{box['code']}": message for message in form.errors.values()}
        return await run_in_threadpool(lambda: _boxes_page(request, user, status_code=422, errors=errors))
    return RedirectResponse(f"/red-boxes/{box['code']}/sheet", status_code=303)


@router.get("/red-boxes/{code}/sheet")
def sheet(request: Request, zone: Zone, code: str, user: RedBoxManager) -> Response:
    """The A4 sheet to print and post in the box: the QR code of its current token, its names in Thai and English."""
    box = zone.app.red_box_code(_box(request, code)["id"])
    base = zone.settings.public_url or str(request.base_url)
    url = f"{base.rstrip('/')}/checkin/{box.code}?t={box.token}"
    qr = segno.make(url, error="m").svg_inline(scale=8, border=0, omitsize=True, title=box.code)
    return render(
        request,
        "redboxes/sheet.html",
        box=box,
        url=url,
        qr=qr,
        printed_at=zone.app.clock(),
        public_url=zone.settings.public_url,
        base=base.rstrip("/"),
    )


@router.get("/coverage")
def coverage_page(request: Request, zone: Zone, user: RedBoxWatcher, nights: str = "7", until: str = "") -> Response:
    """Night coverage (KPIS.md): for each box and night, which of the six night slots had a counting visit."""
    now = zone.app.clock()
    last = _day(until or None, _today(now))
    try:
        nights = parse.whole_number(nights or "7", low=1, high=MAX_NIGHTS)
    except parse.Unreadable as error:
        raise HTTPException(status_code=422, detail=error.message) from None
    first = last - timedelta(days=nights - 1)
    rows = zone.reads.night_coverage(first, last, now)
    covered, slots = sum(r.covered for r in rows), sum(r.slots for r in rows)
    return render(
        request,
        "redboxes/coverage.html",
        rows=rows,
        first=first,
        last=last,
        nights=nights,
        share=covered / slots if slots else None,
        covered=covered,
        slots=slots,
        slot_hours=[18, 20, 22, 0, 2, 4],
    )
