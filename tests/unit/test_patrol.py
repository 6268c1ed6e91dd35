from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.errors import InvalidInput, NotPermitted, TokenRefused, TransitionRefused, UnitUnavailable
from domain.patrol import (
    FAR_FROM_BOX,
    MAX_DISTANCE_M,
    TOO_FAST,
    PatrolUnit,
    PatrolVisit,
    RedBox,
    RefusedCheckIn,
    finding_text,
)
from domain.values import CheckInRefusal, Community, GeoPoint, UnitKind, UnitStatus, VisitStatus

CLOCK_TOWER = GeoPoint(19.9071, 99.8310)
KO_LOI_PARK = GeoPoint(19.9175, 99.8490)  # about 2.2 km from the clock tower
NEXT_DOOR = GeoPoint(19.9072, 99.8311)  # about 15 m from the clock tower

# --- patrol units -------------------------------------------------------------


@pytest.mark.parametrize("registrar", ["supervisor", "admin", "system"])
def test_a_unit_is_registered_off_duty_under_its_upper_case_call_sign(registrar, request, now, recorded):
    actor = request.getfixturevalue(registrar)
    unit = PatrolUnit.register(call_sign="  p-11 ", kind=UnitKind.MOTORCYCLE, actor=actor, occurred_at=now)

    assert unit.id == PatrolUnit.id_for("P-11")
    assert (unit.call_sign, unit.kind, unit.status) == ("P-11", UnitKind.MOTORCYCLE, UnitStatus.OFF_DUTY)
    assert unit.officer_ids == [] and unit.incident_id is None
    recorded(unit, "Registered", actor=actor, at=now)


@pytest.mark.parametrize("call_sign", ["", "P", "-P11", "P 11", "P_11", "P" * 25])
def test_a_unit_with_a_malformed_call_sign_is_not_registered(call_sign, supervisor, now):
    with pytest.raises(
        InvalidInput, match=r"^A call sign is 2–24 Thai or Latin letters, .* e\.g\. ชร-101 or M-01\.$"
    ) as info:
        PatrolUnit.register(call_sign=call_sign, kind=UnitKind.CAR, actor=supervisor, occurred_at=now)
    assert info.value.field == "call_sign"


@pytest.mark.parametrize("call_sign", ["ชร-101", "สภ-ชร-7", "m-01"])
def test_a_unit_may_have_a_thai_call_sign(call_sign, supervisor, now):
    unit = PatrolUnit.register(call_sign=call_sign, kind=UnitKind.CAR, actor=supervisor, occurred_at=now)
    assert unit.call_sign == call_sign.upper() and unit.id == PatrolUnit.id_for(call_sign.upper())


def test_a_dispatcher_may_not_register_a_unit(dispatcher, now):
    with pytest.raises(NotPermitted, match=r"^A dispatcher may not register or retire units\.$"):
        PatrolUnit.register(call_sign="P-11", kind=UnitKind.CAR, actor=dispatcher, occurred_at=now)


def test_a_unit_goes_on_duty_with_its_officers_listed_once(make_unit, dispatcher, now, recorded):
    unit = make_unit("off_duty")
    first, second = uuid4(), uuid4()
    unit.go_on_duty(officer_ids=[first, second, first], actor=dispatcher, occurred_at=now)

    assert unit.status is UnitStatus.AVAILABLE and unit.officer_ids == [first, second]
    recorded(unit, "WentOnDuty", actor=dispatcher, at=now)


def test_an_officer_may_put_their_own_unit_on_duty(make_unit, officer, now, recorded):
    unit = make_unit("off_duty")
    unit.go_on_duty(officer_ids=[officer.user_id], actor=officer, occurred_at=now)
    recorded(unit, "WentOnDuty", actor=officer, at=now)


@pytest.mark.parametrize(
    "status, words", [("available", "available"), ("assigned", "assigned"), ("retired", "retired")]
)
def test_only_an_off_duty_unit_can_go_on_duty(status, words, make_unit, dispatcher, now, refused):
    unit = make_unit(status)
    with refused(TransitionRefused, unit, mentions=(f"Unit P-11 is {words}, not off duty.",)):
        unit.go_on_duty(officer_ids=[uuid4()], actor=dispatcher, occurred_at=now)


