"""Setting a camera up on its own page (issue 17): the camera's picture (an uploaded still, else its latest
alert's snapshot) with its zones drawn on it — drawn, moved and deleted with the mouse by a small script of our
own (web/static/js/zone-editor.js), or typed as coordinates — and its rules per zone with a schedule in words
and a sensitivity preset. Administrators change them (each change an event on the camera, in its history);
the camera's other viewers read them."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import cv2
import numpy as np
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, Response, StreamingResponse

from application.zone import CommandResult
from domain.camera_setup import RuleRequest, Schedule, Sensitivity, describe_rule, parse_zone, zone_line
from domain.cameras import Camera, CameraAlert
from domain.errors import DomainError
from domain.values import BANGKOK, DETECTION_ALERT_KINDS, AlertKind
from infrastructure.vision.clips import CLIP_FPS, ClipStore
from infrastructure.vision.recordings import analyse
from infrastructure.vision.snapshots import SnapshotStore
from infrastructure.vision.sources import SourceBroken
from web import i18n
from web.access import not_found
from web.deps import BoardViewer, CameraManager, CameraViewer, Zone, container_of
from web.forms import Form, submit
from web.pages import label, render
from web.routes.cameras import _allowed, _camera

router = APIRouter(include_in_schema=False)
BLANK_RULES = 2  # empty rows offered for new rules
MAX_STILL = 8 * 1024 * 1024


def _still(request: Request, camera_id: UUID):  # noqa: ANN202
    return container_of(request).settings.data_dir / "stills" / f"{camera_id}.jpg"


def _aggregate(request: Request, camera_id: UUID) -> Camera:
    camera = container_of(request).app.load(camera_id, fresh=True)
    if not isinstance(camera, Camera):
        raise not_found(i18n.gettext("There is no such camera."))
    return camera


def _rule_rows(camera: Camera) -> list[dict[str, Any]]:
    rows = []
    for rule in camera.rules:
        words = describe_rule(rule)
        rows.append({**asdict(words), "loiter": words.loiter_seconds or ""})
    blank = {"kind": "", "zone": "", "schedule": "all_day", "start": "", "end": "", "sensitivity": "normal"}
    return rows + [dict(blank) for _ in range(BLANK_RULES)]


def _page(
    request: Request,
    user: Any,
    camera_row: dict[str, Any],
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    zones_text: str | None = None,
    rule_rows: list[dict[str, Any]] | None = None,
    findings: list[dict[str, Any]] | None = None,
) -> Response:
    camera = _aggregate(request, camera_row["id"])
    kinds = [(k.value, label("alert_kind", k.value)) for k in AlertKind if k in DETECTION_ALERT_KINDS]
    return render(
        request,
        "cameras/setup.html",
        status_code=status_code,
        camera=camera_row,
        zones=camera.zones,
        zones_text=zones_text if zones_text is not None else "\n".join(zone_line(z) for z in camera.zones),
        rule_rows=rule_rows if rule_rows is not None else _rule_rows(camera),
        kinds=kinds,
        schedules=[s.value for s in Schedule],
        sensitivities=[s.value for s in Sensitivity],
        allowed=_allowed(user),
        errors=errors or {},
        findings=findings,
    )


@router.get("/cameras/{camera_id}/setup")
def setup_page(request: Request, camera_id: str, user: CameraViewer) -> Response:
    return _page(request, user, _camera(request, camera_id))


@router.get("/cameras/{camera_id}/picture.jpg")
def picture(request: Request, camera_id: str, user: CameraViewer) -> Response:
    """The picture zones are drawn on: an uploaded still, else the latest alert's snapshot."""
    camera = _camera(request, camera_id)
    still = _still(request, camera["id"])
    if still.is_file():
        return FileResponse(still, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
    reads = container_of(request).reads
    for alert in reads.camera_alerts_of(camera["id"]):
        if alert["snapshot_digest"]:
            try:
                path = SnapshotStore(container_of(request).settings.snapshot_dir).path(alert["snapshot_digest"])
            except (FileNotFoundError, ValueError):
                continue
            if path.is_file():
                return FileResponse(path, media_type="image/jpeg")
    raise not_found(i18n.gettext("No picture of this camera yet: upload a still."))


@router.post("/cameras/{camera_id}/still")
async def upload_still(request: Request, camera_id: str, user: CameraManager) -> Response:
    camera = await run_in_threadpool(_camera, request, camera_id)
    form = await request.form()
    upload = form.get("still")
    data = await upload.read(MAX_STILL + 1) if hasattr(upload, "read") else b""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if 0 < len(data) <= MAX_STILL else None
    if image is None:
        message = i18n.gettext("That file is not a picture (JPEG or PNG, at most 8 MB).")
        return await run_in_threadpool(lambda: _page(request, user, camera, status_code=422, errors={"still": message}))
    path = _still(request, camera["id"])
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return RedirectResponse(f"/cameras/{camera['id']}/setup", status_code=303)


@router.post("/cameras/{camera_id}/zones")
async def set_zones(request: Request, zone: Zone, camera_id: str, user: CameraManager) -> Response:
    camera = await run_in_threadpool(_camera, request, camera_id)

    def command(form: Form) -> CommandResult | None:
        lines = [line for line in form.raw("zones").splitlines() if line.strip()]
        try:
            zones = [parse_zone(line) for line in lines]
        except DomainError as error:
            form.fail("zones", i18n.current().error(error))
            return None
        return zone.app.set_camera_zones(camera["id"], zones=zones, by=user.user_id)

    form, result = await submit(request, command)
    if result is None:
        errors = form.errors if "zones" in form.errors else {"zones": next(iter(form.errors.values()), "")}
        return await run_in_threadpool(
            lambda: _page(request, user, camera, status_code=422, errors=errors, zones_text=form.raw("zones"))
        )
    return RedirectResponse(f"/cameras/{camera['id']}/setup#zones", status_code=303)


def _requests(form: Form) -> tuple[list[RuleRequest], list[dict[str, Any]]]:
    requests, rows = [], []
    for index in range(50):
        prefix = f"rule-{index}-"
        if f"{prefix}kind" not in form.data:
            break
        row = {
            name: form.raw(prefix + name).strip()
            for name in ("kind", "zone", "schedule", "start", "end", "sensitivity", "min_score", "min_area", "loiter")
        }
        rows.append(row)
        if not row["kind"]:
            continue  # an empty row: no rule
        advanced = row["sensitivity"] == "advanced"
        requests.append(
            RuleRequest(
                kind=row["kind"],
                zone=row["zone"],
                schedule=row["schedule"] or "all_day",
                start=row["start"],
                end=row["end"],
                sensitivity="normal" if advanced else row["sensitivity"],
                min_score=float(row["min_score"]) if advanced and row["min_score"] else None,
                min_area=float(row["min_area"]) if advanced and row["min_area"] else None,
                loiter_seconds=int(row["loiter"]) if row["loiter"] else None,
            )
        )
    return requests, rows


@router.post("/cameras/{camera_id}/rules")
async def set_rules(request: Request, zone: Zone, camera_id: str, user: CameraManager) -> Response:
    camera = await run_in_threadpool(_camera, request, camera_id)
    rows: list[dict[str, Any]] = []

    def command(form: Form) -> CommandResult | None:
        nonlocal rows
        try:
            requests, rows = _requests(form)
        except ValueError:
            form.fail("rules", i18n.gettext("Minimum score, area and loitering time are numbers."))
            return None
        try:
            rules = [r.to_rule() for r in requests]
            return zone.app.set_camera_rules(camera["id"], rules=rules, by=user.user_id)
        except DomainError as error:
            form.fail("rules", i18n.current().error(error))
            return None

    form, result = await submit(request, command)
    if result is None:
        errors = {"rules": next(iter(form.errors.values()), "")}
        return await run_in_threadpool(
            lambda: _page(request, user, camera, status_code=422, errors=errors, rule_rows=rows or None)
        )
    return RedirectResponse(f"/cameras/{camera['id']}/setup#rules", status_code=303)


@router.post("/cameras/{camera_id}/test")
async def test_rules(request: Request, camera_id: str, user: CameraManager) -> Response:
    """Which moments of the last minute of the camera's recording would have alerted under its zones and rules
    (nothing is raised). For cameras whose source is a recording; a live stream has no last minute kept here."""
    camera_row = await run_in_threadpool(_camera, request, camera_id)

    def run() -> Response:
        container = container_of(request)
        camera = _aggregate(request, camera_row["id"])
        source = Path(container.camera_secrets.full_source(camera.id, camera.source))
        try:
            result = analyse(
                container.app,
                SnapshotStore(container.settings.snapshot_dir),
                camera,
                source,
                raise_alerts=False,
                last=timedelta(minutes=1),
            )
        except SourceBroken as broken:
            message = i18n.gettext("The last minute cannot be tested: %(reason)s.") % {"reason": broken.reason}
            return _page(request, user, camera_row, status_code=422, errors={"test": message})
        assert result.start is not None
        findings = [
            {
                "at": found.at,
                "offset": int((found.at - result.start).total_seconds()),
                "kind": found.kind.value,
                "zone": found.zone,
                "score": found.score,
            }
            for found in result.alerts
        ]
        return _page(request, user, camera_row, findings=findings)

    return await run_in_threadpool(run)


REVIEW_LIMIT = 500


@router.get("/cameras/{camera_id}/review")
def review_page(
    request: Request, camera_id: str, user: CameraViewer, kind: str = "", zone: str = "", decided: str = ""
) -> Response:
    """A camera's alerts like Frigate's review: on a timeline per day (local time), filtered by kind, zone and
    whether someone decided on them; each links to the alert's page with its snapshot and history."""
    camera = _camera(request, camera_id)
    alerts = container_of(request).reads.camera_alerts_of(camera["id"], limit=REVIEW_LIMIT)
    kinds = sorted({a["kind"] for a in alerts})
    zones = sorted({a["zone"] for a in alerts if a["zone"]})
    decided_states = {"dismissed", "escalated"}

    def keep(alert: dict[str, Any]) -> bool:
        if kind and alert["kind"] != kind:
            return False
        if zone and alert["zone"] != zone:
            return False
        was_decided = alert["outcome"] is not None or alert["status"] in decided_states
        return not (decided == "yes" and not was_decided) and not (decided == "no" and was_decided)

    shown = [a for a in alerts if keep(a)]
    days: dict[str, list[dict[str, Any]]] = {}
    for alert in shown:
        local = alert["raised_at"].astimezone(BANGKOK)
        alert["x"] = round((local.hour * 3600 + local.minute * 60 + local.second) / 86400 * 1000, 1)
        days.setdefault(local.date().isoformat(), []).append(alert)
    return render(
        request,
        "cameras/review.html",
        camera=camera,
        days=sorted(days.items(), reverse=True),
        shown=shown,
        kinds=kinds,
        zones=zones,
        chosen={"kind": kind, "zone": zone, "decided": decided},
        allowed=_allowed(user),
    )


def _clip_path(request: Request, alert_id: str) -> Path:
    try:
        key = UUID(alert_id)
    except ValueError:
        raise not_found(i18n.gettext("There is no such alert.")) from None
    alert = container_of(request).app.load(key, fresh=True)
    digest = getattr(alert, "clip_digest", "") if isinstance(alert, CameraAlert) else ""
    if not digest:
        raise not_found(i18n.gettext("This alert has no clip."))
    path = ClipStore(container_of(request).settings.data_dir / "clips").path(digest)
    if not path.is_file():
        raise not_found(i18n.gettext("This alert has no clip."))
    return path


@router.get("/alerts/{alert_id}/clip.avi")
def clip_file(request: Request, alert_id: str, user: BoardViewer) -> Response:
    """The alert's clip as stored (Motion-JPEG AVI), to download."""
    return FileResponse(_clip_path(request, alert_id), media_type="video/x-msvideo")


@router.get("/alerts/{alert_id}/clip.mjpeg")
async def clip_stream(request: Request, alert_id: str, user: BoardViewer) -> Response:
    """The alert's clip played once at its own pace as a Motion-JPEG stream, which an <img> shows in any browser."""
    path = await run_in_threadpool(_clip_path, request, alert_id)

    async def frames():  # noqa: ANN202
        capture = cv2.VideoCapture(str(path))
        pause = 1 / (capture.get(cv2.CAP_PROP_FPS) or CLIP_FPS)
        try:
            while True:
                ok, image = capture.read()
                if not ok:
                    return
                ok, jpeg = cv2.imencode(".jpg", image)
                yield b"--frame\r\nContent-Type: image/jpeg\r\n\r\n" + jpeg.tobytes() + b"\r\n"
                await asyncio.sleep(pause)
        finally:
            capture.release()

    return StreamingResponse(frames(), media_type="multipart/x-mixed-replace; boundary=frame")
