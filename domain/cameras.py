from __future__ import annotations

import re
from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import event

from domain.base import ZoneAggregate
from domain.errors import InvalidInput, TransitionRefused
from domain.incident import NAMESPACE
from domain.patrol import check_code
from domain.permissions import Action, authorize
from domain.values import (
    MAX_SHORT_TEXT,
    Actor,
    AlertKind,
    AlertStatus,
    Community,
    DetectionRule,
    FalseAlarmReason,
    GeoPoint,
    PartnerSector,
    Zone,
    clean_text,
)

_DIGEST = re.compile(r"^[0-9a-f]{64}$")
SELF_CLEARING_KINDS = frozenset({AlertKind.OFFLINE, AlertKind.TAMPERED})
DEFAULT_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 3650


class Camera(ZoneAggregate):
    id: UUID

    @staticmethod
    def id_for(code: str) -> UUID:
        return uuid5(NAMESPACE, f"camera/{code}")

    @classmethod
    def register(
        cls,
        *,
        code: str,
        name: str,
        community: Community,
        owner: PartnerSector,
        owner_name: str,
        consent_reference: str,
        source: str,
        actor: Actor,
        occurred_at: datetime,
        position: GeoPoint | None = None,
    ) -> Camera:
        authorize(actor, Action.MANAGE_CAMERAS)
        code = check_code(code)
        return cls(
            id=cls.id_for(code),
            code=code,
            name=clean_text(name, "name", required=True, max_len=MAX_SHORT_TEXT),
            community=community,
            owner=owner,
            owner_name=clean_text(owner_name, "owner_name", required=True, max_len=MAX_SHORT_TEXT),
            consent_reference=clean_text(consent_reference, "consent_reference", required=True, max_len=MAX_SHORT_TEXT),
            source=clean_text(source, "source", required=True, max_len=1000),
            position=position,
            actor=actor,
            occurred_at=occurred_at,
        )

    @event("Registered")
    def __init__(
        self,
        code: str,
        name: str,
        community: Community,
        owner: PartnerSector,
        owner_name: str,
        consent_reference: str,
        source: str,
        position: GeoPoint | None,
        actor: Actor,
        occurred_at: datetime,
    ):
        self.code = code
        self.name = name
        self.community = community
        self.owner = owner
        self.owner_name = owner_name
        self.consent_reference = consent_reference
        self.source = source
        self.position = position
        self.zones: list[Zone] = []
        self.rules: list[DetectionRule] = []
        self.retired = False
        self.retention_days: int | None = None  # None: DEFAULT_RETENTION_DAYS

    @property
    def keeps_days(self) -> int:
        """How many days the camera's snapshots are kept."""
        return self.retention_days or DEFAULT_RETENTION_DAYS

    def set_retention(self, *, days: int, actor: Actor, occurred_at: datetime) -> None:
        authorize(actor, Action.MANAGE_CAMERAS)
        self._check_active()
        if not 1 <= days <= MAX_RETENTION_DAYS:
            raise InvalidInput(
                "Snapshots are kept from 1 to {most} days.", field="retention_days", most=MAX_RETENTION_DAYS
            )
        self._retention_set(days=int(days), actor=actor, occurred_at=occurred_at)

    @event("RetentionSet")
    def _retention_set(self, days: int, actor: Actor, occurred_at: datetime) -> None:
        self.retention_days = days

    def _check_active(self) -> None:
        if self.retired:
            raise TransitionRefused("Camera {code} is retired.", code=self.code)

    def set_zones(self, *, zones: list[Zone], actor: Actor, occurred_at: datetime) -> None:
        authorize(actor, Action.MANAGE_CAMERAS)
        self._check_active()
        names = [z.name for z in zones]
        if len(set(names)) != len(names):
            raise InvalidInput("Each zone of a camera needs its own name.", field="zones")
        for rule in self.rules:
            if rule.zone and rule.zone not in names:
                raise InvalidInput(
                    "Zone '{zone}' is watched by a rule: change the rules before removing it.",
                    field="zones",
                    zone=rule.zone,
                )
        self._zones_set(zones=list(zones), actor=actor, occurred_at=occurred_at)

    @event("ZonesSet")
    def _zones_set(self, zones: list[Zone], actor: Actor, occurred_at: datetime) -> None:
        self.zones = zones

    def set_rules(self, *, rules: list[DetectionRule], actor: Actor, occurred_at: datetime) -> None:
        authorize(actor, Action.MANAGE_CAMERAS)
        self._check_active()
        known = {zone.name for zone in self.zones}
        for rule in rules:
            if rule.zone and rule.zone not in known:
                raise InvalidInput(
                    "A rule names zone '{zone}', which camera {code} does not have.",
                    field="rules",
                    zone=rule.zone,
                    code=self.code,
                )
        self._rules_set(rules=list(rules), actor=actor, occurred_at=occurred_at)

    @event("RulesSet")
    def _rules_set(self, rules: list[DetectionRule], actor: Actor, occurred_at: datetime) -> None:
        self.rules = rules

    def move(self, *, position: GeoPoint, reason: str, actor: Actor, occurred_at: datetime) -> None:
        authorize(actor, Action.MANAGE_CAMERAS)
        self._check_active()
        if position == self.position:
            raise InvalidInput("Camera {code} is already at that position.", field="position", code=self.code)
        self._moved(
            position=position,
            reason=clean_text(reason, "reason", required=True, max_len=MAX_SHORT_TEXT),
            actor=actor,
            occurred_at=occurred_at,
        )

    @event("Moved")
    def _moved(self, position: GeoPoint, reason: str, actor: Actor, occurred_at: datetime) -> None:
        self.position = position

    def retire(self, *, reason: str, actor: Actor, occurred_at: datetime) -> None:
        authorize(actor, Action.MANAGE_CAMERAS)
        self._check_active()
        self._retired(
            reason=clean_text(reason, "reason", required=True, max_len=MAX_SHORT_TEXT),
            actor=actor,
            occurred_at=occurred_at,
        )

    @event("Retired")
    def _retired(self, reason: str, actor: Actor, occurred_at: datetime) -> None:
        self.retired = True