def test_a_unit_cannot_go_on_duty_without_an_officer(make_unit, dispatcher, now, refused):
    unit = make_unit("off_duty")
    with refused(InvalidInput, unit, mentions=("A unit goes on duty with at least one officer.",), field="officer_ids"):
        unit.go_on_duty(officer_ids=[], actor=dispatcher, occurred_at=now)


def test_an_auditor_may_not_put_a_unit_on_duty(make_unit, auditor, now, refused):
    unit = make_unit("off_duty")
    with refused(NotPermitted, unit, mentions=("auditor may not put a unit on or off duty",)):
        unit.go_on_duty(officer_ids=[uuid4()], actor=auditor, occurred_at=now)


def test_an_available_unit_is_assigned_to_an_incident(make_unit, dispatcher, now, recorded):
    unit, incident_id = make_unit("available"), uuid4()

    assert unit.assign(incident_id=incident_id, reference="CR-2569-000001", actor=dispatcher, occurred_at=now) is None

    assert unit.status is UnitStatus.ASSIGNED and unit.incident_id == incident_id
    [event] = recorded(unit, "Assigned", actor=dispatcher, at=now)
    assert (event.incident_id, event.reference) == (incident_id, "CR-2569-000001")


def test_a_busy_unit_reassigned_explicitly_returns_the_incident_it_was_taken_from(make_unit, dispatcher, now, recorded):
    unit = make_unit("assigned")
    previous, incident_id = unit.incident_id, uuid4()

    taken_from = unit.assign(
        incident_id=incident_id, reference="CR-2569-000002", actor=dispatcher, occurred_at=now, reassign=True
    )

    assert taken_from == previous

    assert unit.status is UnitStatus.ASSIGNED and unit.incident_id == incident_id
    [event] = recorded(unit, "Reassigned", actor=dispatcher, at=now)
    assert (event.from_incident_id, event.incident_id) == (previous, incident_id)


def test_reassigning_an_available_unit_is_a_plain_assignment(make_unit, dispatcher, now, recorded):
    unit = make_unit("available")
    assert (
        unit.assign(incident_id=uuid4(), reference="CR-2569-000002", actor=dispatcher, occurred_at=now, reassign=True)
        is None
    )
    recorded(unit, "Assigned", actor=dispatcher, at=now)


@pytest.mark.parametrize("reassign", [False, True])
def test_a_unit_cannot_be_assigned_again_to_the_incident_it_already_works(
    reassign, make_unit, dispatcher, now, refused
):
    unit = make_unit("assigned")
    with refused(TransitionRefused, unit, mentions=("Unit P-11 is already assigned to CR-2569-000099.",)):
        unit.assign(
            incident_id=unit.incident_id,
            reference="CR-2569-000099",
            actor=dispatcher,
            occurred_at=now,
            reassign=reassign,
        )


def test_a_busy_unit_is_not_taken_off_its_incident_without_an_explicit_reassignment(
    make_unit, dispatcher, now, refused
):
    unit = make_unit("assigned")
    with refused(UnitUnavailable, unit, mentions=("Unit P-11 is busy on another incident",)):
        unit.assign(incident_id=uuid4(), reference="CR-2569-000002", actor=dispatcher, occurred_at=now)


@pytest.mark.parametrize("status, words", [("off_duty", "off duty"), ("retired", "retired")])
def test_an_off_duty_or_retired_unit_cannot_be_dispatched(status, words, make_unit, dispatcher, now, refused):
    unit = make_unit(status)
    with refused(UnitUnavailable, unit, mentions=(f"Unit P-11 is {words} and cannot be dispatched.",)):
        unit.assign(incident_id=uuid4(), reference="CR-2569-000002", actor=dispatcher, occurred_at=now, reassign=True)


