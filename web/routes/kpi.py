"""The supervisors' and auditors' KPI dashboard: a month's figures under filters, the 12-month trend, and each
figure's drill-down to the incidents, visits or alerts behind it (each linking to its own page and timeline)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from application.kpi.engine import KpiEngine
from application.kpi.figures import is_night, seconds
from application.kpi.period import Filters, Period, position_of
from application.kpi.tables import Row, Table, tables
from domain.errors import InvalidInput
from domain.values import BANGKOK, Role
from infrastructure.web_sessions import SignedIn
from web import kpi_view
from web.access import guard
from web.kpi_charts import distribution_chart, heat_chart, trend_charts
from web.pages import render
from web.report_files import month_name
from web.routes.reports import kpi_engine

router = APIRouter(include_in_schema=False)
DASHBOARD = guard(Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN)
Viewer = Annotated[SignedIn, Depends(DASHBOARD)]

# Which figures drill down, and to what: (table, row) -> the subjects' kind and the test that picks them.
INCIDENT_ROWS: dict[str, Callable] = {
    "reported": lambda f: True,
    "cancelled": lambda f: f.cancel_reason is not None,
    "counted": lambda f: f.cancel_reason is None,
    "day": lambda f: f.cancel_reason is None and not is_night(f.reported_at),
    "night": lambda f: f.cancel_reason is None and is_night(f.reported_at),
    "reopened": lambda f: f.cancel_reason is None and f.reopened > 0,
    "resolution": lambda f: f.cancel_reason is None and f.resolved_at is not None,
    "arrest": lambda f: f.cancel_reason is None and f.outcome == "arrest",
}
VISIT_ROWS = {"counting": "valid", "flagged": "flagged", "voided": "voided"}


def _filters(
    community: str | None, priority: str | None, category: str | None, channel: str | None, time: str | None
) -> Filters:
    return Filters.of(community=community, priority=priority, category=category, channel=channel, time=time)


def _period(month: str | None, first: str | None, last: str | None) -> Period:
    if first or last:
        return Period.between_text(first or "", last or "")
    return Period.month(month or datetime.now(BANGKOK).strftime("%Y-%m"))


def _drill_link(query: dict[str, str]) -> Callable[[Table, Row, int], str | None]:
    def link(table: Table, row: Row, column: int) -> str | None:
        subject = None
        if table.key in ("incidents", "summary") and row.label in INCIDENT_ROWS and column == 0:
            subject = ("incidents", row.label)
        elif table.key == "channels" and row.label != "total":
            subject = ("channel", row.label)
        elif table.key in ("communities", "priorities", "categories") and row.label != "total" and column == 0:
            subject = (table.labels, row.label)
        elif table.key == "patrol" and row.label in VISIT_ROWS:
            subject = ("visits", row.label)
        elif table.key == "alert_kinds" and row.label != "total":
            subject = ("alerts", row.label)
        if subject is None:
            return None
        return "/kpi/drill?" + urlencode({**query, "what": subject[0], "which": subject[1]})

    return link


@router.get("/kpi")
def kpi_page(
    request: Request,
    user: Viewer,
    month: str | None = None,
    first: str | None = None,
    last: str | None = None,
    community: str | None = None,
    priority: str | None = None,
    category: str | None = None,
    channel: str | None = None,
    time: str | None = None,
    position: str | None = None,
) -> Response:
    engine = kpi_engine(request)
    period, filters = _period(month, first, last), _filters(community, priority, category, channel, time)
    edition = engine.edition(period, position=position_of(position), filters=filters)
    query = {
        k: v
        for k, v in dict(
            month=month or "",
            first=first or "",
            last=last or "",
            community=community or "",
            priority=priority or "",
            category=category or "",
            channel=channel or "",
            time=time or "",
            position=str(edition.position),
        ).items()
        if v
    }
    trend = engine.trend(period, position=edition.position, filters=filters) if period.is_month else []
    facts = engine.incidents(period, edition.position, filters)
    response = [seconds(f.reported_at, f.on_scene_at) for f in facts if f.cancel_reason is None and f.on_scene_at]
    return render(
        request,
        "kpi/page.html",
        edition=edition,
        tables=tables(edition, partner=False),
        kv=kpi_view,
        charts=[
            *trend_charts(trend, partner=False),
            distribution_chart(response),
            heat_chart(edition.figures.patrol.heat, partner=False),
        ],
        heat=edition.figures.patrol.heat,
        drill=_drill_link(query),
        query=query,
        title_period=month_name(period) if period.is_month else period.label,
        selected=dict(
            month=period.label if period.is_month else "",
            first=first or "",
            last=last or "",
            community=community or "",
            priority=priority or "",
            category=category or "",
            channel=channel or "",
            time=time or "",
        ),
    )


@router.get("/kpi/drill")
def kpi_drill(
    request: Request,
    user: Viewer,
    what: str,
    which: str,
    month: str | None = None,
    first: str | None = None,
    last: str | None = None,
    community: str | None = None,
    priority: str | None = None,
    category: str | None = None,
    channel: str | None = None,
    time: str | None = None,
    position: str | None = None,
) -> Response:
    engine: KpiEngine = kpi_engine(request)
    period, filters = _period(month, first, last), _filters(community, priority, category, channel, time)
    at = engine.edition(period, position=position_of(position), filters=filters).position
    incidents = visits = alerts = None
    if what == "incidents" and which in INCIDENT_ROWS:
        incidents = [f for f in engine.incidents(period, at, filters) if INCIDENT_ROWS[which](f)]
    elif what in ("channel", "community", "priority", "category"):
        incidents = [
            f for f in engine.incidents(period, at, filters) if f.cancel_reason is None and getattr(f, what) == which
        ]
    elif what == "visits" and which in VISIT_ROWS:
        start, end = period.instants()
        visits = [
            v for v in engine.visits(period, at, filters) if v.status == VISIT_ROWS[which] and start <= v.at < end
        ]
    elif what == "alerts":
        alerts = [a for a in engine.alerts(period, at, filters) if a.kind == which]
    else:
        raise InvalidInput("There is no {field} called {value}.", field="figure", value=f"{what}/{which}")
    return render(
        request,
        "kpi/drill.html",
        incidents=sorted(incidents or [], key=lambda f: f.reported_at),
        visits=sorted(visits or [], key=lambda v: v.at),
        alerts=sorted(alerts or [], key=lambda a: a.raised_at),
        what=what,
        which=which,
        position=at,
        back="/kpi?"
        + urlencode(
            {
                k: v
                for k, v in dict(
                    month=month,
                    first=first,
                    last=last,
                    community=community,
                    priority=priority,
                    category=category,
                    channel=channel,
                    time=time,
                ).items()
                if v
            }
        ),
    )
