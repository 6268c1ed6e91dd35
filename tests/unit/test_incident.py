from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.errors import InvalidInput, NotPermitted, TransitionRefused
from domain.incident import Incident
from domain.intake import IntakeKey, ReferenceBook
from domain.values import (
    Assignment,
    CancelReason,
    Category,
    Channel,
    Community,
    GeoPoint,
    IncidentStatus,
    Outcome,
    Priority,
    SealedContact,
)

# --- report -------------------------------------------------------------------


def test_a_dispatcher_reports_an_incident_which_starts_as_reported(dispatcher, now, recorded):
    incident_id, alert_id = uuid4(), uuid4()
    incident = Incident.report(
        id=incident_id,
        reference="CR-2569-000001",
        channel=Channel.CCTV,
        category=Category.ASSAULT,
        priority=Priority.P1,
        community=Community.SI_KOET,
        location="  Phahonyothin Rd, by the bus station  ",
        description="  Two men fighting.  ",
        occurred_at=now - timedelta(minutes=5),
        now=now,
        actor=dispatcher,
        position=GeoPoint(19.9086, 99.8325),
        contact=SealedContact("k1", "c1pher"),
        source_alert_id=alert_id,
    )

    assert incident.id == incident_id
    assert incident.status is IncidentStatus.REPORTED and incident.is_open
    assert (incident.reference, incident.category, incident.priority) == (
        "CR-2569-000001",
        Category.ASSAULT,
        Priority.P1,
    )
    assert incident.location == "Phahonyothin Rd, by the bus station"
    assert incident.description == "Two men fighting."
    assert incident.source_alert_id == alert_id
    assert incident.reported_by == dispatcher and incident.reported_at == now - timedelta(minutes=5)
    assert incident.assignments == {} and incident.notes == [] and incident.reopen_count == 0
    recorded(incident, "Reported", actor=dispatcher, at=now - timedelta(minutes=5))


@pytest.mark.parametrize("reporter", ["officer", "supervisor", "system"])
def test_officers_supervisors_and_the_system_may_also_report_an_incident(reporter, request, make_incident):
    assert make_incident(actor=request.getfixturevalue(reporter)).status is IncidentStatus.REPORTED


def test_an_incident_may_have_happened_up_to_two_minutes_ahead_of_the_server_clock(make_incident, now):
    assert make_incident(occurred_at=now + timedelta(minutes=2)).status is IncidentStatus.REPORTED


@pytest.mark.parametrize(
    "overrides, field, mentions",
    [
        ({"description": ""}, "description", "The description must not be empty."),
        ({"description": "   \n "}, "description", "The description must not be empty."),
        ({"description": "x" * 20_000}, "description", "too long (20000 characters; at most 4000)"),
        ({"location": ""}, "location", "The location must not be empty."),
        ({"location": "x" * 301}, "location", "at most 300"),
        ({"occurred_at": datetime(2026, 3, 14, 2, 33, tzinfo=UTC)}, "occurred_at", "cannot be in the future"),
        ({"occurred_at": datetime(2026, 3, 14, 9, 0)}, "occurred_at", "must say its time zone"),
    ],
    ids=[
        "empty description",
        "blank description",
        "20 kB description",
        "empty location",
        "long location",
        "occurred in the future",
        "naive datetime",
    ],
)
def test_an_incident_with_bad_input_is_not_reported(make_incident, overrides, field, mentions):
    with pytest.raises(InvalidInput) as info:
        make_incident(**overrides)
    assert info.value.field == field
    assert mentions in str(info.value)


@pytest.mark.parametrize("role", ["auditor", "partner", "admin"])
def test_auditors_partners_and_admins_may_not_report_an_incident(role, request, make_incident):
    with pytest.raises(NotPermitted, match=r"may not report an incident\.$"):
        make_incident(actor=request.getfixturevalue(role))


def test_a_version_1_reported_event_gains_an_empty_position_and_source_alert_when_upcast():
    state = {"reference": "CR-2568-000001"}
    Incident.Reported.upcast_v1_v2(state)
    assert state == {"reference": "CR-2568-000001", "position": None, "source_alert_id": None}
    assert Incident.Reported.class_version == 2


# --- triage -------------------------------------------------------------------


