"""Who may open which route. Every route declares its rule as a `Guard` dependency; the authorization
matrix test walks the app's route table and fails on a route without one.

A guard also checks the CSRF token of every state-changing request, so no form can skip that either."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request

from domain.permissions import PERMISSIONS, Action
from domain.values import Role
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
    seed = request.cookies.get(CSRF_COOKIE) or request.state.new_csrf_seed
    secret = request.app.state.container.settings.secret_key.get_secret_value().encode()
    return hmac.new(secret, b"csrf/" + seed.encode(), hashlib.sha256).hexdigest()[:40]


async def check_csrf(request: Request) -> None:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        try:
            sent = (await request.form()).get(CSRF_FIELD)
        except Exception:  # an unparsable body is refused like a missing token  # noqa: BLE001
            sent = None
    if not request.cookies.get(CSRF_COOKIE) or not isinstance(sent, str) or not hmac.compare_digest(sent, csrf_token(request)):
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
        if user is None:
            raise SignInRequired()
        if Role(user.role) not in self.roles:
            raise Forbidden()
        return user


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
