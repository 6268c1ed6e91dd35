"""Reporters' personal data in the pages: the incident page's "show contact" (a reason asked, the reading recorded,
the contact shown once and kept in no cache), the reports made from a phone number (/search/phone), the auditors'
list of every reading (/audit/personal-data, with its CSV), and the administrators' PDPA erasure requests
(/admin/pdpa): recorded, decided, carried out, with a printable receipt in Thai and English."""

from __future__ import annotations

import csv
import io
import socket
from datetime import datetime, time, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from domain.errors import DomainError
from domain.permissions import Action
from domain.personal_data import (
    ContactReadPurpose,
    ErasureChannel,
    ErasureRequester,
    ErasureStatus,
    LegalBasis,
)
from domain.values import BANGKOK, Role
from infrastructure.readmodels.personal_data import PersonalDataReads, ReadFilter
from infrastructure.web_sessions import SignedIn
from web import i18n
from web import personal_data_labels as _labels  # noqa: F401 — registers the labels the templates use
from web.access import guard, guard_action, not_found
from web.deps import container_of
from web.forms import Form, read_your_writes
from web.incident_view import incident_or_404, render_incident
from web.pages import fragment, render

router = APIRouter(include_in_schema=False)
NO_STORE = "no-store"
ContactReader = Annotated[SignedIn, Depends(guard_action(Action.READ_REPORTER_CONTACT))]
PdpaAdmin = Annotated[SignedIn, Depends(guard_action(Action.ERASE_PERSONAL_DATA))]
# Who read personal data: the auditors' question; supervisors and administrators read it too. Never the contacts.
ReadingsAuditor = Annotated[SignedIn, Depends(guard(Role.AUDITOR, Role.SUPERVISOR, Role.ADMIN))]
HOST = socket.gethostname()
READS_PAGE = 200


def source_of(request: Request) -> str:
    """Where a reading came from: the client's address (as the proxy gave it, see README) and the server."""
    client = request.client.host if request.client else "unknown"
    return f"web {client} via {HOST}"


def _no_store(response: Response) -> Response:
    response.headers["cache-control"] = NO_STORE
    return response


# --- the incident page's "show contact" -------------------------------------------------------------------------
@router.post("/incidents/{reference}/contact")
async def show_contact(reference: str, request: Request, user: ContactReader) -> Response:
    incident = await run_in_threadpool(incident_or_404, request, reference)
    form = Form(await request.form())
    purpose = form.choice("purpose", ContactReadPurpose)
    reason = form.text("reason", required=purpose is ContactReadPurpose.OTHER)
    shown = None
    if form.ok:
        try:
            shown = await run_in_threadpool(
                lambda: container_of(request).app.read_contact(
                    incident["id"], by=user.user_id, purpose=purpose, reason=reason, source=source_of(request)
                )
            )
        except DomainError as error:
            form.refuse(error)
    if not form.ok:
        return await run_in_threadpool(
            lambda: render_incident(request, user, incident, status_code=422, errors=form.errors, open_form="contact")
        )
    contact = {"none": True} if shown is None else {"name": shown.name, "phone": shown.phone, "erased": shown.erased}
    return await run_in_threadpool(lambda: render_incident(request, user, incident, contact=contact))


# --- the reports made from a phone number -----------------------------------------------------------------------
@router.get("/search/phone")
def phone_search_form(request: Request, user: ContactReader) -> Response:
    return _no_store(render(request, "personal_data/phone.html", errors={}, values={}, found=None))


@router.post("/search/phone")
async def phone_search(request: Request, user: ContactReader) -> Response:
    form = Form(await request.form())
    phone = form.text("phone", required=True)
    purpose = form.choice("purpose", ContactReadPurpose)
    reason = form.text("reason", required=purpose is ContactReadPurpose.OTHER)
    found = None
    if form.ok:
        try:
            found = await run_in_threadpool(
                lambda: container_of(request).app.find_contacts_by_phone(
                    phone, by=user.user_id, purpose=purpose, reason=reason, source=source_of(request)
                )
            )
        except DomainError as error:
            form.refuse(error)
    values = {"purpose": form.raw("purpose"), "reason": reason}  # the number itself is not echoed back
    return _no_store(
        render(
            request,
            "personal_data/phone.html",
            status_code=200 if form.ok else 422,
            errors=form.errors,
            values=values,
            found=found,
        )
    )


