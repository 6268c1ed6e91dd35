"""The live dispatch board: a full page, its panels as one fragment, and a stream of changed panels."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from starlette.types import Scope

from infrastructure.web_sessions import SignedIn
from web.access import BOARD, csrf_token, csrf_token_of
from web.live import PANELS, BoardFeed
from web.pages import render

router = APIRouter(include_in_schema=False)  # HTML pages: not part of the API description
Viewer = Annotated[SignedIn, Depends(BOARD)]
HEARTBEAT_SECONDS = 15


def _panels(request: Request, user: SignedIn) -> dict[str, str]:
    return request.app.state.feed.panels.render(user.role, csrf_token(request))


@router.get("/board")
def board_page(request: Request, user: Viewer) -> Response:
    return render(request, "board/page.html", panels=_panels(request, user))


@router.get("/board/panels", response_class=HTMLResponse)
async def board_panels(request: Request, user: Viewer) -> Response:
    """Every panel in one fragment, as of the positions the board feed polled last (at most a fifth of a
    second old): served from the shared cache without a thread or a query while nothing changes (and then by
    `cached_fragment` below, before the request reaches this route)."""
    feed = request.app.state.feed
    positions = await feed.current()
    token = csrf_token(request)
    body = feed.panels.cached_fragment(user.role, token, positions)
    if body is None:
        body = await run_in_threadpool(feed.panels.fragment, user.role, token, positions)
    return HTMLResponse(body)


def cached_fragment(scope: Scope, user: SignedIn | None, csrf_seed: str) -> bytes | None:
    """`GET /board/panels` answered by web.middleware without FastAPI's routing, when it can be answered from the
    cache alone: the same rule (BOARD), positions and fragment as the route. None: let the route answer (a person
    the rule refuses, no positions polled yet, or panels not rendered yet for these positions)."""
    if user is None or not BOARD.admits(user):
        return None
    app = scope["app"]
    feed: BoardFeed | None = getattr(app.state, "feed", None)
    positions = feed.latest() if feed is not None else ()
    if not positions:
        return None
    return feed.panels.cached_fragment(user.role, csrf_token_of(app, csrf_seed), positions)


# Paths web.middleware answers itself when it can (GET only); each route above stays the answer otherwise.
FAST_PATHS = {"/board/panels": cached_fragment}


def _event(name: str, html: str) -> str:
    return f"event: {name}\n" + "".join(f"data: {line}\n" for line in html.splitlines() or [""]) + "\n"


@router.get("/board/stream")
async def board_stream(request: Request, user: Viewer) -> StreamingResponse:
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

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"cache-control": "no-store", "x-accel-buffering": "no"})
