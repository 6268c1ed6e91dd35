"""The KPI marks: one row per event that a KPI of KPIS.md depends on, with its position in the log.

The KPI facts tables (kpi_incident_facts, kpi_visit_facts, rm_camera_alerts) hold each subject as the whole
log leaves it: they cannot say what a figure was as of an earlier position, and a late-recorded event
(an earlier `occurred_at`, a later position) changes them in place. The marks keep every such event with
its notification id, so that a report computed as of position P reads only the marks up to P and comes
out the same whatever was appended since. Insert-only, keyed by the position."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventsourcing.utils import get_topic
from sqlalchemy import BigInteger, Column, Connection, DateTime, Index, String, Table, Uuid, text

from domain.cameras import CameraAlert
from domain.incident import Incident
from domain.patrol import PatrolVisit, RedBox
from infrastructure.readmodels.base import JsonProjection
from infrastructure.readmodels.rows import RowSet, upsert
from infrastructure.readmodels.stored import Page, Record, instant, plain, uuid_of
from infrastructure.tables import metadata

TS = DateTime(timezone=True)

kpi_marks = Table(
    "kpi_marks",
    metadata,
    Column("position", BigInteger, primary_key=True),  # the event's notification id
    Column("subject_id", Uuid, nullable=False),  # the incident, visit, red box or camera alert
    Column("mark", String(16), nullable=False),  # see MARKS
    Column("occurred_at", TS, nullable=False),
    Column("recorded_at", TS, nullable=False),
    Column("community", String(32)),
    Column("category", String(32)),
    Column("priority", String(2)),
    Column("channel", String(16)),
    Column("value", String(32)),  # outcome, cancel reason, alert kind
    Column("label", String(24)),  # incident reference, red-box code, camera code
    Column("parent_id", Uuid),  # a visit's red box, an alert's camera
    # Covering what a month's edition reads (alembic 0020): index-only scans of the month's marks and of the flags.
    Index(
        "ix_kpi_marks_mark_at",
        "mark",
        "occurred_at",
        postgresql_include=["position", "subject_id", "label", "community"],
    ),
    Index(
        "ix_kpi_marks_visit_flags",
        "subject_id",
        postgresql_include=["mark", "position"],
        postgresql_where=text("mark IN ('visit_voided', 'visit_flagged')"),
        sqlite_where=text("mark IN ('visit_voided', 'visit_flagged')"),
    ),
    Index("ix_kpi_marks_subject", "subject_id", "position"),
    Index("ix_kpi_marks_occurred_at", "occurred_at"),
    Index("ix_kpi_marks_recorded_at", "recorded_at"),
)

Fields = Callable[[dict[str, Any]], dict[str, Any]]


def _nothing(_: dict[str, Any]) -> dict[str, Any]:
    return {}


def _reported(s: dict[str, Any]) -> dict[str, Any]:
    return {
        "community": plain(s["community"]),
        "category": plain(s["category"]),
        "priority": plain(s["priority"]),
        "channel": plain(s["channel"]),
        "label": s["reference"],
    }


def _visit(s: dict[str, Any]) -> dict[str, Any]:
    return {"community": plain(s["community"]), "label": s["box_code"], "parent_id": uuid_of(s["box_id"])}


def _alert(s: dict[str, Any]) -> dict[str, Any]:
    return {
        "community": plain(s["community"]),
        "value": plain(s["kind"]),
        "label": s["camera_code"],
        "parent_id": uuid_of(s["camera_id"]),
    }


MARKS: dict[type, tuple[str, Fields]] = {
    Incident.Reported: ("reported", _reported),
    Incident.Triaged: ("triaged", lambda s: {"category": plain(s["category"]), "priority": plain(s["priority"])}),
    Incident.UnitDispatched: ("dispatched", _nothing),
    Incident.UnitOnScene: ("on_scene", _nothing),
    Incident.Resolved: ("resolved", lambda s: {"value": plain(s["outcome"])}),
    Incident.Closed: ("closed", _nothing),
    Incident.Reopened: ("reopened", _nothing),
    Incident.Cancelled: ("cancelled", lambda s: {"value": plain(s["cancel_reason"])}),
    PatrolVisit.Logged: ("visit", _visit),
    PatrolVisit.Flagged: ("visit_flagged", _nothing),
    PatrolVisit.Voided: ("visit_voided", _nothing),
    RedBox.Registered: ("box_registered", lambda s: {"community": plain(s["community"]), "label": s["code"]}),
    RedBox.Retired: ("box_retired", _nothing),
    CameraAlert.Raised: ("alert_raised", _alert),
    CameraAlert.Acknowledged: ("alert_ack", _nothing),
    CameraAlert.Dismissed: ("alert_dismissed", _nothing),
    CameraAlert.Escalated: ("alert_escalated", _nothing),
}
_EMPTY = dict.fromkeys(("community", "category", "priority", "channel", "value", "label", "parent_id"))


def mark_row(record: Record, state: dict[str, Any], mark: str, fields: Fields) -> dict[str, Any]:
    return {
        **_EMPTY,
        "position": record.id,
        "subject_id": record.originator_id,
        "mark": mark,
        "occurred_at": instant(state["occurred_at"]),
        "recorded_at": instant(state["timestamp"]),
        **fields(state),
    }


class KpiMarksProjection(JsonProjection):
    name = "kpi_marks"
    table = kpi_marks

    def __init__(self) -> None:
        def marking(mark: str, fields: Fields) -> Callable[[Record, dict[str, Any], RowSet], None]:
            return lambda record, state, rows: rows.put(mark_row(record, state, mark, fields))

        self.handlers = {get_topic(cls): marking(mark, fields) for cls, (mark, fields) in MARKS.items()}
        super().__init__()

    def apply_page(self, conn: Connection, page: Page) -> None:
        # Insert-only: nothing to load; an upsert keeps a page applied twice harmless.
        handlers, rows = self.handlers, self.rows
        for record in page:
            handler = handlers.get(record.topic)
            if handler is not None:
                handler(record, record.state, rows)
        upsert(conn, self.table, [rows.rows[k] for k in rows.dirty])
        rows.forget()
