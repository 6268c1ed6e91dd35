"""One ASGI middleware for every request: a request id in the logs, the signed-in user, the language,
the CSRF seed cookie, and the security headers."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from typing import Any

import structlog
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infrastructure.web_sessions import SignedIn, WebSessions
from web import i18n
from web.access import CSRF_COOKIE, SESSION_COOKIE

log = structlog.get_logger()

LANG_COOKIE = "ssz_lang"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(self), geolocation=(self), microphone=()",
    "cross-origin-opener-policy": "same-origin",
}


def secure_request(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


class WebMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app
        # One session lookup at a time per token: when a session's 2 s in this process run out, the requests
        # that arrive while it is being looked up again wait for that lookup instead of each making their own.
        self._lookups: dict[str, tuple[int, asyncio.Future[SignedIn | None]]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        started = time.perf_counter()
        rid = request.headers.get("x-request-id", "")[:64] or uuid.uuid4().hex[:16]
        state: dict[str, Any] = scope.setdefault("state", {})
        state["user"] = None
        static = scope["path"].startswith("/static/")
        token = request.cookies.get(SESSION_COOKIE)
        if token and not static:
            sessions = scope["app"].state.container.sessions
            known, who = sessions.known(token)
            state["user"] = who if known else await self._look_up(sessions, token)
        seed_missing = not request.cookies.get(CSRF_COOKIE) and not static
        state["new_csrf_seed"] = secrets.token_urlsafe(24) if seed_missing else ""
        locale = i18n.negotiate(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))
        secure = secure_request(request)
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
                if secure:
                    headers["strict-transport-security"] = "max-age=31536000; includeSubDomains"
                headers["x-request-id"] = rid
                if seed_missing:
                    headers.append("set-cookie", f"{CSRF_COOKIE}={state['new_csrf_seed']}; Path=/; HttpOnly; SameSite=Strict"
                                   + ("; Secure" if secure else ""))
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=rid), i18n.use_locale(locale):
            try:
                await self.app(scope, receive, send_with_headers)
            finally:
                if not static:
                    user = state.get("user")
                    log.info("http.request", method=scope["method"], path=scope["path"], status=status,
                             user=user.username if user else None, ms=round((time.perf_counter() - started) * 1000, 1))

    async def _look_up(self, sessions: WebSessions, token: str) -> SignedIn | None:
        generation = sessions.generation
        lookup = self._lookups.get(token)
        if lookup is None or lookup[0] != generation:  # none running, or one that began before a session ended
            future = asyncio.ensure_future(run_in_threadpool(sessions.resolve, token))
            lookup = self._lookups[token] = (generation, future)
            future.add_done_callback(lambda _: self._lookups.pop(token, None) if self._lookups.get(token) is lookup else None)
        return await asyncio.shield(lookup[1])
