"""Commands on cameras (registration, zones, detection rules) and on the alerts they raise."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from application.errors import RecordKind
from application.intake import new_incident
from application.unit_of_work import CommandResult, UnitOfWork, Work
from domain.cameras import Camera, CameraAlert
from domain.errors import InvalidInput
from domain.values import (
    SYSTEM_USER_ID,
    Actor,
    AlertKind,
    AlertStatus,
    Category,
    Channel,
    Community,
    DetectionRule,
    FalseAlarmReason,
    GeoPoint,
    PartnerSector,
    Priority,
    Zone,
)


@dataclass(frozen=True)
class RaisedAlert:
    """A camera alert as a query answers it."""

    id: UUID
    camera_code: str
    kind: AlertKind
    score: float
    raised_at: datetime
    snapshot_digest: str


def _acknowledged(work: Work, alert_id: UUID, actor: Actor, at: datetime) -> CameraAlert:
    """The alert, acknowledged first when a dispatcher decides on it straight away."""
    alert = work.get(alert_id, CameraAlert, RecordKind.CAMERA_ALERT)
    if alert.status is AlertStatus.RAISED:
        alert.acknowledge(actor=actor, occurred_at=at)
    return alert


class CameraCommands(UnitOfWork):
    def register_camera(
        self,
        *,
        code: str,
        name: str,
        community: Community,
        owner: PartnerSector,
        owner_name: str,
        consent_reference: str,
        source: str,
        by: UUID,
        position: GeoPoint | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        """The log records the source without its secret part (a password, credential-like query values), which the
        camera secrets' store keeps outside it once the camera is saved."""
        address, secret = self.camera_secrets.split(source)
        at = self._at(occurred_at)

        def register(work: Work) -> UUID:
            camera = Camera.register(
                code=code,
                name=name,
                community=community,
                owner=owner,
                owner_name=owner_name,
                consent_reference=consent_reference,
                source=address,
                actor=work.actor(by),
                occurred_at=at,
                position=position,
            )
            if work.find(camera.id, Camera) is not None:
                raise InvalidInput("A camera with code {code} exists already.", field="code", code=camera.code)
            work.add(camera)
            return camera.id

        result = self._run("register_camera", register)
        if secret:
            self.camera_secrets.keep(result.id, secret)
        return result

    def _change(
        self,
        name: str,
        record_id: UUID,
        change: Callable[..., None],
        by: UUID,
        occurred_at: datetime | None,
        **fields: Any,
    ) -> CommandResult:
        """One change on one camera or alert: `change` is the aggregate's method (e.g. `Camera.set_zones`), given
        `fields`, the actor and the time."""
        at = self._at(occurred_at)
        cls = Camera if getattr(Camera, change.__name__, None) is change else CameraAlert
        return self._run_on(
            name, record_id, cls, by, lambda record, actor, work: change(record, **fields, actor=actor, occurred_at=at)
        )

    def set_camera_zones(
        self, camera_id: UUID, *, zones: list[Zone], by: UUID, occurred_at: datetime | None = None
    ) -> CommandResult:
        return self._change("set_camera_zones", camera_id, Camera.set_zones, by, occurred_at, zones=zones)

    def set_camera_rules(
        self, camera_id: UUID, *, rules: list[DetectionRule], by: UUID, occurred_at: datetime | None = None
    ) -> CommandResult:
        return self._change("set_camera_rules", camera_id, Camera.set_rules, by, occurred_at, rules=rules)

    def move_camera(
        self, camera_id: UUID, *, position: GeoPoint, reason: str, by: UUID, occurred_at: datetime | None = None
    ) -> CommandResult:
        return self._change("move_camera", camera_id, Camera.move, by, occurred_at, position=position, reason=reason)

    def retire_camera(
        self, camera_id: UUID, *, reason: str, by: UUID, occurred_at: datetime | None = None
    ) -> CommandResult:
        return self._change("retire_camera", camera_id, Camera.retire, by, occurred_at, reason=reason)

    def raise_camera_alert(
        self,
        *,
        camera_id: UUID,
        kind: AlertKind,
        score: float,
        snapshot_digest: str,
        frame_at: datetime,
        zone: str = "",
        detail: str = "",
        by: UUID = SYSTEM_USER_ID,
        id: UUID | None = None,
    ) -> CommandResult:
        at = self._at(frame_at)

        def raise_alert(work: Work) -> UUID:
            alert = CameraAlert.raise_alert(
                id=id or uuid.uuid4(),
                camera=work.get(camera_id, Camera, RecordKind.CAMERA),
                kind=kind,
                score=score,
                snapshot_digest=snapshot_digest,
                actor=work.actor(by),
                occurred_at=at,
                zone=zone,
                detail=detail,
            )
            work.add(alert)
            return alert.id

        return self._run("raise_camera_alert", raise_alert)

    def set_camera_retention(
        self, camera_id: UUID, *, days: int, by: UUID, occurred_at: datetime | None = None
    ) -> CommandResult:
        return self._change("set_camera_retention", camera_id, Camera.set_retention, by, occurred_at, days=days)

    def purge_alert_snapshot(
        self, alert_id: UUID, *, retention_days: int, by: UUID = SYSTEM_USER_ID, occurred_at: datetime | None = None
    ) -> CommandResult:
        return self._change(
            "purge_alert_snapshot",
            alert_id,
            CameraAlert.purge_snapshot,
            by,
            occurred_at,
            retention_days=retention_days,
        )

    def attach_alert_clip(
        self, alert_id: UUID, *, clip_digest: str, by: UUID = SYSTEM_USER_ID, occurred_at: datetime | None = None
    ) -> CommandResult:
        return self._change(
            "attach_alert_clip", alert_id, CameraAlert.attach_clip, by, occurred_at, clip_digest=clip_digest
        )

    def note_person(
        self, alert_id: UUID, *, left: bool, stayed_seconds: float, at: datetime, by: UUID = SYSTEM_USER_ID
    ) -> CommandResult:
        """The updates on a person's alert (not new alerts): they stayed past a loitering rule's time, or they left."""
        change = CameraAlert.note_person_left if left else CameraAlert.note_person_loitered
        return self._change(change.__name__, alert_id, change, by, at, stayed_seconds=stayed_seconds)

    def raised_alert(self, alert_id: UUID) -> RaisedAlert | None:
        alert = self.load(alert_id, fresh=True)
        if not isinstance(alert, CameraAlert):
            return None
        return RaisedAlert(alert.id, alert.camera_code, alert.kind, alert.score, alert.raised_at, alert.snapshot_digest)

    def acknowledge_alert(self, alert_id: UUID, *, by: UUID, occurred_at: datetime | None = None) -> CommandResult:
        return self._change("acknowledge_alert", alert_id, CameraAlert.acknowledge, by, occurred_at)

    def dismiss_alert(
        self, alert_id: UUID, *, reason: FalseAlarmReason, note: str = "", by: UUID, occurred_at: datetime | None = None
    ) -> CommandResult:
        at = self._at(occurred_at)

        def dismiss(work: Work) -> UUID:
            actor = work.actor(by)
            _acknowledged(work, alert_id, actor, at).dismiss(reason=reason, note=note, actor=actor, occurred_at=at)
            return alert_id

        return self._run("dismiss_alert", dismiss)

    def escalate_alert(
        self,
        alert_id: UUID,
        *,
        category: Category,
        priority: Priority,
        location: str,
        description: str,
        by: UUID,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        """Opens an incident from the alert; both record the link, in one atomic save. Returns the incident."""
        at = self._at(occurred_at)

        def escalate(work: Work) -> UUID:
            actor = work.actor(by)
            alert = _acknowledged(work, alert_id, actor, at)
            alert.check_can_escalate(actor)
            incident = new_incident(
                work,
                actor,
                self.clock(),
                channel=Channel.CCTV,
                category=category,
                priority=priority,
                community=alert.community,
                location=location,
                description=description,
                occurred_at=alert.raised_at,
                position=None,
                contact=None,
                source_alert_id=alert.id,
            )
            alert.escalate(incident_id=incident.id, reference=incident.reference, actor=actor, occurred_at=at)
            return incident.id

        return self._run("escalate_alert", escalate)

    def close_alert(
        self, alert_id: UUID, *, reason: str = "", by: UUID, occurred_at: datetime | None = None
    ) -> CommandResult:
        return self._change("close_alert", alert_id, CameraAlert.close, by, occurred_at, reason=reason)
