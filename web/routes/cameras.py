"""The camera registry: every camera with its owner partner, consent, zones, detection schedule and health;
a camera's own page with its recent alerts and its history; registering and retiring cameras (administrators).

A camera's video source may carry a password: the log records the source without it (the password is kept
encrypted outside the log), the read model keeps the source masked, and only those who manage cameras see even that."""

from __future__ import annotations

from datetime import time
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from application.zone import CommandResult
from domain.cameras import Camera
from domain.permissions import PERMISSIONS, Action
from domain.values import Community, PartnerSector, Role
from infrastructure.web_sessions import SignedIn
from web import i18n
from web.access import Guard, not_found, roles_for
from web.deps import CameraManager, CameraViewer, Zone, container_of
from web.forms import Form, submit
from web.pages import label, render
from web.timeline import plain, timeline_in_words

router = APIRouter(include_in_schema=False)  # HTML pages: not part of the API description
# Who manages cameras, who triages their alerts (and so needs their health), and the auditors, who read everything.
CAMERAS = Guard(roles_for(Action.MANAGE_CAMERAS, Action.TRIAGE_ALERT) | {Role.AUDITOR})
FORM_FIELDS = (
    "code",
    "name",
    "community",
    "owner",
    "owner_name",
    "consent_reference",
    "lat",
    "lon",
)  # not the source: never echoed


def _sector(value: str) -> str:
    return i18n.current().label_value(PartnerSector, value)


def _schedule(rule: dict[str, Any]) -> str:
    """When a detection rule is on, in local time: "18:00–06:00 น." / "all day"."""
    if rule["start"] == rule["end"]:
        return i18n.gettext("all day")
    t = i18n.current()
    start, end = t.time(time.fromisoformat(rule["start"])), t.time(time.fromisoformat(rule["end"]))
    return f"{start.removesuffix(' น.')}–{end}"


def _camera(request: Request, camera_id: str) -> dict[str, Any]:
    """The camera of a URL, by id or by code (CAM-07); an unknown one is a 404."""
    value = camera_id.strip()
    try:
        key = UUID(value)
    except ValueError:
        key = Camera.id_for(value.upper()) if 0 < len(value) <= 24 else None
    row = container_of(request).reads.camera(key) if key is not None else None
    if row is None:
        raise not_found(i18n.gettext("There is no such camera."))
    return row


def no_worker_running(cameras: list[dict[str, Any]]) -> bool:
    """No camera in service is watched by a worker: one banner says so, instead of a red "No worker" on each."""
    in_service = [c for c in cameras if not c["retired"]]
    idle = bool(in_service) and not any(c["health"]["watched"] for c in in_service)
    for c in in_service:
        c["health"]["all_idle"] = idle
    return idle


def _allowed(user: SignedIn) -> set[str]:
    return {a.name for a in PERMISSIONS[Role(user.role)]}


def _page(
    request: Request,
    user: SignedIn,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    cameras = container_of(request).reads.cameras()
    return render(
        request,
        "cameras/list.html",
        status_code=status_code,
        cameras=cameras,
        no_worker_running=no_worker_running(cameras),
        allowed=_allowed(user),
        errors=errors or {},
        values=values or {},
        sector=_sector,
        schedule=_schedule,
        sectors=i18n.current().choices(PartnerSector),
    )


def _words(row: dict[str, Any]) -> str | None:
    """A Camera event in words (other aggregates' events are worded by web.timeline). Never its source."""
    _ = i18n.gettext
    p = plain(row["params"])
    if row["event"] == "Registered":
        return _("Registered: %(name)s, %(community)s; owner %(owner)s (%(sector)s), consent %(consent)s") % {
            "name": p.get("name", ""),
            "community": label("community", p.get("community")),
            "owner": p.get("owner_name", ""),
            "sector": _sector(p.get("owner")),
            "consent": p.get("consent_reference", ""),
        }
    if row["event"] == "ZonesSet":
        names = ", ".join(z.get("name", "") for z in p.get("zones") or []) or _("the whole picture")
        return _("Detection zones set: %(zones)s") % {"zones": names}
    if row["event"] == "RulesSet":
        rules = "; ".join(f"{label('alert_kind', r.get('kind'))} {_schedule(r)}" for r in p.get("rules") or [])
        return _("Detection rules set: %(rules)s") % {"rules": rules or _("none (tamper checks only)")}
    if row["event"] == "Retired":
        return _("Retired")
    if row["event"] == "RetentionSet":
        return _("Snapshots kept %(days)s days") % {"days": p.get("days", "")}
    return None


def _detail(
    request: Request,
    user: SignedIn,
    camera: dict[str, Any],
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
) -> Response:
    reads = container_of(request).reads
    rows = reads.timeline(camera["id"])
    timeline = timeline_in_words(rows, reads.user_names(r["actor_id"] for r in rows), {})
    for entry in timeline:
        entry["text"] = (_words(entry) if entry["aggregate"] == "Camera" else None) or entry["text"]
    return render(
        request,
        "cameras/detail.html",
        status_code=status_code,
        camera=camera,
        alerts=reads.camera_alerts_of(camera["id"]),
        timeline=timeline,
        allowed=_allowed(user),
        errors=errors or {},
        sector=_sector,
        schedule=_schedule,
    )


@router.get("/cameras")
def cameras_page(request: Request, user: CameraViewer) -> Response:
    return _page(request, user)


@router.get("/cameras/{camera_id}")
def camera_page(request: Request, camera_id: str, user: CameraViewer) -> Response:
    return _detail(request, user, _camera(request, camera_id))


@router.post("/cameras")
async def register_camera(request: Request, zone: Zone, user: CameraManager) -> Response:
    def command(form: Form) -> CommandResult | None:
        fields = dict(
            code=form.text("code", required=True),
            name=form.text("name", required=True),
            community=form.choice("community", Community),
            owner=form.choice("owner", PartnerSector),
            owner_name=form.text("owner_name", required=True),
            consent_reference=form.text("consent_reference", required=True),
            source=form.text("source", required=True),
        )
        position = form.position()
        if not form.ok:
            return None
        return zone.app.register_camera(**fields, position=position, by=user.user_id)

    form, result = await submit(request, command)
    if result is None:
        values = {k: form.raw(k) for k in FORM_FIELDS}
        return await run_in_threadpool(lambda: _page(request, user, status_code=422, errors=form.errors, values=values))
    return RedirectResponse(f"/cameras/{result.id}", status_code=303)


@router.post("/cameras/{camera_id}/retire")
async def retire_camera(request: Request, zone: Zone, camera_id: str, user: CameraManager) -> Response:
    camera = await run_in_threadpool(_camera, request, camera_id)

    def command(form: Form) -> CommandResult | None:
        reason = form.text("reason", required=True)
        return zone.app.retire_camera(camera["id"], reason=reason, by=user.user_id) if form.ok else None

    form, result = await submit(request, command)
    if result is None:
        return await run_in_threadpool(lambda: _detail(request, user, camera, status_code=422, errors=form.errors))
    return RedirectResponse(f"/cameras/{camera['id']}", status_code=303)