def test_an_officer_may_not_assign_a_unit(make_unit, officer, now, refused):
    unit = make_unit("available")
    with refused(NotPermitted, unit, mentions=("officer may not dispatch a unit",)):
        unit.assign(incident_id=uuid4(), reference="CR-2569-000002", actor=officer, occurred_at=now)


def test_releasing_a_unit_from_its_incident_makes_it_available(make_unit, officer, now, recorded):
    unit = make_unit("assigned")
    incident_id = unit.incident_id

    assert unit.release(incident_id=incident_id, actor=officer, occurred_at=now) is True

    assert unit.status is UnitStatus.AVAILABLE and unit.incident_id is None
    [event] = recorded(unit, "Released", actor=officer, at=now)
    assert event.incident_id == incident_id


@pytest.mark.parametrize("status", ["assigned", "available", "off_duty"])
def test_releasing_a_unit_from_an_incident_it_does_not_work_does_nothing(status, make_unit, officer, now):
    unit = make_unit(status)
    before = (unit.version, unit.status, unit.incident_id)

    assert unit.release(incident_id=uuid4(), actor=officer, occurred_at=now) is False

    assert (unit.version, unit.status, unit.incident_id) == before
    assert unit.collect_events() == []


def test_an_available_unit_goes_off_duty_and_lets_its_officers_go(make_unit, officer, now, recorded):
    unit = make_unit("available")
    unit.go_off_duty(actor=officer, occurred_at=now, reason=" End of shift ")

    assert unit.status is UnitStatus.OFF_DUTY and unit.officer_ids == []
    [event] = recorded(unit, "WentOffDuty", actor=officer, at=now)
    assert event.reason == "End of shift"


def test_a_unit_still_assigned_cannot_go_off_duty(make_unit, officer, now, refused):
    unit = make_unit("assigned")
    with refused(TransitionRefused, unit, mentions=("Unit P-11 is still assigned to an incident; clear it first.",)):
        unit.go_off_duty(actor=officer, occurred_at=now)


@pytest.mark.parametrize("status, words", [("off_duty", "off duty"), ("retired", "retired")])
def test_a_unit_not_on_duty_cannot_go_off_duty(status, words, make_unit, officer, now, refused):
    unit = make_unit(status)
    with refused(TransitionRefused, unit, mentions=(f"Unit P-11 is {words}, not on duty.",)):
        unit.go_off_duty(actor=officer, occurred_at=now)


def test_an_auditor_may_not_take_a_unit_off_duty(make_unit, auditor, now, refused):
    unit = make_unit("available")
    with refused(NotPermitted, unit, mentions=("auditor may not put a unit on or off duty",)):
        unit.go_off_duty(actor=auditor, occurred_at=now)


def test_an_off_duty_unit_is_retired(make_unit, supervisor, now, recorded):
    unit = make_unit("off_duty")
    unit.retire(reason="Car sold", actor=supervisor, occurred_at=now)

    assert unit.status is UnitStatus.RETIRED
    recorded(unit, "Retired", actor=supervisor, at=now)


def test_a_retired_unit_cannot_be_retired_again(make_unit, supervisor, now, refused):
    unit = make_unit("retired")
    with refused(TransitionRefused, unit, mentions=("Unit P-11 is already retired.",)):
        unit.retire(reason="Car sold", actor=supervisor, occurred_at=now)


@pytest.mark.parametrize("status", ["available", "assigned"])
def test_only_an_off_duty_unit_can_be_retired(status, make_unit, supervisor, now, refused):
    unit = make_unit(status)
    with refused(TransitionRefused, unit, mentions=("Unit P-11 must be off duty before it is retired.",)):
        unit.retire(reason="Car sold", actor=supervisor, occurred_at=now)


def test_retiring_a_unit_needs_a_reason(make_unit, supervisor, now, refused):
    unit = make_unit("off_duty")
    with refused(InvalidInput, unit, mentions=("The reason must not be empty.",), field="reason"):
        unit.retire(reason="", actor=supervisor, occurred_at=now)


