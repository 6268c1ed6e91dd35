"""`generate(settings, months=..., seed=...)` writes a realistic, deterministic history of the zone: `months` × 30 days
ending at `until`, minute by minute — three 8-hour shifts of patrol units and dispatchers, incidents with their whole
lifecycle, check-ins at the red boxes, the smart cameras' alerts and their triage.

The simulator drives an application of its own, built by the composition root with a simulated clock, through the
application's commands, each with its `occurred_at`: whatever that application stamps "now" (a report's reception, an
intake claim, a visit's timing checks) is the simulated now. No other application's clock is touched: `ssz demo` runs
in a process of its own, and the simulator's application is its own beside a test's or a server's, whose cached
aggregates catch up with the store as any other writer's would.

Two runs with the same seed into two fresh stores write the same events (apart from the store's recording timestamps
and the ciphertext of reporter contacts, sealed with fresh random nonces and keys: they decrypt to the same contacts).
A re-run into a store that holds a history already reuses the users, units, red boxes and cameras, takes the units off
duty, and continues the history after the last event of those aggregates."""

from __future__ import annotations

import random
import sys
import time as wallclock
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import time as dt_time
from uuid import UUID

from tqdm import tqdm

from application.zone import ZoneApplication, utcnow
from domain.accounts import UserAccount
from domain.intake import ReferenceBook
from domain.rounds import OfficerRound
from domain.values import (
    BANGKOK,
    COMMUNITY_NAMES_EN,
    COMMUNITY_NAMES_TH,
    SYSTEM_USER_ID,
    GeoPoint,
    UnitStatus,
    be_year,
)
from infrastructure.bootstrap import bootstrap
from infrastructure.settings import Settings
from infrastructure.zone_map import zone_map
from simulation.model import Simulation
from simulation.reference import BOX_PLACES, CAMERA_OWNERS, CENTRES, COMMUNITIES, spread, staff
from simulation.scheduler import DAY, HOUR, LOCAL_OFFSET, MINUTE, SimulatedClock, instant

DEMO_PASSWORD = "demo-password-2569"
MONTH_DAYS = 30
# The simulator's application saves its commands in batches (`ZoneApplication.batch`), one atomic save per three
# simulated days (about 2,000 events): a save per command made a month of history take 4.6 times as long on SQLite.
DAYS_PER_SAVE = 3


@dataclass(frozen=True)
class DemoSummary:
    incidents: int
    visits: int
    alerts: int
    events: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        return (
            f"{self.incidents} incidents, {self.visits} patrol visits, {self.alerts} camera alerts: "
            f"{self.events} events in {self.seconds:.1f} s ({self.events_per_second:,.0f} events/s)"
        )


def default_until(now: datetime) -> datetime:
    """Today's 00:00 in Bangkok: the end of a demo history that is the same whenever in the day it is written."""
    return datetime.combine(now.astimezone(BANGKOK).date(), dt_time(0), BANGKOK)


def generate(
    settings: Settings, *, months: float, seed: int, until: datetime | None = None, progress: bool = True
) -> DemoSummary:
    """Writes `months` × 30 days of history ending at `until` (default: today's 00:00 in Bangkok, so that the same
    seed writes the same history all day) into the store the settings name; returns what it wrote and how fast."""
    if months <= 0:
        raise ValueError("months must be positive")
    real_now = utcnow()
    if until is None:
        until = default_until(real_now)
    if until.tzinfo is None:
        raise ValueError("until must say its time zone")
    if until > real_now:
        raise ValueError("until cannot be in the future: the application refuses events that have not happened yet")
    began = wallclock.perf_counter()
    until_ts = int(until.timestamp())
    start_ts = until_ts - int(months * MONTH_DAYS * DAY)
    clock = SimulatedClock(start_ts)
    # In `ssz demo` the progress bar is the output: no log line of a command under it.
    container = bootstrap(settings.model_copy(update={"log_level": "WARNING"}), clock=clock)
    try:
        app = container.app
        first_notification = app.recorder.max_notification_id() or 0
        sim = Simulation(app, clock, random.Random(seed), seed, first_notification, start_ts, until_ts)
        rerun = first_notification > 0 and _exists(app, sim.units[0].id)
        if rerun:  # continue after what is there, so that every aggregate's events stay in time order
            start_ts = sim.start = _continuing_after(app, sim, start_ts, until_ts)
        if start_ts >= until_ts:
            return DemoSummary(0, 0, 0, 0, wallclock.perf_counter() - began)
        _create_users(app, clock, start_ts - 3 * DAY)  # one by one: a password is kept once its user is saved
        with app.batch(flush_every=sys.maxsize):
            _register(app, sim, start_ts - 2 * DAY)
            clock.now = instant(start_ts)
            if rerun:
                sim.reconcile(start_ts)
            sim.first_shift(start_ts)
        first_day = start_ts - (start_ts + LOCAL_OFFSET) % DAY
        days = range(first_day, until_ts + 1, DAY)
        with tqdm(total=len(days), unit="day", desc="demo history", disable=not progress) as bar:
            for i in range(0, len(days), DAYS_PER_SAVE):
                with app.batch(flush_every=sys.maxsize):
                    for day in days[i : i + DAYS_PER_SAVE]:
                        sim.plan_day(day)
                        sim.run_until(min(day + DAY, until_ts + 1))
                        bar.update(1)
                bar.set_postfix(events=(app.recorder.max_notification_id() or 0) - first_notification, refresh=False)
        events = (app.recorder.max_notification_id() or 0) - first_notification
    finally:
        container.close()
    return DemoSummary(sim.incidents, sim.visits, sim.alerts, events, wallclock.perf_counter() - began)