def test_a_dispatcher_triages_an_incident_to_a_new_priority(incident, dispatcher, later, recorded):
    incident.triage(actor=dispatcher, occurred_at=later(), reason="Weapon seen", priority=Priority.P1)

    assert (incident.category, incident.priority) == (Category.THEFT, Priority.P1)
    [event] = recorded(incident, "Triaged", actor=dispatcher, at=later())
    assert event.reason == "Weapon seen"


def test_a_dispatcher_triages_an_incident_to_a_new_category_keeping_its_priority(incident, dispatcher, now, recorded):
    incident.triage(actor=dispatcher, occurred_at=now, reason="It was a robbery", category=Category.ROBBERY)

    assert (incident.category, incident.priority) == (Category.ROBBERY, Priority.P3)
    recorded(incident, "Triaged", actor=dispatcher, at=now)


def test_a_triage_that_changes_nothing_is_refused(incident, dispatcher, now, refused):
    with refused(InvalidInput, incident, mentions=("Triage changes nothing",), field="priority"):
        incident.triage(actor=dispatcher, occurred_at=now, reason="Same", category=Category.THEFT, priority=Priority.P3)


def test_a_triage_without_a_reason_is_refused(incident, dispatcher, now, refused):
    with refused(InvalidInput, incident, mentions=("The reason must not be empty.",), field="reason"):
        incident.triage(actor=dispatcher, occurred_at=now, reason=" ", priority=Priority.P1)


def test_an_officer_may_not_triage_an_incident(incident, officer, now, refused):
    with refused(NotPermitted, incident, mentions=("officer may not triage an incident",)):
        incident.triage(actor=officer, occurred_at=now, reason="Worse", priority=Priority.P1)


@pytest.mark.parametrize("stage", ["resolved", "closed", "cancelled"])
def test_an_incident_that_is_no_longer_open_cannot_be_triaged(stage, incident, advance, dispatcher, now, refused):
    advance(incident, stage)
    with refused(
        TransitionRefused, incident, mentions=(f"Incident {incident.reference} is {stage}; it cannot be triaged.",)
    ):
        incident.triage(actor=dispatcher, occurred_at=now, reason="Worse", priority=Priority.P1)


# --- dispatch, en route, on scene, clear ----------------------------------------


def test_dispatching_a_unit_makes_the_incident_dispatched(incident, dispatcher, now, recorded):
    unit_id = uuid4()
    incident.dispatch(unit_id=unit_id, call_sign="P-11", actor=dispatcher, occurred_at=now, reason="Nearest")

    assert incident.status is IncidentStatus.DISPATCHED
    assert incident.assignments == {unit_id: Assignment.DISPATCHED}
    assert incident.call_signs == {unit_id: "P-11"} and incident.active_unit_ids == [unit_id]
    [event] = recorded(incident, "UnitDispatched", actor=dispatcher, at=now)
    assert (event.unit_id, event.call_sign, event.reason) == (unit_id, "P-11", "Nearest")


def test_a_second_unit_may_be_dispatched_to_the_same_incident(incident, advance, dispatcher, now, recorded):
    advance(incident, "on_scene")
    incident.dispatch(unit_id=uuid4(), call_sign="P-12", actor=dispatcher, occurred_at=now)

    assert len(incident.active_unit_ids) == 2
    assert incident.status is IncidentStatus.ON_SCENE  # the most advanced unit sets the status
    recorded(incident, "UnitDispatched", actor=dispatcher, at=now)


@pytest.mark.parametrize("stage", ["dispatched", "en_route", "on_scene"])
def test_a_unit_already_working_an_incident_cannot_be_dispatched_to_it_again(
    stage, incident, advance, dispatcher, now, refused
):
    unit_id = uuid4()
    advance(incident, stage, unit_id=unit_id)
    with refused(
        TransitionRefused, incident, mentions=(f"Unit P-11 is already assigned to incident {incident.reference}.",)
    ):
        incident.dispatch(unit_id=unit_id, call_sign="P-11", actor=dispatcher, occurred_at=now)


def test_a_cleared_unit_may_be_dispatched_again(incident, advance, dispatcher, officer, now, recorded):
    unit_id = uuid4()
    advance(incident, "dispatched", unit_id=unit_id)
    incident.clear_unit(unit_id=unit_id, actor=officer, occurred_at=now)
    incident.collect_events()

    incident.dispatch(unit_id=unit_id, call_sign="P-11", actor=dispatcher, occurred_at=now)

    assert incident.assignments[unit_id] is Assignment.DISPATCHED
    recorded(incident, "UnitDispatched", actor=dispatcher, at=now)


