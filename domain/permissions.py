"""Who may do what. Checked by the aggregates themselves, so no entry point can skip it."""

from enum import Enum

from domain.errors import NotPermitted
from domain.values import Actor, Role


class Action(Enum):
    REPORT_INCIDENT = "report an incident"
    TRIAGE_INCIDENT = "triage an incident"
    DISPATCH_UNIT = "dispatch a unit"
    UPDATE_ASSIGNMENT = "update a unit's progress"
    RESOLVE_INCIDENT = "resolve an incident"
    CLOSE_INCIDENT = "close an incident"
    REOPEN_INCIDENT = "reopen an incident"
    CANCEL_INCIDENT = "cancel an incident"
    ADD_NOTE = "add a note"
    MANAGE_UNITS = "register or retire units"
    CHANGE_DUTY = "put a unit on or off duty"
    LOG_VISIT = "check in at a red box"
    FLAG_VISIT = "flag a patrol visit"
    VOID_VISIT = "void a patrol visit"
    MANAGE_RED_BOXES = "manage red boxes"
    MANAGE_CAMERAS = "manage cameras"
    RAISE_ALERT = "raise a camera alert"
    TRIAGE_ALERT = "triage camera alerts"
    CLOSE_ALERT = "close a camera alert"
    MANAGE_USERS = "manage user accounts"
    ERASE_PERSONAL_DATA = "erase a reporter's personal data"
    READ_REPORTER_CONTACT = "read a reporter's name and phone"
    HAND_OVER_SHIFT = "hand over a shift"
    PUBLISH_REPORT = "publish a monthly partner report"


_DISPATCHER = {
    Action.REPORT_INCIDENT,
    Action.TRIAGE_INCIDENT,
    Action.DISPATCH_UNIT,
    Action.UPDATE_ASSIGNMENT,
    Action.RESOLVE_INCIDENT,
    Action.CANCEL_INCIDENT,
    Action.ADD_NOTE,
    Action.CHANGE_DUTY,
    Action.READ_REPORTER_CONTACT,
    Action.TRIAGE_ALERT,
    Action.CLOSE_ALERT,
}
_OFFICER = {
    Action.REPORT_INCIDENT,
    Action.UPDATE_ASSIGNMENT,
    Action.RESOLVE_INCIDENT,
    Action.ADD_NOTE,
    Action.READ_REPORTER_CONTACT,
    Action.CHANGE_DUTY,
    Action.LOG_VISIT,
}
_SUPERVISOR = (
    _DISPATCHER
    | _OFFICER
    | {
        Action.CLOSE_INCIDENT,
        Action.REOPEN_INCIDENT,
        Action.MANAGE_UNITS,
        Action.FLAG_VISIT,
        Action.VOID_VISIT,
        Action.MANAGE_RED_BOXES,
        Action.HAND_OVER_SHIFT,
        Action.PUBLISH_REPORT,
    }
)
_ADMIN = {
    Action.MANAGE_USERS,
    Action.ERASE_PERSONAL_DATA,
    Action.MANAGE_CAMERAS,
    Action.MANAGE_RED_BOXES,
    Action.MANAGE_UNITS,
    Action.PUBLISH_REPORT,
}
_SYSTEM = {
    Action.REPORT_INCIDENT,
    Action.RAISE_ALERT,
    Action.CLOSE_ALERT,
    Action.FLAG_VISIT,
    Action.MANAGE_USERS,
    Action.MANAGE_CAMERAS,
    Action.MANAGE_RED_BOXES,
    Action.MANAGE_UNITS,
    Action.CHANGE_DUTY,
    # The console (`ssz history --show-contact`, `ssz pdpa erase`) and the retention job act as the system.
    Action.READ_REPORTER_CONTACT,
    Action.ERASE_PERSONAL_DATA,
    Action.PUBLISH_REPORT,
}

PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.DISPATCHER: frozenset(_DISPATCHER),
    Role.OFFICER: frozenset(_OFFICER),
    Role.SUPERVISOR: frozenset(_SUPERVISOR),
    Role.ADMIN: frozenset(_ADMIN),
    Role.AUDITOR: frozenset(),
    Role.PARTNER: frozenset(),
    Role.SYSTEM: frozenset(_SYSTEM),
}


def may(actor: Actor, action: Action) -> bool:
    return action in PERMISSIONS[actor.role]


def authorize(actor: Actor, action: Action) -> None:
    if not may(actor, action):
        if actor.role.value[0] in "aeiou":
            raise NotPermitted("An {role} may not {action}.", role=actor.role, action=action)
        raise NotPermitted("A {role} may not {action}.", role=actor.role, action=action)
