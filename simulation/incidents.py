"""Incidents, from the report to the close: triage, notes, dispatch (taking a unit off a minor call for an
emergency), travel, on scene, resolution at the scene or at the desk, closing, a few reopened or cancelled."""

from __future__ import annotations

import math
from uuid import UUID

from domain.values import (
    COMMUNITY_NAMES_EN,
    COMMUNITY_NAMES_TH,
    Assignment,
    CancelReason,
    Category,
    Channel,
    Community,
    GeoPoint,
    IncidentStatus,
    Outcome,
    Priority,
    UnitKind,
    UnitStatus,
)
from simulation.happenings import (
    CALL_TO_DISPATCH,
    CATS,
    DISPATCHER_NOTES,
    LOCATIONS,
    OFFICER_NOTES,
    OUTCOME_SUMMARIES,
    REOPEN_REASONS,
    SECOND_UNIT,
    TRIAGE_CATEGORY,
)
from simulation.reference import CENTRES, TRAVEL_MEDIAN_MIN, offset
from simulation.scheduler import HOUR, MINUTE, instant
from simulation.world import ACTIVE, OPEN, Inc, Unit, World

# What a walk-in reporter's report may be settled at the desk for.
DESK_CATEGORIES = (Category.THEFT, Category.BURGLARY, Category.VANDALISM, Category.OTHER, Category.ROBBERY)