def test_an_officer_may_not_dispatch_a_unit(incident, officer, now, refused):
    with refused(NotPermitted, incident, mentions=("officer may not dispatch a unit",)):
        incident.dispatch(unit_id=uuid4(), call_sign="P-11", actor=officer, occurred_at=now)


@pytest.mark.parametrize("stage", ["resolved", "closed", "cancelled"])
def test_no_unit_can_be_dispatched_to_an_incident_that_is_no_longer_open(
    stage, incident, advance, dispatcher, now, refused
):
    advance(incident, stage)
    message = f"Incident {incident.reference} is {stage}; it cannot be dispatched to."
    with refused(TransitionRefused, incident, mentions=(message,)):
        incident.dispatch(unit_id=uuid4(), call_sign="P-11", actor=dispatcher, occurred_at=now)


def test_a_dispatch_reason_longer_than_a_short_text_is_refused(incident, dispatcher, now, refused):
    with refused(InvalidInput, incident, mentions=("The reason is too long",), field="reason"):
        incident.dispatch(unit_id=uuid4(), call_sign="P-11", actor=dispatcher, occurred_at=now, reason="x" * 20_000)


def test_checking_a_dispatch_records_nothing_when_it_would_be_allowed(incident, dispatcher):
    incident.check_dispatch(unit_id=uuid4(), call_sign="P-11", actor=dispatcher)
    assert incident.version == 1 and incident.collect_events() == []


def test_checking_a_dispatch_refuses_what_dispatch_would_refuse(incident, advance, dispatcher, officer, refused):
    unit_id = uuid4()
    advance(incident, "dispatched", unit_id=unit_id)
    with refused(
        TransitionRefused, incident, mentions=(f"Unit P-11 is already assigned to incident {incident.reference}.",)
    ):
        incident.check_dispatch(unit_id=unit_id, call_sign="P-11", actor=dispatcher)
    with refused(NotPermitted, incident, mentions=("officer may not dispatch a unit",)):
        incident.check_dispatch(unit_id=uuid4(), call_sign="P-12", actor=officer)


def test_a_dispatched_unit_goes_en_route(incident, advance, officer, now, recorded):
    unit_id = uuid4()
    advance(incident, "dispatched", unit_id=unit_id)
    incident.mark_en_route(unit_id=unit_id, actor=officer, occurred_at=now)

    assert incident.status is IncidentStatus.EN_ROUTE
    assert incident.assignments[unit_id] is Assignment.EN_ROUTE
    recorded(incident, "UnitEnRoute", actor=officer, at=now)


@pytest.mark.parametrize("stage", ["dispatched", "en_route"])
def test_a_dispatched_or_en_route_unit_arrives_on_scene(stage, incident, advance, officer, now, recorded):
    unit_id = uuid4()
    advance(incident, stage, unit_id=unit_id)
    incident.mark_on_scene(unit_id=unit_id, actor=officer, occurred_at=now)

    assert incident.status is IncidentStatus.ON_SCENE
    assert incident.assignments[unit_id] is Assignment.ON_SCENE
    recorded(incident, "UnitOnScene", actor=officer, at=now)


def test_a_unit_cannot_arrive_before_it_is_dispatched(incident, officer, now, refused):
    unit_id = uuid4()
    with refused(
        TransitionRefused,
        incident,
        mentions=(f"Unit {str(unit_id)[:8]} has not been dispatched to {incident.reference}, so it cannot arrive.",),
    ):
        incident.mark_on_scene(unit_id=unit_id, actor=officer, occurred_at=now)


def test_a_unit_cannot_go_en_route_before_it_is_dispatched(incident, officer, now, refused):
    unit_id = uuid4()
    with refused(
        TransitionRefused,
        incident,
        mentions=(
            f"Unit {str(unit_id)[:8]} has not been dispatched to {incident.reference}, so it cannot go en route.",
        ),
    ):
        incident.mark_en_route(unit_id=unit_id, actor=officer, occurred_at=now)


def test_a_unit_already_en_route_cannot_go_en_route_again(incident, advance, officer, now, refused):
    unit_id = uuid4()
    advance(incident, "en_route", unit_id=unit_id)
    with refused(TransitionRefused, incident, mentions=(f"Unit P-11 is already en route to {incident.reference}.",)):
        incident.mark_en_route(unit_id=unit_id, actor=officer, occurred_at=now)


