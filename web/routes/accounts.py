"""The administrator's pages: create accounts, change roles, disable and enable, reset passwords, and the
record of sign-ins; and the integrations' API keys. Every account change is a UserAccount event; disabling
also ends the person's sessions."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from application.zone import CommandResult
from domain.errors import DomainError
from domain.values import Role
from infrastructure.api_keys import ACCOUNT_PREFIX, ADMIN_SCOPES, IssuedKey, Scope, issue_key
from web import flash, i18n
from web.access import unusable_scopes
from web.deps import Admin, Zone, container_of
from web.forms import READ_YOUR_WRITES_SECONDS, Form, submit
from web.i18n import N_
from web.pages import label, render

router = APIRouter(include_in_schema=False)  # HTML pages: not part of the API description


def _page(
    request: Request,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    notice: str = "",
    one_time_password: str = "",
) -> Response:
    container = container_of(request)
    return render(
        request,
        "admin/users.html",
        status_code=status_code,
        users=container.reads.users(),
        logons=container.logons.recent(50),
        errors=errors or {},
        values=values or {},
        notice=notice,
        one_time_password=one_time_password,
    )


USERS, API_KEYS = "/admin/users", "/admin/api-keys"


def _done(request: Request, page: str, **message: str) -> Response:
    """Post, then redirect: the page is reloaded or switched to another language as a page, and what the action
    said (a one-time password, a new key) is shown once, on it."""
    response = RedirectResponse(page, status_code=303)
    flash.put(request, response, page, **message)
    return response


def _no_store(response: Response) -> Response:
    response.headers["cache-control"] = "no-store"  # a one-time password or a key may be on it
    return response


@router.get(USERS)
def users_page(request: Request, user: Admin) -> Response:
    said = flash.take(request, holder := Response(), USERS)
    response = _page(request, notice=said.get("notice", ""), one_time_password=said.get("secret", ""))
    response.raw_headers.extend(h for h in holder.raw_headers if h[0] == b"set-cookie")
    return _no_store(response)


async def _account_command(
    request: Request, command: Callable[[Form], tuple[CommandResult, str] | None], done: str, secret: str = ""
) -> Response:
    form, outcome = await submit(request, command)
    if outcome is None:
        values = {k: form.raw(k) for k in ("username", "display_name", "role")}
        return await run_in_threadpool(lambda: _page(request, status_code=422, errors=form.errors, values=values))
    return _done(request, USERS, notice=done % {"who": outcome[1]}, secret=secret)


@router.post("/admin/users")
async def create_user(request: Request, zone: Zone, user: Admin) -> Response:
    password = secrets.token_urlsafe(9)

    def command(form: Form) -> tuple[CommandResult, str] | None:
        username, name, role = (
            form.text("username", required=True),
            form.text("display_name", required=True),
            form.choice("role", Role),
        )
        if role is Role.ADMIN and username.lower().startswith(ACCOUNT_PREFIX):
            form.fail("role", _integration_admin())
        if not form.ok:
            return None
        return zone.app.create_user(
            username=username, display_name=name, role=role, password=password, by=user.user_id, one_time=True
        ), username

    return await _account_command(
        request,
        command,
        i18n.gettext("Account %(who)s created. Give the person this one-time password:"),
        secret=password,
    )


def _integration_admin() -> str:
    return i18n.gettext("An integration's account (api-…) cannot be an administrator.")


def _is_integration(request: Request, user_id: UUID) -> bool:
    return any(
        str(u["id"]) == str(user_id) and u["username"].startswith(ACCOUNT_PREFIX)
        for u in container_of(request).reads.users()
    )


@router.post("/admin/users/{user_id}/role")
async def change_role(request: Request, zone: Zone, user_id: UUID, user: Admin) -> Response:
    def command(form: Form) -> tuple[CommandResult, str] | None:
        role, reason = form.choice("role", Role), form.text("reason", required=True)
        if role is Role.ADMIN and _is_integration(request, user_id):
            form.fail("role", _integration_admin())
        if not form.ok:
            return None
        return zone.app.change_user_role(user_id, role=role, reason=reason, by=user.user_id), str(user_id)

    return await _account_command(request, command, i18n.gettext("Role changed."))


@router.post("/admin/users/{user_id}/disable")
async def disable(request: Request, zone: Zone, user_id: UUID, user: Admin) -> Response:
    def command(form: Form) -> tuple[CommandResult, str] | None:
        reason = form.text("reason", required=True)
        if not form.ok:
            return None
        container = zone
        result = container.app.disable_user(user_id, reason=reason, by=user.user_id)
        container.sessions.end_all(user_id)
        return result, str(user_id)

    return await _account_command(request, command, i18n.gettext("Account disabled; its sessions have ended."))


@router.post("/admin/users/{user_id}/enable")
async def enable(request: Request, zone: Zone, user_id: UUID, user: Admin) -> Response:
    def command(form: Form) -> tuple[CommandResult, str] | None:
        reason = form.text("reason", required=True)
        if not form.ok:
            return None
        return zone.app.enable_user(user_id, reason=reason, by=user.user_id), str(user_id)

    return await _account_command(request, command, i18n.gettext("Account enabled."))


@router.post("/admin/users/{user_id}/reset-password")
async def reset_password(request: Request, zone: Zone, user_id: UUID, user: Admin) -> Response:
    password = secrets.token_urlsafe(9)

    def command(form: Form) -> tuple[CommandResult, str] | None:
        reason = form.text("reason", required=True)
        if not form.ok:
            return None
        container = zone
        result = container.app.reset_password(
            user_id, new_password=password, reason=reason, by=user.user_id, one_time=True
        )
        container.sessions.end_all(user_id)
        return result, str(user_id)

    return await _account_command(
        request, command, i18n.gettext("Password reset. Give the person this one-time password:"), secret=password
    )


# --- the integrations' API keys -----------------------------------------------------------------------------------
# One key per integration, acting as the integration's own account (created here with a role, or an existing
# `api-…` account for a second key, e.g. to rotate). The key is shown once; revoking it refuses it at once.
SCOPE_HELP = {
    Scope.INTAKE: N_("report incidents"),
    Scope.ALERTS: N_("raise camera alerts"),
    Scope.LIFECYCLE: N_("act on incidents"),
    Scope.READ: N_("read incidents and timelines"),
    Scope.CONTACTS: N_("read reporters' names and phones"),
    Scope.CAMERAS: N_("cameras' zones and rules: read (supervisors), set up (administrators)"),
}


def _keys_page(
    request: Request,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, object] | None = None,
    notice: str = "",
    issued: IssuedKey | None = None,
) -> Response:
    container = container_of(request)
    accounts = [u for u in container.reads.users(enabled_only=True) if u["username"].startswith(ACCOUNT_PREFIX)]
    return render(
        request,
        "admin/api_keys.html",
        status_code=status_code,
        keys=container.api_keys.listing(),
        accounts=accounts,
        scopes=[(s.value, SCOPE_HELP[s]) for s in Scope],
        errors=errors or {},
        values=values or {},
        notice=notice,
        issued=issued,
    )


@router.get(API_KEYS)
def api_keys_page(request: Request, user: Admin) -> Response:
    said = flash.take(request, holder := Response(), API_KEYS)
    issued = IssuedKey(UUID(int=0), said["key"], UUID(int=0), said.get("username", "")) if said.get("key") else None
    response = _keys_page(request, notice=said.get("notice", ""), issued=issued)
    response.raw_headers.extend(h for h in holder.raw_headers if h[0] == b"set-cookie")
    return _no_store(response)


@router.post("/admin/api-keys")
async def create_api_key(request: Request, zone: Zone, user: Admin) -> Response:
    form = Form(await request.form())
    container = zone
    name = form.text("name", required=True)
    chosen = [str(v) for v in form.data.getlist("scope")]
    scopes = frozenset(Scope(v) for v in chosen if v in {s.value for s in Scope})
    if len(scopes) != len(set(chosen)) or not scopes:
        form.fail("scope", i18n.gettext("Choose at least one scope."))
    account = form.raw("account").strip()
    role = None
    if account:
        known = {
            u["username"]: Role(u["role"]) for u in await run_in_threadpool(container.reads.users, enabled_only=True)
        }
        role = known.get(account)
        if role is None or not account.startswith(ACCOUNT_PREFIX):
            form.fail("account", i18n.gettext("Please choose one of the options."))
    else:
        role = form.choice("role", Role)
    if role is Role.ADMIN and not scopes <= ADMIN_SCOPES:  # only camera set-up needs an administrator
        form.fail("account" if account else "role", _integration_admin())
    if form.ok and role is not None and (unusable := unusable_scopes(role, scopes)):
        form.fail(
            "scope",
            i18n.gettext("An account with the role %(role)s cannot use: %(scopes)s.")
            % {"role": label("role", role), "scopes": ", ".join(s.value for s in unusable)},
        )
    issued = None
    if form.ok:
        try:
            issued = await run_in_threadpool(
                lambda: issue_key(
                    container.app,
                    container.api_keys,
                    name=name,
                    scopes=scopes,
                    by=user.user_id,
                    role=None if account else role,
                    account=account or None,
                    wait=lambda n: container.read_side.wait(n, timeout=READ_YOUR_WRITES_SECONDS),
                )
            )
        except DomainError as error:
            form.refuse(error)
    if issued is None:
        values = {"name": form.raw("name"), "scopes": set(chosen), "account": account, "role": form.raw("role")}
        return await run_in_threadpool(lambda: _keys_page(request, status_code=422, errors=form.errors, values=values))
    notice = i18n.gettext(
        "API key for %(name)s created, acting as %(account)s. Give the integration this key now; it is not shown again:"
    ) % {"name": name, "account": issued.username}
    return _done(request, API_KEYS, notice=notice, key=issued.key, username=issued.username)


@router.post("/admin/api-keys/{key_id}/revoke")
async def revoke_api_key(request: Request, zone: Zone, key_id: UUID, user: Admin) -> Response:
    form = Form(await request.form())
    container = zone
    reason = form.text("reason", required=True)
    if form.ok:
        try:
            revoked = await run_in_threadpool(lambda: container.api_keys.revoke(key_id, reason=reason, by=user.user_id))
            notice = i18n.gettext("API key %(name)s revoked; it is refused from now on.") % {"name": revoked["name"]}
            return _done(request, API_KEYS, notice=notice)
        except DomainError as error:
            form.refuse(error)
    return await run_in_threadpool(lambda: _keys_page(request, status_code=422, errors=form.errors))
