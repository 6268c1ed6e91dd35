"""The live board: panels rendered from the read models, cached per read-model position, and a feed that
tells open boards (server-sent events) when the projections have moved."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

import structlog
from fastapi.concurrency import run_in_threadpool
from jinja2_fragments import render_block

from application.dispatch_order import suggestions
from domain.values import Role
from infrastructure.bootstrap import Container
from web import i18n
from web.pages import ENV

log = structlog.get_logger()

PANELS = ("pending", "active", "units", "alerts", "closed", "closure", "confirmations")  # the board page's blocks
BOARD_TEMPLATE = "board/page.html"
CSRF_PLACEHOLDER = "\x00csrf\x00"
AGE_BUCKET_SECONDS = 15  # the server-rendered ages and tints are at most this old; the page ticks them itself
ACTING_ROLES = {Role.DISPATCHER.value, Role.SUPERVISOR.value}
CLOSING_ROLES = {Role.SUPERVISOR.value}  # the "awaiting closure" list has a Close button for them


def role_group(role: str) -> str:
    """Viewers whose panels are the same HTML: supervisors (act and close), dispatchers (act), the others (read)."""
    return "close" if role in CLOSING_ROLES else "act" if role in ACTING_ROLES else "read"


class Rendered:
    """The panels of one cache key, with the CSRF placeholder still in them."""

    def __init__(self, panels: dict[str, str]):
        self.panels = panels

    def with_token(self, csrf_token: str) -> dict[str, str]:
        return {name: html.replace(CSRF_PLACEHOLDER, csrf_token) for name, html in self.panels.items()}


class BoardPanels:
    """Rendered panels, shared by every viewer with the same language and role group: rendering happens once
    per change of the read models (or per age bucket), not once per request."""

    def __init__(self, container: Container, size: int = 64):
        self.container = container
        self.cache: OrderedDict[tuple, Rendered] = OrderedDict()
        self.size = size

    def key(self, role: str, positions: tuple[int, ...]) -> tuple:
        return positions, i18n.current_locale(), role_group(role), int(time.time() // AGE_BUCKET_SECONDS)

    def render(self, role: str, csrf_token: str, positions: tuple[int, ...] | None = None) -> dict[str, str]:
        return self._rendered(role, positions).with_token(csrf_token)

    def _rendered(self, role: str, positions: tuple[int, ...] | None) -> Rendered:
        positions = positions if positions is not None else tuple(self.container.projections.positions().values())
        key = self.key(role, positions)
        rendered = self.cache.get(key)
        if rendered is None:
            rendered = Rendered(self._render(role in ACTING_ROLES, role in CLOSING_ROLES))
            self.cache[key] = rendered
            while len(self.cache) > self.size:
                self.cache.popitem(last=False)
        return rendered

    def _render(self, can_act: bool, can_close: bool = False) -> dict[str, str]:
        context = {**board_context(self.container, can_act, can_close=can_close), "csrf_token": CSRF_PLACEHOLDER}
        return {name: render_block(ENV, BOARD_TEMPLATE, name, context) for name in PANELS}


def board_context(container: Container, can_act: bool, *, can_close: bool = False) -> dict[str, Any]:
    """What the board's panels show, from the read models."""
    now = datetime.now(UTC)
    board = container.reads.board(now=now)
    return {
        "t": i18n.current(),
        "lang": i18n.current().locale,
        "now": now,
        "can_act": can_act,
        "can_close": can_close,
        "awaiting": board.awaiting_closure,
        "pending": [i for i in board.incidents if i["status"] == "reported"],
        "active": [i for i in board.incidents if i["status"] != "reported"],
        "units": board.units,
        "alerts": board.alerts,
        "closed": board.recently_closed,
        "available_units": [u for u in board.units if u["status"] == "available"],
        # Per pending incident, the available units nearest first (`distance_m`; issue 18): the quick dispatch's order.
        "suggested_units": suggestions(board.incidents, board.units),
        **crews_to_confirm(board.incidents),
    }


def crews_to_confirm(incidents: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The crews sent to open incidents: those yet to tap "Received" on their phone (`waiting`), and those who did
    (`confirmed`, with `acknowledged_at`)."""
    crews = [{**u, "reference": i["reference"]} for i in incidents for u in i["units"] if u["state"] != "cleared"]
    return {
        "waiting": [c for c in crews if not c.get("acknowledged_at")],
        "confirmed": [c for c in crews if c.get("acknowledged_at")],
    }


class BoardFeed:
    """Polls the projections' positions a few times a second (one tiny query, shared by every open board)
    and wakes the boards' event streams when they move."""

    def __init__(self, container: Container, interval: float = 0.2):
        self.container = container
        self.interval = interval
        self.panels = BoardPanels(container)
        self.positions: tuple[int, ...] = ()
        self._changed: asyncio.Event | None = None
        self._task: asyncio.Task | None = None

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._changed = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._poll())

    async def _poll(self) -> None:
        while True:
            try:
                positions = tuple((await run_in_threadpool(self.container.projections.positions)).values())
            except Exception as error:  # a store that does not answer: the boards show "reconnecting" by themselves  # noqa: BLE001
                log.warning("board_feed.positions_unavailable", error=str(error))
                await asyncio.sleep(1)
                continue
            if positions != self.positions:
                self.positions = positions
                changed, self._changed = self._changed, asyncio.Event()
                if changed is not None:
                    changed.set()
            await asyncio.sleep(self.interval)

    async def next_change(self, seen: tuple[int, ...], timeout: float) -> tuple[int, ...]:
        """The positions once they differ from `seen`, or after `timeout` seconds."""
        self._ensure_running()
        if self.positions and self.positions != seen:
            return self.positions
        changed = self._changed
        if changed is not None:
            try:
                await asyncio.wait_for(changed.wait(), timeout)
            except TimeoutError:
                pass
        return self.positions

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
