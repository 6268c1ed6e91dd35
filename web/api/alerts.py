"""Camera alerts over the JSON API, for camera workers that run elsewhere (a partner's video analytics).

Raised as the system actor, like the zone's own camera workers (only the system may raise alerts); the log
line of the request says which integration raised it. The snapshot is either already in the shared
snapshot store (its digest), or sent with the alert (a JPEG, base64) and stored by its digest."""

from __future__ import annotations

import base64
import binascii
import uuid

import structlog
from fastapi import APIRouter, Depends, Request, Response

from application.cameras import RaisedAlert
from application.errors import ConflictError, NotFound
from domain.cameras import Camera
from domain.errors import InvalidInput
from domain.incident import NAMESPACE
from domain.patrol import check_code
from domain.values import SYSTEM_USER_ID
from infrastructure.vision.snapshots import SnapshotStore
from web.api.incidents import IdempotencyKey
from web.api.models import PREFIX, CameraAlertIn, CameraAlertOut
from web.api.problems import ApiProblem, known_query_only, responses
from web.deps import ApiAlertRaiser, Zone, container_of

log = structlog.get_logger()
router = APIRouter(prefix=PREFIX, dependencies=[Depends(known_query_only)])


def _out(alert: RaisedAlert) -> CameraAlertOut:
    return CameraAlertOut(
        id=alert.id,
        camera_code=alert.camera_code,
        kind=alert.kind,
        score=alert.score,
        frame_at=alert.raised_at,
        snapshot_digest=alert.snapshot_digest,
    )


def _snapshot(request: Request, body: CameraAlertIn) -> str:
    if not body.snapshot_jpeg_base64:
        return body.snapshot_digest or ""
    try:
        data = base64.b64decode(body.snapshot_jpeg_base64, validate=True)
        digest = SnapshotStore(container_of(request).settings.snapshot_dir).put_jpeg(data)
    except (binascii.Error, ValueError):
        raise InvalidInput("The snapshot is not a JPEG in base64.", field="snapshot_jpeg_base64") from None
    if body.snapshot_digest and body.snapshot_digest != digest:
        raise InvalidInput("The snapshot's digest is not the SHA-256 of the snapshot sent.", field="snapshot_digest")
    return digest


@router.post(
    "/camera-alerts",
    status_code=201,
    response_model=CameraAlertOut,
    tags=["camera alerts"],
    summary="Raise a camera alert",
    responses={
        200: {"model": CameraAlertOut, "description": "A retry with the same Idempotency-Key: the same alert"},
        **responses(400, 401, 403, 409, 422, 429),
    },
)
def raise_alert(
    body: CameraAlertIn,
    request: Request,
    zone: Zone,
    response: Response,
    caller: ApiAlertRaiser,
    idempotency_key: IdempotencyKey = None,
) -> CameraAlertOut:
    """The alert reaches the dispatchers' board like one from the zone's own cameras. Send an `Idempotency-Key`
    (e.g. the camera and the episode's start) so that a retry raises it once."""
    app = zone.app
    alert_id = (
        uuid.uuid5(NAMESPACE, f"api-alert/{caller.user_id}/{idempotency_key}") if idempotency_key else uuid.uuid4()
    )

    def command() -> tuple[RaisedAlert, bool]:
        if idempotency_key and (known := app.raised_alert(alert_id)) is not None:
            return known, False
        digest = _snapshot(request, body)
        try:
            app.raise_camera_alert(
                camera_id=Camera.id_for(check_code(body.camera_code, "camera_code")),
                kind=body.kind,
                score=body.score,
                snapshot_digest=digest,
                frame_at=body.frame_at,
                zone=body.zone,
                detail=body.detail,
                by=SYSTEM_USER_ID,
                id=alert_id,
            )
        except NotFound as error:
            raise ApiProblem(
                422,
                "invalid",
                "The request was not valid",
                error.message,
                errors=[{"field": "camera_code", "message": error.message}],
            ) from None
        except ConflictError:
            # Another request with the same Idempotency-Key raised it at the same moment.
            if idempotency_key and (known := app.raised_alert(alert_id)) is not None:
                return known, False
            raise
        return app.raised_alert(alert_id), True

    alert, created = command()
    if not created:
        response.status_code = 200
    log.info(
        "api.camera_alert_raised",
        alert_id=str(alert.id),
        camera=alert.camera_code,
        kind=alert.kind.value,
        retry=not created,
    )
    return _out(alert)
