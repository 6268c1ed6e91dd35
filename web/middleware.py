"""One ASGI middleware for every request: a request id in the logs, the signed-in user, the language,
the CSRF seed cookie, and the security headers. It works on the raw ASGI scope and messages (no Request object,
headers encoded once at import)."""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import structlog
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request, cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infrastructure.db import UNAVAILABLE
from infrastructure.web_sessions import SignedIn, WebSessions
from web import i18n
from web.access import CSRF_COOKIE, SESSION_COOKIE

log = structlog.get_logger()

LANG_COOKIE = "ssz_lang"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(self), geolocation=(self), microphone=()",
    "cross-origin-opener-policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"
_SECURITY_HEADERS = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in HEADERS.items()]
_HSTS_HEADER = (b"strict-transport-security", HSTS.encode("latin-1"))
_OWNED = frozenset((b"x-request-id", b"strict-transport-security"))
# The request headers this middleware reads (the first of each, as Starlette's Request.headers.get does).
_READ = frozenset((b"cookie", b"x-request-id", b"accept-language", b"x-forwarded-proto"))


def security_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    """The security headers; with base tiles for the map (SSZ_TILE_URL), the CSP also lets images come from there."""
    state = getattr(scope.get("app"), "state", None)
    cached = getattr(state, "security_headers", None)
    if cached is not None:
        return cached
    container = getattr(state, "container", None)
    if container is None:  # not started yet: the plain headers, not kept
        return _SECURITY_HEADERS
    tiles = urlsplit(container.settings.tile_url) if container.settings.tile_url else None
    csp = (
        CSP.replace(
            "img-src 'self' data:", f"img-src 'self' data: {tiles.scheme}://{tiles.netloc.replace('{s}.', '*.')}"
        )
        if tiles
        else CSP
    )
    cached = [
        (name, csp.encode("latin-1") if name == b"content-security-policy" else v) for name, v in _SECURITY_HEADERS
    ]
    state.security_headers = cached
    return cached


_negotiate = lru_cache(maxsize=256)(i18n.negotiate)  # browsers send the same few Accept-Language values


def secure_request(request: Request) -> bool:
    return _secure(request.scope.get("scheme", "http"), request.headers.get("x-forwarded-proto"))


def _secure(scheme: str, forwarded_proto: str | None) -> bool:
    return scheme == "https" or forwarded_proto == "https"


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
        started = time.perf_counter()
        found: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            if name in _READ and name not in found:
                found[name] = value
        cookies = cookie_parser(found[b"cookie"].decode("latin-1")) if b"cookie" in found else {}
        # A request id needs to be unique, not unguessable: no system call for it (`random` is reseeded in a fork).
        rid = found.get(b"x-request-id", b"")[:64].decode("latin-1") or f"{random.getrandbits(64):016x}"
        state: dict[str, Any] = scope.setdefault("state", {})
        path: str = scope["path"]
        static = path.startswith("/static/")
        user: SignedIn | None = None
        token = cookies.get(SESSION_COOKIE)
        state["session_unreadable"] = False
        if token and not static:
            sessions: WebSessions = scope["app"].state.container.sessions
            known, user = sessions.known(token)
            if not known:
                try:
                    user = await self._look_up(sessions, token)
                except UNAVAILABLE:  # the guard of any route that needs a person answers 503 (web/access.py)
                    state["session_unreadable"] = True
        state["user"] = user
        seed = cookies.get(CSRF_COOKIE)
        # The JSON API is called with keys, not from pages: it needs no form token, so no seed cookie either.
        seed_missing = not seed and not static and not path.startswith("/api/")
        state["new_csrf_seed"] = secrets.token_urlsafe(24) if seed_missing else ""
        accept_language = found.get(b"accept-language")
        locale = _negotiate(cookies.get(LANG_COOKIE), accept_language.decode("latin-1") if accept_language else None)
        forwarded_proto = found.get(b"x-forwarded-proto")
        secure = _secure(scope.get("scheme", "http"), forwarded_proto.decode("latin-1") if forwarded_proto else None)
        # Added to every response: the security headers unless the route set its own, and (replacing any the route
        # set) HSTS behind TLS and the request id; the new CSRF seed's cookie besides any the route set.
        owned = [(b"x-request-id", rid.encode("latin-1"))]
        if secure:
            owned.append(_HSTS_HEADER)
        if seed_missing:
            owned.append(
                (
                    b"set-cookie",
                    f"{CSRF_COOKIE}={state['new_csrf_seed']}; Path=/; HttpOnly; SameSite=Strict"
                    f"{'; Secure' if secure else ''}".encode("latin-1"),
                )
            )
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers, present = [], set()
                for name, value in message.get("headers", ()):
                    name = name.lower()
                    if name not in _OWNED:
                        headers.append((name, value))
                        present.add(name)
                headers += [header for header in security_headers(scope) if header[0] not in present]
                headers += owned
                message["headers"] = headers
            await send(message)

        bound = structlog.contextvars.bind_contextvars(request_id=rid)
        try:
            with i18n.use_locale(locale):
                await self.app(scope, receive, send_with_headers)
        finally:
            if not static:
                who = state.get("user")
                log.info(
                    "http.request",
                    method=scope["method"],
                    path=path,
                    status=status,
                    user=who.username if who else None,
                    ms=round((time.perf_counter() - started) * 1000, 1),
                )
            structlog.contextvars.reset_contextvars(**bound)

    async def _look_up(self, sessions: WebSessions, token: str) -> SignedIn | None:
        generation = sessions.generation
        lookup = self._lookups.get(token)
        if lookup is None or lookup[0] != generation:  # none running, or one that began before a session ended
            future = asyncio.ensure_future(run_in_threadpool(sessions.resolve, token))
            lookup = self._lookups[token] = (generation, future)
            future.add_done_callback(
                lambda _: self._lookups.pop(token, None) if self._lookups.get(token) is lookup else None
            )
        return await asyncio.shield(lookup[1])
