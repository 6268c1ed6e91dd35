"""The model of the zone's life, put together: each day's shifts, reports, patrol visits and camera alerts are
scheduled at its local midnight; `reconcile` takes up a history already in the store (a re-run)."""

from __future__ import annotations

from bisect import bisect
from datetime import time

from domain.values import AlertKind, Category, UnitStatus
from simulation.alerts import CameraWatch
from simulation.happenings import ALERTS_PER_CAMERA_DAY, INCIDENTS_PER_DAY, MONTH_FACTOR, WEEKDAY_FACTOR
from simulation.patrol import Patrols
from simulation.scheduler import DAY, HOUR, LOCAL_OFFSET, MINUTE, instant

SLOT = 2 * HOUR
NIGHT_SLOTS = frozenset({0, 1, 2, 9, 10, 11})  # 00–06 and 18–24 local


class Simulation(CameraWatch, Patrols):
    def plan_day(self, day: int) -> None:
        """Schedules what starts on the local day beginning at `day` (local midnight, as a UTC epoch)."""
        rng, start = self.rng, self.start
        local = instant(day + LOCAL_OFFSET)
        for hour in (6, 14, 22):
            if day + hour * HOUR > start:
                self.at(day + hour * HOUR, self.shift_change)
        # Incidents reported by people.
        lam = (
            INCIDENTS_PER_DAY
            * WEEKDAY_FACTOR[local.weekday()]
            * MONTH_FACTOR.get(local.month, 1.0)
            * rng.gammavariate(25, 1 / 25)
        )  # some days are busier than others
        for _ in range(self.poisson(lam)):
            category = self.pick(self.cat_table)
            hour = bisect(self.hour_tables[category], rng.random() * self.hour_tables[category][-1])
            t = day + hour * HOUR + rng.randrange(HOUR)
            if t >= start:
                self.at(t, self.report, category)
        # Patrol visits: most (box, night slot) pairs get a visit, fewer by day.
        for slot in range(12):
            night = slot in NIGHT_SLOTS
            slot_start = day + slot * SLOT
            for box in self.boxes:
                if box.retired:
                    continue
                r = rng.random()
                if night:
                    n = 0 if r < 0.08 else 1 if r < 0.70 else 2 if r < 0.97 else 3
                else:
                    n = 0 if r < 0.50 else 1 if r < 0.92 else 2
                for _ in range(n):
                    t = slot_start + rng.randint(5 * MINUTE, 110 * MINUTE)
                    if rng.random() < 0.08:  # late
                        t += rng.randint(20 * MINUTE, 75 * MINUTE)
                    if t >= start:
                        self.at(t, self.visit, box)
        for box in self.boxes:
            if not box.retired and rng.random() < 1 / 55:
                t = day + rng.randint(9 * HOUR, 16 * HOUR)
                if t >= start:
                    self.at(t, self.rotate, box)
        # Camera alerts.
        rainy = 5 <= local.month <= 10
        for cam in self.cams:
            if cam.retired:
                continue
            for rule in cam.rules:
                rainy_motion = rainy and rule.kind is AlertKind.MOTION_IN_ZONE
                rate = ALERTS_PER_CAMERA_DAY[rule.kind] * (1.3 if rainy_motion else 1.0)
                for _ in range(self.poisson(rate)):
                    t = self._in_window(day, rule.start, rule.end)
                    if t >= start:
                        self.at(t, self.raise_alert, cam, rule.kind)
            if rng.random() < 1 / 25:
                t = day + rng.randrange(DAY)
                if t >= start:
                    self.at(t, self.offline, cam, int(self.logn(45 * MINUTE, 1.0, 5 * MINUTE, 10 * HOUR)))
            if rng.random() < 1 / 70:
                t = day + rng.randrange(DAY)
                if t >= start:
                    self.at(t, self.tampered, cam)

    def _in_window(self, day: int, start: time, end: time) -> int:
        rng = self.rng
        if start == end:  # all day, busier in the evening
            hours = self.hour_tables[Category.SUSPICIOUS_PERSON]
            hour = bisect(hours, rng.random() * hours[-1])
            return day + hour * HOUR + rng.randrange(HOUR)
        s, e = start.hour * HOUR + start.minute * MINUTE, end.hour * HOUR + end.minute * MINUTE
        if s < e:
            return day + s + rng.randrange(e - s)
        # Past midnight: [s, 24h) ∪ [0, e) of the same local day.
        x = rng.randrange(DAY - s + e)
        return day + (s + x if x < DAY - s else x - (DAY - s))

    def reconcile(self, t: int) -> None:
        """Brings the simulation's picture of units, boxes and cameras in line with the store (a re-run)."""
        repo = self.app.repository
        for u in self.units:
            unit = repo.get(u.id)
            if unit.status is UnitStatus.RETIRED:
                u.status = UnitStatus.RETIRED
            elif unit.status is UnitStatus.ASSIGNED:
                incident = repo.get(unit.incident_id)
                if u.id in incident.active_unit_ids:
                    self.app.clear_unit(
                        incident.id, u.id, by=self.supervisor(t), reason="Demo history restarted", occurred_at=self.now
                    )
                    self.app.unit_off_duty(
                        u.id, by=self.supervisor(t), reason="Demo history restarted", occurred_at=self.now
                    )
                else:  # busy on an incident that does not count it: the simulation leaves it alone
                    u.status = UnitStatus.RETIRED
            elif unit.status is UnitStatus.AVAILABLE:
                self.app.unit_off_duty(
                    u.id, by=self.supervisor(t), reason="Demo history restarted", occurred_at=self.now
                )
        for b in self.boxes:
            box = repo.get(b.id)
            b.token_version, b.retired = box.token_version, box.retired
        for c in self.cams:
            c.retired = repo.get(c.id).retired