@pytest.mark.parametrize("command", ["mark_en_route", "mark_on_scene"])
def test_a_unit_on_scene_cannot_go_back_en_route_nor_arrive_again(command, incident, advance, officer, now, refused):
    unit_id = uuid4()
    advance(incident, "on_scene", unit_id=unit_id)
    with refused(TransitionRefused, incident, mentions=(f"Unit P-11 is already on scene at {incident.reference}.",)):
        getattr(incident, command)(unit_id=unit_id, actor=officer, occurred_at=now)


@pytest.mark.parametrize("command, doing", [("mark_en_route", "go en route"), ("mark_on_scene", "arrive")])
def test_a_cleared_unit_cannot_move_on_without_a_new_dispatch(command, doing, incident, advance, officer, now, refused):
    unit_id = uuid4()
    advance(incident, "dispatched", unit_id=unit_id)
    incident.clear_unit(unit_id=unit_id, actor=officer, occurred_at=now)
    incident.collect_events()
    message = f"Unit P-11 has not been dispatched to {incident.reference}, so it cannot {doing}."
    with refused(TransitionRefused, incident, mentions=(message,)):
        getattr(incident, command)(unit_id=unit_id, actor=officer, occurred_at=now)


@pytest.mark.parametrize("command", ["mark_en_route", "mark_on_scene"])
@pytest.mark.parametrize("stage", ["resolved", "closed", "cancelled"])
def test_units_cannot_update_their_progress_on_an_incident_that_is_no_longer_open(
    command,
    stage,
    incident,
    advance,
    officer,
    now,
    refused,
):
    unit_id = uuid4()
    advance(incident, "dispatched", unit_id=unit_id)
    advance(incident, stage)
    with refused(
        TransitionRefused, incident, mentions=(f"Incident {incident.reference} is {stage}; it cannot be updated.",)
    ):
        getattr(incident, command)(unit_id=unit_id, actor=officer, occurred_at=now)


@pytest.mark.parametrize("command", ["mark_en_route", "mark_on_scene", "clear_unit"])
def test_an_auditor_may_not_update_a_units_progress(command, incident, advance, auditor, now, refused):
    unit_id = uuid4()
    advance(incident, "dispatched", unit_id=unit_id)
    with refused(NotPermitted, incident, mentions=("auditor may not update a unit's progress",)):
        getattr(incident, command)(unit_id=unit_id, actor=auditor, occurred_at=now)


@pytest.mark.parametrize("stage", ["dispatched", "en_route", "on_scene"])
def test_clearing_the_only_unit_puts_the_incident_back_to_reported(stage, incident, advance, officer, now, recorded):
    unit_id = uuid4()
    advance(incident, stage, unit_id=unit_id)
    incident.clear_unit(unit_id=unit_id, actor=officer, occurred_at=now, reason="  Needed elsewhere ")

    assert incident.assignments[unit_id] is Assignment.CLEARED
    assert incident.status is IncidentStatus.REPORTED and incident.active_unit_ids == []
    [event] = recorded(incident, "UnitCleared", actor=officer, at=now)
    assert event.reason == "Needed elsewhere"


def test_clearing_one_of_two_units_leaves_the_incident_at_the_other_units_stage(
    incident, advance, officer, now, recorded
):
    first, second = uuid4(), uuid4()
    advance(incident, "on_scene", unit_id=first)
    advance(incident, "en_route", unit_id=second, call_sign="P-12")
    incident.clear_unit(unit_id=first, actor=officer, occurred_at=now)

    assert incident.status is IncidentStatus.EN_ROUTE and incident.active_unit_ids == [second]
    recorded(incident, "UnitCleared", actor=officer, at=now)


def test_a_unit_never_dispatched_cannot_be_cleared(incident, officer, now, refused):
    unit_id = uuid4()
    with refused(
        TransitionRefused, incident, mentions=(f"Unit {str(unit_id)[:8]} is not assigned to {incident.reference}.",)
    ):
        incident.clear_unit(unit_id=unit_id, actor=officer, occurred_at=now)