def test_a_dispatcher_may_not_retire_a_unit(make_unit, dispatcher, now, refused):
    unit = make_unit("off_duty")
    with refused(NotPermitted, unit, mentions=("A dispatcher may not register or retire units.",)):
        unit.retire(reason="Car sold", actor=dispatcher, occurred_at=now)


# --- red boxes ----------------------------------------------------------------


def test_a_red_box_is_registered_with_its_first_token(supervisor, now, recorded):
    box = RedBox.register(
        code=" rb-07 ",
        name_th=" ตู้แดงหอนาฬิกา ",
        name_en="Clock Tower",
        community=Community.WAT_PHRA_KAEO,
        position=CLOCK_TOWER,
        actor=supervisor,
        occurred_at=now,
    )

    assert box.id == RedBox.id_for("RB-07")
    assert (box.code, box.name_th, box.name_en) == ("RB-07", "ตู้แดงหอนาฬิกา", "Clock Tower")
    assert box.position == CLOCK_TOWER and box.token_version == 1 and not box.retired
    recorded(box, "Registered", actor=supervisor, at=now)


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"code": "R"}, "code"),
        ({"name_th": " "}, "name_th"),
        ({"name_en": ""}, "name_en"),
        ({"name_en": "x" * 301}, "name_en"),
    ],
)
def test_a_red_box_with_bad_input_is_not_registered(overrides, field, admin, now):
    fields = (
        dict(
            code="RB-07",
            name_th="ตู้แดง",
            name_en="Red box",
            community=Community.KO_LOI,
            position=CLOCK_TOWER,
            actor=admin,
            occurred_at=now,
        )
        | overrides
    )
    with pytest.raises(InvalidInput) as info:
        RedBox.register(**fields)
    assert info.value.field == field


def test_a_dispatcher_may_not_register_a_red_box(dispatcher, now):
    with pytest.raises(NotPermitted, match=r"^A dispatcher may not manage red boxes\.$"):
        RedBox.register(
            code="RB-07",
            name_th="ตู้แดง",
            name_en="Red box",
            community=Community.KO_LOI,
            position=CLOCK_TOWER,
            actor=dispatcher,
            occurred_at=now,
        )


def test_rotating_a_red_box_token_raises_its_version(box, supervisor, now, recorded):
    box.rotate_token(reason="Sticker photographed", actor=supervisor, occurred_at=now)

    assert box.token_version == 2
    [event] = recorded(box, "TokenRotated", actor=supervisor, at=now)
    assert event.token_version == 2


def test_a_red_box_is_moved(box, admin, now, recorded):
    box.move(position=KO_LOI_PARK, reason="Road works", actor=admin, occurred_at=now)

    assert box.position == KO_LOI_PARK
    recorded(box, "Moved", actor=admin, at=now)


def test_a_red_box_cannot_be_moved_where_it_already_stands(box, admin, now, refused):
    with refused(InvalidInput, box, mentions=("Red box RB-07 is already at that position.",), field="position"):
        box.move(position=GeoPoint(CLOCK_TOWER.lat, CLOCK_TOWER.lon), reason="Road works", actor=admin, occurred_at=now)


def test_a_red_box_is_retired(box, supervisor, now, recorded):
    box.retire(reason="Demolished", actor=supervisor, occurred_at=now)

    assert box.retired
    recorded(box, "Retired", actor=supervisor, at=now)


@pytest.mark.parametrize(
    "command, kwargs",
    [
        ("rotate_token", {}),
        ("move", {"position": KO_LOI_PARK}),
        ("retire", {}),
    ],
)
def test_a_retired_red_box_cannot_be_changed(command, kwargs, box, supervisor, now, refused):
    box.retire(reason="Demolished", actor=supervisor, occurred_at=now)
    box.collect_events()
    with refused(TransitionRefused, box, mentions=("Red box RB-07 is retired.",)):
        getattr(box, command)(reason="Why", actor=supervisor, occurred_at=now, **kwargs)