# --- who read personal data (auditors) --------------------------------------------------------------------------
def _reads_filter(request: Request, form: Form) -> ReadFilter:
    zone = container_of(request)
    username = form.text("person").lower()
    reader_id = None
    if username:
        match = [u for u in zone.reads.users() if u["username"] == username]
        if not match:
            form.fail("person", i18n.gettext("There is no account with this username."))
        else:
            reader_id = match[0]["id"]
    purpose = form.raw("purpose").strip()
    if purpose and purpose not in {p.value for p in ContactReadPurpose}:
        form.fail("purpose", i18n.gettext("Please choose one of the options."))
    reference = form.text("incident").upper()[:40]
    since, until = form.day("from"), form.day("to")
    if since and until and until < since:
        form.fail("to", i18n.gettext("The end of the period comes before its start."))
    return ReadFilter(
        reader_id=reader_id,
        reference=reference,
        purpose=purpose,
        since=datetime.combine(since, time(0), BANGKOK) if since else None,
        until=datetime.combine(until, time(0), BANGKOK) + timedelta(days=1) if until else None,
    )


@router.get("/audit/personal-data")
def contact_readings(request: Request, user: ReadingsAuditor) -> Response:
    form = Form(request.query_params)  # type: ignore[arg-type]
    where = _reads_filter(request, form)
    page = form.integer("page", required=False, low=1, high=100_000) or 1
    rows, total = ([], 0)
    if form.ok:
        rows, total = PersonalDataReads(container_of(request).engine).contact_reads(
            where, limit=READS_PAGE, offset=(page - 1) * READS_PAGE
        )
    names = container_of(request).reads.user_names(r["reader_id"] for r in rows)
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    return render(
        request,
        "personal_data/readings.html",
        status_code=200 if form.ok else 422,
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // READS_PAGE)),
        names=names,
        errors=form.errors,
        params=request.query_params,
        query=query,
    )


@router.get("/audit/personal-data/csv")
def contact_readings_csv(request: Request, user: ReadingsAuditor) -> Response:
    form = Form(request.query_params)  # type: ignore[arg-type]
    where = _reads_filter(request, form)
    if not form.ok:
        return render(
            request,
            "error.html",
            status_code=422,
            title=i18n.gettext("Not done"),
            message=" ".join(form.errors.values()),
        )
    reads = PersonalDataReads(container_of(request).engine)
    rows, _ = reads.contact_reads(where, limit=1_000_000)
    names = container_of(request).reads.user_names(r["reader_id"] for r in rows)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "read_at",
            "recorded_at",
            "reader",
            "reader_id",
            "role",
            "what",
            "incidents",
            "purpose",
            "reason",
            "source",
            "outcome",
            "read_id",
        ]
    )
    for r in rows:
        writer.writerow(
            [
                r["occurred_at"].isoformat(),
                r["recorded_at"].isoformat(),
                names.get(r["reader_id"], ""),
                str(r["reader_id"]),
                r["reader_role"],
                r["kind"],
                " ".join(r["references"]),
                r["purpose"],
                r["reason"],
                r["source"],
                r["outcome"],
                str(r["id"]),
            ]
        )
    response = Response(
        "\ufeff" + out.getvalue(),  # a BOM, so that a spreadsheet reads Thai as UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="personal-data-readings.csv"'},
    )
    return _no_store(response)


# --- PDPA erasure requests (administrators) ---------------------------------------------------------------------
def _requests_page(request: Request, *, status_code: int = 200, errors: dict | None = None, values: dict | None = None):
    requests = PersonalDataReads(container_of(request).engine).erasure_requests()
    retention = container_of(request).settings.contact_retention_days
    return _no_store(
        render(
            request,
            "personal_data/pdpa.html",
            status_code=status_code,
            requests=requests,
            errors=errors or {},
            values=values or {},
            retention=retention,
        )
    )


@router.get("/admin/pdpa")
def pdpa(request: Request, user: PdpaAdmin) -> Response:
    return _requests_page(request)


