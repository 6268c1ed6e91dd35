"""What the pages of the auditor's workspace share (web/routes/audit.py, audit_history.py, audit_exports.py): who may
see them, the records' names in words, instants as a person types them, the log's filter read from the query string,
events in words, and one aggregate's summary. Read-only: nothing here changes the log."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, HTTPException, Request

from domain.values import BANGKOK, Role
from infrastructure.readmodels.audit import (
    AuditReads,
    LogFilter,
    aggregate_names,
    event_kinds,
    touched,
)
from infrastructure.readmodels.audit_instants import BASES, RECORDED
from infrastructure.web_sessions import SignedIn
from web import i18n, parse
from web.access import guard
from web.deps import container_of
from web.i18n import _
from web.timeline import plain, timeline_in_words

AUDITORS = guard(Role.AUDITOR, Role.SUPERVISOR, Role.ADMIN)
Auditor = Annotated[SignedIn, Depends(AUDITORS)]
LATE = timedelta(minutes=1)  # an event recorded more than this after (or before) it occurred is flagged
_THAI_OR_DAY_FIRST = re.compile(
    r"\s*([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})(?:[ ,T]+([0-9]{1,2})[:.]([0-9]{2})(?:[:.]([0-9]{2}))?)?\s*(น\.)?\s*"
)


def aggregate_label(name: str) -> str:
    labels = {
        "Incident": _("Incident"),
        "PatrolUnit": _("Patrol unit"),
        "RedBox": _("Red box"),
        "PatrolVisit": _("Patrol visit"),
        "Camera": _("Camera"),
        "CameraAlert": _("Camera alert"),
        "UserAccount": _("User account"),
        "RefusedCheckIn": _("Refused check-in"),
        "OfficerRound": _("Officer's round"),
        "ReferenceBook": _("Reference book"),
        "IntakeKey": _("Intake key"),
    }
    return labels.get(name, name)


def reads_of(request: Request) -> AuditReads:
    container = container_of(request)
    reads = getattr(container, "audit", None)
    if reads is None:  # a container made before the audit reads were part of it
        reads = container.audit = AuditReads(container.engine, container.app)
    return reads


def refuse(status: int, message: str) -> HTTPException:
    return HTTPException(status_code=status, detail=message)


def parse_instant(text: str) -> datetime:
    """An instant as a person types it: `DD/MM/YYYY HH:MM[:SS]` (a year from 2400 on is Buddhist-era: 12/05/2569 14:02),
    or `YYYY-MM-DDTHH:MM` (the date-time input's value); meant in Asia/Bangkok. In UTC."""
    match = _THAI_OR_DAY_FIRST.fullmatch(text)
    if match is None:
        return parse.local_instant(text)
    day, month, year, hour, minute, second, _suffix = match.groups()
    year_number = int(year) - 543 if int(year) >= 2400 else int(year)
    try:
        local = datetime(
            year_number, int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), tzinfo=BANGKOK
        )
    except ValueError:
        raise parse.Unreadable(_("Please give a date and time.")) from None
    if not parse.FIRST_YEAR <= year_number <= parse.LAST_YEAR:
        raise parse.Unreadable(_("Please give a date and time."))
    return local.astimezone(UTC)


def instant_text(instant: datetime | None) -> str:
    """An instant as the picker shows it back: day/month/year (Buddhist-era in Thai) hour:minute, Bangkok time."""
    if instant is None:
        return ""
    local = instant.astimezone(BANGKOK)
    year = local.year + 543 if i18n.current_locale() == "th" else local.year
    return f"{local.day:02d}/{local.month:02d}/{year} {local.hour:02d}:{local.minute:02d}"


def read_instant(value: str | None, field: str) -> datetime | None:
    if value is None or not value.strip():
        return None
    try:
        return parse_instant(value)
    except parse.Unreadable as error:
        raise refuse(422, f"{field}: {error.message}") from None


