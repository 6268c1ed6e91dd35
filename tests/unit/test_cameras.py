from datetime import time
from uuid import uuid4

import pytest

from domain.cameras import Camera, CameraAlert
from domain.errors import InvalidInput, NotPermitted, TransitionRefused
from domain.values import (
    AlertKind,
    AlertStatus,
    Community,
    DetectionRule,
    FalseAlarmReason,
    GeoPoint,
    PartnerSector,
    Zone,
)

DIGEST = "0123456789abcdef" * 4
DOORWAY = Zone("doorway", ((0.1, 0.1), (0.4, 0.1), (0.4, 0.9)))
CAR_PARK = Zone("car park", ((0.5, 0.5), (0.9, 0.5), (0.9, 0.9), (0.5, 0.9)))
NIGHT_PEOPLE = DetectionRule(AlertKind.PERSON_AT_NIGHT, start=time(18), end=time(6), min_score=0.6)


def register(actor, now, **overrides) -> Camera:
    fields = (
        dict(
            code="cam-01",
            name="Night bazaar entrance",
            community=Community.KO_LOI,
            owner=PartnerSector.BUSINESS,
            owner_name="Night Bazaar Co.",
            consent_reference="MOU 12/2568",
            source="rtsp://10.0.0.5/stream1",
            actor=actor,
            occurred_at=now,
        )
        | overrides
    )
    return Camera.register(**fields)


# --- cameras ------------------------------------------------------------------


@pytest.mark.parametrize("registrar", ["admin", "system"])
def test_a_camera_is_registered_with_its_owners_consent(registrar, request, now, recorded):
    actor = request.getfixturevalue(registrar)
    camera = register(actor, now, position=GeoPoint(19.9, 99.83))

    assert camera.id == Camera.id_for("CAM-01") and camera.code == "CAM-01"
    assert camera.consent_reference == "MOU 12/2568" and camera.owner is PartnerSector.BUSINESS
    assert camera.zones == [] and camera.rules == [] and not camera.retired
    recorded(camera, "Registered", actor=actor, at=now)


@pytest.mark.parametrize(
    "overrides, field, mentions",
    [
        ({"consent_reference": ""}, "consent_reference", "The consent reference must not be empty."),
        ({"consent_reference": "   "}, "consent_reference", "The consent reference must not be empty."),
        ({"name": ""}, "name", "The name must not be empty."),
        ({"owner_name": ""}, "owner_name", "The owner name must not be empty."),
        ({"source": ""}, "source", "The source must not be empty."),
        ({"source": "x" * 1001}, "source", "at most 1000"),
        ({"code": "cam 01"}, "code", "A code is 2–24 letters, digits or dashes"),
    ],
)
def test_a_camera_with_bad_input_is_not_registered(overrides, field, mentions, admin, now):
    with pytest.raises(InvalidInput) as info:
        register(admin, now, **overrides)
    assert info.value.field == field and mentions in str(info.value)


def test_a_supervisor_may_not_register_a_camera(supervisor, now):
    with pytest.raises(NotPermitted, match=r"^A supervisor may not manage cameras\.$"):
        register(supervisor, now)


def test_a_camera_gets_zones_with_distinct_names(camera, admin, now, recorded):
    camera.set_zones(zones=[DOORWAY, CAR_PARK], actor=admin, occurred_at=now)

    assert camera.zones == [DOORWAY, CAR_PARK]
    [event] = recorded(camera, "ZonesSet", actor=admin, at=now)
    assert event.zones == [DOORWAY, CAR_PARK]


def test_a_cameras_zones_may_be_cleared(camera, admin, now, recorded):
    camera.set_zones(zones=[DOORWAY], actor=admin, occurred_at=now)
    camera.collect_events()
    camera.set_zones(zones=[], actor=admin, occurred_at=now)

    assert camera.zones == []
    recorded(camera, "ZonesSet", actor=admin, at=now)


def test_two_zones_of_a_camera_cannot_share_a_name(camera, admin, now, refused):
    twin = Zone("doorway", ((0.5, 0.5), (0.9, 0.5), (0.9, 0.9)))
    with refused(InvalidInput, camera, mentions=("Each zone of a camera needs its own name.",), field="zones"):
        camera.set_zones(zones=[DOORWAY, twin], actor=admin, occurred_at=now)


def test_a_camera_gets_detection_rules(camera, admin, now, recorded):
    rules = [NIGHT_PEOPLE, DetectionRule(AlertKind.LOITERING, min_area=0.05)]
    camera.set_rules(rules=rules, actor=admin, occurred_at=now)

    assert camera.rules == rules
    recorded(camera, "RulesSet", actor=admin, at=now)


