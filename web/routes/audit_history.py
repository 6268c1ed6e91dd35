"""The auditor's view of one aggregate and of the zone in the past: its history (each event in words, with the
server's check of its inclusion proof), its state at any version or instant, the difference of two versions, and
the zone's board at an instant. Read-only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response

from application.errors import NotFound
from application.time_travel import SEALED, diff, state_at_version
from infrastructure.audit_export import server_checks
from infrastructure.readmodels.audit import AuditReads
from web import i18n, parse
from web.audit_view import (
    Auditor,
    aggregate_id_of,
    aggregate_label,
    basis_of,
    in_words,
    instant_text,
    read_instant,
    reads_of,
    refuse,
    summary_of,
)
from web.deps import container_of
from web.i18n import _
from web.pages import label, render

router = APIRouter(include_in_schema=False)
HISTORY_PAGE = 200


def _check_instant(reads: AuditReads, at: datetime, basis: str) -> None:
    first, _last = reads.span(basis)
    if first is None or at < first:
        raise refuse(
            422,
            _("The zone's log begins at %(first)s; give a later instant.") % {"first": i18n.current().datetime(first)}
            if first
            else _("The zone's log is empty."),
        )
    if at > datetime.now(UTC):
        raise refuse(422, _("That instant is in the future; give one that has passed."))


def _version(value: str | None, summary: dict[str, Any], field: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return parse.whole_number(value, low=1, high=summary["versions"])
    except parse.Unreadable:
        raise refuse(
            422,
            _("%(field)s: this record has versions 1 to %(last)s.") % {"field": field, "last": summary["versions"]},
        ) from None


@router.get("/audit/history/{aggregate_id}")
def history_page(request: Request, aggregate_id: str, user: Auditor) -> Response:
    oid = aggregate_id_of(aggregate_id)
    summary = summary_of(request, oid)
    start = _version(request.query_params.get("from"), summary, _("From version")) or 1
    rows = reads_of(request).history(oid, from_version=start, limit=HISTORY_PAGE)
    checks = (
        server_checks(container_of(request), [r["notification_id"] for r in rows])
        if request.query_params.get("check")
        else None
    )
    return render(
        request,
        "audit/history.html",
        summary=summary,
        rows=in_words(request, rows),
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
        raise refuse(404, _("Nothing with this id was ever recorded.")) from None
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
    oid = aggregate_id_of(aggregate_id)
    summary = summary_of(request, oid)
    basis = basis_of(time)
    instant = read_instant(at, _("Instant"))
    if instant is not None:
        if instant > datetime.now(UTC):
            raise refuse(422, _("That instant is in the future; give one that has passed."))
        chosen = reads_of(request).version_at(oid, instant, basis)
        if chosen is None:
            raise refuse(
                422,
                _("This record did not exist yet at %(instant)s; it begins at %(first)s.")
                % {"instant": i18n.current().datetime(instant), "first": i18n.current().datetime(summary["began"])},
            )
    else:
        chosen = _version(version, summary, _("Version")) or summary["versions"]
    event = reads_of(request).history(oid, from_version=chosen, limit=1)
    return render(
        request,
        "audit/state.html",
        summary=summary,
        version=chosen,
        fields=_state(request, oid, chosen),
        event=in_words(request, event)[0] if event else None,
        at=instant_text(instant),
        basis=basis,
    )


@router.get("/audit/history/{aggregate_id}/diff")
def diff_page(
    request: Request, aggregate_id: str, user: Auditor, a: str | None = None, b: str | None = None
) -> Response:
    oid = aggregate_id_of(aggregate_id)
    summary = summary_of(request, oid)
    old = _version(a, summary, _("First version"))
    new = _version(b, summary, _("Second version"))
    if old is None or new is None:
        raise refuse(422, _("Give two versions to compare."))
    if old == new:
        raise refuse(422, _("Give two different versions: a version does not differ from itself."))
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
        events=in_words(request, reads_of(request).history(oid, from_version=min(old, new) + 1, limit=abs(new - old))),
    )


# --- the zone at an instant --------------------------------------------------------------------------------------
@router.get("/audit/board")
def board_at_page(request: Request, user: Auditor, at: str | None = None, time: str | None = None) -> Response:
    reads = reads_of(request)
    basis = basis_of(time)
    instant = read_instant(at, _("Instant"))
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
