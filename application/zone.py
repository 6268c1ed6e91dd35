"""The zone's one Application: one log, one order. Its commands live in modules by the part of the zone they serve;
each returns the id it acted on and the notification id of its last event, so a caller can wait for projections.

- `application.unit_of_work`: running a command (load, decide, save atomically, retry on conflict)
- `application.intake`: reports of incidents (idempotency keys, references, the group commit)
- `application.incidents`: triage, dispatch, the units' progress, resolution; patrol units
- `application.patrol`: red boxes, check-ins and visits
- `application.cameras`: cameras and their alerts
- `application.accounts`: user accounts and passwords
- `application.audit`: history, past states
- `application.personal_data`: reporters' contacts read on purpose (recorded), their PDPA erasure and retention"""

from __future__ import annotations

from application.accounts import AccountCommands
from application.audit import AuditQueries
from application.cameras import CameraCommands
from application.handover import HandoverCommands
from application.incidents import IncidentCommands
from application.intake import IntakeCommands, Reported
from application.patrol import PatrolCommands
from application.personal_data import PersonalDataCommands
from application.reports import ReportCommands
from application.unit_of_work import CommandResult, utcnow
from domain.intake import ReferenceBook
from domain.patrol import PatrolUnit
from domain.rounds import OfficerRound

__all__ = ["CommandResult", "Reported", "ZoneApplication", "utcnow"]


class ZoneApplication(
    IntakeCommands,
    IncidentCommands,
    PatrolCommands,
    CameraCommands,
    AccountCommands,
    AuditQueries,
    PersonalDataCommands,
    HandoverCommands,
    ReportCommands,
):
    name = "ssz"
    env = {"AGGREGATE_CACHE_MAXSIZE": "20000", "IS_SNAPSHOTTING_ENABLED": "y"}
    # Units are touched by every dispatch: without snapshots, a cold read would replay a year of them.
    snapshotting_intervals = {ReferenceBook: 200, PatrolUnit: 500, OfficerRound: 500}
