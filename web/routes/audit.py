"""The auditor's workspace: find any aggregate and browse the log. Every aggregate's history, its state at any
version or instant, the difference of two versions and the zone's board at an instant are in audit_history.py; the
exports (a JSON Lines bundle verifiable offline with `ssz ledger verify --bundle`, and CSV) and the inclusion proofs
in audit_exports.py; what they share in web/audit_view.py. Read-only: nothing here changes the log. Auditors,
supervisors and administrators; partners reach none of it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from domain.values import Role
from infrastructure.readmodels.audit import PAGE, aggregate_names, event_kinds
from web.audit_view import Auditor, after_of, aggregate_label, in_words, log_filter, reads_of, refuse
from web.i18n import _
from web.pages import render

router = APIRouter(include_in_schema=False)


@router.get("/audit")
def audit_home(request: Request, user: Auditor, q: str | None = None) -> Response:
    reads = reads_of(request)
    hits: list[dict[str, Any]] | None = None
    if q is not None and q.strip():
        if len(q) > 200:
            raise refuse(422, _("Please search with fewer than 200 characters."))
        hits = reads.find(q)
        if len(hits) == 1:
            return RedirectResponse(f"/audit/history/{hits[0]['id']}", status_code=303)
    wanted, raw = log_filter(request)
    after = after_of(request)
    rows = reads.log(wanted, after=after)
    previous = reads.log_before(wanted, before=rows[0]["notification_id"]) if rows and after else None
    query = urlencode({k: v for k, v in raw.items() if v})
    return render(
        request,
        "audit/home.html",
        q=q or "",
        hits=hits,
        hit_label=aggregate_label,
        rows=in_words(request, rows),
        raw=raw,
        query=query,
        after=after,
        next_after=rows[-1]["notification_id"] if len(rows) == PAGE else None,
        previous=previous,
        kinds=[f"{a}.{e}" for a, e in event_kinds()],
        aggregates=[(a, aggregate_label(a)) for a in aggregate_names()],
        roles=[r.value for r in Role],
    )