def test_a_unit_cannot_be_cleared_twice(incident, advance, officer, now, refused):
    unit_id = uuid4()
    advance(incident, "dispatched", unit_id=unit_id)
    incident.clear_unit(unit_id=unit_id, actor=officer, occurred_at=now)
    incident.collect_events()
    with refused(TransitionRefused, incident, mentions=(f"Unit P-11 is not assigned to {incident.reference}.",)):
        incident.clear_unit(unit_id=unit_id, actor=officer, occurred_at=now)


def test_a_clearing_reason_longer_than_a_short_text_is_refused(incident, advance, officer, now, refused):
    unit_id = uuid4()
    advance(incident, "dispatched", unit_id=unit_id)
    with refused(InvalidInput, incident, mentions=("The reason is too long",), field="reason"):
        incident.clear_unit(unit_id=unit_id, actor=officer, occurred_at=now, reason="x" * 301)


# --- resolve, close, reopen -----------------------------------------------------


def test_resolving_clears_every_unit_still_on_the_incident_and_returns_them(incident, advance, officer, now, recorded):
    on_scene, en_route, cleared = uuid4(), uuid4(), uuid4()
    advance(incident, "on_scene", unit_id=on_scene)
    advance(incident, "en_route", unit_id=en_route, call_sign="P-12")
    advance(incident, "dispatched", unit_id=cleared, call_sign="P-13")
    incident.clear_unit(unit_id=cleared, actor=officer, occurred_at=now)
    incident.collect_events()

    released = incident.resolve(outcome=Outcome.ARREST, summary=" One arrested. ", actor=officer, occurred_at=now)

    assert released == [on_scene, en_route]
    assert incident.status is IncidentStatus.RESOLVED and not incident.is_open
    assert incident.outcome is Outcome.ARREST
    assert set(incident.assignments.values()) == {Assignment.CLEARED}
    [event] = recorded(incident, "Resolved", actor=officer, at=now)
    assert (event.outcome, event.summary) == (Outcome.ARREST, "One arrested.")


def test_an_incident_with_no_unit_may_be_resolved_by_a_dispatcher(incident, dispatcher, now, recorded):
    assert incident.resolve(outcome=Outcome.REFERRED, summary="", actor=dispatcher, occurred_at=now) == []
    assert incident.status is IncidentStatus.RESOLVED
    recorded(incident, "Resolved", actor=dispatcher, at=now)


def test_an_incident_cannot_be_resolved_twice(incident, advance, officer, now, refused):
    advance(incident, "resolved")
    with refused(TransitionRefused, incident, mentions=(f"Incident {incident.reference} is already resolved.",)):
        incident.resolve(outcome=Outcome.ARREST, summary="", actor=officer, occurred_at=now)


@pytest.mark.parametrize("stage", ["closed", "cancelled"])
def test_a_closed_or_cancelled_incident_cannot_be_resolved(stage, incident, advance, officer, now, refused):
    advance(incident, stage)
    with refused(
        TransitionRefused, incident, mentions=(f"Incident {incident.reference} is {stage}; it cannot be resolved.",)
    ):
        incident.resolve(outcome=Outcome.ARREST, summary="", actor=officer, occurred_at=now)


def test_a_resolution_summary_of_20_kb_is_refused(incident, officer, now, refused):
    with refused(InvalidInput, incident, mentions=("The summary is too long",), field="summary"):
        incident.resolve(outcome=Outcome.ARREST, summary="x" * 20_000, actor=officer, occurred_at=now)


def test_an_auditor_may_not_resolve_an_incident(incident, auditor, now, refused):
    with refused(NotPermitted, incident, mentions=("auditor may not resolve an incident",)):
        incident.resolve(outcome=Outcome.ARREST, summary="", actor=auditor, occurred_at=now)


def test_a_supervisor_closes_a_resolved_incident(incident, advance, supervisor, now, recorded):
    advance(incident, "resolved")
    incident.close(actor=supervisor, occurred_at=now, reason="Reviewed")

    assert incident.status is IncidentStatus.CLOSED and not incident.is_open
    recorded(incident, "Closed", actor=supervisor, at=now)


def test_a_cancelled_incident_cannot_be_closed(incident, advance, supervisor, now, refused):
    advance(incident, "cancelled")
    with refused(
        TransitionRefused, incident, mentions=(f"Incident {incident.reference} is cancelled; it cannot be closed.",)
    ):
        incident.close(actor=supervisor, occurred_at=now)