def test_a_camera_is_retired(camera, admin, now, recorded):
    camera.retire(reason="Shop closed", actor=admin, occurred_at=now)

    assert camera.retired
    recorded(camera, "Retired", actor=admin, at=now)


def test_retiring_a_camera_needs_a_reason(camera, admin, now, refused):
    with refused(InvalidInput, camera, mentions=("The reason must not be empty.",), field="reason"):
        camera.retire(reason="", actor=admin, occurred_at=now)


@pytest.mark.parametrize(
    "command, kwargs",
    [
        ("set_zones", {"zones": [DOORWAY]}),
        ("set_rules", {"rules": [NIGHT_PEOPLE]}),
        ("retire", {"reason": "Again"}),
    ],
)
def test_a_retired_camera_cannot_be_changed(command, kwargs, camera, admin, now, refused):
    camera.retire(reason="Shop closed", actor=admin, occurred_at=now)
    camera.collect_events()
    with refused(TransitionRefused, camera, mentions=("Camera CAM-01 is retired.",)):
        getattr(camera, command)(actor=admin, occurred_at=now, **kwargs)


@pytest.mark.parametrize(
    "command, kwargs",
    [
        ("set_zones", {"zones": [DOORWAY]}),
        ("set_rules", {"rules": [NIGHT_PEOPLE]}),
        ("retire", {"reason": "Closed"}),
    ],
)
def test_a_dispatcher_may_not_manage_cameras(command, kwargs, camera, dispatcher, now, refused):
    with refused(NotPermitted, camera, mentions=("A dispatcher may not manage cameras.",)):
        getattr(camera, command)(actor=dispatcher, occurred_at=now, **kwargs)


# --- raising alerts -----------------------------------------------------------


@pytest.mark.parametrize("score", [0.0, 0.73, 1])
def test_the_system_raises_a_detection_alert_with_a_snapshot(score, camera, system, now, recorded):
    alert_id = uuid4()
    alert = CameraAlert.raise_alert(
        id=alert_id,
        camera=camera,
        kind=AlertKind.MOTION_IN_ZONE,
        score=score,
        snapshot_digest=DIGEST,
        actor=system,
        occurred_at=now,
        zone=" doorway ",
    )

    assert alert.id == alert_id and alert.status is AlertStatus.RAISED
    assert (alert.camera_id, alert.camera_code, alert.community) == (camera.id, "CAM-01", Community.KO_LOI)
    assert alert.score == float(score) and isinstance(alert.score, float)
    assert (alert.zone, alert.snapshot_digest, alert.raised_at) == ("doorway", DIGEST, now)
    assert alert.incident_id is None and alert.false_alarm_reason is None
    recorded(alert, "Raised", actor=system, at=now)


def test_an_offline_alert_may_come_without_a_snapshot(camera, system, now, recorded):
    alert = CameraAlert.raise_alert(
        id=uuid4(), camera=camera, kind=AlertKind.OFFLINE, score=1.0, snapshot_digest="", actor=system, occurred_at=now
    )
    assert alert.kind is AlertKind.OFFLINE and alert.snapshot_digest == ""
    recorded(alert, "Raised", actor=system, at=now)


@pytest.mark.parametrize(
    "kind", [AlertKind.MOTION_IN_ZONE, AlertKind.PERSON_AT_NIGHT, AlertKind.LOITERING, AlertKind.TAMPERED]
)
def test_any_alert_but_an_offline_one_needs_a_snapshot(kind, camera, system, now, refused):
    with refused(
        InvalidInput, camera, mentions=("Only an offline alert comes without a snapshot.",), field="snapshot_digest"
    ):
        CameraAlert.raise_alert(
            id=uuid4(), camera=camera, kind=kind, score=0.9, snapshot_digest="", actor=system, occurred_at=now
        )


@pytest.mark.parametrize("score", [-0.01, 1.01, float("nan")])
def test_an_alert_score_outside_zero_to_one_is_refused(score, camera, system, now, refused):
    with refused(InvalidInput, camera, mentions=("An alert's score is between 0 and 1.",), field="score"):
        CameraAlert.raise_alert(
            id=uuid4(),
            camera=camera,
            kind=AlertKind.MOTION_IN_ZONE,
            score=score,
            snapshot_digest=DIGEST,
            actor=system,
            occurred_at=now,
        )


