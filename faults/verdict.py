"""The database, read afterwards, against what the clients were told."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from uuid import UUID

from application.zone import ZoneApplication
from domain.incident import Incident
from domain.patrol import PatrolUnit
from domain.values import IncidentStatus, UnitStatus
from faults.load import Sent
from faults.races import RaceLog

MARKER = re.compile(r"\[(fault-load/[0-9a-f]{32})\]")
PAGE = 5000


@dataclass
class Verdict:
    lost_acknowledged: int
    duplicated_commands: int
    stuck_units: list[str]
    details: list[str]


def reported_by_marker(app: ZoneApplication, by: UUID) -> dict[str, list[str]]:
    """Every stored report made by the load's account (`by`) that carries a load marker: marker → the references
    stored for it. Only that account's: schemathesis sends bodies copied from the incidents it lists, markers and
    all, as new reports of its own."""
    found: dict[str, list[str]] = defaultdict(list)
    start = 1
    while True:
        page = app.recorder.select_notifications(start=start, limit=PAGE)
        for notification in page:
            if notification.topic.endswith("Incident.Reported"):
                event = app.mapper.to_domain_event(notification)
                marked = MARKER.search(event.description)
                if marked and event.actor.user_id == by:
                    found[marked.group(1)].append(event.reference)
        if len(page) < PAGE:
            return found
        start = page[-1].id + 1


def judge(app: ZoneApplication, sent: list[Sent], races: RaceLog, unit_ids: list[UUID], by: UUID) -> Verdict:
    stored = reported_by_marker(app, by)
    details: list[str] = []
    lost = 0
    for s in sent:
        if s.acknowledged and s.reference not in stored.get(s.marker, []):
            lost += 1
            details.append(f"acknowledged {s.reference} ({'keyed' if s.keyed else 'keyless'}) is not stored")
    for reference, call_sign in races.acknowledged_dispatches:
        if PatrolUnit.id_for(call_sign) not in app.repository.get(Incident.id_for(reference)).assignments:
            lost += 1
            details.append(f"acknowledged dispatch of {call_sign} to {reference} is not stored")
    for reference in races.acknowledged_resolves:
        if app.repository.get(Incident.id_for(reference)).status is not IncidentStatus.RESOLVED:
            lost += 1
            details.append(f"acknowledged resolve of {reference} is not stored")
    duplicated = 0
    keyed = {s.marker: s.keyed for s in sent}
    for marker, references in stored.items():
        if len(references) > 1:
            duplicated += len(references) - 1
            details.append(
                f"one {'keyed' if keyed.get(marker) else 'keyless'} request stored {len(references)} times: "
                f"{', '.join(references)}"
            )
    stuck = []
    for unit_id in unit_ids:
        unit = app.repository.get(unit_id)
        if unit.status is UnitStatus.ASSIGNED:
            incident = app.repository.get(unit.incident_id)
            if not incident.is_open or unit.id not in incident.active_unit_ids:
                stuck.append(f"{unit.call_sign} (on {incident.reference}, {incident.status.value})")
    return Verdict(lost, duplicated, stuck, details)