@pytest.mark.parametrize("stage", ["reported", "dispatched", "en_route", "on_scene"])
def test_an_incident_cannot_be_closed_before_it_is_resolved(stage, incident, advance, supervisor, now, refused):
    if stage != "reported":
        advance(incident, stage)
    with refused(
        TransitionRefused,
        incident,
        mentions=(f"Incident {incident.reference} must be resolved with an outcome before it can be closed.",),
    ):
        incident.close(actor=supervisor, occurred_at=now)


def test_an_incident_cannot_be_closed_twice(incident, advance, supervisor, now, refused):
    advance(incident, "closed")
    with refused(TransitionRefused, incident, mentions=(f"Incident {incident.reference} is already closed.",)):
        incident.close(actor=supervisor, occurred_at=now)


def test_a_dispatcher_may_not_close_an_incident(incident, advance, dispatcher, now, refused):
    advance(incident, "resolved")
    with refused(NotPermitted, incident, mentions=("A dispatcher may not close an incident.",)):
        incident.close(actor=dispatcher, occurred_at=now)


@pytest.mark.parametrize("stage", ["resolved", "closed"])
def test_a_supervisor_reopens_a_resolved_or_closed_incident(stage, incident, advance, supervisor, now, recorded):
    advance(incident, "on_scene")
    advance(incident, stage)
    incident.reopen(reason="Suspect came back", actor=supervisor, occurred_at=now)

    assert incident.status is IncidentStatus.REPORTED and incident.is_open
    assert incident.outcome is None and incident.reopen_count == 1
    assert incident.active_unit_ids == []
    recorded(incident, "Reopened", actor=supervisor, at=now)


def test_a_reopened_incident_can_be_dispatched_and_resolved_again(
    incident, advance, supervisor, dispatcher, now, recorded
):
    unit_id = uuid4()
    advance(incident, "dispatched", unit_id=unit_id)
    advance(incident, "closed")
    incident.reopen(reason="Again", actor=supervisor, occurred_at=now)
    incident.dispatch(unit_id=unit_id, call_sign="P-11", actor=dispatcher, occurred_at=now)
    assert incident.resolve(outcome=Outcome.MEDIATED, summary="", actor=dispatcher, occurred_at=now) == [unit_id]

    assert incident.status is IncidentStatus.RESOLVED
    events = incident.collect_events()
    assert [(type(e).__name__, e.actor) for e in events] == [
        ("Reopened", supervisor),
        ("UnitDispatched", dispatcher),
        ("Resolved", dispatcher),
    ]
    assert all(e.occurred_at == now for e in events)


@pytest.mark.parametrize(
    "stage, status",
    [
        ("reported", "reported"),
        ("dispatched", "dispatched"),
        ("en_route", "en route"),
        ("on_scene", "on scene"),
        ("cancelled", "cancelled"),
    ],
)
def test_only_a_resolved_or_closed_incident_can_be_reopened(stage, status, incident, advance, supervisor, now, refused):
    if stage != "reported":
        advance(incident, stage)
    with refused(
        TransitionRefused,
        incident,
        mentions=(f"Only a resolved or closed incident can be reopened; {incident.reference} is {status}.",),
    ):
        incident.reopen(reason="Why not", actor=supervisor, occurred_at=now)


def test_reopening_needs_a_reason(incident, advance, supervisor, now, refused):
    advance(incident, "closed")
    with refused(InvalidInput, incident, mentions=("The reason must not be empty.",), field="reason"):
        incident.reopen(reason="", actor=supervisor, occurred_at=now)


def test_a_dispatcher_may_not_reopen_an_incident(incident, advance, dispatcher, now, refused):
    advance(incident, "closed")
    with refused(NotPermitted, incident, mentions=("A dispatcher may not reopen an incident.",)):
        incident.reopen(reason="Again", actor=dispatcher, occurred_at=now)


# --- cancel -------------------------------------------------------------------


@pytest.mark.parametrize("reason", [CancelReason.FALSE_REPORT, CancelReason.WITHDRAWN])
def test_cancelling_an_incident_clears_its_units_and_returns_them(reason, incident, advance, dispatcher, now, recorded):
    unit_id = uuid4()
    advance(incident, "en_route", unit_id=unit_id)

    released = incident.cancel(cancel_reason=reason, actor=dispatcher, occurred_at=now, note=" Caller withdrew ")

    assert released == [unit_id]
    assert incident.status is IncidentStatus.CANCELLED and not incident.is_open
    assert incident.cancel_reason is reason and incident.duplicate_of is None
    assert incident.assignments[unit_id] is Assignment.CLEARED
    [event] = recorded(incident, "Cancelled", actor=dispatcher, at=now)
    assert event.reason == "Caller withdrew"


