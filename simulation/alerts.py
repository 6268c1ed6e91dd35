"""The smart cameras: alerts raised by the detection rules (more motion in the rains), a camera offline or
tampered with now and then; dispatchers acknowledge, dismiss most as false alarms, escalate some to incidents."""

from __future__ import annotations

import hashlib
from uuid import UUID

from domain.values import (
    DETECTION_ALERT_KINDS,
    SYSTEM_USER_ID,
    AlertKind,
    AlertStatus,
    CancelReason,
    Category,
    Channel,
    FalseAlarmReason,
    Priority,
)
from simulation.happenings import CCTV_TEXTS, ESCALATE_SHARE, cumulative, is_night_hour
from simulation.incidents import Incidents
from simulation.scheduler import DAY, HOUR, LOCAL_OFFSET, MINUTE, instant
from simulation.world import OPEN, Alert, Cam, Inc


class CameraWatch(Incidents):
    def _digest(self, alert_id: UUID) -> str:
        return hashlib.sha256(f"ssz-demo-snapshot/{self.seed}/{alert_id}".encode()).hexdigest()

    def _raise(self, t: int, cam: Cam, kind: AlertKind, score: float, with_snapshot: bool = True) -> Alert:
        aid = self.uuid()
        zone = self.rng.choice(cam.zones).name if kind in DETECTION_ALERT_KINDS else ""
        self.app.raise_camera_alert(
            camera_id=cam.id,
            kind=kind,
            score=round(score, 3),
            zone=zone,
            id=aid,
            snapshot_digest=self._digest(aid) if with_snapshot else "",
            frame_at=self.now,
        )
        self.alerts += 1
        return Alert(aid, cam, kind, t)

    def _ack_delay(self, t: int) -> int:
        night = is_night_hour(((t + LOCAL_OFFSET) % DAY) // HOUR)
        return int(self.logn(48 if night else 38, 0.8, 4, 20 * MINUTE))

    def raise_alert(self, t: int, cam: Cam, kind: AlertKind) -> None:
        if t < cam.offline_until:  # a camera that is down sees nothing
            return
        rng = self.rng
        escalate = rng.random() < ESCALATE_SHARE[kind]
        score = rng.uniform(0.62, 0.98) if escalate else rng.uniform(0.35, 0.9)
        alert = self._raise(t, cam, kind, score)
        if rng.random() < 0.04:  # nobody looked in time; decided later in one go
            self.at(t + self.uniform(5 * MINUTE, 40 * MINUTE), self.decide, alert, escalate)
            return
        ack = t + self._ack_delay(t)
        self.at(ack, self.acknowledge, alert)
        self.at(ack + self.uniform(8, 150), self.decide, alert, escalate)

    def acknowledge(self, t: int, alert: Alert) -> None:
        if alert.status is AlertStatus.RAISED:
            self.app.acknowledge_alert(alert.id, by=self.dispatcher(t), occurred_at=self.now)
            alert.status = AlertStatus.ACKNOWLEDGED

    def decide(self, t: int, alert: Alert, escalate: bool) -> None:
        if alert.status not in (AlertStatus.RAISED, AlertStatus.ACKNOWLEDGED):
            return
        if escalate:
            category = self.pick(self.escalation_table[alert.kind])
            self.escalate(t, alert, category)
        else:
            self.dismiss(t, alert)

    def dismiss(self, t: int, alert: Alert, reason: FalseAlarmReason | None = None, note: str = "") -> None:
        rng = self.rng
        if reason is None:
            night = is_night_hour(((t + LOCAL_OFFSET) % DAY) // HOUR)
            month = instant(t + LOCAL_OFFSET).month
            weights = {
                FalseAlarmReason.HEADLIGHTS: 30 if night else 8,
                FalseAlarmReason.ANIMAL: 25,
                FalseAlarmReason.SHADOW: 6 if night else 22,
                FalseAlarmReason.WEATHER: 30 if 5 <= month <= 10 else 10,
                FalseAlarmReason.AUTHORISED_PERSON: 10,
                FalseAlarmReason.OTHER: 5,
            }
            reasons = list(weights)
            reason = self.pick((reasons, cumulative([weights[r] for r in reasons])))
            if reason is FalseAlarmReason.OTHER:
                note = rng.choice(
                    ("Reflection on the wet road", "Cleaning staff at work", "Flag moving in the wind", "ใบไม้ไหว")
                )
            elif rng.random() < 0.2:
                note = rng.choice(("Checked the live view", "ตรวจสอบภาพสดแล้ว", "Known resident"))
        self.app.dismiss_alert(alert.id, reason=reason, note=note, by=self.dispatcher(t), occurred_at=self.now)
        alert.status = AlertStatus.DISMISSED
        if rng.random() < 0.75:
            self.at(t + self.uniform(30, 15 * MINUTE), self.close_alert, alert, "False alarm", None)

    def escalate(self, t: int, alert: Alert, category: Category) -> None:
        rng = self.rng
        priorities, cum = self.priority_table[category]
        priority = self.pick((priorities, cum))
        if priority is Priority.P1 and rng.random() < 0.6:
            priority = Priority.P2
        description = f"CCTV {alert.cam.code}: {CCTV_TEXTS.get(category, 'activity needing a check')}"
        result = self.app.escalate_alert(
            alert.id,
            category=category,
            priority=priority,
            location=alert.cam.name,
            description=description,
            by=self.dispatcher(t),
            occurred_at=self.now,
        )
        self.incidents += 1
        alert.status = AlertStatus.ESCALATED
        self.at(t + self.uniform(2 * MINUTE, 20 * MINUTE), self.close_alert, alert, "Handed over to the incident", None)
        inc = Inc(result.id, category, priority, alert.cam.community, Channel.CCTV, t)
        same = [i for i in self.recent[inc.community] if i.phase is OPEN and i.reported >= t - 45 * MINUTE]
        if same and rng.random() < 0.6:  # the camera saw what someone had already called in
            self.at(t + self.uniform(MINUTE, 4 * MINUTE), self.cancel, inc, CancelReason.DUPLICATE, same[-1])
            return
        self._remember(inc, t)
        self.lifecycle(t, inc)

    def close_alert(self, t: int, alert: Alert, reason: str, by: UUID | None) -> None:
        if alert.status is AlertStatus.CLOSED:
            return
        waiting = alert.status in (AlertStatus.RAISED, AlertStatus.ACKNOWLEDGED)
        self_clearing = alert.kind in (AlertKind.OFFLINE, AlertKind.TAMPERED) and waiting
        if alert.status not in (AlertStatus.DISMISSED, AlertStatus.ESCALATED) and not self_clearing:
            return
        self.app.close_alert(alert.id, reason=reason, by=by or self.dispatcher(t), occurred_at=self.now)
        alert.status = AlertStatus.CLOSED

    def offline(self, t: int, cam: Cam, duration: int) -> None:
        if t < cam.offline_until:
            return
        cam.offline_until = t + duration
        alert = self._raise(t, cam, AlertKind.OFFLINE, 1.0, with_snapshot=False)
        if self.rng.random() < 0.6:
            ack = t + self.uniform(20, 10 * MINUTE)
            if ack < t + duration:
                self.at(ack, self.acknowledge, alert)
        self.at(t + duration, self.close_alert, alert, "Camera back online", SYSTEM_USER_ID)

    def tampered(self, t: int, cam: Cam) -> None:
        if t < cam.offline_until:
            return
        rng = self.rng
        alert = self._raise(t, cam, AlertKind.TAMPERED, rng.uniform(0.6, 0.95))
        ack = t + self._ack_delay(t)
        self.at(ack, self.acknowledge, alert)
        r = rng.random()
        if r < 0.6:
            self.at(ack + self.uniform(5 * MINUTE, HOUR), self.close_alert, alert, "View restored", SYSTEM_USER_ID)
        elif r < 0.85:
            self.at(ack + self.uniform(20, 200), self.dismiss_tamper, alert)
        else:
            self.at(ack + self.uniform(20, 200), self.escalate_tamper, alert)

    def dismiss_tamper(self, t: int, alert: Alert) -> None:
        if alert.status in (AlertStatus.RAISED, AlertStatus.ACKNOWLEDGED):
            if self.rng.random() < 0.5:
                self.dismiss(t, alert, FalseAlarmReason.WEATHER, "Rain on the lens")
            else:
                self.dismiss(t, alert, FalseAlarmReason.OTHER, "Maintenance crew cleaning the lens")

    def escalate_tamper(self, t: int, alert: Alert) -> None:
        if alert.status in (AlertStatus.RAISED, AlertStatus.ACKNOWLEDGED):
            self.escalate(t, alert, Category.VANDALISM)
