"""What the simulation knows of the zone as it runs: each unit, red box, camera, incident, alert and visit, who is on
shift, and the units' shifts. The domain's own types say where each stands."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from uuid import UUID

from application.ports import Contact
from application.zone import ZoneApplication
from domain.accounts import UserAccount
from domain.cameras import Camera
from domain.patrol import PatrolUnit, RedBox
from domain.values import (
    COMMUNITY_NAMES_EN,
    AlertKind,
    AlertStatus,
    Assignment,
    Category,
    Channel,
    Community,
    DetectionRule,
    IncidentStatus,
    Priority,
    UnitKind,
    UnitStatus,
    Zone,
)
from infrastructure.zone_map import zone_map
from simulation.happenings import (
    BASE_HOURLY,
    CATS,
    CHANNEL_BASE,
    CHANNEL_BIAS,
    ESCALATION,
    REPORTER_FIRST,
    REPORTER_LAST,
    cumulative,
    is_night_hour,
)
from simulation.reference import (
    ALL_DAY,
    BEATS,
    BOXES_PER_COMMUNITY,
    CAMERA_PLACES,
    CAMERAS_PER_COMMUNITY,
    CENTRES,
    COMMUNITIES,
    COMMUNITY_WEIGHTS,
    LATE_NIGHT,
    NIGHT,
    UNITS,
    ZONE_SETS,
    spread,
    staff,
)
from simulation.scheduler import HOUR, LOCAL_OFFSET, MINUTE, Scheduler, SimulatedClock

SHIFT = 8 * HOUR  # shifts start at 06:00, 14:00 and 22:00 local
SHIFT_ORIGIN = 6 * HOUR
ACTIVE = (Assignment.DISPATCHED, Assignment.EN_ROUTE, Assignment.ON_SCENE)
# An incident's phase is the domain's: REPORTED while it is open, then RESOLVED, CLOSED or CANCELLED.
OPEN = IncidentStatus.REPORTED


class Unit:
    __slots__ = (
        "idx",
        "id",
        "call_sign",
        "kind",
        "beat",
        "status",
        "incident",
        "crew",
        "next_crew",
        "planned",
        "leaving",
        "job",
    )

    def __init__(self, idx: int, call_sign: str, kind: UnitKind):
        self.idx = idx
        self.id = PatrolUnit.id_for(call_sign)
        self.call_sign = call_sign
        self.kind = kind
        self.beat = BEATS.get(call_sign)
        self.status = UnitStatus.OFF_DUTY
        self.incident: Inc | None = None
        self.crew: list[UUID] = []
        self.next_crew: list[UUID] = []
        self.planned = False
        self.leaving = False
        self.job = 0


class Box:
    __slots__ = ("id", "code", "community", "lat", "lon", "x", "y", "token_version", "retired")

    def __init__(self, code: str, community: Community, lat: float, lon: float):
        self.id = RedBox.id_for(code)
        self.code, self.community, self.lat, self.lon = code, community, lat, lon
        self.x = (lon - 99.83) * 111_320.0 * math.cos(math.radians(19.91))
        self.y = (lat - 19.91) * 110_540.0
        self.token_version = 1
        self.retired = False


class Cam:
    __slots__ = ("id", "code", "name", "community", "rules", "zones", "retired", "offline_until")

    def __init__(self, code: str, name: str, community: Community, rules: list[DetectionRule], zones: Sequence[Zone]):
        self.id = Camera.id_for(code)
        self.code, self.name, self.community, self.rules, self.zones = code, name, community, rules, zones
        self.retired = False
        self.offline_until = 0


class Inc:
    __slots__ = (
        "id",
        "category",
        "priority",
        "community",
        "channel",
        "reported",
        "phase",
        "units",
        "epoch",
        "resolve_pending",
        "cancel_plan",
        "self_unit",
        "second",
        "arrived",
    )

    def __init__(
        self, id: UUID, category: Category, priority: Priority, community: Community, channel: Channel, reported: int
    ):
        self.id, self.category, self.priority, self.community, self.channel = id, category, priority, community, channel
        self.reported = reported
        self.phase = OPEN
        self.units: dict[int, Assignment] = {}
        self.epoch = 0
        self.resolve_pending = False
        self.cancel_plan: str | None = None
        self.self_unit: Unit | None = None
        self.second = False
        self.arrived = False

    def active(self) -> bool:
        return any(s in ACTIVE for s in self.units.values())


class Alert:
    __slots__ = ("id", "cam", "kind", "raised", "status")

    def __init__(self, id: UUID, cam: Cam, kind: AlertKind, raised: int):
        self.id, self.cam, self.kind, self.raised = id, cam, kind, raised
        self.status = AlertStatus.RAISED


class Visit:
    __slots__ = ("id", "officer", "voided")

    def __init__(self, id: UUID, officer: UUID):
        self.id, self.officer, self.voided = id, officer, False


class World(Scheduler):
    def __init__(
        self,
        app: ZoneApplication,
        clock: SimulatedClock,
        rng: random.Random,
        seed: int,
        salt: int,
        start: int,
        until: int,
    ):
        super().__init__(clock, rng, salt, start, until)
        self.app, self.seed = app, seed
        self.incidents = self.visits = self.alerts = self.missed_visits = 0
        ids = {name: UserAccount.id_for(name) for name, _, _ in staff()}
        self.dispatchers = [[ids[f"dispatcher{2 * c + i:02d}"] for i in (1, 2)] for c in range(3)]
        self.officers = [[ids[f"officer{8 * c + i:02d}"] for i in range(1, 9)] for c in range(3)]
        self.supervisors = [ids[f"supervisor{c + 1:02d}"] for c in range(3)]
        self.units = [
            Unit(idx, call_sign, kind)
            for idx, (call_sign, kind) in enumerate(
                (f"{prefix}-{i}", kind) for prefix, kind, n in UNITS for i in range(1, n + 1)
            )
        ]
        self.boxes = self._boxes()
        self.cams = self._cams()
        self.last_visit: dict[UUID, tuple[int, Box, UUID]] = {}
        self.recent: dict[Community, list[Inc]] = {c: [] for c in COMMUNITIES}
        # Precomputed weighted choices.
        cats = list(CATS)
        self.cat_table = (cats, cumulative([CATS[c].weight for c in cats]))
        self.hour_tables = {
            c: cumulative(
                [
                    BASE_HOURLY[h]
                    * (CATS[c].night if is_night_hour(h) else 1.0)
                    * (1.6 if c is Category.TRAFFIC_ACCIDENT and h in (7, 8, 16, 17) else 1.0)
                    for h in range(24)
                ]
            )
            for c in cats
        }
        channels = list(CHANNEL_BASE)
        self.channel_tables = {
            c: (channels, cumulative([CHANNEL_BASE[ch] * CHANNEL_BIAS.get(c, {}).get(ch, 1.0) for ch in channels]))
            for c in cats
        }
        self.community_table = (COMMUNITIES, cumulative([COMMUNITY_WEIGHTS[c] for c in COMMUNITIES]))
        self.priority_table = {c: (list(Priority), cumulative(CATS[c].priorities)) for c in cats}
        self.outcome_table = {
            c: ([o for o, _ in CATS[c].outcomes], cumulative([w for _, w in CATS[c].outcomes])) for c in cats
        }
        self.escalation_table = {k: ([c for c, _ in v], cumulative([w for _, w in v])) for k, v in ESCALATION.items()}
        self.callers = [self.contact() for _ in range(25)]

    @staticmethod
    def _boxes() -> list[Box]:
        boxes = []
        for ci, (community, n) in enumerate(zip(COMMUNITIES, BOXES_PER_COMMUNITY, strict=True)):
            for k in range(n):
                code = f"RB-{len(boxes) + 1:02d}"
                where = zone_map().reference_position("red_box", code)  # inside its community's outline
                lat, lon = (where.lat, where.lon) if where else spread(CENTRES[community], k + ci, 60.0)
                boxes.append(Box(code, community, lat, lon))
        return boxes

    @staticmethod
    def _cams() -> list[Cam]:
        cams = []
        for ci, (community, n) in enumerate(zip(COMMUNITIES, CAMERAS_PER_COMMUNITY, strict=True)):
            for k in range(n):
                i = len(cams) + 1
                rules = []
                if i % 7 != 3:  # most cameras watch for people at night
                    rules.append(DetectionRule(AlertKind.PERSON_AT_NIGHT, *NIGHT, min_score=0.5, min_area=0.01))
                if i % 5 in (1, 3):
                    rules.append(DetectionRule(AlertKind.MOTION_IN_ZONE, *LATE_NIGHT, min_score=0.3, min_area=0.02))
                if i % 4 == 2:
                    rules.append(DetectionRule(AlertKind.LOITERING, *ALL_DAY, min_score=0.6, min_area=0.01))
                place = CAMERA_PLACES[(ci + 3 * k) % len(CAMERA_PLACES)]
                cams.append(
                    Cam(
                        f"CAM-{i:02d}",
                        f"{place.capitalize()}, {COMMUNITY_NAMES_EN[community]}",
                        community,
                        rules,
                        ZONE_SETS[i % len(ZONE_SETS)],
                    )
                )
        return cams

    def contact(self) -> Contact:
        rng = self.rng
        return Contact(
            f"{rng.choice(REPORTER_FIRST)} {rng.choice(REPORTER_LAST)}", f"08{rng.randint(0, 99_999_999):08d}"
        )

    # --- who is on shift --------------------------------------------------------------------------
    @staticmethod
    def shift_no(t: int) -> int:
        return (t + LOCAL_OFFSET - SHIFT_ORIGIN) // SHIFT

    def crew_of(self, t: int) -> int:
        n = self.shift_no(t)
        return (n % 3 + n // 21) % 3  # each crew takes every shift in turn, a week at a time

    def dispatcher(self, t: int) -> UUID:
        return self.rng.choice(self.dispatchers[self.crew_of(t)])

    def supervisor(self, t: int) -> UUID:
        return self.supervisors[self.crew_of(t)]

    def plan_shift(self, t: int) -> None:
        n = self.shift_no(t)
        s = n % 3
        cars, mcs, foot, bikes = (
            [u for u in self.units if u.kind is k and u.status != UnitStatus.RETIRED]
            for k in (UnitKind.CAR, UnitKind.MOTORCYCLE, UnitKind.FOOT, UnitKind.BICYCLE)
        )

        def rotate(units: list[Unit], k: int) -> list[Unit]:
            return [units[(n + j) % len(units)] for j in range(min(k, len(units)))]

        if s == 0:  # 06–14
            chosen = rotate(cars, 1) + rotate(mcs, 3) + rotate(foot, 2) + rotate(bikes, 1)
        elif s == 1:  # 14–22
            chosen = rotate(cars, 2) + rotate(mcs, 3) + rotate(foot, 1)
        else:  # 22–06
            chosen = rotate(cars, 2) + rotate(mcs, 4)
        crew = self.rng.sample(self.officers[self.crew_of(t)], 8)
        for u in self.units:
            u.planned = False
        i = 0
        for u in chosen:
            k = 2 if u.kind is UnitKind.CAR else 1
            u.planned, u.next_crew = True, crew[i : i + k] or crew[-1:]
            i += k

    def first_shift(self, t: int) -> None:
        self.plan_shift(t)
        for u in self.units:
            if u.planned and u.status == UnitStatus.OFF_DUTY:
                self.at(t + self.uniform(0, 120), self.unit_on, u)

    def shift_change(self, t: int) -> None:
        self.plan_shift(t)
        for u in self.units:
            if u.status == UnitStatus.AVAILABLE:
                u.leaving = True
                self.at(t + self.uniform(0, 10 * MINUTE), self.unit_off, u)
            elif u.status == UnitStatus.ASSIGNED:
                u.leaving = True  # goes off duty once cleared
            elif u.status == UnitStatus.OFF_DUTY and u.planned:
                self.at(t + self.uniform(0, 8 * MINUTE), self.unit_on, u)

    def unit_on(self, t: int, u: Unit) -> None:
        if u.status != UnitStatus.OFF_DUTY or not u.planned:
            return
        self.app.unit_on_duty(u.id, officer_ids=u.next_crew, by=u.next_crew[0], occurred_at=self.now)
        u.status, u.crew = UnitStatus.AVAILABLE, u.next_crew

    def unit_off(self, t: int, u: Unit) -> None:
        if u.status != UnitStatus.AVAILABLE or not u.leaving:
            return
        self.app.unit_off_duty(u.id, by=u.crew[0], reason="End of shift", occurred_at=self.now)
        u.status, u.leaving, u.crew = UnitStatus.OFF_DUTY, False, []
        if u.planned:
            self.at(t + self.uniform(MINUTE, 5 * MINUTE), self.unit_on, u)

    def free(self, t: int, u: Unit) -> None:
        u.status, u.incident = UnitStatus.AVAILABLE, None
        if u.leaving:
            self.at(t + self.uniform(MINUTE, 5 * MINUTE), self.unit_off, u)

    def free_units(self, community: Community | None = None) -> list[Unit]:
        return [
            u
            for u in self.units
            if u.status == UnitStatus.AVAILABLE
            and not u.leaving
            and (u.beat is None or community is None or community in u.beat)
        ]