@pytest.mark.parametrize(
    "command, kwargs",
    [
        ("rotate_token", {}),
        ("move", {"position": KO_LOI_PARK}),
        ("retire", {}),
    ],
)
def test_changing_a_red_box_needs_a_reason(command, kwargs, box, supervisor, now, refused):
    with refused(InvalidInput, box, mentions=("The reason must not be empty.",), field="reason"):
        getattr(box, command)(reason="  ", actor=supervisor, occurred_at=now, **kwargs)


@pytest.mark.parametrize(
    "command, kwargs",
    [
        ("rotate_token", {}),
        ("move", {"position": KO_LOI_PARK}),
        ("retire", {}),
    ],
)
def test_an_officer_may_not_manage_red_boxes(command, kwargs, box, officer, now, refused):
    with refused(NotPermitted, box, mentions=("officer may not manage red boxes",)):
        getattr(box, command)(reason="Why", actor=officer, occurred_at=now, **kwargs)


def test_a_red_box_accepts_only_its_current_token(box, supervisor, now):
    box.check_token(1)
    box.rotate_token(reason="New sticker", actor=supervisor, occurred_at=now)
    box.check_token(2)


@pytest.mark.parametrize(
    "version, refusal, says",
    [
        (1, CheckInRefusal.OUTDATED, "This QR code of red box RB-07 is out of date"),
        (3, CheckInRefusal.INVALID, "This QR code of red box RB-07 is not valid"),  # never issued
        (None, CheckInRefusal.INVALID, "This QR code of red box RB-07 is not valid"),  # its signature did not verify
    ],
)
def test_a_red_box_refuses_a_token_that_is_not_its_current_one(version, refusal, says, box, supervisor, now, refused):
    box.rotate_token(reason="New sticker", actor=supervisor, occurred_at=now)
    box.collect_events()
    assert box.refusal(version) is refusal
    with refused(TokenRefused, box, mentions=(says,)):
        box.check_token(version)


def test_a_refused_check_in_records_who_tried_which_box_why_and_where(box, officer, now):
    where = GeoPoint(19.91, 99.83)
    attempt = RefusedCheckIn.record(
        id=uuid4(),
        box=box,
        code="rb-07",
        refusal=CheckInRefusal.OUTDATED,
        token_version=1,
        position=where,
        actor=officer,
        occurred_at=now,
    )
    [event] = attempt.collect_events()
    assert (event.box_id, event.box_code, event.refusal, event.token_version, event.position, event.actor) == (
        box.id,
        "RB-07",
        CheckInRefusal.OUTDATED,
        1,
        where,
        officer,
    )


def test_a_refused_check_in_at_an_unknown_box_keeps_only_a_clean_code(officer, now):
    attempt = RefusedCheckIn.record(
        id=uuid4(),
        box=None,
        code="<script>rb-99\x00" + "9" * 40,
        refusal=CheckInRefusal.UNKNOWN_BOX,
        token_version=None,
        position=None,
        actor=officer,
        occurred_at=now,
    )
    assert attempt.box_id is None and attempt.box_code == "SCRIPTRB-9999999999999999"[:24]


def test_only_people_who_check_in_leave_refused_check_ins(box, dispatcher, now):
    with pytest.raises(NotPermitted):
        RefusedCheckIn.record(
            id=uuid4(),
            box=box,
            code="RB-07",
            refusal=CheckInRefusal.INVALID,
            token_version=None,
            position=None,
            actor=dispatcher,
            occurred_at=now,
        )


def test_a_retired_red_box_refuses_even_its_current_token(box, supervisor, now, refused):
    box.retire(reason="Demolished", actor=supervisor, occurred_at=now)
    box.collect_events()
    with refused(TransitionRefused, box, mentions=("Red box RB-07 is retired.",)):
        box.check_token(box.token_version)


# --- patrol visits ------------------------------------------------------------