def _exists(app: ZoneApplication, aggregate_id: UUID) -> bool:
    return bool(list(app.events.get(aggregate_id, limit=1)))


def _continuing_after(app: ZoneApplication, sim: Simulation, start_ts: int, until_ts: int) -> int:
    """The start of a re-run: a minute after the last event of the reference data, the year's reference books, the
    incidents the units are busy on (which `reconcile` clears) and the officers' rounds."""
    books = [ReferenceBook.id_for(be_year(instant(ts))) for ts in (start_ts, until_ts)]
    units = [app.repository.get(u.id) for u in sim.units]
    busy_on = [u.incident_id for u in units if u.status is UnitStatus.ASSIGNED]
    rounds = [OfficerRound.id_for(officer) for crew in sim.officers for officer in crew]
    last = _last_occurred(
        app, [u.id for u in sim.units] + [b.id for b in sim.boxes] + [c.id for c in sim.cams] + books + busy_on + rounds
    )
    return last + MINUTE if last is not None and last + MINUTE > start_ts else start_ts


def _last_occurred(app: ZoneApplication, ids: Sequence[UUID]) -> int | None:
    latest = None
    for aggregate_id in ids:
        for event in app.events.get(aggregate_id, desc=True, limit=1):
            ts = int(event.occurred_at.timestamp())
            latest = ts if latest is None else max(latest, ts)
    return latest


def _create_users(app: ZoneApplication, clock: SimulatedClock, at: int) -> None:
    for i, (username, display_name, role) in enumerate(staff()):
        if _exists(app, UserAccount.id_for(username)):
            continue
        clock.now = instant(at + i)
        app.create_user(
            username=username,
            display_name=display_name,
            role=role,
            password=DEMO_PASSWORD,
            by=SYSTEM_USER_ID,
            occurred_at=clock.now,
        )


def _register(app: ZoneApplication, sim: Simulation, at: int) -> None:
    clock, admin = sim.clock, sim.supervisors[0]
    clock.now = instant(at)
    for u in sim.units:
        if not _exists(app, u.id):
            app.register_unit(call_sign=u.call_sign, kind=u.kind, by=admin, occurred_at=clock.now)
    for i, b in enumerate(sim.boxes):
        if not _exists(app, b.id):
            th, en = BOX_PLACES[(i * 3) % len(BOX_PLACES)]
            app.register_red_box(
                code=b.code,
                name_th=f"ตู้แดง {th} {COMMUNITY_NAMES_TH[b.community]}",
                name_en=f"Red box {en}, {COMMUNITY_NAMES_EN[b.community]}",
                community=b.community,
                position=GeoPoint(b.lat, b.lon),
                by=admin,
                occurred_at=clock.now,
            )
    clock.now = instant(at + HOUR)
    for i, c in enumerate(sim.cams):
        if _exists(app, c.id):
            continue
        owner, owner_name = CAMERA_OWNERS[i % len(CAMERA_OWNERS)]
        where = zone_map().reference_position("camera", c.code)  # inside its community's outline
        lat, lon = (where.lat, where.lon) if where else spread(CENTRES[c.community], i % 6, 90.0)
        app.register_camera(
            code=c.code,
            name=c.name,
            community=c.community,
            owner=owner,
            owner_name=owner_name,
            consent_reference=f"MOU-CCTV-CR-2568/{i + 1:03d}",
            source=f"rtsp://10.71.{COMMUNITIES.index(c.community) + 1}.{i + 11}:554/stream1",
            by=SYSTEM_USER_ID,
            position=GeoPoint(lat, lon),
            occurred_at=clock.now,
        )
        app.set_camera_zones(c.id, zones=list(c.zones), by=SYSTEM_USER_ID, occurred_at=clock.now)
        app.set_camera_rules(c.id, rules=c.rules, by=SYSTEM_USER_ID, occurred_at=clock.now)
