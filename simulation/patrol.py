"""Patrols: officers check in at the red boxes (most night slots, fewer by day), never faster than their unit can
travel; a few visits are observed on, flagged or voided afterwards; box codes are rotated now and then."""

from __future__ import annotations

import math

from domain.values import GeoPoint
from simulation.happenings import FLAG_REASONS, ROTATION_REASONS, VISIT_OBSERVATIONS, VOID_REASONS
from simulation.reference import SPEED_M_PER_S, offset
from simulation.scheduler import HOUR, MINUTE
from simulation.world import Box, Visit, World


class Patrols(World):
    def visit(self, t: int, box: Box) -> None:
        if box.retired:
            return
        rng = self.rng
        candidates = self.free_units(box.community)
        chosen = None
        for unit in rng.sample(candidates, len(candidates)):
            officer = unit.crew[0] if len(unit.crew) == 1 else rng.choice(unit.crew)
            previous = self.last_visit.get(officer)
            if previous is not None:
                elapsed = t - previous[0]
                metres = math.hypot(previous[1].x - box.x, previous[1].y - box.y)
                if elapsed < 3 * MINUTE or metres > elapsed * SPEED_M_PER_S[unit.kind]:
                    continue
            chosen = unit, officer, previous
            break
        if chosen is None:
            self.missed_visits += 1
            return
        unit, officer, previous = chosen
        r = rng.random()
        far = r < 0.012
        if far:  # scanned nowhere near the box (a photo of the code): the domain flags it
            position = GeoPoint(*offset(box.lat, box.lon, rng.uniform(400, 900), rng.uniform(0, 2 * math.pi)))
        elif r < 0.985:
            position = GeoPoint(*offset(box.lat, box.lon, rng.uniform(0, 25), rng.uniform(0, 2 * math.pi)))
        else:  # the phone shared no position: the domain flags it "no position" (it does not count)
            position = None
        observation = rng.choice(VISIT_OBSERVATIONS) if rng.random() < 0.12 else ""
        vid = self.uuid()
        self.app.log_patrol_visit(
            box_id=box.id,
            token_version=box.token_version,
            by=officer,
            unit_id=unit.id,
            position=position,
            observation=observation,
            occurred_at=self.now,
            previous_visit_id=previous[2] if previous else None,
            id=vid,
        )
        self.visits += 1
        self.last_visit[officer] = (t, box, vid)
        r = rng.random()
        if far and rng.random() < 0.35:
            self.at(t + self.uniform(HOUR, 12 * HOUR), self.void_visit, Visit(vid, officer))
        elif r < 0.03:
            self.at(t + self.uniform(MINUTE, 15 * MINUTE), self.observe, Visit(vid, officer))
        elif r < 0.034:
            visit = Visit(vid, officer)
            self.at(t + self.uniform(HOUR, 8 * HOUR), self.flag_visit, visit)
            if rng.random() < 0.4:
                self.at(t + self.uniform(9 * HOUR, 20 * HOUR), self.void_visit, visit)
        elif r < 0.039:
            self.at(t + self.uniform(HOUR, 12 * HOUR), self.void_visit, Visit(vid, officer))

    def observe(self, t: int, visit: Visit) -> None:
        if not visit.voided:
            self.app.add_visit_observation(
                visit.id, text=self.rng.choice(VISIT_OBSERVATIONS), by=visit.officer, occurred_at=self.now
            )

    def flag_visit(self, t: int, visit: Visit) -> None:
        if not visit.voided:
            self.app.flag_visit(
                visit.id, reason=self.rng.choice(FLAG_REASONS), by=self.supervisor(t), occurred_at=self.now
            )

    def void_visit(self, t: int, visit: Visit) -> None:
        if not visit.voided:
            self.app.void_visit(
                visit.id, reason=self.rng.choice(VOID_REASONS), by=self.supervisor(t), occurred_at=self.now
            )
            visit.voided = True

    def rotate(self, t: int, box: Box) -> None:
        if not box.retired:
            self.app.rotate_red_box_token(
                box.id, reason=self.rng.choice(ROTATION_REASONS), by=self.supervisor(t), occurred_at=self.now
            )
            box.token_version += 1