@pytest.mark.parametrize("original_stage", ["reported", "on_scene", "closed"])
def test_cancelling_a_duplicate_links_it_on_both_incidents(
    original_stage, make_incident, advance, dispatcher, now, recorded
):
    original, duplicate = make_incident(), make_incident()
    if original_stage != "reported":
        advance(original, original_stage)

    duplicate.cancel(cancel_reason=CancelReason.DUPLICATE, duplicate_of=original, actor=dispatcher, occurred_at=now)

    assert duplicate.status is IncidentStatus.CANCELLED
    assert duplicate.cancel_reason is CancelReason.DUPLICATE and duplicate.duplicate_of == original.id
    assert original.duplicates == [duplicate.id]
    [cancelled] = recorded(duplicate, "Cancelled", actor=dispatcher, at=now)
    assert cancelled.duplicate_of == original.id
    [linked] = recorded(original, "DuplicateLinked", actor=dispatcher, at=now)
    assert (linked.duplicate_id, linked.duplicate_reference) == (duplicate.id, duplicate.reference)


def test_a_duplicate_must_say_which_incident_it_duplicates(incident, dispatcher, now, refused):
    with refused(InvalidInput, incident, mentions=("Say which incident this one duplicates.",), field="duplicate_of"):
        incident.cancel(cancel_reason=CancelReason.DUPLICATE, actor=dispatcher, occurred_at=now)


def test_an_incident_cannot_be_a_duplicate_of_itself(incident, dispatcher, now, refused):
    with refused(InvalidInput, incident, mentions=("cannot be a duplicate of itself",), field="duplicate_of"):
        incident.cancel(cancel_reason=CancelReason.DUPLICATE, duplicate_of=incident, actor=dispatcher, occurred_at=now)


def test_an_incident_cannot_be_linked_as_a_duplicate_of_a_cancelled_incident(
    make_incident, advance, dispatcher, now, refused
):
    cancelled, duplicate = make_incident(), make_incident()
    advance(cancelled, "cancelled")
    message = f"Incident {cancelled.reference} is itself cancelled; link to the incident that stands."
    with refused(InvalidInput, duplicate, cancelled, mentions=(message,), field="duplicate_of"):
        duplicate.cancel(
            cancel_reason=CancelReason.DUPLICATE, duplicate_of=cancelled, actor=dispatcher, occurred_at=now
        )


@pytest.mark.parametrize("reason", [CancelReason.FALSE_REPORT, CancelReason.WITHDRAWN])
def test_only_a_duplicate_names_another_incident(reason, make_incident, dispatcher, now, refused):
    other, incident = make_incident(), make_incident()
    with refused(
        InvalidInput, incident, other, mentions=("Only a duplicate names another incident.",), field="duplicate_of"
    ):
        incident.cancel(cancel_reason=reason, duplicate_of=other, actor=dispatcher, occurred_at=now)


@pytest.mark.parametrize("stage", ["resolved", "closed", "cancelled"])
def test_an_incident_that_is_no_longer_open_cannot_be_cancelled(
    stage, make_incident, advance, dispatcher, now, refused
):
    original, incident = make_incident(), make_incident()
    advance(incident, stage)
    message = f"Incident {incident.reference} is {stage}; it cannot be cancelled."
    with refused(TransitionRefused, incident, original, mentions=(message,)):
        incident.cancel(cancel_reason=CancelReason.DUPLICATE, duplicate_of=original, actor=dispatcher, occurred_at=now)


def test_a_cancellation_note_longer_than_a_short_text_leaves_both_incidents_untouched(
    make_incident, dispatcher, now, refused
):
    original, duplicate = make_incident(), make_incident()
    with refused(InvalidInput, duplicate, original, mentions=("The note is too long",), field="note"):
        duplicate.cancel(
            cancel_reason=CancelReason.DUPLICATE,
            duplicate_of=original,
            actor=dispatcher,
            occurred_at=now,
            note="x" * 301,
        )


