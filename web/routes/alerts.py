"""Camera-alert triage: the alert page with its snapshot and timeline, the snapshot itself, and the decisions
(acknowledge, dismiss as a false alarm, escalate into an incident, close). Like the incident pages, each action
reads its form, calls one application command, waits (bounded) for the read models to show it, and redirects;
a refusal re-renders the page with the message (422), a decision someone else made first with the fresh state (409)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any
from uuid import UUID

import cv2
import numpy as np
import structlog
from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from application.errors import ConflictError
from application.zone import CommandResult
from domain.cameras import SELF_CLEARING_KINDS
from domain.errors import DomainError, TransitionRefused
from domain.permissions import PERMISSIONS
from domain.values import AlertKind, Category, FalseAlarmReason, Priority, Role
from infrastructure.vision.snapshots import SnapshotStore
from infrastructure.web_sessions import SignedIn
from web import i18n
from web.access import not_found
from web.deps import AlertCloser, AlertTriager, BoardViewer, Zone, container_of
from web.forms import Form, read_your_writes, submit
from web.pages import label, message_of, render
from web.timeline import timeline_in_words

log = structlog.get_logger()
router = APIRouter(include_in_schema=False)  # HTML pages: not part of the API description
WAITING = ("raised", "acknowledged")
DECIDED = ("dismissed", "escalated")
THUMBNAIL_WIDTH = 320  # the board's thumbnails are shown at most 10rem wide; twice that for sharp wall screens


# What an escalated alert most likely is: the form starts there, the dispatcher decides.
SUGGESTED: dict[str, tuple[Category, Priority]] = {
    AlertKind.PERSON_AT_NIGHT.value: (Category.SUSPICIOUS_PERSON, Priority.P2),
    AlertKind.PERSON.value: (Category.SUSPICIOUS_PERSON, Priority.P3),
    AlertKind.LOITERING.value: (Category.SUSPICIOUS_PERSON, Priority.P3),
    AlertKind.MOTION_IN_ZONE.value: (Category.SUSPICIOUS_PERSON, Priority.P3),
    AlertKind.TAMPERED.value: (Category.VANDALISM, Priority.P2),
    AlertKind.OFFLINE.value: (Category.VANDALISM, Priority.P3),
}


def _alert(request: Request, alert_id: str) -> dict[str, Any]:
    try:
        key: UUID | None = UUID(alert_id.strip())
    except ValueError:
        key = None
    row = container_of(request).reads.camera_alert(key) if key is not None else None
    if row is None:
        raise not_found(i18n.gettext("There is no such camera alert."))
    return row


def closable(alert: dict[str, Any]) -> bool:
    """Decided alerts, and tamper/offline alerts that cleared by themselves (the domain's rule, for the buttons)."""
    return alert["status"] in DECIDED or (
        alert["status"] in WAITING and alert["kind"] in {k.value for k in SELF_CLEARING_KINDS}
    )


def _detail(
    request: Request,
    user: SignedIn,
    alert: dict[str, Any],
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    open_form: str = "",
    banner: str = "",
    values: dict[str, str] | None = None,
) -> Response:
    reads = container_of(request).reads
    rows = reads.timeline(alert["id"])
    names = reads.user_names(r["actor_id"] for r in rows)
    incident = reads.incident(alert["incident_id"]) if alert["incident_id"] else None
    allowed = {a.name for a in PERMISSIONS[Role(user.role)]}
    return render(
        request,
        "alerts/detail.html",
        status_code=status_code,
        alert=alert,
        incident=incident,
        timeline=timeline_in_words(rows, names, {}),
        allowed=allowed,
        errors=errors or {},
        open_form=open_form,
        banner=banner,
        values=values or {},
        closable=closable(alert),
        clip=getattr(container_of(request).app.load(alert["id"], fresh=False), "clip_digest", ""),
    )


async def _conflict(request: Request, user: SignedIn, alert_id: str, error: DomainError) -> Response:
    """Someone else decided first (or the alert has moved on): say so, and show how it stands now."""
    container = container_of(request)
    await read_your_writes(container)
    fresh = await run_in_threadpool(_alert, request, alert_id)
    return await run_in_threadpool(lambda: _detail(request, user, fresh, status_code=409, banner=message_of(error)))


async def _act(
    request: Request,
    user: SignedIn,
    alert_id: str,
    form_name: str,
    command: Callable[[Form, dict[str, Any]], CommandResult | None],
) -> Response:
    alert = await run_in_threadpool(_alert, request, alert_id)
    try:
        form, result = await submit(request, lambda f: command(f, alert), passes=(ConflictError, TransitionRefused))
    except (ConflictError, TransitionRefused) as error:
        return await _conflict(request, user, alert_id, error)
    if result is None:
        values = {k: form.raw(k) for k in ("reason", "note")}
        return await run_in_threadpool(
            lambda: _detail(
                request, user, alert, status_code=422, errors=form.errors, open_form=form_name, values=values
            )
        )
    return RedirectResponse("/board" if form.raw("next") == "/board" else f"/alerts/{alert['id']}", status_code=303)


# --- reading -----------------------------------------------------------------------------------
@router.get("/alerts/{alert_id}")
def alert_page(request: Request, alert_id: str, user: BoardViewer) -> Response:
    return _detail(request, user, _alert(request, alert_id))


@router.get("/alerts/{alert_id}/snapshot.jpg")
def snapshot(request: Request, zone: Zone, alert_id: str, user: BoardViewer, size: str = "") -> Response:
    """The alert's picture, found by the digest its read model recorded (never by a path from the URL).
    `?size=thumb` gives a small copy for the board."""
    alert = _alert(request, alert_id)
    digest = alert["snapshot_digest"]
    if not digest:
        raise not_found(i18n.gettext("This alert came without a snapshot (the camera was offline)."))
    try:
        path = SnapshotStore(zone.settings.snapshot_dir).path(digest)
        data = path.read_bytes()
    except (ValueError, OSError):
        log.warning("alert.snapshot_missing", alert_id=str(alert["id"]), digest=digest)
        raise not_found(i18n.gettext("The snapshot of this alert is missing from the snapshot store.")) from None
    if hashlib.sha256(data).hexdigest() != digest:
        log.error("alert.snapshot_damaged", alert_id=str(alert["id"]), digest=digest)
        raise HTTPException(
            status_code=500,
            detail=i18n.gettext("The snapshot of this alert is damaged: its content no longer matches its digest."),
        )
    thumb = size == "thumb"
    etag = f'"{digest[:32]}{"-t" if thumb else ""}"'
    headers = {"cache-control": "private, max-age=86400", "etag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(_thumbnail(path, digest) if thumb else data, media_type="image/jpeg", headers=headers)


@lru_cache(maxsize=512)
def _thumbnail(path: Path, digest: str) -> bytes:
    data = path.read_bytes()
    frame = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if frame is None or frame.shape[1] <= THUMBNAIL_WIDTH:
        return data
    height = max(1, round(frame.shape[0] * THUMBNAIL_WIDTH / frame.shape[1]))
    small = cv2.resize(frame, (THUMBNAIL_WIDTH, height), interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return encoded.tobytes() if ok else data


# --- deciding ------------------------------------------------------------------------------------
@router.post("/alerts/{alert_id}/acknowledge")
async def acknowledge(request: Request, zone: Zone, alert_id: str, user: AlertTriager) -> Response:
    def command(form: Form, alert: dict[str, Any]) -> CommandResult | None:
        return zone.app.acknowledge_alert(alert["id"], by=user.user_id)

    return await _act(request, user, alert_id, "acknowledge", command)


@router.post("/alerts/{alert_id}/dismiss")
async def dismiss(request: Request, zone: Zone, alert_id: str, user: AlertTriager) -> Response:
    def command(form: Form, alert: dict[str, Any]) -> CommandResult | None:
        reason, note = form.choice("reason", FalseAlarmReason), form.text("note")
        if not form.ok:
            return None
        return zone.app.dismiss_alert(alert["id"], reason=reason, note=note, by=user.user_id)

    return await _act(request, user, alert_id, "dismiss", command)


@router.post("/alerts/{alert_id}/close")
async def close(request: Request, zone: Zone, alert_id: str, user: AlertCloser) -> Response:
    def command(form: Form, alert: dict[str, Any]) -> CommandResult | None:
        reason = form.text("reason")
        if not form.ok:
            return None
        return zone.app.close_alert(alert["id"], reason=reason, by=user.user_id)

    return await _act(request, user, alert_id, "close", command)


# --- escalating: a prefilled incident form --------------------------------------------------------
def _camera_name(request: Request, alert: dict[str, Any]) -> str:
    """Where the camera looks (its registered name, e.g. "Clock tower east"): the best start for a location."""
    camera = container_of(request).reads.camera(alert["camera_id"])
    return camera["name"] if camera else ""


def _prefill(alert: dict[str, Any], place: str = "") -> dict[str, str]:
    category, priority = SUGGESTED.get(alert["kind"], (Category.OTHER, Priority.P3))
    camera = (
        i18n.gettext("camera %(camera)s, zone %(zone)s") if alert["zone"] else i18n.gettext("camera %(camera)s")
    ) % {"camera": alert["camera_code"], "zone": alert["zone"]}
    location = f"{place} ({camera})" if place else camera[:1].upper() + camera[1:]
    description = i18n.gettext("Camera alert: %(kind)s seen by camera %(camera)s (score %(score)s %%).") % {
        "kind": label("alert_kind", alert["kind"]),
        "camera": alert["camera_code"],
        "score": i18n.current().number(round(alert["score"] * 100)),
    }
    if alert["detail"]:
        description += " " + alert["detail"]
    return {"category": category.value, "priority": priority.value, "location": location, "description": description}


def _escalate_form(
    request: Request,
    alert: dict[str, Any],
    values: dict[str, str],
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
) -> Response:
    return render(
        request, "alerts/escalate.html", status_code=status_code, alert=alert, values=values, errors=errors or {}
    )


@router.get("/alerts/{alert_id}/escalate")
def escalate_form(request: Request, alert_id: str, user: AlertTriager) -> Response:
    alert = _alert(request, alert_id)
    if alert["status"] not in WAITING:  # decided meanwhile: the alert page says how
        return RedirectResponse(f"/alerts/{alert['id']}", status_code=303)
    return _escalate_form(request, alert, _prefill(alert, _camera_name(request, alert)))


@router.post("/alerts/{alert_id}/escalate")
async def escalate(request: Request, zone: Zone, alert_id: str, user: AlertTriager) -> Response:
    form = Form(await request.form())
    alert = await run_in_threadpool(_alert, request, alert_id)
    container = zone
    fields = dict(
        category=form.choice("category", Category),
        priority=form.choice("priority", Priority),
        location=form.text("location", required=True),
        description=form.text("description", required=True),
    )
    result = None
    if form.ok:
        try:
            result = await run_in_threadpool(
                lambda: container.app.escalate_alert(alert["id"], **fields, by=user.user_id)
            )
        except (ConflictError, TransitionRefused) as error:
            return await _conflict(request, user, alert_id, error)
        except DomainError as error:
            form.refuse(error)
    if result is None:
        values = {k: form.raw(k) for k in ("category", "priority", "location", "description")}
        return await run_in_threadpool(
            lambda: _escalate_form(request, alert, values, status_code=422, errors=form.errors)
        )
    await read_your_writes(container, result.notification_id)
    reference = (await run_in_threadpool(container.reads.incident, result.id) or {}).get("reference")
    return RedirectResponse(f"/incidents/{reference}" if reference else f"/alerts/{alert['id']}", status_code=303)
