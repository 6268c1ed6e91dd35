"""The auditor's workspace: find any aggregate, browse the log, every aggregate's history with each event's inclusion
proof, its state at any version or instant, the difference of two versions, the zone's board at an instant, and
exports (a JSON Lines bundle verifiable offline with `ssz ledger verify --bundle`, and CSV). Read-only: nothing
here changes the log. Auditors, supervisors and administrators; partners reach none of it."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from application.errors import NotFound
from application.time_travel import SEALED, diff, state_at_version
from domain.values import BANGKOK, Role
from infrastructure.audit_export import MAX_EXPORT, bundle_lines, csv_lines, server_checks
from infrastructure.readmodels.audit import (
    BASES,
    PAGE,
    RECORDED,
    AuditReads,
    LogFilter,
    aggregate_names,
    event_kinds,
    touched,
)
from infrastructure.web_sessions import SignedIn
from web import i18n, parse
from web.access import guard
from web.deps import container_of
from web.pages import label, render
from web.timeline import plain, timeline_in_words

router = APIRouter(include_in_schema=False)
AUDITORS = guard(Role.AUDITOR, Role.SUPERVISOR, Role.ADMIN)
Auditor = Annotated[SignedIn, Depends(AUDITORS)]
HISTORY_PAGE = 200
LATE = timedelta(minutes=1)  # an event recorded more than this after (or before) it occurred is flagged
_THAI_OR_DAY_FIRST = re.compile(
    r"\s*([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})(?:[ ,T]+([0-9]{1,2})[:.]([0-9]{2})(?:[:.]([0-9]{2}))?)?\s*(น\.)?\s*"
)


def _(message: str) -> str:
    return i18n.gettext(message)


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


def _reads(request: Request) -> AuditReads:
    container = container_of(request)
    reads = getattr(container, "audit", None)
    if reads is None:  # a container made before the audit reads were part of it
        reads = container.audit = AuditReads(container.engine, container.app)
    return reads


def _refuse(status: int, message: str) -> HTTPException:
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


def _read_instant(value: str | None, field: str) -> datetime | None:
    if value is None or not value.strip():
        return None
    try:
        return parse_instant(value)
    except parse.Unreadable as error:
        raise _refuse(422, f"{field}: {error.message}") from None


def _basis(value: str | None) -> str:
    if value in (None, ""):
        return RECORDED
    if value not in BASES:
        raise _refuse(422, _("The time may be “recorded” or “occurred”."))
    return value


def _check_instant(reads: AuditReads, at: datetime, basis: str) -> None:
    first, _last = reads.span(basis)
    if first is None or at < first:
        raise _refuse(
            422,
            _("The zone's log begins at %(first)s; give a later instant.") % {"first": i18n.current().datetime(first)}
            if first
            else _("The zone's log is empty."),
        )
    if at > datetime.now(UTC):
        raise _refuse(422, _("That instant is in the future; give one that has passed."))


# --- /audit: search and the log ----------------------------------------------------------------------------------
def _log_filter(request: Request) -> tuple[LogFilter, dict[str, str]]:
    q = request.query_params
    raw = {k: q.get(k, "").strip() for k in ("kind", "aggregate", "actor", "role", "time", "from", "to")}
    aggregate, event = raw["aggregate"] or None, None
    if raw["kind"]:
        if tuple(raw["kind"].split(".", 1)) not in set(event_kinds()):
            raise _refuse(422, _("There is no such kind of event."))
        aggregate, event = raw["kind"].split(".", 1)
    if aggregate and aggregate not in aggregate_names():
        raise _refuse(422, _("There is no such kind of record."))
    role = raw["role"] or None
    if role and role not in {r.value for r in Role}:
        raise _refuse(422, _("There is no such role."))
    actor_id = None
    if raw["actor"]:
        hits = [h for h in _reads(request).find(raw["actor"]) if h["aggregate"] == "UserAccount"]
        if not hits:
            raise _refuse(422, _("No account is named “%(name)s”.") % {"name": raw["actor"]})
        actor_id = hits[0]["id"]
    basis = _basis(raw["time"] or None)
    low, high = _read_instant(raw["from"], _("From")), _read_instant(raw["to"], _("To"))
    if low and high and high <= low:
        raise _refuse(422, _("The end of the period must be after its start."))
    times = (
        {"recorded_from": low, "recorded_to": high}
        if basis == RECORDED
        else {"occurred_from": low, "occurred_to": high}
    )
    return LogFilter(aggregate=aggregate, event=event, actor_id=actor_id, role=role, **times), raw | {"time": basis}


def _after(request: Request) -> int:
    try:
        return parse.whole_number(request.query_params.get("after", "0") or "0", low=0, high=2**62)
    except parse.Unreadable as error:
        raise _refuse(422, error.message) from None


def _in_words(request: Request, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
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


@router.get("/audit")
def audit_home(request: Request, user: Auditor, q: str | None = None) -> Response:
    reads = _reads(request)
    hits: list[dict[str, Any]] | None = None
    if q is not None and q.strip():
        if len(q) > 200:
            raise _refuse(422, _("Please search with fewer than 200 characters."))
        hits = reads.find(q)
        if len(hits) == 1:
            return RedirectResponse(f"/audit/history/{hits[0]['id']}", status_code=303)
    wanted, raw = _log_filter(request)
    after = _after(request)
    rows = reads.log(wanted, after=after)
    previous = reads.log_before(wanted, before=rows[0]["notification_id"]) if rows and after else None
    query = urlencode({k: v for k, v in raw.items() if v})
    return render(
        request,
        "audit/home.html",
        q=q or "",
        hits=hits,
        hit_label=aggregate_label,
        rows=_in_words(request, rows),
        raw=raw,
        query=query,
        after=after,
        next_after=rows[-1]["notification_id"] if len(rows) == PAGE else None,
        previous=previous,
        kinds=[f"{a}.{e}" for a, e in event_kinds()],
        aggregates=[(a, aggregate_label(a)) for a in aggregate_names()],
        roles=[r.value for r in Role],
    )


# --- one aggregate ---------------------------------------------------------------------------------------------
def _aggregate_id(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise _refuse(404, _("There is no record with this id.")) from None


def _summary(request: Request, aggregate_id: UUID) -> dict[str, Any]:
    summary = _reads(request).summary(aggregate_id)
    if summary is None:
        raise _refuse(404, _("Nothing with this id was ever recorded."))
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


def _version(value: str | None, summary: dict[str, Any], field: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return parse.whole_number(value, low=1, high=summary["versions"])
    except parse.Unreadable:
        raise _refuse(
            422,
            _("%(field)s: this record has versions 1 to %(last)s.") % {"field": field, "last": summary["versions"]},
        ) from None


@router.get("/audit/history/{aggregate_id}")
def history_page(request: Request, aggregate_id: str, user: Auditor) -> Response:
    oid = _aggregate_id(aggregate_id)
    summary = _summary(request, oid)
    start = _version(request.query_params.get("from"), summary, _("From version")) or 1
    rows = _reads(request).history(oid, from_version=start, limit=HISTORY_PAGE)
    checks = (
        server_checks(container_of(request), [r["notification_id"] for r in rows])
        if request.query_params.get("check")
        else None
    )
    return render(
        request,
        "audit/history.html",
        summary=summary,
        rows=_in_words(request, rows),
        start=start,
        later=start + HISTORY_PAGE if start + HISTORY_PAGE <= summary["versions"] else None,
        earlier=max(1, start - HISTORY_PAGE) if start > 1 else None,
        checks=checks,
        hit_label=aggregate_label,
    )


# Fields whose values are words of the domain, shown in the reader's language (with the value as recorded).
_WORDS = {"priority", "category", "community", "channel", "outcome", "cancel_reason", "role"}
_WORDS_OF = {
    ("Incident", "status"): "status",
    ("Incident", "phase"): "status",
    ("PatrolUnit", "status"): "unit_status",
    ("PatrolUnit", "kind"): "unit_kind",
    ("CameraAlert", "status"): "alert_status",
    ("CameraAlert", "kind"): "alert_kind",
    ("PatrolVisit", "status"): "visit_status",
}


def _state(request: Request, oid: UUID, version: int) -> list[tuple[str, Any]]:
    try:
        state = state_at_version(container_of(request).app, oid, version)
    except NotFound:
        raise _refuse(404, _("Nothing with this id was ever recorded.")) from None
    return [(k, _shown(v, state["aggregate"], k)) for k, v in state.items()]


def _shown(value: Any, aggregate: str = "", field: str = "") -> str:
    kind = field if field in _WORDS else _WORDS_OF.get((aggregate, field))
    if kind is not None and isinstance(value, str) and value:
        words = label(kind, value)
        return value if words == value else f"{words} ({value})"
    if value == SEALED:
        return _("sealed (not shown here)")
    if isinstance(value, datetime):
        return i18n.current().datetime(value)
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    return str(value)


@router.get("/audit/history/{aggregate_id}/state")
def state_page(
    request: Request,
    aggregate_id: str,
    user: Auditor,
    version: str | None = None,
    at: str | None = None,
    time: str | None = None,
) -> Response:
    oid = _aggregate_id(aggregate_id)
    summary = _summary(request, oid)
    basis = _basis(time)
    instant = _read_instant(at, _("Instant"))
    if instant is not None:
        if instant > datetime.now(UTC):
            raise _refuse(422, _("That instant is in the future; give one that has passed."))
        chosen = _reads(request).version_at(oid, instant, basis)
        if chosen is None:
            raise _refuse(
                422,
                _("This record did not exist yet at %(instant)s; it begins at %(first)s.")
                % {"instant": i18n.current().datetime(instant), "first": i18n.current().datetime(summary["began"])},
            )
    else:
        chosen = _version(version, summary, _("Version")) or summary["versions"]
    event = _reads(request).history(oid, from_version=chosen, limit=1)
    return render(
        request,
        "audit/state.html",
        summary=summary,
        version=chosen,
        fields=_state(request, oid, chosen),
        event=_in_words(request, event)[0] if event else None,
        at=instant_text(instant),
        basis=basis,
    )


@router.get("/audit/history/{aggregate_id}/diff")
def diff_page(
    request: Request, aggregate_id: str, user: Auditor, a: str | None = None, b: str | None = None
) -> Response:
    oid = _aggregate_id(aggregate_id)
    summary = _summary(request, oid)
    old = _version(a, summary, _("First version"))
    new = _version(b, summary, _("Second version"))
    if old is None or new is None:
        raise _refuse(422, _("Give two versions to compare."))
    if old == new:
        raise _refuse(422, _("Give two different versions: a version does not differ from itself."))
    app = container_of(request).app
    changes = diff(state_at_version(app, oid, old), state_at_version(app, oid, new))
    return render(
        request,
        "audit/diff.html",
        summary=summary,
        a=old,
        b=new,
        changes=[
            (c.field, _shown(c.old, summary["aggregate"], c.field), _shown(c.new, summary["aggregate"], c.field))
            for c in changes
            if c.field not in ("version", "modified_on")
        ],
        events=_in_words(request, _reads(request).history(oid, from_version=min(old, new) + 1, limit=abs(new - old))),
    )


# --- the zone at an instant --------------------------------------------------------------------------------------
@router.get("/audit/board")
def board_at_page(request: Request, user: Auditor, at: str | None = None, time: str | None = None) -> Response:
    reads = _reads(request)
    basis = _basis(time)
    instant = _read_instant(at, _("Instant"))
    board = None
    if instant is not None:
        _check_instant(reads, instant, basis)
        board = reads.board_at(instant, basis)
        calls = {s["id"]: s["call_sign"] for s in board["units"]}
        refs = {s["id"]: s["reference"] for s in board["incidents"]}
        for incident in board["incidents"]:
            incident["units"] = [calls.get(u, u[:8]) for u in incident.get("assignments", {})]
        for unit in board["units"]:
            unit["incident"] = refs.get(unit.get("incident_id") or "", unit.get("incident_id"))
    return render(request, "audit/board.html", board=board, at=instant_text(instant), instant=instant, basis=basis)


# --- proofs --------------------------------------------------------------------------------------------------------
@router.get("/audit/proofs")
def proofs(request: Request, user: Auditor, n: str = "") -> JSONResponse:
    """Inclusion proofs of up to 500 events (notification ids, comma-separated) against the latest checkpoint, for
    the page's script to check (the JSON API's /api/v1/ledger/inclusion needs an integration's key)."""
    try:
        ids = [parse.whole_number(part, low=1, high=2**62) for part in n.split(",") if part.strip()][:500]
    except parse.Unreadable as error:
        return JSONResponse({"detail": error.message}, status_code=422)
    container = container_of(request)
    latest = container.ledger.latest_checkpoint()
    if latest is None:
        return JSONResponse({"checkpoint": None, "proofs": []})

    def b64(value: bytes) -> str:
        return base64.b64encode(value).decode()

    found = _reads(request).proofs(ids, latest["tree_size"])
    return JSONResponse(
        {
            "checkpoint": {"tree_size": latest["tree_size"], "root": b64(latest["root"]), "note": latest["note"]},
            "proofs": [
                {
                    "notification_id": p["notification_id"],
                    "position": p["position"],
                    "leaf_hash": b64(p["leaf_hash"]),
                    "path": [b64(h) for h in p["path"]],
                }
                for p in found.values()
            ],
        }
    )


