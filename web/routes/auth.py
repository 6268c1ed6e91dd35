"""Signing in and out, the language switch, and each role's home page."""

from __future__ import annotations

import math
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from domain.errors import DomainError
from domain.values import Role
from infrastructure.web_sessions import SESSION_LIFETIME
from web import i18n
from web.access import SESSION_COOKIE, Public
from web.deps import SignedInPerson, Zone, container_of
from web.forms import Form
from web.middleware import LANG_COOKIE, secure_request
from web.pages import render

router = APIRouter(include_in_schema=False)  # HTML pages: not part of the API description

HOME = {
    Role.DISPATCHER: "/board",
    Role.SUPERVISOR: "/board",
    Role.OFFICER: "/my",
    Role.AUDITOR: "/incidents",
    Role.ADMIN: "/admin/users",
    Role.PARTNER: "/reports",
}


def local_target(target: str | None, fallback: str) -> str:
    """Only a path on this site: never an open redirect."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")) and len(target) < 500:
        return target
    return fallback


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/")
def home(user: SignedInPerson) -> RedirectResponse:
    return RedirectResponse(HOME[Role(user.role)], status_code=303)


@router.get("/login")
def login_page(request: Request, user: Public, next: str = "") -> Response:
    if user is not None:
        return RedirectResponse(local_target(next, HOME[Role(user.role)]), status_code=303)
    return render(request, "login.html", next=local_target(next, ""), errors={}, username="")


@router.post("/login")
async def login(request: Request, zone: Zone, _: Public) -> Response:
    form = Form(await request.form())
    username, password = form.text("username")[:64], form.raw("password")[:1000]
    target = form.raw("next")
    container = zone
    ip = client_ip(request)

    def refuse(status: int, message: str) -> Response:
        return render(
            request,
            "login.html",
            status_code=status,
            next=local_target(target, ""),
            username=username,
            errors={"_": message},
        )

    attempt, wait = await run_in_threadpool(container.logons.admit, username, ip)  # counted before the check
    if wait is not None:
        minutes = max(1, math.ceil(wait.total_seconds() / 60))
        response = refuse(
            429,
            i18n.ngettext(
                "Too many failed sign-ins. Try again in %(num)d minute.",
                "Too many failed sign-ins. Try again in %(num)d minutes.",
                minutes,
            )
            % {"num": minutes},
        )
        response.headers["retry-after"] = str(math.ceil(wait.total_seconds()))
        return response
    actor = await run_in_threadpool(container.app.authenticate, username, password) if username and password else None
    if actor is None:
        await run_in_threadpool(container.logons.finish, attempt, username, ip, accepted=False, cause="bad_password")
        return refuse(401, i18n.gettext("Wrong username or password, or the account is disabled."))
    if await run_in_threadpool(container.app.must_choose_password, actor.user_id):
        # A one-time password opens no session: it is replaced by one of the person's own first, so it works once.
        chosen = await _choose_password(request, form, actor.user_id, password)
        if chosen is not None:
            await run_in_threadpool(
                container.logons.finish, attempt, username, ip, accepted=False, cause="must_choose_password"
            )
            return chosen
    token = await run_in_threadpool(
        container.sessions.start, actor.user_id, ip=ip, user_agent=request.headers.get("user-agent", "")
    )
    await run_in_threadpool(
        container.logons.finish, attempt, username, ip, accepted=True, cause="ok", user_id=actor.user_id
    )
    response = RedirectResponse(local_target(target, HOME[actor.role]), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=secure_request(request),
        path="/",
    )
    return response


@router.post("/logout")
def logout(request: Request, zone: Zone, user: SignedInPerson) -> Response:
    zone.sessions.end(request.cookies[SESSION_COOKIE])
    zone.logons.record(user.username, client_ip(request), accepted=True, cause="logout", user_id=user.user_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/lang")
async def set_language(request: Request, _: Public) -> Response:
    form = Form(await request.form())
    lang = form.raw("lang")
    response = RedirectResponse(local_target(form.raw("next"), "/"), status_code=303)
    if lang in i18n.LOCALES:
        response.set_cookie(
            LANG_COOKIE,
            lang,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="lax",
            secure=secure_request(request),
            path="/",
        )
    return response


def _refuse_new_password(form: Form, error: DomainError) -> None:
    """The rule on any password names the field "password"; on these pages it is the new one."""
    if error.field == "password":
        form.fail("new_password", i18n.current().error(error))
    else:
        form.refuse(error)


async def _choose_password(request: Request, form: Form, user_id: UUID, one_time: str) -> Response | None:
    """The sign-in's second step for a one-time password: None once the person's own password is set."""
    new, again = form.raw("new_password")[:1000], form.raw("new_password_again")[:1000]
    errors: dict[str, str] = {}
    if new or again:
        if new != again:
            errors["new_password_again"] = i18n.gettext("The two new passwords are not the same.")
        else:
            try:
                await run_in_threadpool(
                    container_of(request).app.change_own_password, user_id, current=one_time, new=new
                )
                return None
            except DomainError as error:
                _refuse_new_password(form, error)
                errors = form.errors
    response = render(
        request,
        "login.html",
        status_code=422 if errors else 200,
        next=local_target(form.raw("next"), ""),
        username=form.text("username")[:64],
        one_time=one_time,
        errors=errors,
    )
    response.headers["cache-control"] = "no-store"  # it carries the one-time password to the next step
    return response


@router.get("/account")
def account(request: Request, user: SignedInPerson) -> Response:
    return _account_page(request, changed=request.query_params.get("changed") == "1")


def _account_page(
    request: Request, *, status_code: int = 200, errors: dict | None = None, changed: bool = False
) -> Response:
    response = render(request, "account.html", status_code=status_code, errors=errors or {}, changed=changed)
    response.headers["cache-control"] = "no-store"
    return response


@router.post("/account/password")
async def change_password(request: Request, zone: Zone, user: SignedInPerson) -> Response:
    """The person's own password: the current one proves it is them; their sessions elsewhere end."""
    form = Form(await request.form())
    current, new, again = (form.raw(k)[:1000] for k in ("current_password", "new_password", "new_password_again"))
    if not current:
        form.fail("current_password", i18n.gettext("Please fill this in."))
    if new != again:
        form.fail("new_password_again", i18n.gettext("The two new passwords are not the same."))
    if form.ok:
        try:
            await run_in_threadpool(zone.app.change_own_password, user.user_id, current=current, new=new)
        except DomainError as error:
            _refuse_new_password(form, error)
    if not form.ok:
        return await run_in_threadpool(lambda: _account_page(request, status_code=422, errors=form.errors))
    await run_in_threadpool(zone.sessions.end_all, user.user_id, keep=request.cookies.get(SESSION_COOKIE))
    return RedirectResponse("/account?changed=1", status_code=303)
