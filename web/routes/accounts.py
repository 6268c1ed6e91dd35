"""The administrator's page: create accounts, change roles, disable and enable, reset passwords, and the
record of sign-ins. Every change is a UserAccount event; disabling also ends the person's sessions."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from application.zone import CommandResult
from domain.errors import DomainError
from domain.values import Role
from infrastructure.web_sessions import SignedIn
from web import i18n
from web.access import ADMIN
from web.forms import Form
from web.pages import render

router = APIRouter(include_in_schema=False)  # HTML pages: not part of the API description
Admin = Annotated[SignedIn, Depends(ADMIN)]


def _page(request: Request, *, status_code: int = 200, errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
          notice: str = "", one_time_password: str = "") -> Response:
    container = request.app.state.container
    return render(request, "admin/users.html", status_code=status_code, users=container.reads.users(),
                  logons=container.logons.recent(50), errors=errors or {}, values=values or {}, notice=notice,
                  one_time_password=one_time_password)


@router.get("/admin/users")
def users_page(request: Request, user: Admin) -> Response:
    return _page(request)


async def _account_command(request: Request, command: Callable[[Form], tuple[CommandResult, str] | None],
                           done: str, secret: str = "") -> Response:
    form = Form(await request.form())
    container = request.app.state.container
    outcome = None
    if form.ok:
        try:
            outcome = await run_in_threadpool(command, form)
        except DomainError as error:
            form.refuse(error)
    if outcome is None:
        values = {k: form.raw(k) for k in ("username", "display_name", "role")}
        return await run_in_threadpool(lambda: _page(request, status_code=422, errors=form.errors, values=values))
    result, who = outcome
    await run_in_threadpool(container.projections.wait, result.notification_id, timeout=2.0)
    return await run_in_threadpool(lambda: _page(request, notice=done % {"who": who}, one_time_password=secret))


@router.post("/admin/users")
async def create_user(request: Request, user: Admin) -> Response:
    password = secrets.token_urlsafe(9)

    def command(form: Form) -> tuple[CommandResult, str] | None:
        username, name, role = form.text("username", required=True), form.text("display_name", required=True), form.choice("role", Role)
        if not form.ok:
            return None
        return request.app.state.container.app.create_user(username=username, display_name=name, role=role, password=password,
                                                           by=user.user_id), username
    return await _account_command(request, command, i18n.gettext("Account %(who)s created. Give the person this one-time password:"),
                                  secret=password)


@router.post("/admin/users/{user_id}/role")
async def change_role(request: Request, user_id: UUID, user: Admin) -> Response:
    def command(form: Form) -> tuple[CommandResult, str] | None:
        role, reason = form.choice("role", Role), form.text("reason", required=True)
        if not form.ok:
            return None
        return request.app.state.container.app.change_user_role(user_id, role=role, reason=reason, by=user.user_id), str(user_id)
    return await _account_command(request, command, i18n.gettext("Role changed."))


@router.post("/admin/users/{user_id}/disable")
async def disable(request: Request, user_id: UUID, user: Admin) -> Response:
    def command(form: Form) -> tuple[CommandResult, str] | None:
        reason = form.text("reason", required=True)
        if not form.ok:
            return None
        container = request.app.state.container
        result = container.app.disable_user(user_id, reason=reason, by=user.user_id)
        container.sessions.end_all(user_id)
        return result, str(user_id)
    return await _account_command(request, command, i18n.gettext("Account disabled; its sessions have ended."))


@router.post("/admin/users/{user_id}/enable")
async def enable(request: Request, user_id: UUID, user: Admin) -> Response:
    def command(form: Form) -> tuple[CommandResult, str] | None:
        reason = form.text("reason", required=True)
        if not form.ok:
            return None
        return request.app.state.container.app.enable_user(user_id, reason=reason, by=user.user_id), str(user_id)
    return await _account_command(request, command, i18n.gettext("Account enabled."))


@router.post("/admin/users/{user_id}/reset-password")
async def reset_password(request: Request, user_id: UUID, user: Admin) -> Response:
    password = secrets.token_urlsafe(9)

    def command(form: Form) -> tuple[CommandResult, str] | None:
        reason = form.text("reason", required=True)
        if not form.ok:
            return None
        container = request.app.state.container
        result = container.app.reset_password(user_id, new_password=password, reason=reason, by=user.user_id)
        container.sessions.end_all(user_id)
        return result, str(user_id)
    return await _account_command(request, command, i18n.gettext("Password reset. Give the person this one-time password:"),
                                  secret=password)