# --- exports ---------------------------------------------------------------------------------------------------------
def _download(lines: Iterator[str], filename: str, media_type: str) -> StreamingResponse:
    return StreamingResponse(
        (line.encode() for line in lines),
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _export(request: Request, rows: list[dict[str, Any]], name: str, fmt: str, described: dict[str, Any]) -> Response:
    container = container_of(request)
    if fmt == "jsonl":
        return _download(
            bundle_lines(container, _reads(request), rows, described), f"{name}.jsonl", "application/x-ndjson"
        )
    if fmt == "csv":
        return _download(csv_lines(rows), f"{name}.csv", "text/csv; charset=utf-8")
    raise _refuse(404, _("Exports are JSON Lines (.jsonl) or CSV (.csv)."))


@router.get("/audit/history/{aggregate_id}/export.{fmt}")
def export_history(request: Request, aggregate_id: str, fmt: str, user: Auditor) -> Response:
    oid = _aggregate_id(aggregate_id)
    summary = _summary(request, oid)
    rows = _reads(request).history(oid, limit=MAX_EXPORT)
    described = {"aggregate_id": str(oid), "aggregate": summary["aggregate"], "label": summary["label"]}
    return _export(request, rows, f"history-{summary['label']}", fmt, described)


@router.get("/audit/log/export.{fmt}")
def export_log(request: Request, fmt: str, user: Auditor) -> Response:
    wanted, raw = _log_filter(request)
    rows = _reads(request).log(wanted, after=_after(request), limit=MAX_EXPORT)
    return _export(request, rows, "log", fmt, {"filter": {k: v for k, v in raw.items() if v}})
