"""Server-rendered pages: one Jinja2 environment with the i18n extension; every string and every
domain word goes through the request's translator (Thai by default)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.routing import Match

from domain import values
from domain.errors import DomainError
from web import i18n
from web.access import CSRF_FIELD, csrf_token

TEMPLATES = Path(__file__).resolve().parent / "templates"

KINDS: dict[str, type] = {
    "priority": values.Priority,
    "category": values.Category,
    "channel": values.Channel,
    "community": values.Community,
    "outcome": values.Outcome,
    "cancel_reason": values.CancelReason,
    "status": values.IncidentStatus,
    "assignment": values.Assignment,
    "unit_kind": values.UnitKind,
    "unit_status": values.UnitStatus,
    "role": values.Role,
    "alert_kind": values.AlertKind,
    "alert_status": values.AlertStatus,
    "false_alarm": values.FalseAlarmReason,
    "visit_status": values.VisitStatus,
    "refusal": values.CheckInRefusal,
}
# How long a pending incident may wait for a unit before its row asks for attention (UX.md).
AGING_SECONDS = {"P1": 60, "P2": 5 * 60, "P3": 15 * 60, "P4": 30 * 60}
ON_SCENE_CHECK_SECONDS = 45 * 60
PRIORITY_ICONS = {"P1": "▲▲", "P2": "▲", "P3": "●", "P4": "○"}


def label(kind: str, value: Any) -> str:
    if value is None or value == "":
        return ""
    return i18n.current().label_value(KINDS[kind], value.value if hasattr(value, "value") else str(value))


def choices(kind: str) -> list[tuple[str, str]]:
    return [(member.value, i18n.current().label(member)) for member in KINDS[kind] if member is not values.Role.SYSTEM]


def seconds_since(instant: datetime | None, now: datetime | None = None) -> int:
    if instant is None:
        return 0
    return max(0, int(((now or datetime.now(UTC)) - instant).total_seconds()))


def _recorded_apart(occurred: datetime | None, recorded: datetime | None) -> bool:
    """A timeline shows the recording time too where it is a second or more from when the thing happened."""
    return occurred is not None and recorded is not None and abs((recorded - occurred).total_seconds()) >= 1


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(
        label=label,
        choices=choices,
        AGING_SECONDS=AGING_SECONDS,
        PRIORITY_ICONS=PRIORITY_ICONS,
        ON_SCENE_CHECK_SECONDS=ON_SCENE_CHECK_SECONDS,
        seconds_since=seconds_since,
        CSRF_FIELD=CSRF_FIELD,
        uuid4=lambda: uuid.uuid4().hex,
    )
    env.filters["when"] = lambda dt: i18n.current().datetime(dt) if dt else ""
    env.filters["when_s"] = lambda dt: i18n.current().datetime_to_the_second(dt) if dt else ""
    env.globals["recorded_later"] = _recorded_apart
    env.filters["clock"] = lambda dt: i18n.current().time(dt) if dt else ""
    env.filters["since"] = lambda dt: i18n.current().duration(seconds_since(dt))
    env.filters["duration"] = lambda s: i18n.current().duration(s)
    env.filters["number"] = lambda n: i18n.current().number(n)
    env.filters["iso"] = lambda dt: dt.astimezone(UTC).isoformat() if dt else ""
    env.filters["day"] = lambda d: i18n.current().date(d) if d else ""
    return env


ENV = _env()


def context(request: Request) -> dict[str, Any]:
    return {
        "request": request,
        "user": request.state.user,
        "t": i18n.current(),
        "lang": i18n.current().locale,
        "csrf_token": csrf_token(request),
        "path": request.url.path,
        "here": here(request),
    }


def here(request: Request) -> str:
    """The page the person is on, for the language switch to come back to: after a refused form (answered at the
    form's POST address, which no GET serves) that is the page the form was sent from."""
    if request.method in ("GET", "HEAD"):
        return request.url.path + (f"?{request.url.query}" if request.url.query else "")
    sent_from = urlsplit(request.headers.get("referer", ""))
    if sent_from.netloc == request.url.netloc and sent_from.path.startswith("/"):
        return sent_from.path + (f"?{sent_from.query}" if sent_from.query else "")
    return "/"


def render(request: Request, template: str, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    html = ENV.get_template(template).render({**context(request), **ctx})
    # A refused form echoes what was sent, which may hold text no UTF-8 page can (a lone surrogate): shown as "?".
    return HTMLResponse(html.encode("utf-8", "replace"), status_code=status_code)


def fragment(request: Request, template: str, **ctx: Any) -> str:
    return ENV.get_template(template).render({**context(request), **ctx})


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def message_of(error: DomainError) -> str:
    return i18n.current().error(error)


def nearest_page(request: Request) -> str | None:
    """For a GET of an address that only takes forms (a bookmark, a reload, a language switch of an old page): the
    nearest page above it (`/admin/users/…/role` → `/admin/users`), or None."""
    if request.method not in ("GET", "HEAD") or request.url.path.startswith("/api/"):
        return None
    parts = request.url.path.rstrip("/").split("/")
    while len(parts) > 1:
        parts.pop()
        candidate = "/".join(parts) or "/"
        scope = {"type": "http", "path": candidate, "method": "GET", "root_path": ""}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            return candidate
    return None
