"""The auditor's exports and proofs: one aggregate's history or a filtered part of the log as a JSON Lines bundle
that anyone can verify offline (`ssz ledger verify --bundle`) or as CSV, and the inclusion proofs of events against
the latest checkpoint for the history page's script. Read-only."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from infrastructure.audit_export import MAX_EXPORT, bundle_lines, csv_lines
from web import parse
from web.audit_view import Auditor, after_of, aggregate_id_of, log_filter, reads_of, refuse, summary_of
from web.deps import container_of
from web.i18n import _

router = APIRouter(include_in_schema=False)


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

    found = reads_of(request).proofs(ids, latest["tree_size"])
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
            bundle_lines(container, reads_of(request), rows, described), f"{name}.jsonl", "application/x-ndjson"
        )
    if fmt == "csv":
        return _download(csv_lines(rows), f"{name}.csv", "text/csv; charset=utf-8")
    raise refuse(404, _("Exports are JSON Lines (.jsonl) or CSV (.csv)."))


@router.get("/audit/history/{aggregate_id}/export.{fmt}")
def export_history(request: Request, aggregate_id: str, fmt: str, user: Auditor) -> Response:
    oid = aggregate_id_of(aggregate_id)
    summary = summary_of(request, oid)
    rows = reads_of(request).history(oid, limit=MAX_EXPORT)
    described = {"aggregate_id": str(oid), "aggregate": summary["aggregate"], "label": summary["label"]}
    return _export(request, rows, f"history-{summary['label']}", fmt, described)


@router.get("/audit/log/export.{fmt}")
def export_log(request: Request, fmt: str, user: Auditor) -> Response:
    wanted, raw = log_filter(request)
    rows = reads_of(request).log(wanted, after=after_of(request), limit=MAX_EXPORT)
    return _export(request, rows, "log", fmt, {"filter": {k: v for k, v in raw.items() if v}})