@pytest.mark.parametrize("digest", ["abc", DIGEST.upper(), DIGEST[:-1], DIGEST + "0", "g" * 64])
def test_a_snapshot_digest_that_is_not_64_lower_case_hex_digits_is_refused(digest, camera, system, now, refused):
    message = "A snapshot digest is the 64 hex digits of its SHA-256."
    with refused(InvalidInput, camera, mentions=(message,), field="snapshot_digest"):
        CameraAlert.raise_alert(
            id=uuid4(),
            camera=camera,
            kind=AlertKind.OFFLINE,
            score=0.5,
            snapshot_digest=digest,
            actor=system,
            occurred_at=now,
        )


def test_a_retired_camera_raises_no_alert(camera, admin, system, now, refused):
    camera.retire(reason="Shop closed", actor=admin, occurred_at=now)
    camera.collect_events()
    with refused(TransitionRefused, camera, mentions=("Camera CAM-01 is retired.",)):
        CameraAlert.raise_alert(
            id=uuid4(),
            camera=camera,
            kind=AlertKind.MOTION_IN_ZONE,
            score=0.9,
            snapshot_digest=DIGEST,
            actor=system,
            occurred_at=now,
        )


@pytest.mark.parametrize("role", ["dispatcher", "supervisor", "admin"])
def test_only_the_system_raises_camera_alerts(role, request, camera, now, refused):
    with refused(NotPermitted, camera, mentions=("may not raise a camera alert",)):
        CameraAlert.raise_alert(
            id=uuid4(),
            camera=camera,
            kind=AlertKind.MOTION_IN_ZONE,
            score=0.9,
            snapshot_digest=DIGEST,
            actor=request.getfixturevalue(role),
            occurred_at=now,
        )


# --- triaging alerts ----------------------------------------------------------


def test_a_dispatcher_acknowledges_a_raised_alert(make_alert, dispatcher, now, recorded):
    alert = make_alert(by=dispatcher)
    alert.acknowledge(actor=dispatcher, occurred_at=now)

    assert alert.status is AlertStatus.ACKNOWLEDGED
    recorded(alert, "Acknowledged", actor=dispatcher, at=now)


@pytest.mark.parametrize("status", ["acknowledged", "dismissed", "escalated"])
def test_only_a_raised_alert_can_be_acknowledged(status, make_alert, dispatcher, now, refused):
    alert = make_alert(status=status, by=dispatcher)
    with refused(
        TransitionRefused,
        alert,
        mentions=(f"This motion in zone alert from camera CAM-01 is {status}; it cannot be acknowledged.",),
    ):
        alert.acknowledge(actor=dispatcher, occurred_at=now)


@pytest.mark.parametrize("role", ["system", "officer", "auditor"])
def test_the_system_officers_and_auditors_may_not_triage_alerts(role, request, make_alert, dispatcher, now, refused):
    alert = make_alert(by=dispatcher)
    with refused(NotPermitted, alert, mentions=("may not triage camera alerts",)):
        alert.acknowledge(actor=request.getfixturevalue(role), occurred_at=now)


@pytest.mark.parametrize("reason, note", [(FalseAlarmReason.HEADLIGHTS, ""), (FalseAlarmReason.OTHER, "A kite")])
def test_an_acknowledged_alert_is_dismissed_as_a_false_alarm(reason, note, make_alert, dispatcher, now, recorded):
    alert = make_alert(status="acknowledged", by=dispatcher)
    alert.dismiss(reason=reason, note=note, actor=dispatcher, occurred_at=now)

    assert alert.status is AlertStatus.DISMISSED and alert.false_alarm_reason is reason
    [event] = recorded(alert, "Dismissed", actor=dispatcher, at=now)
    assert (event.false_alarm, event.reason) == (reason, note)


def test_dismissing_for_an_other_reason_needs_a_note(make_alert, dispatcher, now, refused):
    alert = make_alert(status="acknowledged", by=dispatcher)
    with refused(InvalidInput, alert, mentions=("The note must not be empty.",), field="note"):
        alert.dismiss(reason=FalseAlarmReason.OTHER, note="  ", actor=dispatcher, occurred_at=now)


@pytest.mark.parametrize("status", ["raised", "dismissed", "escalated"])
def test_only_an_acknowledged_alert_can_be_dismissed(status, make_alert, dispatcher, now, refused):
    alert = make_alert(status=status, by=dispatcher)
    with refused(
        TransitionRefused, alert, mentions=(f"alert from camera CAM-01 is {status}; it cannot be dismissed.",)
    ):
        alert.dismiss(reason=FalseAlarmReason.ANIMAL, note="", actor=dispatcher, occurred_at=now)


