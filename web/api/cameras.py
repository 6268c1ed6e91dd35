"""Setting cameras up over the JSON API (scope `cameras`): the same application commands as the camera's page and
`ssz cameras add|zones|rules|show`, so the same checks and the same events, recorded as done by the key's account.
Administrators' keys change cameras; supervisors' keys read them. Bad input is a 422 naming what is wrong, and
nothing is saved."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Path, Response

from domain.camera_setup import RuleRequest, describe_rule
from domain.cameras import Camera
from domain.values import GeoPoint, Zone
from infrastructure.api_keys import ApiCaller
from web.api.camera_models import CameraIn, CameraList, CameraOut, ChangeOut, RuleOut, RulesIn, ZoneOut, ZonesIn
from web.api.models import CODE_PATTERN, PREFIX
from web.api.problems import ApiProblem, known_query_only, responses
from web.deps import ApiCameraManager, ApiCameraReader
from web.deps import Zone as Site

log = structlog.get_logger()
router = APIRouter(prefix=PREFIX, dependencies=[Depends(known_query_only)], tags=["cameras"])
Code = Annotated[str, Path(pattern=CODE_PATTERN, examples=["CAM-07"], description="The camera's code")]
WRITE = (400, 401, 403, 404, 409, 422, 429)


def _camera(site: Site, code: str) -> Camera:
    camera = site.app.load(Camera.id_for(code.upper()), fresh=True)
    if not isinstance(camera, Camera):
        raise ApiProblem(404, "not-found", "Not found", f"There is no camera {code.upper()}.")
    return camera


def _out(site: Site, camera: Camera, *, history: bool = False) -> CameraOut:
    changes = None
    if history:
        entries = site.app.history(camera.id)
        names = site.reads.user_names(e.actor_id for e in entries)
        changes = [
            ChangeOut(
                version=e.version,
                event=e.event,
                occurred_at=e.occurred_at,
                by=names.get(e.actor_id) or e.actor_role.value,
                role=e.actor_role.value,
            )
            for e in entries
        ]
    return CameraOut(
        id=camera.id,
        code=camera.code,
        name=camera.name,
        community=camera.community.value,
        owner=camera.owner.value,
        owner_name=camera.owner_name,
        retired=camera.retired,
        retention_days=camera.keeps_days,
        zones=[ZoneOut(name=z.name, name_th=z.name_th, points=list(z.points)) for z in camera.zones],
        rules=[RuleOut(**asdict(describe_rule(r))) for r in camera.rules],
        history=changes,
    )


@router.get(
    "/cameras",
    response_model=CameraList,
    summary="Cameras with their zones and rules",
    responses=responses(401, 403, 422, 429),
)
def list_cameras(site: Site, caller: ApiCameraReader) -> CameraList:
    """Every camera, in service first, by code."""
    cameras = (site.app.load(row["id"], fresh=True) for row in site.reads.cameras())
    return CameraList(items=[_out(site, c) for c in cameras if isinstance(c, Camera)])


@router.get(
    "/cameras/{code}",
    response_model=CameraOut,
    summary="A camera, its zones, rules and history",
    responses=responses(401, 403, 404, 422, 429),
)
def show_camera(code: Code, site: Site, caller: ApiCameraReader) -> CameraOut:
    return _out(site, _camera(site, code), history=True)


@router.post(
    "/cameras",
    status_code=201,
    response_model=CameraOut,
    summary="Register a camera (then give it zones and rules)",
    responses=responses(*WRITE),
)
def add_camera(body: CameraIn, site: Site, response: Response, caller: ApiCameraManager) -> CameraOut:
    position = GeoPoint(body.lat, body.lon) if body.lat is not None and body.lon is not None else None
    site.app.register_camera(
        code=body.code,
        name=body.name,
        community=body.community,
        owner=body.owner,
        owner_name=body.owner_name,
        consent_reference=body.consent_reference,
        source=body.source,
        position=position,
        by=caller.user_id,
    )
    camera = _camera(site, body.code)
    response.headers["location"] = f"{PREFIX}/cameras/{camera.code}"
    log.info("api.camera_registered", camera=camera.code, by=caller.username)
    return _out(site, camera, history=True)


def _change(site: Site, code: str, caller: ApiCaller, what: str, items: list[Any]) -> CameraOut:
    """Zones or rules: the camera's whole list replaced, by the key's account."""
    camera = _camera(site, code)
    change = site.app.set_camera_zones if what == "zones" else site.app.set_camera_rules
    change(camera.id, **{what: items}, by=caller.user_id)
    log.info("api.camera_set_up", camera=camera.code, what=what, count=len(items), by=caller.username)
    return _out(site, _camera(site, code), history=True)


@router.put(
    "/cameras/{code}/zones",
    response_model=CameraOut,
    summary="Set a camera's zones (replacing those it had)",
    responses=responses(*WRITE),
)
def set_zones(code: Code, body: ZonesIn, site: Site, caller: ApiCameraManager) -> CameraOut:
    zones = [Zone(z.name, tuple(z.points), name_th=z.name_th) for z in body.zones]
    return _change(site, code, caller, "zones", zones)


@router.put(
    "/cameras/{code}/rules",
    response_model=CameraOut,
    summary="Set a camera's detection rules (replacing those it had)",
    responses=responses(*WRITE),
)
def set_rules(code: Code, body: RulesIn, site: Site, caller: ApiCameraManager) -> CameraOut:
    rules = [RuleRequest(**r.model_dump(mode="json")).to_rule() for r in body.rules]
    return _change(site, code, caller, "rules", rules)