def _stay(seconds: float) -> float:
    if seconds < 0:
        raise InvalidInput("A stay is not negative.", field="stayed_seconds")
    return round(float(seconds), 1)


class CameraAlert(ZoneAggregate):
    id: UUID

    @classmethod
    def raise_alert(
        cls,
        *,
        id: UUID,
        camera: Camera,
        kind: AlertKind,
        score: float,
        snapshot_digest: str,
        actor: Actor,
        occurred_at: datetime,
        zone: str = "",
        detail: str = "",
    ) -> CameraAlert:
        """`detail` says what the analytics saw beyond the kind, e.g. a tamper's cause (dark, covered, blurred, moved)."""
        authorize(actor, Action.RAISE_ALERT)
        camera._check_active()
        if not 0.0 <= score <= 1.0:
            raise InvalidInput("An alert's score is between 0 and 1.", field="score")
        if snapshot_digest and not _DIGEST.match(snapshot_digest):
            raise InvalidInput("A snapshot digest is the 64 hex digits of its SHA-256.", field="snapshot_digest")
        if not snapshot_digest and kind is not AlertKind.OFFLINE:
            raise InvalidInput("Only an offline alert comes without a snapshot.", field="snapshot_digest")
        return cls(
            id=id,
            camera_id=camera.id,
            camera_code=camera.code,
            community=camera.community,
            kind=kind,
            score=float(score),
            zone=clean_text(zone, "zone", required=False, max_len=MAX_SHORT_TEXT),
            detail=clean_text(detail, "detail", required=False, max_len=MAX_SHORT_TEXT),
            snapshot_digest=snapshot_digest,
            actor=actor,
            occurred_at=occurred_at,
        )

    @event("Raised")
    def __init__(
        self,
        camera_id: UUID,
        camera_code: str,
        community: Community,
        kind: AlertKind,
        score: float,
        zone: str,
        detail: str,
        snapshot_digest: str,
        actor: Actor,
        occurred_at: datetime,
    ):
        self.camera_id = camera_id
        self.camera_code = camera_code
        self.community = community
        self.kind = kind
        self.score = score
        self.zone = zone
        self.detail = detail
        self.snapshot_digest = snapshot_digest
        self.raised_at = occurred_at
        self.status = AlertStatus.RAISED
        self.incident_id: UUID | None = None
        self.false_alarm_reason: FalseAlarmReason | None = None
        self.left_at: datetime | None = None
        self.loitered_at: datetime | None = None
        self.snapshot_purged = False
        self.clip_digest = ""

    def attach_clip(self, *, clip_digest: str, actor: Actor, occurred_at: datetime) -> None:
        """The alert's short clip (seconds before and after), stored content-addressed like its snapshot."""
        authorize(actor, Action.RAISE_ALERT)
        if not _DIGEST.match(clip_digest):
            raise InvalidInput("A clip digest is the 64 hex digits of its SHA-256.", field="clip_digest")
        if self.clip_digest:
            raise TransitionRefused("This alert from camera {camera_code} has its clip.", camera_code=self.camera_code)
        self._clip_attached(clip_digest=clip_digest, actor=actor, occurred_at=occurred_at)

    @event("ClipAttached")
    def _clip_attached(self, clip_digest: str, actor: Actor, occurred_at: datetime) -> None:
        self.clip_digest = clip_digest

    def purge_snapshot(self, *, retention_days: int, actor: Actor, occurred_at: datetime) -> None:
        """The snapshot's retention ran out: the picture is deleted; the event keeps its digest."""
        authorize(actor, Action.RAISE_ALERT)
        if not self.snapshot_digest or self.snapshot_purged:
            raise TransitionRefused(
                "This alert from camera {camera_code} has no snapshot to purge.", camera_code=self.camera_code
            )
        self._snapshot_purged(
            digest=self.snapshot_digest,
            clip_digest=self.clip_digest,
            retention_days=retention_days,
            actor=actor,
            occurred_at=occurred_at,
        )

    @event("SnapshotPurged")
    def _snapshot_purged(
        self, digest: str, clip_digest: str, retention_days: int, actor: Actor, occurred_at: datetime
    ) -> None:
        """The snapshot and the clip (if any) were deleted; the event keeps both digests."""
        self.snapshot_purged = True

    def note_person_left(self, *, stayed_seconds: float, actor: Actor, occurred_at: datetime) -> None:
        """The update on a person's alert when the person it followed leaves (whatever the alert's status)."""
        authorize(actor, Action.RAISE_ALERT)
        if self.left_at is not None:
            raise TransitionRefused(
                "The person of this alert from camera {camera_code} is already recorded as gone.",
                camera_code=self.camera_code,
            )
        self._person_left(stayed_seconds=_stay(stayed_seconds), actor=actor, occurred_at=occurred_at)

    @event("PersonLeft")
    def _person_left(self, stayed_seconds: float, actor: Actor, occurred_at: datetime) -> None:
        self.left_at = occurred_at

    def note_person_loitered(self, *, stayed_seconds: float, actor: Actor, occurred_at: datetime) -> None:
        """The update on a person's alert when the person has stayed past a loitering rule's time: the same alert,
        not a new one (whatever the alert's status). Once, and never after they left."""
        authorize(actor, Action.RAISE_ALERT)
        if self.loitered_at is not None or self.left_at is not None:
            raise TransitionRefused(
                "The person of this alert from camera {camera_code} is already recorded as loitering or gone.",
                camera_code=self.camera_code,
            )
        self._person_loitered(stayed_seconds=_stay(stayed_seconds), actor=actor, occurred_at=occurred_at)

    @event("PersonLoitered")
    def _person_loitered(self, stayed_seconds: float, actor: Actor, occurred_at: datetime) -> None:
        self.loitered_at = occurred_at

    def _about(self) -> dict:
        return {"kind": self.kind, "camera_code": self.camera_code, "status": self.status}

    def acknowledge(self, *, actor: Actor, occurred_at: datetime) -> None:
        authorize(actor, Action.TRIAGE_ALERT)
        if self.status is not AlertStatus.RAISED:
            raise TransitionRefused(
                "This {kind} alert from camera {camera_code} is {status}; it cannot be acknowledged.", **self._about()
            )
        self._acknowledged(actor=actor, occurred_at=occurred_at)

    @event("Acknowledged")
    def _acknowledged(self, actor: Actor, occurred_at: datetime) -> None:
        self.status = AlertStatus.ACKNOWLEDGED

    def dismiss(self, *, reason: FalseAlarmReason, note: str, actor: Actor, occurred_at: datetime) -> None:
        authorize(actor, Action.TRIAGE_ALERT)
        if self.status is not AlertStatus.ACKNOWLEDGED:
            raise TransitionRefused(
                "This {kind} alert from camera {camera_code} is {status}; it cannot be dismissed.", **self._about()
            )
        note = clean_text(note, "note", required=reason is FalseAlarmReason.OTHER, max_len=MAX_SHORT_TEXT)
        # The event's `reason` is the person's words, as on every event; the category is `false_alarm`.
        self._dismissed(false_alarm=reason, reason=note, actor=actor, occurred_at=occurred_at)

    @event("Dismissed")
    def _dismissed(self, false_alarm: FalseAlarmReason, reason: str, actor: Actor, occurred_at: datetime) -> None:
        self.status = AlertStatus.DISMISSED
        self.false_alarm_reason = false_alarm

    def check_can_escalate(self, actor: Actor) -> None:
        authorize(actor, Action.TRIAGE_ALERT)
        if self.status is not AlertStatus.ACKNOWLEDGED:
            raise TransitionRefused(
                "This {kind} alert from camera {camera_code} is {status}; it cannot be escalated.", **self._about()
            )

    def escalate(self, *, incident_id: UUID, reference: str, actor: Actor, occurred_at: datetime) -> None:
        self.check_can_escalate(actor)
        self._escalated(incident_id=incident_id, reference=reference, actor=actor, occurred_at=occurred_at)

    @event("Escalated")
    def _escalated(self, incident_id: UUID, reference: str, actor: Actor, occurred_at: datetime) -> None:
        self.status = AlertStatus.ESCALATED
        self.incident_id = incident_id

    def close(self, *, reason: str, actor: Actor, occurred_at: datetime) -> None:
        authorize(actor, Action.CLOSE_ALERT)
        if self.status is AlertStatus.CLOSED:
            raise TransitionRefused(
                "This alert from camera {camera_code} is already closed.", camera_code=self.camera_code
            )
        decided = self.status in (AlertStatus.DISMISSED, AlertStatus.ESCALATED)
        cleared_by_itself = self.kind in SELF_CLEARING_KINDS and self.status in (
            AlertStatus.RAISED,
            AlertStatus.ACKNOWLEDGED,
        )
        if not (decided or cleared_by_itself):
            raise TransitionRefused(
                "This {kind} alert from camera {camera_code} is {status}; "
                "it cannot be closed before it is dismissed or escalated.",
                **self._about(),
            )
        self._closed(
            reason=clean_text(reason, "reason", required=False, max_len=MAX_SHORT_TEXT),
            actor=actor,
            occurred_at=occurred_at,
        )

    @event("Closed")
    def _closed(self, reason: str, actor: Actor, occurred_at: datetime) -> None:
        self.status = AlertStatus.CLOSED


# Schema history of CameraAlert.Raised: version 1 had no detail.
def _raised_v1_to_v2(state: dict) -> None:
    state.setdefault("detail", "")


CameraAlert.Raised.class_version = 2
CameraAlert.Raised.upcast_v1_v2 = staticmethod(_raised_v1_to_v2)
