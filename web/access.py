"""Who may open which route. Every route declares its rule as a `Guard` dependency; the authorization
matrix test walks the app's route table and fails on a route without one.

A guard also checks the CSRF token of every state-changing request, so no form can skip that either."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated
from urllib.parse import quote

import structlog
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from domain.permissions import PERMISSIONS, Action
from domain.values import Role
from infrastructure.api_keys import ApiCaller, RateLimiter, Scope
from infrastructure.db import DatabaseUnavailable
from infrastructure.web_sessions import SignedIn

SESSION_COOKIE = "ssz_session"
CSRF_COOKIE = "ssz_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
PEOPLE = frozenset(r for r in Role if r is not Role.SYSTEM)


class SignInRequired(Exception):
    pass


class Forbidden(Exception):
    pass


class CsrfRefused(Exception):
    pass


def roles_for(*actions: Action) -> frozenset[Role]:
    """The roles whose permissions include any of these actions (the domain's rule, not a copy of it)."""
    return frozenset(r for r in PEOPLE if any(a in PERMISSIONS[r] for a in actions))


def csrf_token(request: Request) -> str:
    return csrf_token_of(request.app, request.cookies.get(CSRF_COOKIE) or request.state.new_csrf_seed)


def csrf_token_of(app: FastAPI, seed: str) -> str:
    """The CSRF token that goes with a browser's seed cookie (an HMAC of the seed under the app's secret)."""
    secret = app.state.container.settings.secret_key.get_secret_value().encode()
    return _csrf_token(secret, seed) if len(seed) <= 64 else _hmac_token(secret, seed)


def _hmac_token(secret: bytes, seed: str) -> str:
    return hmac.new(secret, b"csrf/" + seed.encode(), hashlib.sha256).hexdigest()[:40]


# A browser keeps its seed for the whole session: its token is computed once, not on every page and poll.
# (Seeds we issue are 32 characters; longer ones, which only a client of its own can send, are not kept.)
_csrf_token = lru_cache(maxsize=4096)(_hmac_token)


async def check_csrf(request: Request) -> None:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        try:
            sent = (await request.form()).get(CSRF_FIELD)
        except Exception:  # an unparsable body is refused like a missing token  # noqa: BLE001
            sent = None
    if (
        not request.cookies.get(CSRF_COOKIE)
        or not isinstance(sent, str)
        or not hmac.compare_digest(sent, csrf_token(request))
    ):
        raise CsrfRefused()


@dataclass(frozen=True)
class Guard:
    """`roles=None`: open to anyone (sign-in page, health); otherwise only signed-in people with these roles."""

    roles: frozenset[Role] | None

    async def __call__(self, request: Request) -> SignedIn | None:
        await check_csrf(request)
        user: SignedIn | None = request.state.user
        if self.roles is None:
            return user
        if request.state.session_unreadable:
            raise DatabaseUnavailable()
        if user is None:
            raise SignInRequired()
        if Role(user.role) not in self.roles:
            raise Forbidden()
        return user

    def admits(self, user: SignedIn | None) -> bool:
        """Whether this rule lets this user make a GET request (for which there is no CSRF token to check)."""
        return self.roles is None or (user is not None and Role(user.role) in self.roles)


def guard(*roles: Role) -> Guard:
    return Guard(frozenset(roles))


def guard_action(*actions: Action) -> Guard:
    return Guard(roles_for(*actions))


PUBLIC = Guard(None)
ANY_SIGNED_IN = Guard(PEOPLE)
OPERATIONS = guard(Role.DISPATCHER, Role.SUPERVISOR, Role.OFFICER)
READ_INCIDENTS = guard(Role.DISPATCHER, Role.SUPERVISOR, Role.OFFICER, Role.AUDITOR)
BOARD = guard(Role.DISPATCHER, Role.SUPERVISOR, Role.OFFICER, Role.AUDITOR)
UNITS = guard(Role.DISPATCHER, Role.SUPERVISOR, Role.OFFICER, Role.AUDITOR, Role.ADMIN)
ADMIN = guard_action(Action.MANAGE_USERS)

Public = Annotated[SignedIn | None, Depends(PUBLIC)]


def sign_in_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?next=" + quote(target, safe="")


def not_found(message: str) -> HTTPException:
    return HTTPException(status_code=404, detail=message)


# --- the JSON API (web/api): keys, not cookies ----------------------------------------------------------------
# An API route declares its rule with an `ApiGuard`: the scope its key must hold, and the roles its account may
# have (derived from the domain's permissions, as for the pages). The key comes in `Authorization: Bearer …`;
# cookies open nothing under /api, so there is no CSRF to check. A key's requests are rate-limited per process.


class ApiKeyRefused(Exception):
    """No key, or not a live key of an enabled account (401)."""


class ApiScopeRefused(Exception):
    """A live key, but its scopes (or its account's role) do not cover the route (403)."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class ApiRateLimited(Exception):
    def __init__(self, retry_after: float):
        super().__init__(f"retry after {retry_after:.1f} s")
        self.retry_after = retry_after


api_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    bearerFormat="ssz_…",
    description="An integration's API key, created by an administrator at /admin/api-keys.",
)


def _limiter(request: Request) -> RateLimiter:
    limiter = getattr(request.app.state, "api_limiter", None)
    if limiter is None:  # created on first use: the container may come from the lifespan
        settings = request.app.state.container.settings
        limiter = request.app.state.api_limiter = RateLimiter(settings.api_rate_per_second, settings.api_rate_burst)
    return limiter


@dataclass(frozen=True)
class ApiGuard:
    """`roles=None`: any account (routes that act as the system, like camera alerts)."""

    scope: Scope
    roles: frozenset[Role] | None

    async def __call__(
        self, request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(api_bearer)]
    ) -> ApiCaller:
        caller: ApiCaller | None = getattr(request.state, "api_caller", None)
        if caller is None:
            key = credentials.credentials if credentials is not None else None
            keys = request.app.state.container.api_keys
            # A key checked a moment ago is answered here; otherwise its lookup runs off the event loop.
            caller = keys.resolve_known(key) or (await run_in_threadpool(keys.resolve, key) if key else None)
            if caller is None:
                raise ApiKeyRefused()
            request.state.api_caller = caller
            structlog.contextvars.bind_contextvars(
                api_key=caller.prefix, api_integration=caller.name, api_account=caller.username
            )
            wait = _limiter(request).take(caller.key_id)
            if wait is not None:
                raise ApiRateLimited(wait)
        if self.scope not in caller.scopes:
            raise ApiScopeRefused(f"This API key's scopes do not include '{self.scope.value}'.")
        if self.roles is not None and caller.role not in self.roles:
            raise ApiScopeRefused(
                f"The integration's account ({caller.username}) has the role {caller.role.value}, "
                "which may not do this."
            )
        return caller


LIFECYCLE_ACTIONS = (
    Action.TRIAGE_INCIDENT,
    Action.DISPATCH_UNIT,
    Action.UPDATE_ASSIGNMENT,
    Action.RESOLVE_INCIDENT,
    Action.CLOSE_INCIDENT,
    Action.REOPEN_INCIDENT,
    Action.CANCEL_INCIDENT,
    Action.ADD_NOTE,
)
API_INTAKE = ApiGuard(Scope.INTAKE, roles_for(Action.REPORT_INCIDENT))
API_ALERTS = ApiGuard(Scope.ALERTS, None)  # raised as the system actor, like the camera workers do
API_READ = ApiGuard(Scope.READ, READ_INCIDENTS.roles)
# Camera set-up: administrators change zones and rules (the domain's rule); supervisors read them too.
API_CAMERA_SETUP = ApiGuard(Scope.CAMERAS, roles_for(Action.MANAGE_CAMERAS))
API_CAMERA_READ = ApiGuard(Scope.CAMERAS, roles_for(Action.MANAGE_CAMERAS) | {Role.SUPERVISOR})


def api_action(action: Action) -> ApiGuard:
    return ApiGuard(Scope.LIFECYCLE, roles_for(action))


# Which accounts' roles can use each scope at all (a key is not given a scope its account could never use).
API_SCOPE_ROLES: dict[Scope, frozenset[Role] | None] = {
    Scope.INTAKE: API_INTAKE.roles,
    Scope.ALERTS: None,
    Scope.LIFECYCLE: roles_for(*LIFECYCLE_ACTIONS),
    Scope.READ: API_READ.roles,
    Scope.CONTACTS: roles_for(Action.READ_REPORTER_CONTACT),
    Scope.CAMERAS: API_CAMERA_READ.roles,
}


def unusable_scopes(role: Role, scopes: frozenset[Scope]) -> list[Scope]:
    return [s for s in Scope if s in scopes and API_SCOPE_ROLES[s] is not None and role not in API_SCOPE_ROLES[s]]
