"""Setting a camera up as people do (issue 17): zones drawn as polygons, rules per zone with a schedule in
words and a sensitivity preset. Bad input is refused with a clear message and changes nothing."""

from datetime import time

import pytest
from test_cameras import register

from domain.camera_setup import RuleRequest, Schedule, Sensitivity, schedule_of, sensitivity_of
from domain.errors import InvalidInput
from domain.values import AlertKind, Zone

GATE = Zone("gate", ((0.1, 0.1), (0.5, 0.1), (0.5, 0.9), (0.1, 0.9)), name_th="ประตู")


@pytest.mark.parametrize(
    "points, message",
    [
        (((0.1, 0.1), (0.5, 0.1)), "needs at least three corners"),
        (((0.1, 0.1), (0.5, 0.5), (0.5, 0.1), (0.1, 0.5)), "crosses itself"),
        (((0.1, 0.1), (1.2, 0.1), (0.5, 0.9)), "outside the picture"),
    ],
)
def test_a_bad_polygon_is_refused_with_its_reason(points, message):
    with pytest.raises(InvalidInput) as refused:
        Zone("gate", points)
    assert message in refused.value.message and refused.value.field == "zones"


def test_a_concave_polygon_is_a_zone():
    assert Zone("L", ((0.1, 0.1), (0.5, 0.1), (0.5, 0.3), (0.3, 0.3), (0.3, 0.9), (0.1, 0.9))).name == "L"


def test_a_rule_for_a_zone_the_camera_does_not_have_changes_nothing(admin, now):
    camera = register(admin, now)
    camera.set_zones(zones=[GATE], actor=admin, occurred_at=now)
    with pytest.raises(InvalidInput) as refused:
        camera.set_rules(
            rules=[RuleRequest("person_at_night", zone="car park").to_rule()], actor=admin, occurred_at=now
        )
    assert "car park" in refused.value.message
    assert camera.rules == [] and len(camera.pending_events) == 2  # registered, zones set


def test_a_zone_a_rule_watches_cannot_be_removed(admin, now):
    camera = register(admin, now)
    camera.set_zones(zones=[GATE], actor=admin, occurred_at=now)
    camera.set_rules(rules=[RuleRequest("motion_in_zone", zone="gate").to_rule()], actor=admin, occurred_at=now)
    with pytest.raises(InvalidInput, match="watched by a rule"):
        camera.set_zones(zones=[], actor=admin, occurred_at=now)
    assert camera.zones == [GATE]


def test_a_custom_schedule_that_ends_before_it_starts_is_refused():
    with pytest.raises(InvalidInput) as refused:
        RuleRequest("motion_in_zone", schedule="custom", start="17:00", end="08:00").to_rule()
    assert "ends (08:00) before it starts (17:00)" in refused.value.message and refused.value.field == "end"


@pytest.mark.parametrize(
    "request_, message",
    [
        (RuleRequest("tampered"), "detections"),
        (RuleRequest("person_at_night", schedule="weekends"), "not a schedule"),
        (RuleRequest("person_at_night", sensitivity="max"), "not a sensitivity"),
        (RuleRequest("motion_in_zone", schedule="custom", start="8 am", end="17:00"), "not a time of day"),
        (RuleRequest("loitering", loiter_seconds=0), "Loitering"),
    ],
)
def test_other_bad_rules_say_what_is_wrong(request_, message):
    with pytest.raises(InvalidInput, match=message):
        request_.to_rule()


def test_schedules_and_presets_in_words_become_numbers_and_back():
    night = RuleRequest("person_at_night", zone="gate", schedule="night", sensitivity="high").to_rule()
    assert (night.start, night.end, night.zone) == (time(18), time(6), "gate")
    assert schedule_of(night) is Schedule.NIGHT and sensitivity_of(night) is Sensitivity.HIGH
    office = RuleRequest("loitering", schedule="custom", start="08:00", end="17:30", loiter_seconds=45).to_rule()
    assert (office.start, office.end, office.dwell) == (time(8), time(17, 30), 45)
    assert schedule_of(office) is Schedule.CUSTOM and sensitivity_of(office) is Sensitivity.NORMAL
    advanced = RuleRequest("motion_in_zone", min_area=0.0123).to_rule()
    assert schedule_of(advanced) is Schedule.ALL_DAY and sensitivity_of(advanced) is None
    assert advanced.kind is AlertKind.MOTION_IN_ZONE and advanced.min_area == 0.0123


def test_a_persons_alert_is_updated_once_when_they_leave(system, now, later):
    from uuid import uuid4

    from domain.cameras import CameraAlert
    from domain.errors import TransitionRefused

    camera = register(system, now)
    alert = CameraAlert.raise_alert(
        id=uuid4(), camera=camera, kind=AlertKind.PERSON_AT_NIGHT, score=0.8, snapshot_digest="ab" * 32,
        actor=system, occurred_at=now,
    )  # fmt: skip
    alert.note_person_left(stayed_seconds=21.04, actor=system, occurred_at=later)
    assert alert.left_at == later and alert.pending_events[-1].stayed_seconds == 21.0
    with pytest.raises(TransitionRefused):
        alert.note_person_left(stayed_seconds=22, actor=system, occurred_at=later)


def test_a_persons_alert_is_updated_once_when_they_loiter_and_not_after_they_left(system, now, later):
    from uuid import uuid4

    from domain.cameras import CameraAlert
    from domain.errors import TransitionRefused

    camera = register(system, now)

    def person() -> CameraAlert:
        return CameraAlert.raise_alert(
            id=uuid4(), camera=camera, kind=AlertKind.PERSON, score=0.8, snapshot_digest="ab" * 32,
            actor=system, occurred_at=now,
        )  # fmt: skip

    alert = person()
    alert.note_person_loitered(stayed_seconds=30.04, actor=system, occurred_at=later(1))
    assert alert.loitered_at == later(1) and alert.pending_events[-1].stayed_seconds == 30.0
    with pytest.raises(TransitionRefused):
        alert.note_person_loitered(stayed_seconds=31, actor=system, occurred_at=later(1))
    alert.note_person_left(stayed_seconds=40, actor=system, occurred_at=later(2))
    gone = person()
    gone.note_person_left(stayed_seconds=5, actor=system, occurred_at=later(1))
    with pytest.raises(TransitionRefused):
        gone.note_person_loitered(stayed_seconds=30, actor=system, occurred_at=later(1))


def test_a_rule_reads_back_in_the_words_it_was_set_with():
    from domain.camera_setup import describe_rule

    for request in [
        RuleRequest("person", zone="gate", schedule="night", sensitivity="high"),
        RuleRequest("loitering", schedule="custom", start="08:00", end="17:30", loiter_seconds=45),
        RuleRequest("motion_in_zone", sensitivity="advanced", min_score=0.1, min_area=0.0123),
    ]:
        rule = request.to_rule()
        words = describe_rule(rule)
        assert words.to_rule() == rule
        assert (words.kind, words.zone, words.schedule) == (request.kind, request.zone, request.schedule)
    assert describe_rule(RuleRequest("motion_in_zone", min_area=0.0123).to_rule()).sensitivity == "advanced"
    assert describe_rule(RuleRequest("person", sensitivity="low").to_rule()).sensitivity == "low"
