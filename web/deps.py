"""What a route may ask FastAPI for: the process's container, and who is calling under which rule. Defined once
for the pages (a signed-in person, `Guard`) and the JSON API (an integration's key, `ApiGuard`), so that a route
reads `user: Triager` or `caller: ApiTriager` and the rule behind it is the domain's permission for the action."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from domain.permissions import Action
from domain.values import Role
from infrastructure.api_keys import ApiCaller
from infrastructure.bootstrap import Container
from infrastructure.web_sessions import SignedIn
from web.access import (
    ADMIN,
    ANY_SIGNED_IN,
    API_ALERTS,
    API_CAMERA_READ,
    API_CAMERA_SETUP,
    API_INTAKE,
    API_READ,
    BOARD,
    READ_INCIDENTS,
    UNITS,
    Guard,
    api_action,
    guard,
    guard_action,
    roles_for,
)


def container_of(request: Request) -> Container:
    """The container the composition root made for this process (infrastructure/bootstrap.py)."""
    return request.app.state.container


Zone = Annotated[Container, Depends(container_of)]

# --- pages: a signed-in person ---------------------------------------------------------------------------------
SignedInPerson = Annotated[SignedIn, Depends(ANY_SIGNED_IN)]
Admin = Annotated[SignedIn, Depends(ADMIN)]
BoardViewer = Annotated[SignedIn, Depends(BOARD)]  # who sees the board sees its alerts and their pictures
Reader = Annotated[SignedIn, Depends(READ_INCIDENTS)]
Reporter = Annotated[SignedIn, Depends(guard_action(Action.REPORT_INCIDENT))]
Triager = Annotated[SignedIn, Depends(guard_action(Action.TRIAGE_INCIDENT))]
Dispatcher = Annotated[SignedIn, Depends(guard_action(Action.DISPATCH_UNIT))]
Crew = Annotated[SignedIn, Depends(guard_action(Action.UPDATE_ASSIGNMENT))]
Resolver = Annotated[SignedIn, Depends(guard_action(Action.RESOLVE_INCIDENT))]
Closer = Annotated[SignedIn, Depends(guard_action(Action.CLOSE_INCIDENT))]
Reopener = Annotated[SignedIn, Depends(guard_action(Action.REOPEN_INCIDENT))]
Canceller = Annotated[SignedIn, Depends(guard_action(Action.CANCEL_INCIDENT))]
NoteTaker = Annotated[SignedIn, Depends(guard_action(Action.ADD_NOTE))]
AlertTriager = Annotated[SignedIn, Depends(guard_action(Action.TRIAGE_ALERT))]
AlertCloser = Annotated[SignedIn, Depends(guard_action(Action.CLOSE_ALERT))]
UnitViewer = Annotated[SignedIn, Depends(UNITS)]
UnitManager = Annotated[SignedIn, Depends(guard_action(Action.MANAGE_UNITS))]
DutyChanger = Annotated[SignedIn, Depends(guard_action(Action.CHANGE_DUTY))]
Officer = Annotated[SignedIn, Depends(guard(Role.OFFICER))]
RedBoxWatcher = Annotated[SignedIn, Depends(guard(Role.SUPERVISOR, Role.DISPATCHER, Role.ADMIN, Role.AUDITOR))]
RedBoxManager = Annotated[SignedIn, Depends(guard_action(Action.MANAGE_RED_BOXES))]
Patrol = Annotated[SignedIn, Depends(guard_action(Action.LOG_VISIT))]
Voider = Annotated[SignedIn, Depends(guard_action(Action.VOID_VISIT))]
VisitReader = Annotated[
    SignedIn, Depends(guard(Role.SUPERVISOR, Role.DISPATCHER, Role.OFFICER, Role.ADMIN, Role.AUDITOR))
]
CameraManager = Annotated[SignedIn, Depends(guard_action(Action.MANAGE_CAMERAS))]
# The registry and each camera's health: who manages cameras or triages their alerts, and auditors.
CameraViewer = Annotated[
    SignedIn, Depends(Guard(roles_for(Action.MANAGE_CAMERAS, Action.TRIAGE_ALERT) | {Role.AUDITOR}))
]

Exporter = Annotated[SignedIn, Depends(guard(Role.SUPERVISOR, Role.AUDITOR))]  # a search's result as CSV
Handover = Annotated[SignedIn, Depends(guard_action(Action.HAND_OVER_SHIFT))]

# --- the JSON API: an integration's key ------------------------------------------------------------------------
ApiIntake = Annotated[ApiCaller, Depends(API_INTAKE)]
ApiReader = Annotated[ApiCaller, Depends(API_READ)]
ApiAlertRaiser = Annotated[ApiCaller, Depends(API_ALERTS)]
ApiCameraReader = Annotated[ApiCaller, Depends(API_CAMERA_READ)]
ApiCameraManager = Annotated[ApiCaller, Depends(API_CAMERA_SETUP)]
ApiTriager = Annotated[ApiCaller, Depends(api_action(Action.TRIAGE_INCIDENT))]
ApiDispatcher = Annotated[ApiCaller, Depends(api_action(Action.DISPATCH_UNIT))]
ApiCrew = Annotated[ApiCaller, Depends(api_action(Action.UPDATE_ASSIGNMENT))]
ApiResolver = Annotated[ApiCaller, Depends(api_action(Action.RESOLVE_INCIDENT))]
ApiCloser = Annotated[ApiCaller, Depends(api_action(Action.CLOSE_INCIDENT))]
ApiReopener = Annotated[ApiCaller, Depends(api_action(Action.REOPEN_INCIDENT))]
ApiCanceller = Annotated[ApiCaller, Depends(api_action(Action.CANCEL_INCIDENT))]
ApiNoteTaker = Annotated[ApiCaller, Depends(api_action(Action.ADD_NOTE))]
