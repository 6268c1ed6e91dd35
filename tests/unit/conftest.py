"""Shared helpers for the domain unit tests: actors of every role, a fixed clock, builders of
aggregates in a known state, and two assertions used everywhere:

* `recorded(aggregate, *names, actor=..., at=...)` collects the aggregate's new events and checks
  their class names and that each carries the actor and the time it happened;
* `refused(error_type, *aggregates, mentions=(...))` is a context manager that expects the command
  to raise `error_type` with a readable sentence, and checks that none of the aggregates gained an
  event (same version, and `collect_events()` yields only what was pending before).
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.cameras import Camera, CameraAlert
from domain.incident import Incident
from domain.patrol import PatrolUnit, PatrolVisit, RedBox
from domain.values import (
    SYSTEM,
    Actor,
    AlertKind,
    CancelReason,
    Category,
    Channel,
    Community,
    FalseAlarmReason,
    GeoPoint,
    Outcome,
    PartnerSector,
    Priority,
    Role,
    UnitKind,
)

# 09:30 in Chiang Rai on 14 March 2026 (Buddhist era 2569).
NOW = datetime(2026, 3, 14, 2, 30, tzinfo=UTC)
DIGEST = "ab" * 32
# Two red boxes about 2.2 km apart in Mueang Chiang Rai.
CLOCK_TOWER = GeoPoint(19.9071, 99.8310)
KO_LOI_PARK = GeoPoint(19.9175, 99.8490)


def actor(role: Role) -> Actor:
    return SYSTEM if role is Role.SYSTEM else Actor(uuid4(), role)


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def later():
    """`later(minutes)`: a fixed instant that many minutes after `now`."""
    return lambda minutes=1: NOW + timedelta(minutes=minutes)


@pytest.fixture
def dispatcher() -> Actor:
    return actor(Role.DISPATCHER)


@pytest.fixture
def officer() -> Actor:
    return actor(Role.OFFICER)


@pytest.fixture
def supervisor() -> Actor:
    return actor(Role.SUPERVISOR)


@pytest.fixture
def admin() -> Actor:
    return actor(Role.ADMIN)


@pytest.fixture
def auditor() -> Actor:
    return actor(Role.AUDITOR)


@pytest.fixture
def partner() -> Actor:
    return actor(Role.PARTNER)


@pytest.fixture
def system() -> Actor:
    return SYSTEM


# --- assertions ---------------------------------------------------------------


def _recorded(aggregate, *names: str, actor: Actor, at: datetime) -> list:
    events = list(aggregate.collect_events())
    assert [type(e).__name__ for e in events] == list(names)
    for e in events:
        assert e.originator_id == aggregate.id
        assert e.actor == actor
        assert e.occurred_at == at
    return events


@contextmanager
def _refused(error_type: type[Exception], *aggregates, mentions: tuple[str, ...] = (), field: str | None = None):
    before = [(a, a.version, list(a.pending_events)) for a in aggregates]
    with pytest.raises(error_type) as info:
        yield info
    message = str(info.value)
    # A sentence: starts with a capital (or a quoted name such as 'somchai.k') and ends with a full stop.
    assert (message[:1].isupper() or message[:1] == "'") and message.endswith("."), (
        f"not a readable sentence: {message!r}"
    )
    for fragment in mentions:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    if field is not None:
        assert info.value.field == field
    for aggregate, version, pending in before:
        assert aggregate.version == version
        assert list(aggregate.collect_events()) == pending


@pytest.fixture
def recorded():
    return _recorded


@pytest.fixture
def refused():
    return _refused


# --- builders -----------------------------------------------------------------


@pytest.fixture
def make_incident(dispatcher):
    counter = iter(range(1, 1_000_000))

    def make(**overrides) -> Incident:
        fields = dict(
            id=uuid4(),
            reference=f"CR-2569-{next(counter):06d}",
            channel=Channel.PHONE_191,
            category=Category.THEFT,
            priority=Priority.P3,
            community=Community.KO_LOI,
            location="Soi 3, near the night bazaar",
            description="A motorbike was taken from outside the 7-Eleven.",
            occurred_at=NOW,
            now=NOW,
            actor=dispatcher,
        )
        fields.update(overrides)
        incident = Incident.report(**fields)
        incident.collect_events()
        return incident

    return make


@pytest.fixture
def incident(make_incident) -> Incident:
    return make_incident()


@pytest.fixture
def advance(dispatcher, officer, supervisor):
    """`advance(incident, to, unit_id=None)` walks an incident to one of these stages, with its events collected:
    dispatched, en_route, on_scene, resolved, closed, cancelled."""

    def walk(incident: Incident, to: str, unit_id=None, call_sign: str = "P-11") -> Incident:
        unit_id = unit_id or uuid4()
        if to in ("dispatched", "en_route", "on_scene"):
            incident.dispatch(unit_id=unit_id, call_sign=call_sign, actor=dispatcher, occurred_at=NOW)
        if to in ("en_route", "on_scene"):
            incident.mark_en_route(unit_id=unit_id, actor=officer, occurred_at=NOW)
        if to == "on_scene":
            incident.mark_on_scene(unit_id=unit_id, actor=officer, occurred_at=NOW)
        if to in ("resolved", "closed"):
            incident.resolve(outcome=Outcome.ASSISTANCE_GIVEN, summary="Helped.", actor=officer, occurred_at=NOW)
        if to == "closed":
            incident.close(actor=supervisor, occurred_at=NOW)
        if to == "cancelled":
            incident.cancel(cancel_reason=CancelReason.FALSE_REPORT, actor=dispatcher, occurred_at=NOW)
        incident.collect_events()
        return incident

    return walk


@pytest.fixture
def make_unit(supervisor, dispatcher):
    """`make_unit(status)` with status off_duty, available, assigned or retired."""

    def make(status: str = "available", call_sign: str = "P-11") -> PatrolUnit:
        unit = PatrolUnit.register(call_sign=call_sign, kind=UnitKind.MOTORCYCLE, actor=supervisor, occurred_at=NOW)
        if status in ("available", "assigned"):
            unit.go_on_duty(officer_ids=[uuid4()], actor=dispatcher, occurred_at=NOW)
        if status == "assigned":
            unit.assign(incident_id=uuid4(), reference="CR-2569-000099", actor=dispatcher, occurred_at=NOW)
        if status == "retired":
            unit.retire(reason="Motorbike written off.", actor=supervisor, occurred_at=NOW)
        unit.collect_events()
        return unit

    return make


@pytest.fixture
def make_box(supervisor):
    def make(code: str = "RB-07", position: GeoPoint = CLOCK_TOWER) -> RedBox:
        box = RedBox.register(
            code=code,
            name_th="ตู้แดงหอนาฬิกา",
            name_en="Clock Tower red box",
            community=Community.WAT_PHRA_KAEO,
            position=position,
            actor=supervisor,
            occurred_at=NOW,
        )
        box.collect_events()
        return box

    return make


@pytest.fixture
def box(make_box) -> RedBox:
    return make_box()


@pytest.fixture
def make_visit(officer):
    def make(
        box: RedBox, *, by: Actor | None = None, at: datetime = NOW, position: GeoPoint | None = None
    ) -> PatrolVisit:
        visit = PatrolVisit.log(
            id=uuid4(),
            box=box,
            token_version=box.token_version,
            unit_id=uuid4(),
            actor=by or officer,
            occurred_at=at,
            now=at,
            position=position,
        )
        visit.collect_events()
        return visit

    return make


@pytest.fixture
def camera(admin) -> Camera:
    cam = Camera.register(
        code="CAM-01",
        name="Night bazaar entrance",
        community=Community.KO_LOI,
        owner=PartnerSector.BUSINESS,
        owner_name="Chiang Rai Night Bazaar Co.",
        consent_reference="MOU 12/2568",
        source="rtsp://10.0.0.5/stream1",
        actor=admin,
        occurred_at=NOW,
    )
    cam.collect_events()
    return cam


@pytest.fixture
def make_alert(camera):
    def make(kind: AlertKind = AlertKind.MOTION_IN_ZONE, status: str = "raised", *, by: Actor) -> CameraAlert:
        """`status` is raised, acknowledged, dismissed or escalated; `by` is the person who triages it."""
        digest = "" if kind is AlertKind.OFFLINE else DIGEST
        alert = CameraAlert.raise_alert(
            id=uuid4(), camera=camera, kind=kind, score=0.9, snapshot_digest=digest, actor=SYSTEM, occurred_at=NOW
        )
        if status != "raised":
            alert.acknowledge(actor=by, occurred_at=NOW)
        if status == "dismissed":
            alert.dismiss(reason=FalseAlarmReason.ANIMAL, note="", actor=by, occurred_at=NOW)
        if status == "escalated":
            alert.escalate(incident_id=uuid4(), reference="CR-2569-000001", actor=by, occurred_at=NOW)
        alert.collect_events()
        return alert

    return make