def test_an_officer_logs_a_visit_with_the_current_token(box, officer, now, recorded):
    visit_id, unit_id = uuid4(), uuid4()
    visit = PatrolVisit.log(
        id=visit_id,
        box=box,
        token_version=1,
        unit_id=unit_id,
        actor=officer,
        occurred_at=now,
        now=now,
        position=NEXT_DOOR,
        observation="  All quiet ",
    )

    assert visit.id == visit_id
    assert (visit.box_id, visit.box_code, visit.community) == (box.id, "RB-07", Community.WAT_PHRA_KAEO)
    assert (visit.officer_id, visit.unit_id, visit.visited_at) == (officer.user_id, unit_id, now)
    assert visit.observations == ["All quiet"] and visit.flags == []
    assert visit.status is VisitStatus.LOGGED
    recorded(visit, "Logged", actor=officer, at=now)


def test_a_supervisor_may_log_a_visit_without_an_observation(box, supervisor, now, recorded):
    visit = PatrolVisit.log(
        id=uuid4(), box=box, token_version=1, unit_id=None, actor=supervisor, occurred_at=now, now=now
    )
    assert visit.observations == [] and visit.position is None
    recorded(visit, "Logged", actor=supervisor, at=now)


def test_a_visit_with_an_old_token_is_refused(box, supervisor, officer, now, refused):
    box.rotate_token(reason="New sticker", actor=supervisor, occurred_at=now)
    box.collect_events()
    with refused(TokenRefused, box, mentions=("red box RB-07 is out of date",)):
        PatrolVisit.log(id=uuid4(), box=box, token_version=1, unit_id=None, actor=officer, occurred_at=now, now=now)


def test_a_visit_to_a_retired_red_box_is_refused(box, supervisor, officer, now, refused):
    box.retire(reason="Demolished", actor=supervisor, occurred_at=now)
    box.collect_events()
    with refused(TransitionRefused, box, mentions=("Red box RB-07 is retired.",)):
        PatrolVisit.log(id=uuid4(), box=box, token_version=1, unit_id=None, actor=officer, occurred_at=now, now=now)


@pytest.mark.parametrize(
    "occurred_at, mentions",
    [
        (datetime(2026, 3, 14, 3, 0, tzinfo=UTC), "cannot be in the future"),
        (datetime(2026, 3, 14, 9, 30), "must say its time zone"),
    ],
)
def test_a_visit_at_a_bad_time_is_refused(occurred_at, mentions, box, officer, now, refused):
    with refused(InvalidInput, box, mentions=(mentions,), field="occurred_at"):
        PatrolVisit.log(
            id=uuid4(), box=box, token_version=1, unit_id=None, actor=officer, occurred_at=occurred_at, now=now
        )


def test_a_visit_with_a_20_kb_observation_is_refused(box, officer, now, refused):
    with refused(InvalidInput, box, mentions=("The observation is too long",), field="observation"):
        PatrolVisit.log(
            id=uuid4(),
            box=box,
            token_version=1,
            unit_id=None,
            actor=officer,
            occurred_at=now,
            now=now,
            observation="x" * 20_000,
        )


@pytest.mark.parametrize("role", ["dispatcher", "admin", "system"])
def test_only_officers_and_supervisors_check_in_at_red_boxes(role, request, box, now, refused):
    with refused(NotPermitted, box, mentions=("may not check in at a red box",)):
        PatrolVisit.log(
            id=uuid4(),
            box=box,
            token_version=1,
            unit_id=None,
            actor=request.getfixturevalue(role),
            occurred_at=now,
            now=now,
        )


def test_a_check_in_scanned_far_from_its_box_is_implausible(box, make_visit):
    visit = make_visit(box, position=KO_LOI_PARK)
    finding = visit.implausibility(box, None, None)
    assert finding is not None and finding["kind"] == FAR_FROM_BOX and finding["box"] == "RB-07"
    assert finding["metres"] == round(KO_LOI_PARK.metres_to(box.position)) > MAX_DISTANCE_M
    assert finding_text(finding) == f"scanned {finding['metres']} m from red box RB-07"


