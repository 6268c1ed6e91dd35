"""The facts the KPIs are computed from: one row per incident and per patrol visit (KPIS.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventsourcing.utils import get_topic

from domain.incident import Incident
from domain.patrol import PatrolVisit
from domain.values import BANGKOK, is_night
from infrastructure.readmodels import tables as t
from infrastructure.readmodels.base import JsonProjection, changing
from infrastructure.readmodels.rows import RowSet
from infrastructure.readmodels.stored import JsonHandler, Record, actor_id, instant, plain, uuid_of


class IncidentFactsProjection(JsonProjection):
    name = "kpi_incidents"
    table = t.kpi_incidents

    def __init__(self) -> None:
        def reported(r: Record, s: dict[str, Any], rows: RowSet) -> None:
            occurred_at = instant(s["occurred_at"])
            local = occurred_at.astimezone(BANGKOK)
            category, priority = plain(s["category"]), plain(s["priority"])
            rows.put(
                {
                    "incident_id": r.originator_id,
                    "reference": s["reference"],
                    "report_month": local.strftime("%Y-%m"),
                    "reported_at": occurred_at,
                    "first_dispatched_at": None,
                    "first_en_route_at": None,
                    "first_on_scene_at": None,
                    "first_resolved_at": None,
                    "first_closed_at": None,
                    "category_reported": category,
                    "priority_reported": priority,
                    "category": category,
                    "priority": priority,
                    "community": plain(s["community"]),
                    "channel": plain(s["channel"]),
                    "is_night": is_night(occurred_at),
                    "outcome": None,
                    "cancel_reason": None,
                    "reopen_count": 0,
                }
            )

        def first(column: str) -> Callable[[dict[str, Any], dict[str, Any]], None]:
            def earliest(s: dict[str, Any], row: dict[str, Any]) -> None:
                occurred_at = instant(s["occurred_at"])
                if row[column] is None or occurred_at < row[column]:
                    row[column] = occurred_at

            return earliest

        def update(change: Callable[[dict[str, Any], dict[str, Any]], Any]) -> JsonHandler:
            return changing(change, versioned=False)

        def resolved(s: dict[str, Any], row: dict[str, Any]) -> None:
            first("first_resolved_at")(s, row)
            row["outcome"] = plain(s["outcome"])

        on = get_topic
        self.handlers = {
            on(Incident.Reported): reported,
            on(Incident.Triaged): update(
                lambda s, r: r.update(category=plain(s["category"]), priority=plain(s["priority"]))
            ),
            on(Incident.UnitDispatched): update(first("first_dispatched_at")),
            on(Incident.UnitEnRoute): update(first("first_en_route_at")),
            on(Incident.UnitOnScene): update(first("first_on_scene_at")),
            on(Incident.Resolved): update(resolved),
            on(Incident.Closed): update(first("first_closed_at")),
            # The outcome is the current one: none while reopened; the first figures stay (KPIS.md).
            on(Incident.Reopened): update(lambda s, r: r.update(reopen_count=r["reopen_count"] + 1, outcome=None)),
            on(Incident.Cancelled): update(lambda s, r: r.update(cancel_reason=plain(s["cancel_reason"]))),
        }
        super().__init__()


class VisitFactsProjection(JsonProjection):
    name = "kpi_visits"
    table = t.kpi_visits

    def __init__(self) -> None:
        def logged(r: Record, s: dict[str, Any], rows: RowSet) -> None:
            visited_at = instant(s["occurred_at"])
            local = visited_at.astimezone(BANGKOK)
            slot = local.hour // 2
            rows.put(
                {
                    "visit_id": r.originator_id,
                    "box_id": uuid_of(s["box_id"]),
                    "box_code": s["box_code"],
                    "community": plain(s["community"]),
                    "officer_id": actor_id(s),
                    "visited_at": visited_at,
                    "local_day": local.date(),
                    "slot": slot,
                    "is_night_slot": slot >= 9 or slot <= 2,
                    "status": "valid",
                }
            )

        def status(value: str) -> JsonHandler:
            # A voided visit stays voided, whatever is said of it afterwards.
            return changing(
                lambda s, row: row.update(status=value if row["status"] != "voided" else "voided"), versioned=False
            )

        on = get_topic
        self.handlers = {
            on(PatrolVisit.Logged): logged,
            on(PatrolVisit.Flagged): status("flagged"),
            on(PatrolVisit.Voided): status("voided"),
        }
        super().__init__()