def basis_of(value: str | None) -> str:
    if value in (None, ""):
        return RECORDED
    if value not in BASES:
        raise refuse(422, _("The time may be “recorded” or “occurred”."))
    return value


def log_filter(request: Request) -> tuple[LogFilter, dict[str, str]]:
    q = request.query_params
    raw = {k: q.get(k, "").strip() for k in ("kind", "aggregate", "actor", "role", "time", "from", "to")}
    aggregate, event = raw["aggregate"] or None, None
    if raw["kind"]:
        if tuple(raw["kind"].split(".", 1)) not in set(event_kinds()):
            raise refuse(422, _("There is no such kind of event."))
        aggregate, event = raw["kind"].split(".", 1)
    if aggregate and aggregate not in aggregate_names():
        raise refuse(422, _("There is no such kind of record."))
    role = raw["role"] or None
    if role and role not in {r.value for r in Role}:
        raise refuse(422, _("There is no such role."))
    actor_id = None
    if raw["actor"]:
        hits = [h for h in reads_of(request).find(raw["actor"]) if h["aggregate"] == "UserAccount"]
        if not hits:
            raise refuse(422, _("No account is named “%(name)s”.") % {"name": raw["actor"]})
        actor_id = hits[0]["id"]
    basis = basis_of(raw["time"] or None)
    low, high = read_instant(raw["from"], _("From")), read_instant(raw["to"], _("To"))
    if low and high and high <= low:
        raise refuse(422, _("The end of the period must be after its start."))
    times = (
        {"recorded_from": low, "recorded_to": high}
        if basis == RECORDED
        else {"occurred_from": low, "occurred_to": high}
    )
    return LogFilter(aggregate=aggregate, event=event, actor_id=actor_id, role=role, **times), raw | {"time": basis}


def after_of(request: Request) -> int:
    try:
        return parse.whole_number(request.query_params.get("after", "0") or "0", low=0, high=2**62)
    except parse.Unreadable as error:
        raise refuse(422, error.message) from None


def in_words(request: Request, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    reads = container_of(request).reads
    names = reads.user_names(r["actor_id"] for r in rows)
    units = {str(u["id"]): u["call_sign"] for u in reads.units(include_retired=True)}
    worded = timeline_in_words(rows, names, units)
    labels: dict[str, str] = {}
    for row in worded:
        row["late"] = abs(row["recorded_at"] - row["occurred_at"]) > LATE
        row["what"] = labels.get(row["aggregate"]) or labels.setdefault(
            row["aggregate"], aggregate_label(row["aggregate"])
        )
        row["details"] = _details(row["params"])
        row["touched"] = touched(row["params"], row["originator_id"])
    return worded


def _details(params: dict[str, Any]) -> list[tuple[str, str]]:
    """An event's parameters as (name, text) pairs; a reporter's contact is shown as sealed, never opened."""
    shown = []
    for name, value in params.items():
        if name == "contact":
            text = _("sealed (not shown here)") if value else "—"
        else:
            value = plain(value)
            text = "—" if value is None or value == "" else str(value)
        shown.append((name, text))
    return shown


# --- one aggregate ---------------------------------------------------------------------------------------------
def aggregate_id_of(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise refuse(404, _("There is no record with this id.")) from None


def summary_of(request: Request, aggregate_id: UUID) -> dict[str, Any]:
    summary = reads_of(request).summary(aggregate_id)
    if summary is None:
        raise refuse(404, _("Nothing with this id was ever recorded."))
    summary["what"] = aggregate_label(summary["aggregate"])
    summary["page"] = _normal_page(summary)
    return summary


def _normal_page(summary: dict[str, Any]) -> str | None:
    label, aggregate_id = summary["label"], summary["id"]
    return {
        "Incident": f"/incidents/{label}",
        "CameraAlert": f"/alerts/{aggregate_id}",
        "PatrolVisit": f"/visits/{aggregate_id}",
        "Camera": f"/cameras/{aggregate_id}",
        "PatrolUnit": "/units",
        "RedBox": "/red-boxes",
    }.get(summary["aggregate"])
