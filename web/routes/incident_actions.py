"""An incident's lifecycle actions: triage, dispatch, a unit en route, on scene and cleared, resolve, close, reopen,
cancel (a duplicate names the incident it repeats) and notes. Each reads its form and calls one application command
through `act_on_incident` (web/routes/incidents.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response

from application.zone import CommandResult
from domain.incident import Incident
from domain.values import CancelReason, Category, Outcome, Priority
from web import i18n
from web.deps import (
    Canceller,
    Closer,
    Crew,
    Dispatcher,
    NoteTaker,
    Reopener,
    Resolver,
    Triager,
    Zone,
    container_of,
)
from web.forms import Form
from web.incident_view import REFERENCE, act_on_incident

router = APIRouter(include_in_schema=False)


def _version(form: Form) -> int | None:
    return form.version()


@router.post("/incidents/{reference}/triage")
async def triage(request: Request, zone: Zone, reference: str, user: Triager) -> Response:
    def command(form: Form, incident: dict[str, Any]) -> CommandResult | None:
        category, priority = form.choice("category", Category), form.choice("priority", Priority)
        reason, version = form.text("reason", required=True), _version(form)
        if not form.ok:
            return None
        return zone.app.triage_incident(
            incident["id"],
            category=category,
            priority=priority,
            reason=reason,
            by=user.user_id,
            expected_version=version,
        )

    return await act_on_incident(request, user, reference, "triage", command)


@router.post("/incidents/{reference}/dispatch")
async def dispatch(request: Request, reference: str, user: Dispatcher) -> Response:
    def command(form: Form, incident: dict[str, Any]) -> CommandResult | None:
        unit_ids, reassign, reason, version = (
            form.uuids("unit_id"),
            form.flag("reassign"),
            form.text("reason"),
            _version(form),
        )
        if not unit_ids:
            form.fail("unit_id", i18n.gettext("Please choose at least one unit."))
        if not form.ok:
            return None
        return container_of(request).app.dispatch_units(
            incident["id"], unit_ids, reassign=reassign, reason=reason, by=user.user_id, expected_version=version
        )

    return await act_on_incident(request, user, reference, "dispatch", command)


def _unit_step(step: str) -> Callable[..., Any]:
    async def progress(request: Request, reference: str, unit_id: UUID, user: Crew) -> Response:
        def command(form: Form, incident: dict[str, Any]) -> CommandResult | None:
            app = container_of(request).app
            if step == "en-route":
                return app.mark_en_route(incident["id"], unit_id, by=user.user_id)
            if step == "on-scene":
                return app.mark_on_scene(incident["id"], unit_id, by=user.user_id)
            return app.clear_unit(incident["id"], unit_id, reason=form.text("reason"), by=user.user_id)

        return await act_on_incident(request, user, reference, step, command)

    progress.__name__ = f"unit_{step.replace('-', '_')}"
    return progress


for _step in ("en-route", "on-scene", "clear"):
    router.add_api_route(f"/incidents/{{reference}}/units/{{unit_id}}/{_step}", _unit_step(_step), methods=["POST"])


@router.post("/incidents/{reference}/resolve")
async def resolve(request: Request, zone: Zone, reference: str, user: Resolver) -> Response:
    def command(form: Form, incident: dict[str, Any]) -> CommandResult | None:
        outcome, summary, version = form.choice("outcome", Outcome), form.text("summary", required=True), _version(form)
        if not form.ok:
            return None
        return zone.app.resolve_incident(
            incident["id"], outcome=outcome, summary=summary, by=user.user_id, expected_version=version
        )

    return await act_on_incident(request, user, reference, "resolve", command)


@router.post("/incidents/{reference}/close")
async def close(request: Request, zone: Zone, reference: str, user: Closer) -> Response:
    def command(form: Form, incident: dict[str, Any]) -> CommandResult | None:
        reason, version = form.text("reason"), _version(form)
        if not form.ok:
            return None
        return zone.app.close_incident(incident["id"], reason=reason, by=user.user_id, expected_version=version)

    return await act_on_incident(request, user, reference, "close", command)


@router.post("/incidents/{reference}/reopen")
async def reopen(request: Request, zone: Zone, reference: str, user: Reopener) -> Response:
    def command(form: Form, incident: dict[str, Any]) -> CommandResult | None:
        reason, version = form.text("reason", required=True), _version(form)
        if not form.ok:
            return None
        return zone.app.reopen_incident(incident["id"], reason=reason, by=user.user_id, expected_version=version)

    return await act_on_incident(request, user, reference, "reopen", command)


@router.post("/incidents/{reference}/cancel")
async def cancel(request: Request, zone: Zone, reference: str, user: Canceller) -> Response:
    def command(form: Form, incident: dict[str, Any]) -> CommandResult | None:
        why, note, version = form.choice("cancel_reason", CancelReason), form.text("note"), _version(form)
        original = form.text("duplicate_of").upper()
        duplicate_of = None
        if original:
            if not REFERENCE.match(original):
                form.fail("duplicate_of", i18n.gettext("Give the other incident's reference, like CR-2569-000123."))
            else:
                duplicate_of = Incident.id_for(original)
                if zone.reads.incident(duplicate_of) is None:
                    form.fail(
                        "duplicate_of", i18n.gettext("There is no incident %(reference)s.") % {"reference": original}
                    )
        if not form.ok:
            return None
        return zone.app.cancel_incident(
            incident["id"],
            cancel_reason=why,
            note=note,
            duplicate_of=duplicate_of,
            by=user.user_id,
            expected_version=version,
        )

    return await act_on_incident(request, user, reference, "cancel", command)


@router.post("/incidents/{reference}/notes")
async def add_note(request: Request, zone: Zone, reference: str, user: NoteTaker) -> Response:
    def command(form: Form, incident: dict[str, Any]) -> CommandResult | None:
        text = form.text("text", required=True)
        if not form.ok:
            return None
        return zone.app.add_incident_note(incident["id"], text=text, by=user.user_id)

    return await act_on_incident(request, user, reference, "note", command)
