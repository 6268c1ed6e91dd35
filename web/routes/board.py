"""The live dispatch board: a full page and a stream of changed panels."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from web.access import csrf_token
from web.deps import BoardViewer, Zone
from web.live import ACTING_ROLES, BOARD_TEMPLATE, PANELS, board_context
from web.pages import render

router = APIRouter(include_in_schema=False)  # HTML pages: not part of the API description
HEARTBEAT_SECONDS = 15


@router.get("/board")
def board_page(request: Request, user: BoardViewer, zone: Zone) -> Response:
    """The whole page; the stream below sends its panels, each a block of the same template."""
    return render(request, BOARD_TEMPLATE, **board_context(zone, user.role in ACTING_ROLES))


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