def test_an_acknowledged_alert_is_escalated_to_an_incident(make_alert, supervisor, now, recorded):
    alert, incident_id = make_alert(status="acknowledged", by=supervisor), uuid4()
    alert.check_can_escalate(supervisor)
    alert.escalate(incident_id=incident_id, reference="CR-2569-000007", actor=supervisor, occurred_at=now)

    assert alert.status is AlertStatus.ESCALATED and alert.incident_id == incident_id
    [event] = recorded(alert, "Escalated", actor=supervisor, at=now)
    assert event.reference == "CR-2569-000007"


@pytest.mark.parametrize("status", ["raised", "dismissed", "escalated"])
def test_only_an_acknowledged_alert_can_be_escalated(status, make_alert, dispatcher, now, refused):
    alert = make_alert(status=status, by=dispatcher)
    mentions = (f"alert from camera CAM-01 is {status}; it cannot be escalated.",)
    with refused(TransitionRefused, alert, mentions=mentions):
        alert.check_can_escalate(dispatcher)
    with refused(TransitionRefused, alert, mentions=mentions):
        alert.escalate(incident_id=uuid4(), reference="CR-2569-000007", actor=dispatcher, occurred_at=now)


def test_an_officer_may_not_escalate_an_alert(make_alert, dispatcher, officer, now, refused):
    alert = make_alert(status="acknowledged", by=dispatcher)
    with refused(NotPermitted, alert, mentions=("officer may not triage camera alerts",)):
        alert.escalate(incident_id=uuid4(), reference="CR-2569-000007", actor=officer, occurred_at=now)


# --- closing alerts -----------------------------------------------------------


@pytest.mark.parametrize(
    "kind, status",
    [
        (AlertKind.MOTION_IN_ZONE, "dismissed"),
        (AlertKind.PERSON_AT_NIGHT, "escalated"),
        (AlertKind.OFFLINE, "raised"),
        (AlertKind.OFFLINE, "acknowledged"),
        (AlertKind.TAMPERED, "raised"),
        (AlertKind.TAMPERED, "acknowledged"),
        (AlertKind.TAMPERED, "dismissed"),
    ],
)
def test_an_alert_is_closed_once_decided_or_when_it_clears_by_itself(
    kind, status, make_alert, dispatcher, now, recorded
):
    alert = make_alert(kind, status, by=dispatcher)
    alert.close(reason="Back online", actor=dispatcher, occurred_at=now)

    assert alert.status is AlertStatus.CLOSED
    recorded(alert, "Closed", actor=dispatcher, at=now)


def test_the_system_closes_an_offline_alert_when_the_camera_comes_back(make_alert, dispatcher, system, now, recorded):
    alert = make_alert(AlertKind.OFFLINE, by=dispatcher)
    alert.close(reason="", actor=system, occurred_at=now)
    recorded(alert, "Closed", actor=system, at=now)


@pytest.mark.parametrize("kind", [AlertKind.MOTION_IN_ZONE, AlertKind.PERSON_AT_NIGHT, AlertKind.LOITERING])
@pytest.mark.parametrize("status", ["raised", "acknowledged"])
def test_a_detection_alert_cannot_be_closed_before_it_is_dismissed_or_escalated(
    kind,
    status,
    make_alert,
    dispatcher,
    now,
    refused,
):
    alert = make_alert(kind, status, by=dispatcher)
    with refused(
        TransitionRefused,
        alert,
        mentions=(
            f"This {kind.value.replace('_', ' ')} alert from camera CAM-01 is {status}; "
            "it cannot be closed before it is dismissed or escalated.",
        ),
    ):
        alert.close(reason="", actor=dispatcher, occurred_at=now)


@pytest.mark.parametrize("kind", [AlertKind.MOTION_IN_ZONE, AlertKind.OFFLINE])
def test_an_alert_cannot_be_closed_twice(kind, make_alert, dispatcher, now, refused):
    alert = make_alert(kind, "dismissed", by=dispatcher)
    alert.close(reason="", actor=dispatcher, occurred_at=now)
    alert.collect_events()
    with refused(TransitionRefused, alert, mentions=("alert from camera CAM-01 is already closed",)):
        alert.close(reason="", actor=dispatcher, occurred_at=now)


def test_an_officer_may_not_close_an_alert(make_alert, dispatcher, officer, now, refused):
    alert = make_alert(status="dismissed", by=dispatcher)
    with refused(NotPermitted, alert, mentions=("officer may not close a camera alert",)):
        alert.close(reason="", actor=officer, occurred_at=now)
