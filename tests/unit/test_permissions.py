"""The role permission matrix, shown on real aggregates: for each role one thing it may do and one it may not."""

from uuid import uuid4

import pytest

from domain.accounts import UserAccount
from domain.cameras import Camera, CameraAlert
from domain.errors import NotPermitted
from domain.incident import Incident
from domain.permissions import PERMISSIONS, Action, authorize, may
from domain.values import SYSTEM as SYSTEM_ACTOR
from domain.values import AlertKind, Community, Outcome, PartnerSector, Priority, Role

DIGEST = "cd" * 32


def register_camera(actor, now) -> Camera:
    return Camera.register(
        code="CAM-09",
        name="Market",
        community=Community.CHET_YOT,
        owner=PartnerSector.LOCAL_GOVERNMENT,
        owner_name="Municipality",
        consent_reference="Order 3/2569",
        source="rtsp://cam9",
        actor=actor,
        occurred_at=now,
    )


def test_a_dispatcher_may_dispatch_a_unit_but_may_not_close_an_incident(incident, dispatcher, now, recorded, refused):
    incident.dispatch(unit_id=uuid4(), call_sign="P-11", actor=dispatcher, occurred_at=now)
    incident.resolve(outcome=Outcome.MEDIATED, summary="", actor=dispatcher, occurred_at=now)
    recorded(incident, "UnitDispatched", "Resolved", actor=dispatcher, at=now)

    with refused(NotPermitted, incident, mentions=("A dispatcher may not close an incident.",)):
        incident.close(actor=dispatcher, occurred_at=now)


def test_an_officer_may_update_a_units_progress_but_may_not_dispatch(
    incident, advance, officer, now, recorded, refused
):
    unit_id = uuid4()
    advance(incident, "dispatched", unit_id=unit_id)
    incident.mark_on_scene(unit_id=unit_id, actor=officer, occurred_at=now)
    recorded(incident, "UnitOnScene", actor=officer, at=now)

    with refused(NotPermitted, incident, mentions=("officer may not dispatch a unit.",)):
        incident.dispatch(unit_id=uuid4(), call_sign="P-12", actor=officer, occurred_at=now)


def test_a_supervisor_may_close_an_incident_but_may_not_manage_cameras(incident, advance, supervisor, now, recorded):
    advance(incident, "resolved")
    incident.close(actor=supervisor, occurred_at=now)
    recorded(incident, "Closed", actor=supervisor, at=now)

    with pytest.raises(NotPermitted, match=r"^A supervisor may not manage cameras\.$"):
        register_camera(supervisor, now)


def test_an_admin_may_register_a_camera_but_may_not_report_an_incident(make_incident, admin, now, recorded):
    recorded(register_camera(admin, now), "Registered", actor=admin, at=now)

    with pytest.raises(NotPermitted, match=r"admin may not report an incident\.$"):
        make_incident(actor=admin)


def test_the_system_may_raise_an_alert_but_may_not_triage_it(camera, system, now, recorded, refused):
    alert = CameraAlert.raise_alert(
        id=uuid4(),
        camera=camera,
        kind=AlertKind.LOITERING,
        score=0.8,
        snapshot_digest=DIGEST,
        actor=system,
        occurred_at=now,
    )
    recorded(alert, "Raised", actor=system, at=now)

    with refused(NotPermitted, alert, mentions=("A system may not triage camera alerts.",)):
        alert.acknowledge(actor=system, occurred_at=now)


@pytest.mark.parametrize("role", ["auditor", "partner"])
def test_auditors_and_partners_may_do_nothing(role, request, incident, camera, now, refused):
    actor = request.getfixturevalue(role)

    assert PERMISSIONS[actor.role] == frozenset()
    assert not any(may(actor, action) for action in Action)
    with pytest.raises(NotPermitted, match=rf"{role} may not report an incident\.$"):
        Incident.report(
            id=uuid4(),
            reference="CR-2569-000500",
            channel=incident.channel,
            category=incident.category,
            priority=incident.priority,
            community=incident.community,
            location="x",
            description="y",
            occurred_at=now,
            now=now,
            actor=actor,
        )
    with refused(NotPermitted, incident, mentions=(f"{role} may not add a note.",)):
        incident.add_note(text="Seen", actor=actor, occurred_at=now)
    with refused(NotPermitted, incident, mentions=(f"{role} may not triage an incident.",)):
        incident.triage(actor=actor, occurred_at=now, reason="r", priority=Priority.P1)
    with refused(NotPermitted, camera, mentions=(f"{role} may not manage cameras.",)):
        camera.retire(reason="r", actor=actor, occurred_at=now)
    with pytest.raises(NotPermitted, match=rf"{role} may not manage user accounts\.$"):
        UserAccount.create(username="peeker", display_name="Peeker", role=Role.AUDITOR, actor=actor, occurred_at=now)


def test_a_supervisor_may_do_everything_a_dispatcher_or_an_officer_may():
    assert PERMISSIONS[Role.DISPATCHER] | PERMISSIONS[Role.OFFICER] <= PERMISSIONS[Role.SUPERVISOR]


@pytest.mark.parametrize(
    "action, roles",
    [
        (Action.CLOSE_INCIDENT, {Role.SUPERVISOR}),
        (Action.REOPEN_INCIDENT, {Role.SUPERVISOR}),
        (Action.VOID_VISIT, {Role.SUPERVISOR}),
        (Action.RAISE_ALERT, {Role.SYSTEM}),
        (Action.LOG_VISIT, {Role.OFFICER, Role.SUPERVISOR}),
        (Action.MANAGE_USERS, {Role.ADMIN, Role.SYSTEM}),
        (Action.MANAGE_CAMERAS, {Role.ADMIN, Role.SYSTEM}),
    ],
)
def test_sensitive_actions_belong_to_few_roles(action, roles):
    assert {role for role, actions in PERMISSIONS.items() if action in actions} == roles


def test_every_role_has_its_entry_in_the_matrix():
    assert set(PERMISSIONS) == set(Role)


def test_a_refusal_says_who_may_not_do_what():
    with pytest.raises(NotPermitted, match=r"^A system may not dispatch a unit\.$") as info:
        authorize(SYSTEM_ACTOR, Action.DISPATCH_UNIT)
    assert info.value.field is None