def test_an_officer_may_not_cancel_an_incident(incident, officer, now, refused):
    with refused(NotPermitted, incident, mentions=("officer may not cancel an incident",)):
        incident.cancel(cancel_reason=CancelReason.WITHDRAWN, actor=officer, occurred_at=now)


# --- notes --------------------------------------------------------------------


@pytest.mark.parametrize("author", ["dispatcher", "officer", "supervisor"])
def test_a_note_is_added_to_an_incident(author, request, incident, now, recorded):
    actor = request.getfixturevalue(author)
    incident.add_note(text="  Caller called back. ", actor=actor, occurred_at=now)

    assert incident.notes == [("Caller called back.", actor, now)]
    recorded(incident, "NoteAdded", actor=actor, at=now)


def test_a_note_may_still_be_added_to_a_closed_incident(incident, advance, officer, now, recorded):
    advance(incident, "closed")
    incident.add_note(text="Court date set.", actor=officer, occurred_at=now)
    recorded(incident, "NoteAdded", actor=officer, at=now)


@pytest.mark.parametrize(
    "text, mentions", [("  ", "The note must not be empty."), ("x" * 20_000, "The note is too long")]
)
def test_an_empty_or_20_kb_note_is_refused(text, mentions, incident, officer, now, refused):
    with refused(InvalidInput, incident, mentions=(mentions,), field="note"):
        incident.add_note(text=text, actor=officer, occurred_at=now)


@pytest.mark.parametrize("role", ["auditor", "partner", "admin", "system"])
def test_auditors_partners_admins_and_the_system_may_not_add_notes(role, request, incident, now, refused):
    with refused(NotPermitted, incident, mentions=("may not add a note",)):
        incident.add_note(text="Hello", actor=request.getfixturevalue(role), occurred_at=now)


# --- reference book and intake key ----------------------------------------------


def test_a_reference_book_issues_consecutive_references_of_its_year(system, now, later, recorded):
    book = ReferenceBook.open(2569, system, now)
    recorded(book, "Opened", actor=system, at=now)

    assert book.id == ReferenceBook.id_for(2569)
    assert book.issue(system, later(1)) == "CR-2569-000001"
    assert book.issue(system, later(2)) == "CR-2569-000002"
    assert book.last_number == 2

    first, second = book.collect_events()
    assert [type(e).__name__ for e in (first, second)] == ["ReferenceIssued", "ReferenceIssued"]
    assert (first.number, first.actor, first.occurred_at) == (1, system, later(1))
    assert (second.number, second.actor, second.occurred_at) == (2, system, later(2))


def test_an_incident_id_is_derived_from_its_reference():
    assert Incident.id_for("CR-2569-000001") == Incident.id_for("CR-2569-000001")
    assert Incident.id_for("CR-2569-000001") != Incident.id_for("CR-2569-000002")


def test_each_buddhist_year_has_its_own_reference_book():
    assert ReferenceBook.id_for(2569) == ReferenceBook.id_for(2569)
    assert ReferenceBook.id_for(2569) != ReferenceBook.id_for(2570)


def test_a_reference_has_six_digits():
    assert ReferenceBook.format(2570, 42) == "CR-2570-000042"


@pytest.mark.parametrize(
    "instant, year_be",
    [
        (datetime(2026, 12, 31, 16, 59, 59, tzinfo=UTC), 2569),  # 23:59:59 in Bangkok
        (datetime(2026, 12, 31, 17, 0, tzinfo=UTC), 2570),  # midnight in Bangkok
        (datetime(2026, 12, 31, 18, 0, tzinfo=UTC), 2570),
        (datetime(2026, 1, 1, 0, 0, tzinfo=UTC), 2569),
    ],
)
def test_the_reference_year_is_the_buddhist_year_in_bangkok(instant, year_be):
    assert ReferenceBook.year_for(instant) == year_be


def test_an_intake_key_remembers_the_incident_it_created(dispatcher, now, recorded):
    incident_id = uuid4()
    key = IntakeKey.claim("sos-app:7f3a", incident_id, dispatcher, now)

    assert key.id == IntakeKey.id_for("sos-app:7f3a") and key.incident_id == incident_id
    assert IntakeKey.id_for("sos-app:7f3a") != IntakeKey.id_for("sos-app:7f3b")
    recorded(key, "Claimed", actor=dispatcher, at=now)