def test_a_check_in_too_soon_after_a_visit_to_a_distant_box_is_implausible(make_box, make_visit, now):
    far_box, box = make_box("RB-01", KO_LOI_PARK), make_box("RB-07", CLOCK_TOWER)
    previous = make_visit(far_box, at=now - timedelta(minutes=1))
    visit = make_visit(box, at=now, position=NEXT_DOOR)

    finding = visit.implausibility(box, previous, far_box)

    assert finding == {
        "kind": TOO_FAST,
        "metres": round(KO_LOI_PARK.metres_to(CLOCK_TOWER)),
        "from_box": "RB-01",
        "seconds": 60,
    }
    assert finding_text(finding).endswith(" m from red box RB-01 in 0:01:00, faster than a patrol can travel")


def test_the_systems_flag_keeps_its_finding_and_its_english_wording(make_box, make_visit, now, system):
    box = make_box("RB-07", CLOCK_TOWER)
    visit = make_visit(box, position=KO_LOI_PARK)
    finding = visit.implausibility(box, None, None)
    visit.flag_finding(finding, actor=system, occurred_at=now)
    flagged = list(visit.collect_events())[-1]
    assert isinstance(flagged, PatrolVisit.Flagged) and flagged.actor == system
    assert (flagged.finding, flagged.reason) == (finding, finding_text(finding))
    assert visit.status is VisitStatus.FLAGGED and visit.flags == [finding_text(finding)]


def test_a_flag_recorded_before_findings_reads_as_having_none() -> None:
    state = {"reason": "scanned 4715 m from red box RB-01"}
    PatrolVisit.Flagged.upcast_v1_v2(state)
    assert state == {"reason": "scanned 4715 m from red box RB-01", "finding": None}


@pytest.mark.parametrize(
    "case",
    [
        "close to the box",
        "distant box long ago",
        "same box a moment ago",
        "previous is this visit",
        "previous is later",
    ],
)
def test_a_plausible_check_in_has_no_implausibility(case, make_box, make_visit, now):
    far_box, box = make_box("RB-01", KO_LOI_PARK), make_box("RB-07", CLOCK_TOWER)
    visit = make_visit(box, at=now, position=NEXT_DOOR)
    previous, previous_box = {
        "close to the box": (None, None),
        "distant box long ago": (make_visit(far_box, at=now - timedelta(minutes=30)), far_box),
        "same box a moment ago": (make_visit(box, at=now - timedelta(seconds=10)), box),
        "previous is this visit": (visit, far_box),
        "previous is later": (make_visit(far_box, at=now + timedelta(seconds=30)), far_box),
    }[case]
    assert visit.implausibility(box, previous, previous_box) is None


def test_a_check_in_with_no_position_is_found_to_have_none_unless_it_was_too_fast(make_box, make_visit, now):
    far_box, box = make_box("RB-01", KO_LOI_PARK), make_box("RB-07", CLOCK_TOWER)
    blind = make_visit(box, at=now)
    assert blind.implausibility(box, None, None) == {"kind": "no_position"}
    assert finding_text({"kind": "no_position"}) == "no position: the phone did not share where it was"
    hurried = make_visit(far_box, at=now - timedelta(seconds=20))
    assert blind.implausibility(box, hurried, far_box)["kind"] == "too_fast"  # the stronger finding is the one told


def test_the_officer_who_checked_in_adds_an_observation(box, make_visit, officer, later, recorded):
    visit = make_visit(box, by=officer)
    visit.add_observation(text=" Broken street light ", actor=officer, occurred_at=later())

    assert visit.observations == ["Broken street light"]
    recorded(visit, "ObservationAdded", actor=officer, at=later())


def test_another_officer_cannot_add_an_observation_to_a_visit(box, make_visit, officer, supervisor, now, refused):
    visit = make_visit(box, by=officer)
    with refused(
        TransitionRefused, visit, mentions=("Only the officer who checked in can add observations to this visit.",)
    ):
        visit.add_observation(text="Me too", actor=supervisor, occurred_at=now)


def test_no_observation_can_be_added_to_a_voided_visit(box, make_visit, officer, supervisor, now, refused):
    visit = make_visit(box, by=officer)
    visit.void(reason="Scanned a photo", actor=supervisor, occurred_at=now)
    visit.collect_events()
    with refused(TransitionRefused, visit, mentions=("This visit to red box RB-07 was voided.",)):
        visit.add_observation(text="Still here", actor=officer, occurred_at=now)