@router.post("/admin/pdpa/requests")
async def pdpa_request(request: Request, user: PdpaAdmin) -> Response:
    form = Form(await request.form())
    phone = form.text("phone")
    incident_reference = form.text("incident")
    requester = form.choice("requester", ErasureRequester)
    channel = form.choice("channel", ErasureChannel)
    legal_basis = form.choice("legal_basis", LegalBasis)
    reference = form.text("request_reference", required=True)
    basis_text = form.text("basis_text", required=legal_basis is LegalBasis.OTHER)
    if not phone and not incident_reference:
        form.fail("phone", i18n.gettext("Give the reporter's phone number or the reference of one of their reports."))
    result = None
    if form.ok:
        try:
            result = await run_in_threadpool(
                lambda: container_of(request).app.receive_erasure_request(
                    request_reference=reference,
                    requester=requester,
                    channel=channel,
                    legal_basis=legal_basis,
                    basis_text=basis_text,
                    phone=phone,
                    incident_reference=incident_reference,
                    by=user.user_id,
                )
            )
        except DomainError as error:
            form.refuse(error)
    if result is None:
        values = {k: form.raw(k) for k in ("requester", "channel", "legal_basis", "request_reference", "basis_text")}
        return await run_in_threadpool(
            lambda: _requests_page(request, status_code=422, errors=form.errors, values=values)
        )
    await read_your_writes(container_of(request), result.notification_id)
    return RedirectResponse(f"/admin/pdpa/requests/{result.id}", status_code=303)


def _request_row(request: Request, request_id: str) -> dict[str, Any]:
    try:
        key = UUID(request_id)
    except ValueError:
        raise not_found(i18n.gettext("There is no such erasure request.")) from None
    row = PersonalDataReads(container_of(request).engine).erasure_request(key)
    if row is None:
        raise not_found(i18n.gettext("There is no such erasure request."))
    return row


def _request_page(request: Request, row: dict[str, Any], *, status_code: int = 200, errors: dict | None = None):
    names = container_of(request).reads.user_names(u for u in (row["received_by"], row["decided_by"]) if u)
    return _no_store(
        render(
            request,
            "personal_data/request.html",
            status_code=status_code,
            r=row,
            names=names,
            errors=errors or {},
            undecided=row["status"] == ErasureStatus.RECEIVED.value,
            unfinished=row["status"] == ErasureStatus.APPROVED.value,
        )
    )


@router.get("/admin/pdpa/requests/{request_id}")
def pdpa_request_page(request_id: str, request: Request, user: PdpaAdmin) -> Response:
    return _request_page(request, _request_row(request, request_id))


async def _decide(request: Request, request_id: str, decide: Any) -> Response:
    row = await run_in_threadpool(_request_row, request, request_id)
    form = Form(await request.form())
    result = None
    try:
        result = await run_in_threadpool(decide, form, row["id"])
    except DomainError as error:
        form.refuse(error)
    if result is None:
        await read_your_writes(container_of(request))
        fresh = await run_in_threadpool(_request_row, request, request_id)
        errors = form.errors or {"_": i18n.gettext("Nothing was done.")}
        return await run_in_threadpool(lambda: _request_page(request, fresh, status_code=422, errors=errors))
    await read_your_writes(container_of(request), result.notification_id)
    return RedirectResponse(f"/admin/pdpa/requests/{row['id']}", status_code=303)


@router.post("/admin/pdpa/requests/{request_id}/erase")
async def pdpa_erase(request_id: str, request: Request, user: PdpaAdmin) -> Response:
    app = container_of(request).app
    return await _decide(
        request,
        request_id,
        lambda form, rid: app.carry_out_erasure(rid, by=user.user_id, reason=form.text("reason")),
    )


@router.post("/admin/pdpa/requests/{request_id}/refuse")
async def pdpa_refuse(request_id: str, request: Request, user: PdpaAdmin) -> Response:
    app = container_of(request).app

    def refuse(form: Form, rid: UUID) -> Any:
        reason = form.text("reason", required=True)
        return app.refuse_erasure(rid, reason=reason, by=user.user_id) if form.ok else None

    return await _decide(request, request_id, refuse)


@router.get("/admin/pdpa/requests/{request_id}/receipt")
def pdpa_receipt(request_id: str, request: Request, user: PdpaAdmin) -> Response:
    """The receipt, in Thai and in English on one page: what was asked, decided and erased, and when; never the
    name or the phone (they are gone)."""
    row = _request_row(request, request_id)
    names = container_of(request).reads.user_names(u for u in (row["received_by"], row["decided_by"]) if u)
    parts = []
    for locale in ("th", "en"):
        with i18n.use_locale(locale):
            parts.append(fragment(request, "personal_data/receipt_body.html", r=row, names=names))
    return _no_store(render(request, "personal_data/receipt.html", r=row, parts=parts))
