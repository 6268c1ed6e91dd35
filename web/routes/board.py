"""The live dispatch board: a full page and a stream of changed panels."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from domain.values import Community, Priority
from web.access import csrf_token
from web.deps import BoardViewer, Zone
from web.live import ACTING_ROLES, BOARD_TEMPLATE, CLOSING_ROLES, PANELS, board_context
from web.pages import render

router = APIRouter(include_in_schema=False)  # HTML pages: not part of the API description
HEARTBEAT_SECONDS = 15


BOARD_SORTS = ("priority", "age", "community")


def board_filters(request: Request) -> dict[str, Any]:
    """The board's filters and sort from the query string (values it does not know are left out). The page applies
    them here, for browsers without JavaScript; with it, the page applies them to every live update itself."""
    params = request.query_params
    return {
        "priority": [p for p in params.getlist("priority") if p in {m.value for m in Priority}],
        "community": params.get("community", "") if params.get("community", "") in {m.value for m in Community} else "",
        "sort": params.get("sort", "") if params.get("sort", "") in BOARD_SORTS else "priority",
    }


def _filtered(incidents: list[dict[str, Any]], filters: dict[str, Any]) -> list[dict[str, Any]]:
    kept = [
        i
        for i in incidents
        if (not filters["priority"] or i["priority"] in filters["priority"])
        and (not filters["community"] or i["community"] == filters["community"])
    ]
    if filters["sort"] == "age":
        return sorted(kept, key=lambda i: i["reported_at"])
    if filters["sort"] == "community":
        return sorted(kept, key=lambda i: (i["community"], i["priority"], i["reported_at"]))
    return kept  # the read model's order: priority, then the oldest first


@router.get("/board")
def board_page(request: Request, user: BoardViewer, zone: Zone) -> Response:
    """The whole page; the stream below sends its panels, each a block of the same template."""
    context = board_context(zone, user.role in ACTING_ROLES, can_close=user.role in CLOSING_ROLES)
    filters = board_filters(request)
    context["pending"] = _filtered(context["pending"], filters)
    context["active"] = _filtered(context["active"], filters)
    return render(request, BOARD_TEMPLATE, filters=filters, **context)


def _event(name: str, html: str) -> str:
    return f"event: {name}\n" + "".join(f"data: {line}\n" for line in html.splitlines() or [""]) + "\n"


@router.get("/board/stream")
async def board_stream(request: Request, user: BoardViewer) -> StreamingResponse:
    """Server-sent events: one event per panel whose content changed, named after the panel."""
    feed = request.app.state.feed
    token = csrf_token(request)

    async def events() -> AsyncIterator[str]:
        sent: dict[str, str] = {}
        seen: tuple[int, ...] = ()
        yield "retry: 1000\n\n"
        while not await request.is_disconnected():
            seen = await feed.next_change(seen, HEARTBEAT_SECONDS)
            panels = await run_in_threadpool(feed.panels.render, user.role, token, seen or None)
            changed = False
            for name in PANELS:
                digest = hashlib.sha1(panels[name].encode()).hexdigest()
                if sent.get(name) != digest:  # all of them on (re)connection: the page may be older than the stream
                    yield _event(name, panels[name])
                    sent[name] = digest
                    changed = True
            if not changed:
                yield ": still here\n\n"

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"cache-control": "no-store", "x-accel-buffering": "no"}
    )