class Incidents(World):
    def _location(self, community: Community) -> str:
        th, en = self.rng.choice(LOCATIONS)
        n = self.rng.randint(1, 15)
        if self.rng.random() < 0.55:
            return f"{th.format(n=n)} ชุมชน{COMMUNITY_NAMES_TH[community]}"
        return f"{en.format(n=n)}, {COMMUNITY_NAMES_EN[community]}"

    def _position(self, community: Community) -> GeoPoint | None:
        if self.rng.random() > 0.75:
            return None
        lat, lon = CENTRES[community]  # within 130 m of the centre: inside the community's outline (zone.geojson)
        return GeoPoint(*offset(lat, lon, self.rng.uniform(0, 130), self.rng.uniform(0, 2 * math.pi)))

    def report(self, t: int, category: Category, duplicate_of: Inc | None = None) -> None:
        rng = self.rng
        if duplicate_of is not None:
            community, priority = duplicate_of.community, duplicate_of.priority
            channel = Channel.PHONE_191 if rng.random() < 0.7 else Channel.MOBILE_SOS
        else:
            community = self.pick(self.community_table)
            priority = self.pick(self.priority_table[category])
            channel = self.pick(self.channel_tables[category])
        by = self.dispatcher(t)
        reporting_unit = None
        if channel is Channel.PATROL:
            units = self.free_units(community)
            if units:
                reporting_unit = rng.choice(units)
                by = rng.choice(reporting_unit.crew)
            else:
                channel = Channel.PHONE_191
        occurred = t
        if channel is Channel.WALK_IN and rng.random() < 0.5:  # happened a while before it was reported
            occurred = max(self.start, t - self.uniform(10 * MINUTE, 2 * HOUR))
        contact = None
        if channel in (Channel.PHONE_191, Channel.WALK_IN, Channel.MOBILE_SOS) and rng.random() < 0.06:
            contact = rng.choice(self.callers) if rng.random() < 0.25 else self.contact()
        description = self.text(rng.choice(CATS[category].texts))
        if duplicate_of is not None:
            prefix = "ผู้แจ้งอีกรายแจ้งเหตุเดียวกัน: " if rng.random() < 0.5 else "Another caller reports the same: "
            description = prefix + description
        result = self.app.report_incident(
            channel=channel,
            category=category,
            priority=priority,
            community=community,
            location=self._location(community),
            description=description,
            by=by,
            occurred_at=instant(occurred),
            position=self._position(community),
            contact=contact,
        )
        self.incidents += 1
        inc = Inc(result.id, category, priority, community, channel, t)
        if duplicate_of is not None:
            self.at(t + self.uniform(MINUTE, 4 * MINUTE), self.cancel, inc, CancelReason.DUPLICATE, duplicate_of)
            return
        self._remember(inc, t)
        self.lifecycle(t, inc, reporting_unit)

    def _remember(self, inc: Inc, t: int) -> None:
        recent = self.recent[inc.community]
        recent.append(inc)
        while recent and recent[0].reported < t - HOUR:
            recent.pop(0)

    def lifecycle(self, t: int, inc: Inc, reporting_unit: Unit | None = None) -> None:
        """Plans what happens to a new incident: triage, notes, cancellation, dispatch or desk resolution."""
        rng = self.rng
        r = rng.random()
        if r < 0.025:
            inc.cancel_plan = "false_early" if rng.random() < 0.4 else "false_late"
        elif r < 0.04:
            inc.cancel_plan = "withdrawn"
        if rng.random() < 0.30:
            self.at(t + self.uniform(MINUTE, 10 * MINUTE), self.note, inc, None)
        dispatch_at = None
        triage_at = t + self.uniform(40, 150) if rng.random() < 0.14 else None
        if triage_at is not None:
            self.at(triage_at, self.triage, inc)
        if inc.cancel_plan == "false_early":
            self.at(t + self.uniform(2 * MINUTE, 6 * MINUTE), self.cancel, inc, CancelReason.FALSE_REPORT, None)
        elif inc.cancel_plan == "withdrawn":
            self.at(t + self.uniform(3 * MINUTE, 15 * MINUTE), self.cancel, inc, CancelReason.WITHDRAWN, None)
        if reporting_unit is not None:
            inc.self_unit = reporting_unit
            dispatch_at = t + self.uniform(20, 90)
        elif inc.channel is Channel.WALK_IN and inc.category in DESK_CATEGORIES and rng.random() < 0.6:
            outcome = Outcome.REPORT_FILED if rng.random() < 0.8 else Outcome.REFERRED
            self.at(
                t + int(self.logn(35 * MINUTE, 0.5, 10 * MINUTE, 3 * HOUR)), self.desk_resolve, inc, inc.epoch, outcome
            )
        elif inc.priority is Priority.P4 and rng.random() < 0.12:
            self.at(
                t + self.uniform(5 * MINUTE, 15 * MINUTE), self.desk_resolve, inc, inc.epoch, Outcome.ASSISTANCE_GIVEN
            )
        else:
            median, lo, hi = CALL_TO_DISPATCH[inc.priority]
            dispatch_at = t + int(self.logn(median * MINUTE, 0.4, lo * MINUTE, hi * MINUTE))
            if triage_at is not None:
                dispatch_at = max(dispatch_at, triage_at + self.uniform(10, 60))
        if dispatch_at is not None:
            inc.second = rng.random() < SECOND_UNIT[inc.priority]
            self.at(dispatch_at, self.dispatch, inc)
        if inc.channel in (Channel.PHONE_191, Channel.MOBILE_SOS) and inc.cancel_plan is None and rng.random() < 0.035:
            self.at(t + self.uniform(2 * MINUTE, 15 * MINUTE), self.report, inc.category, inc)

    def triage(self, t: int, inc: Inc) -> None:
        if inc.phase is not OPEN:
            return
        rng = self.rng
        order = list(Priority)
        i = order.index(inc.priority)
        r = rng.random()
        category, priority = None, None
        if r < 0.2 and inc.category in TRIAGE_CATEGORY:
            category = TRIAGE_CATEGORY[inc.category]
            reason = "Reclassified after calling the reporter back"
        elif (r < 0.7 and i > 0) or i == 3:
            priority = order[i - 1]
            reason = rng.choice(
                (
                    "Caller reports a weapon",
                    "Victim injured; ambulance requested",
                    "Suspect still at the scene",
                    "ผู้แจ้งแจ้งว่ามีผู้บาดเจ็บ",
                )
            )
        else:
            priority = order[i + 1]
            reason = rng.choice(
                ("Suspect has left; nobody injured", "Caller confirms the situation is calm", "ผู้แจ้งแจ้งว่าเหตุสงบแล้ว")
            )
        self.app.triage_incident(
            inc.id, reason=reason, by=self.dispatcher(t), category=category, priority=priority, occurred_at=self.now
        )
        inc.category = category or inc.category
        inc.priority = priority or inc.priority

    def note(self, t: int, inc: Inc, officer: UUID | None) -> None:
        text = self.rng.choice(OFFICER_NOTES if officer else DISPATCHER_NOTES)
        self.app.add_incident_note(inc.id, text=text, by=officer or self.dispatcher(t), occurred_at=self.now)

    def _choose(self, inc: Inc) -> Unit | None:
        free = [u for u in self.free_units(inc.community) if inc.units.get(u.idx) not in ACTIVE]
        if inc.priority in (Priority.P1, Priority.P2):
            fast = [u for u in free if u.kind in (UnitKind.CAR, UnitKind.MOTORCYCLE)]
            free = fast or free
        return self.rng.choice(free) if free else None

    def _takeable(self, inc: Inc) -> Unit | None:
        """A unit busy on a low-priority call that a dispatcher would take for an emergency."""
        candidates = [
            u
            for u in self.units
            if u.status is UnitStatus.ASSIGNED
            and not u.leaving
            and u.incident is not inc
            and u.incident is not None
            and u.incident.priority in (Priority.P3, Priority.P4)
            and (u.beat is None or inc.community in u.beat)
        ]
        return self.rng.choice(candidates) if candidates else None

    def dispatch(self, t: int, inc: Inc) -> None:
        if inc.phase is not OPEN or inc.active():
            return
        unit, reporter = None, inc.self_unit
        inc.self_unit = None
        if reporter is not None and reporter.status is UnitStatus.AVAILABLE and not reporter.leaving:
            unit = reporter
        if unit is None and inc.priority is Priority.P1 and self.rng.random() < 0.2:
            unit = self._takeable(inc)  # the nearest unit is busy on a minor call: take it off that one
        unit = unit or self._choose(inc)
        if unit is None and (inc.priority is Priority.P1 or (inc.priority is Priority.P2 and self.rng.random() < 0.5)):
            unit = self._takeable(inc)
        if unit is None:
            self.at(t + self.uniform(90, 300), self.dispatch, inc)
            return
        self.assign(t, inc, unit, self_reported=unit is reporter)
        if inc.second:
            inc.second = False
            self.at(t + self.uniform(MINUTE, 5 * MINUTE), self.dispatch_second, inc)

    def dispatch_second(self, t: int, inc: Inc) -> None:
        if inc.phase is not OPEN or not inc.active():
            return
        unit = self._choose(inc)
        if unit is not None:
            self.assign(t, inc, unit)

    def assign(self, t: int, inc: Inc, unit: Unit, self_reported: bool = False) -> None:
        previous = unit.incident if unit.status is UnitStatus.ASSIGNED else None
        reason = ""
        if previous is not None:
            reason = f"Taken from a {previous.priority.value} call for a {inc.priority.value} emergency"
        self.app.dispatch_unit(
            inc.id, unit.id, by=self.dispatcher(t), reassign=previous is not None, reason=reason, occurred_at=self.now
        )
        idx = unit.idx
        if previous is not None:
            previous.units[idx] = Assignment.CLEARED
            if not previous.active():
                previous.epoch += 1
                previous.resolve_pending = False
                self.at(t + self.uniform(2 * MINUTE, 6 * MINUTE), self.dispatch, previous)
        unit.status, unit.incident = UnitStatus.ASSIGNED, inc
        unit.job += 1
        inc.units[idx] = Assignment.DISPATCHED
        if self_reported:
            self.at(t + self.uniform(10, 60), self.on_scene, inc, unit, unit.job)
            return
        median = TRAVEL_MEDIAN_MIN[unit.kind] * (0.75 if inc.priority is Priority.P1 else 1.0)
        travel = int(self.logn(median * MINUTE, 0.4, 2 * MINUTE, 20 * MINUTE))
        if self.rng.random() < 0.85:
            self.at(t + self.uniform(15, min(120, travel - 30)), self.en_route, inc, unit, unit.job)
        self.at(t + travel, self.on_scene, inc, unit, unit.job)

    def _still(self, inc: Inc, unit: Unit, job: int, states: tuple[str, ...]) -> bool:
        return unit.job == job and unit.incident is inc and inc.phase is OPEN and inc.units.get(unit.idx) in states

    def en_route(self, t: int, inc: Inc, unit: Unit, job: int) -> None:
        if self._still(inc, unit, job, (Assignment.DISPATCHED,)):
            self.app.mark_en_route(inc.id, unit.id, by=unit.crew[0], occurred_at=self.now)
            inc.units[unit.idx] = Assignment.EN_ROUTE

    def on_scene(self, t: int, inc: Inc, unit: Unit, job: int) -> None:
        if not self._still(inc, unit, job, (Assignment.DISPATCHED, Assignment.EN_ROUTE)):
            return
        self.app.mark_on_scene(inc.id, unit.id, by=unit.crew[0], occurred_at=self.now)
        inc.units[unit.idx] = Assignment.ON_SCENE
        rng = self.rng
        first = not inc.arrived
        inc.arrived = True
        if first and inc.cancel_plan == "false_late":
            self.at(t + self.uniform(5 * MINUTE, 15 * MINUTE), self.cancel, inc, CancelReason.FALSE_REPORT, None)
            return
        if not inc.resolve_pending:
            inc.resolve_pending = True
            duration = int(self.logn(CATS[inc.category].on_scene * MINUTE, 0.5, 8 * MINUTE, 3 * HOUR))
            self.at(t + duration, self.resolve, inc, inc.epoch)
            if rng.random() < 0.15:
                self.at(t + self.uniform(MINUTE, max(MINUTE, duration - MINUTE)), self.note, inc, unit.crew[0])
        elif not first and rng.random() < 0.5:
            self.at(t + self.uniform(10 * MINUTE, 30 * MINUTE), self.clear, inc, unit, job)

    def clear(self, t: int, inc: Inc, unit: Unit, job: int) -> None:
        if not self._still(inc, unit, job, ACTIVE):
            return
        idx = unit.idx
        if not any(s in ACTIVE for i, s in inc.units.items() if i != idx):
            return
        self.app.clear_unit(
            inc.id, unit.id, by=unit.crew[0], reason="Not needed any more; back on patrol", occurred_at=self.now
        )
        inc.units[idx] = Assignment.CLEARED
        self.free(t, unit)

    def _release_all(self, t: int, inc: Inc) -> None:
        for idx, state in inc.units.items():
            if state in ACTIVE:
                inc.units[idx] = Assignment.CLEARED
                unit = self.units[idx]
                if unit.incident is inc:
                    self.free(t, unit)

    def resolve(self, t: int, inc: Inc, epoch: int) -> None:
        if inc.phase is not OPEN or inc.epoch != epoch:
            return
        on_scene = [self.units[i] for i, s in inc.units.items() if s is Assignment.ON_SCENE]
        if not on_scene:
            inc.resolve_pending = False
            return
        outcome = self.pick(self.outcome_table[inc.category])
        self.app.resolve_incident(
            inc.id,
            outcome=outcome,
            summary=self.text(OUTCOME_SUMMARIES[outcome], 0.5),
            by=on_scene[0].crew[0],
            occurred_at=self.now,
        )
        self._resolved(t, inc)

    def desk_resolve(self, t: int, inc: Inc, epoch: int, outcome: Outcome) -> None:
        if inc.phase is not OPEN or inc.epoch != epoch or inc.active():
            return
        self.app.resolve_incident(
            inc.id,
            outcome=outcome,
            summary=self.text(OUTCOME_SUMMARIES[outcome], 0.5),
            by=self.dispatcher(t),
            occurred_at=self.now,
        )
        self._resolved(t, inc)

    def _resolved(self, t: int, inc: Inc) -> None:
        self._release_all(t, inc)
        inc.phase, inc.resolve_pending = IncidentStatus.RESOLVED, False
        if self.rng.random() < 0.88:
            self.at(t + int(self.logn(6 * HOUR, 0.9, 20 * MINUTE, 72 * HOUR)), self.close, inc)

    def close(self, t: int, inc: Inc) -> None:
        if inc.phase is not IncidentStatus.RESOLVED:
            return
        reason = self.rng.choice(("", "", "Reviewed; report complete", "ตรวจสอบแล้ว ถูกต้อง"))
        self.app.close_incident(inc.id, by=self.supervisor(t), reason=reason, occurred_at=self.now)
        inc.phase = IncidentStatus.CLOSED
        if self.rng.random() < 0.015:
            self.at(t + self.uniform(6 * HOUR, 72 * HOUR), self.reopen, inc)

    def reopen(self, t: int, inc: Inc) -> None:
        if inc.phase not in (IncidentStatus.RESOLVED, IncidentStatus.CLOSED):
            return
        self.app.reopen_incident(
            inc.id, reason=self.rng.choice(REOPEN_REASONS), by=self.supervisor(t), occurred_at=self.now
        )
        inc.phase, inc.resolve_pending, inc.arrived, inc.cancel_plan = OPEN, False, False, None
        inc.epoch += 1
        if self.rng.random() < 0.5:
            self.at(t + self.uniform(5 * MINUTE, 30 * MINUTE), self.dispatch, inc)
        else:
            outcome = Outcome.ARREST if self.rng.random() < 0.3 else Outcome.REPORT_FILED
            self.at(t + self.uniform(30 * MINUTE, 3 * HOUR), self.desk_resolve, inc, inc.epoch, outcome)

    def cancel(self, t: int, inc: Inc, reason: CancelReason, original: Inc | None) -> None:
        if inc.phase is not OPEN:
            return
        note = ""
        if reason is CancelReason.DUPLICATE and original is not None and original.phase is IncidentStatus.CANCELLED:
            reason, original, note = CancelReason.WITHDRAWN, None, "The first report of this was cancelled"
        elif reason is CancelReason.FALSE_REPORT:
            note = self.rng.choice(("Nothing found at the address; caller unreachable", "Prank call", "แจ้งเหตุเท็จ"))
        elif reason is CancelReason.WITHDRAWN:
            note = note or self.rng.choice(("Caller called back: no longer needed", "ผู้แจ้งขอยกเลิก"))
        self.app.cancel_incident(
            inc.id,
            cancel_reason=reason,
            by=self.dispatcher(t),
            note=note,
            duplicate_of=original.id if reason is CancelReason.DUPLICATE and original else None,
            occurred_at=self.now,
        )
        self._release_all(t, inc)
        inc.phase = IncidentStatus.CANCELLED
