"""Units' positions from the crew's phones, the crew's "received", and cameras moved on the map."""

from uuid import uuid4

import pytest

from domain.errors import InvalidInput, NotPermitted, TransitionRefused
from domain.patrol import IMPRECISE_ACCURACY_M
from domain.values import GeoPoint, Role

HERE = GeoPoint(19.9100, 99.8325)


def crew_member(unit):
    from domain.values import Actor

    return Actor(unit.officer_ids[0], Role.OFFICER)


def test_the_crew_reports_its_units_position_with_its_accuracy(make_unit, now, recorded):
    unit = make_unit("available")
    officer = crew_member(unit)

    unit.report_position(position=HERE, accuracy_m=12.34, actor=officer, occurred_at=now)

    assert unit.position == HERE and unit.position_accuracy_m == 12.3 and unit.position_at == now
    [event] = recorded(unit, "PositionReported", actor=officer, at=now)
    assert event.imprecise is False


def test_a_fix_worse_than_a_kilometre_is_kept_but_marked_imprecise(make_unit, now, recorded):
    unit = make_unit("assigned")
    officer = crew_member(unit)

    unit.report_position(position=HERE, accuracy_m=5000, actor=officer, occurred_at=now)

    [event] = recorded(unit, "PositionReported", actor=officer, at=now)
    assert event.imprecise is True and event.accuracy_m == 5000 > IMPRECISE_ACCURACY_M


@pytest.mark.parametrize("accuracy", [float("nan"), float("inf"), -1, 2e6])
def test_an_accuracy_that_is_no_distance_is_refused(make_unit, now, refused, accuracy):
    unit = make_unit("available")
    with refused(InvalidInput, unit, field="accuracy"):
        unit.report_position(position=HERE, accuracy_m=accuracy, actor=crew_member(unit), occurred_at=now)


def test_only_the_crew_reports_a_units_position_and_only_on_duty(make_unit, officer, auditor, now, refused):
    unit = make_unit("available")
    with refused(TransitionRefused, unit, mentions=("P-11",)):
        unit.report_position(position=HERE, accuracy_m=10, actor=officer, occurred_at=now)
    with refused(NotPermitted, unit):
        unit.report_position(position=HERE, accuracy_m=10, actor=auditor, occurred_at=now)
    off = make_unit("off_duty")
    with refused(TransitionRefused, off, mentions=("P-11",)):
        off.report_position(position=HERE, accuracy_m=10, actor=crew_member(unit), occurred_at=now)


def test_a_dispatcher_may_record_a_position_heard_on_the_radio(make_unit, dispatcher, now, recorded):
    unit = make_unit("available")
    unit.report_position(position=HERE, accuracy_m=50, actor=dispatcher, occurred_at=now)
    recorded(unit, "PositionReported", actor=dispatcher, at=now)


def test_the_crew_confirms_its_assignment_once(incident, advance, officer, now, recorded, refused):
    unit_id = uuid4()
    advance(incident, "dispatched", unit_id=unit_id)

    incident.acknowledge_dispatch(unit_id=unit_id, crew=[officer.user_id], actor=officer, occurred_at=now)

    [event] = recorded(incident, "DispatchAcknowledged", actor=officer, at=now)
    assert (event.unit_id, event.call_sign) == (unit_id, "P-11")
    assert incident.acknowledged_by_units == [unit_id]
    with refused(TransitionRefused, incident, mentions=("P-11", "CR-")):
        incident.acknowledge_dispatch(unit_id=unit_id, crew=[officer.user_id], actor=officer, occurred_at=now)


def test_an_officer_off_the_crew_or_a_unit_not_on_the_incident_cannot_confirm(incident, advance, officer, now, refused):
    unit_id = uuid4()
    advance(incident, "dispatched", unit_id=unit_id)
    with refused(TransitionRefused, incident, mentions=("P-11",)):
        incident.acknowledge_dispatch(unit_id=unit_id, crew=[uuid4()], actor=officer, occurred_at=now)
    with refused(TransitionRefused, incident):
        incident.acknowledge_dispatch(unit_id=uuid4(), crew=[officer.user_id], actor=officer, occurred_at=now)


def test_a_unit_dispatched_again_confirms_its_new_assignment(incident, advance, officer, dispatcher, now):
    unit_id = uuid4()
    advance(incident, "dispatched", unit_id=unit_id)
    incident.acknowledge_dispatch(unit_id=unit_id, crew=[officer.user_id], actor=officer, occurred_at=now)
    incident.clear_unit(unit_id=unit_id, actor=dispatcher, occurred_at=now)
    incident.dispatch(unit_id=unit_id, call_sign="P-11", actor=dispatcher, occurred_at=now)

    assert incident.acknowledged_by_units == []
    incident.acknowledge_dispatch(unit_id=unit_id, crew=[officer.user_id], actor=officer, occurred_at=now)


def test_an_administrator_moves_a_camera_with_a_reason(camera, admin, now, recorded, refused):
    camera.move(position=HERE, reason="Remounted on the next pole.", actor=admin, occurred_at=now)
    assert camera.position == HERE
    recorded(camera, "Moved", actor=admin, at=now)
    with refused(InvalidInput, camera, field="position"):
        camera.move(position=HERE, reason="again", actor=admin, occurred_at=now)