def test_an_empty_observation_is_refused(box, make_visit, officer, now, refused):
    visit = make_visit(box, by=officer)
    with refused(InvalidInput, visit, mentions=("The observation must not be empty.",), field="observation"):
        visit.add_observation(text="", actor=officer, occurred_at=now)


@pytest.mark.parametrize("flagger", ["supervisor", "system"])
def test_a_visit_is_flagged_and_may_be_flagged_again(flagger, request, box, make_visit, now, later, recorded):
    actor = request.getfixturevalue(flagger)
    visit = make_visit(box)
    visit.flag(reason="Scanned 2 km away", actor=actor, occurred_at=now)
    recorded(visit, "Flagged", actor=actor, at=now)
    visit.flag(reason="Too fast", actor=actor, occurred_at=later())

    assert visit.status is VisitStatus.FLAGGED and visit.flags == ["Scanned 2 km away", "Too fast"]
    recorded(visit, "Flagged", actor=actor, at=later())


def test_a_voided_visit_cannot_be_flagged(box, make_visit, supervisor, now, refused):
    visit = make_visit(box)
    visit.void(reason="Scanned a photo", actor=supervisor, occurred_at=now)
    visit.collect_events()
    with refused(TransitionRefused, visit, mentions=("This visit to red box RB-07 was voided.",)):
        visit.flag(reason="Odd", actor=supervisor, occurred_at=now)


def test_flagging_needs_a_reason(box, make_visit, supervisor, now, refused):
    visit = make_visit(box)
    with refused(InvalidInput, visit, mentions=("The reason must not be empty.",), field="reason"):
        visit.flag(reason="", actor=supervisor, occurred_at=now)


def test_an_officer_may_not_flag_a_visit(box, make_visit, officer, now, refused):
    visit = make_visit(box, by=officer)
    with refused(NotPermitted, visit, mentions=("officer may not flag a patrol visit",)):
        visit.flag(reason="Odd", actor=officer, occurred_at=now)


@pytest.mark.parametrize("flagged", [False, True])
def test_a_supervisor_voids_a_logged_or_flagged_visit(flagged, box, make_visit, supervisor, now, recorded):
    visit = make_visit(box)
    if flagged:
        visit.flag(reason="Odd", actor=supervisor, occurred_at=now)
        visit.collect_events()
    visit.void(reason="Scanned a photo", actor=supervisor, occurred_at=now)

    assert visit.status is VisitStatus.VOIDED
    recorded(visit, "Voided", actor=supervisor, at=now)


def test_a_visit_cannot_be_voided_twice(box, make_visit, supervisor, now, refused):
    visit = make_visit(box)
    visit.void(reason="Scanned a photo", actor=supervisor, occurred_at=now)
    visit.collect_events()
    with refused(TransitionRefused, visit, mentions=("This visit to red box RB-07 is already voided.",)):
        visit.void(reason="Again", actor=supervisor, occurred_at=now)


def test_voiding_needs_a_reason(box, make_visit, supervisor, now, refused):
    visit = make_visit(box)
    with refused(InvalidInput, visit, mentions=("The reason must not be empty.",), field="reason"):
        visit.void(reason=" ", actor=supervisor, occurred_at=now)


@pytest.mark.parametrize("role", ["officer", "dispatcher", "system"])
def test_only_a_supervisor_may_void_a_visit(role, request, box, make_visit, now, refused):
    visit = make_visit(box)
    with refused(NotPermitted, visit, mentions=("may not void a patrol visit",)):
        visit.void(reason="Odd", actor=request.getfixturevalue(role), occurred_at=now)


def test_an_auditor_may_not_release_a_unit(make_unit, auditor, now, refused):
    unit = make_unit("assigned")
    with refused(NotPermitted, unit, mentions=("An auditor may not update a unit's progress.",)):
        unit.release(incident_id=unit.incident_id, actor=auditor, occurred_at=now)
