"""The application on real SQLite and real PostgreSQL (every test runs on both)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from application.errors import ConflictError, NotFound
from application.ports import Contact
from domain.errors import DomainError, InvalidInput, NotPermitted, TransitionRefused, UnitUnavailable
from domain.values import (
    SYSTEM_USER_ID,
    AlertKind,
    AlertStatus,
    CancelReason,
    Category,
    Channel,
    Community,
    FalseAlarmReason,
    IncidentStatus,
    Outcome,
    PartnerSector,
    Priority,
    UnitStatus,
)
from tests.integration.conftest import PASSWORD, World


def test_an_incident_goes_from_report_to_close_and_its_history_tells_who_did_what(world: World) -> None:
    app = world.app
    late = datetime.now(UTC) - timedelta(hours=2)
    incident = world.report(occurred_at=late)
    unit = world.units[0]
    app.triage_incident(incident, priority=Priority.P1, reason="Victim injured", by=world.dispatcher)
    app.dispatch_unit(incident, unit, by=world.dispatcher)
    app.mark_en_route(incident, unit, by=world.officer)
    app.mark_on_scene(incident, unit, by=world.officer)
    app.resolve_incident(incident, outcome=Outcome.ARREST, summary="Suspect held", by=world.officer)
    result = app.close_incident(incident, by=world.supervisor)

    assert result.notification_id == world.head()
    history = app.history(incident)
    assert [h.event for h in history] == [
        "Reported",
        "Triaged",
        "UnitDispatched",
        "UnitEnRoute",
        "UnitOnScene",
        "Resolved",
        "Closed",
    ]
    assert history[0].occurred_at == late and history[0].recorded_at > late
    assert history[0].details["reference"].startswith("CR-25")
    assert history[1].reason == "Victim injured"
    assert [h.actor_role.value for h in history] == [
        "dispatcher",
        "dispatcher",
        "dispatcher",
        "officer",
        "officer",
        "officer",
        "supervisor",
    ]
    assert app.state_at(incident)["status"] is IncidentStatus.CLOSED
    assert app.state_at(incident, version=3)["status"] is IncidentStatus.DISPATCHED
    assert app.state_at(incident, recorded_at=history[1].recorded_at)["priority"] is Priority.P1
    assert app.state_at(unit)["status"] is UnitStatus.AVAILABLE


def test_references_are_consecutive_in_the_buddhist_era_year_and_find_their_incident(world: World) -> None:
    first, second = world.report(), world.report()
    refs = [world.app.state_at(i)["reference"] for i in (first, second)]
    year = datetime.now(UTC).year + 543
    assert refs == [f"CR-{year}-000001", f"CR-{year}-000002"]
    assert world.app.incident_id_for(refs[1].lower()) == second
    with pytest.raises(NotFound):
        world.app.incident_id_for(f"CR-{year}-999999")


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"description": ""}, "description"),
        ({"description": "x" * 20_000}, "description"),
        ({"location": "   "}, "location"),
        ({"occurred_at": datetime.now(UTC) + timedelta(hours=1)}, "occurred_at"),
        ({"contact": Contact("Somchai", "call me maybe")}, "reporter_phone"),
    ],
)
def test_bad_reports_are_refused_with_the_field_named_and_nothing_is_stored(
    world: World, bad: dict, field: str
) -> None:
    head = world.head()
    with pytest.raises(InvalidInput) as refused:
        world.report(**bad)
    assert refused.value.field == field
    assert world.head() == head


def test_refused_transitions_store_nothing(world: World) -> None:
    app, unit = world.app, world.units[0]
    incident = world.report()
    head = world.head()
    with pytest.raises(TransitionRefused, match="has not been dispatched"):
        app.mark_on_scene(incident, unit, by=world.officer)
    with pytest.raises(TransitionRefused, match="must be resolved"):
        app.close_incident(incident, by=world.supervisor)
    with pytest.raises(NotPermitted):
        app.close_incident(incident, by=world.dispatcher)
    assert world.head() == head
    app.resolve_incident(incident, outcome=Outcome.WARNING_GIVEN, summary="", by=world.dispatcher)
    head = world.head()
    with pytest.raises(TransitionRefused, match="already resolved"):
        app.resolve_incident(incident, outcome=Outcome.ARREST, summary="", by=world.dispatcher)
    assert world.head() == head


def test_a_disabled_user_cannot_act_and_cannot_log_in(world: World) -> None:
    app = world.app
    assert app.authenticate("dispatcher", PASSWORD) is not None
    app.disable_user(world.dispatcher, reason="Left the station", by=world.admin)
    head = world.head()
    with pytest.raises(NotPermitted, match="disabled"):
        world.report()
    assert world.head() == head
    assert app.authenticate("dispatcher", PASSWORD) is None
    assert [h.event for h in app.history(world.dispatcher)] == ["Created", "Disabled"]


def test_a_password_reset_is_an_event_but_the_hash_never_enters_the_log(world: World) -> None:
    app = world.app
    app.reset_password(world.officer, new_password="another-long-password", reason="Forgotten", by=world.admin)
    assert app.authenticate("officer", PASSWORD) is None
    assert app.authenticate("officer", "another-long-password").user_id == world.officer
    raw = b"".join(n.state for n in app.recorder.select_notifications(start=1, limit=10_000))
    assert b"argon2" not in raw and b"another-long-password" not in raw and PASSWORD.encode() not in raw


def test_a_busy_unit_is_refused_unless_reassigned_and_the_incident_it_leaves_records_it(world: World) -> None:
    app, unit = world.app, world.units[0]
    first, second = world.report(), world.report()
    app.dispatch_unit(first, unit, by=world.dispatcher)
    with pytest.raises(UnitUnavailable, match="busy"):
        app.dispatch_unit(second, unit, by=world.dispatcher)
    app.dispatch_unit(second, unit, by=world.dispatcher, reassign=True, reason="P1 nearby")
    assert app.history(first)[-1].event == "UnitCleared"
    assert app.state_at(first)["status"] is IncidentStatus.REPORTED
    assert app.state_at(unit)["incident_id"] == second


def test_an_off_duty_unit_cannot_be_dispatched(world: World) -> None:
    app, unit = world.app, world.units[1]
    app.unit_off_duty(unit, by=world.supervisor, reason="End of shift")
    with pytest.raises(UnitUnavailable, match="off duty"):
        app.dispatch_unit(world.report(), unit, by=world.dispatcher)


def test_resolving_frees_every_unit_on_the_incident(world: World) -> None:
    app = world.app
    incident = world.report()
    for unit in world.units:
        app.dispatch_unit(incident, unit, by=world.dispatcher)
    app.resolve_incident(incident, outcome=Outcome.ASSISTANCE_GIVEN, summary="", by=world.officer)
    assert [app.state_at(u)["status"] for u in world.units] == [UnitStatus.AVAILABLE] * 2


def test_a_duplicate_is_cancelled_and_both_incidents_are_linked(world: World) -> None:
    app = world.app
    original, duplicate = world.report(), world.report()
    app.cancel_incident(duplicate, cancel_reason=CancelReason.DUPLICATE, duplicate_of=original, by=world.dispatcher)
    assert app.state_at(duplicate)["duplicate_of"] == original
    assert app.state_at(original)["duplicates"] == [duplicate]


def test_a_stale_page_gets_a_conflict_with_the_current_version(world: World) -> None:
    app = world.app
    incident = world.report()
    app.add_incident_note(incident, text="Caller rang again", by=world.dispatcher)
    with pytest.raises(ConflictError) as conflict:
        app.triage_incident(incident, priority=Priority.P1, reason="x", by=world.dispatcher, expected_version=1)
    assert conflict.value.current_version == 2


def test_the_same_idempotency_key_twice_gives_one_incident_and_one_set_of_events(world: World) -> None:
    first = world.app.report_incident(**_report_fields(world), idempotency_key="sos-123")
    head = world.head()
    again = world.app.report_incident(**_report_fields(world), idempotency_key="sos-123")
    assert again.id == first.id and again.notification_id is None
    assert world.head() == head


def _report_fields(world: World) -> dict:
    return dict(
        channel=Channel.MOBILE_SOS,
        category=Category.SEXUAL_HARASSMENT,
        priority=Priority.P1,
        community=Community.SI_KOET,
        location="Bus stop",
        description="Followed by a man",
        by=world.dispatcher,
    )


def test_an_erased_reporter_still_has_a_history_that_shows_the_contact_as_erased(world: World) -> None:
    app = world.app
    erased = world.report(contact=Contact("Malee", "+66 81 234 5678"))
    again = world.report(contact=Contact("Malee S.", "081-234-5678"))
    other = world.report(contact=Contact("Somchai", "089 999 0000"))
    assert app.history(erased)[0].details["contact"] == {"sealed": True}  # read on purpose only (test_personal_data)
    raw = b"".join(n.state for n in app.recorder.select_notifications(start=1, limit=10_000))
    assert b"Malee" not in raw and b"234 5678" not in raw

    assert app.erase_reporter_contact(phone="0812345678", reason="PDPA request 2569/17", by=world.admin) == 1
    for incident in (erased, again):
        history = app.history(incident)
        assert history[0].details["contact"] == {"erased": True}
        assert history[0].details["description"]  # the rest of the report still reads
        assert app.state_at(incident)["contact"] == {"erased": True}
    assert app.history(other)[0].details["contact"] == {"sealed": True}
    with pytest.raises(NotPermitted):
        app.erase_reporter_contact(phone="0899990000", reason="x", by=world.dispatcher)


def test_a_camera_alert_is_escalated_into_an_incident_linked_both_ways(world: World) -> None:
    app = world.app
    camera = app.register_camera(
        code="CAM-07",
        name="Clock tower east",
        community=Community.WAT_PHRA_KAEO,
        owner=PartnerSector.LOCAL_GOVERNMENT,
        owner_name="Chiang Rai Municipality",
        consent_reference="MOU 2569/4",
        source="rtsp://cam7/stream",
        by=world.admin,
    ).id
    raised = datetime.now(UTC) - timedelta(minutes=1)
    alert = app.raise_camera_alert(
        camera_id=camera,
        kind=AlertKind.PERSON_AT_NIGHT,
        score=0.82,
        snapshot_digest="a" * 64,
        frame_at=raised,
        zone="alley",
    ).id
    incident = app.escalate_alert(
        alert,
        category=Category.SUSPICIOUS_PERSON,
        priority=Priority.P2,
        location="Alley behind the tower",
        description="Person lingering at night",
        by=world.dispatcher,
    ).id
    alert_state = app.state_at(alert)
    assert alert_state["status"] is AlertStatus.ESCALATED and alert_state["incident_id"] == incident
    assert app.state_at(incident)["source_alert_id"] == alert
    assert app.state_at(incident)["reported_at"] == raised
    assert [h.event for h in app.history(alert)] == ["Raised", "Acknowledged", "Escalated"]
    false_alarm = app.raise_camera_alert(
        camera_id=camera, kind=AlertKind.MOTION_IN_ZONE, score=0.4, snapshot_digest="b" * 64, frame_at=raised
    ).id
    app.dismiss_alert(false_alarm, reason=FalseAlarmReason.HEADLIGHTS, by=world.dispatcher)
    with pytest.raises(DomainError):
        app.escalate_alert(
            false_alarm,
            category=Category.OTHER,
            priority=Priority.P4,
            location="x",
            description="y",
            by=world.dispatcher,
        )


def test_the_system_actor_cannot_be_borrowed_to_do_what_people_decide(world: World) -> None:
    incident = world.report()
    with pytest.raises(NotPermitted):
        world.app.close_incident(incident, by=SYSTEM_USER_ID)
