"""The partners' monthly reports: the list of months, a month's report (Thai by default, English on one click),
its CSV and its PDF, and its published editions (each one's files exactly as published). Supervisors and admins
publish an edition (a correction names why). Every download is recorded in `report_downloads`: who, which edition
(or which position of a live build), which file and its SHA-256."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from application.kpi.engine import KpiEngine
from application.kpi.period import Period, position_of, sector_of
from domain.errors import DomainError
from domain.permissions import Action
from domain.values import BANGKOK, Role
from infrastructure.bootstrap import Container
from infrastructure.report_editions import DamagedFile, covering_checkpoint, record_download
from infrastructure.web_sessions import SignedIn
from web import i18n
from web.access import guard, guard_action
from web.deps import container_of
from web.forms import Form, submit
from web.kpi_charts import stylesheet
from web.pages import message_of, render
from web.report_editions import FILES, editions, publish, store_of
from web.report_files import Report, context, csv_bytes, month_name, pdf_bytes

log = structlog.get_logger()
router = APIRouter(include_in_schema=False)
REPORTS = guard(Role.PARTNER, Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN)
Reader = Annotated[SignedIn, Depends(REPORTS)]
PUBLISHERS = guard_action(Action.PUBLISH_REPORT)
Publisher = Annotated[SignedIn, Depends(PUBLISHERS)]


def kpi_engine(request: Request) -> KpiEngine:
    return container_of(request).kpi


def _lang(lang: str | None) -> str:
    return lang if lang in i18n.LOCALES else "th"  # a report is Thai unless English is asked for


def build_report(container: Container, month: str, position: str | None, sector: str | None) -> Report:
    """A live build (not a published edition), citing the first signed checkpoint that covers its position."""
    engine = container.kpi
    period = Period.month(month)
    edition = engine.edition(period, position=position_of(position))
    edition = replace(edition, checkpoint=covering_checkpoint(container.engine, edition.position))
    return Report(edition, engine.trend(period, position=edition.position), sector_of(sector))


def _months(engine: KpiEngine) -> list[dict]:
    position = engine.position()
    first, cut_off = engine.marks.first_occurred(position), engine.marks.cut_off(position)
    if first is None or cut_off is None:
        return []
    month = Period.month(first.astimezone(BANGKOK).strftime("%Y-%m"))
    now = cut_off.astimezone(BANGKOK).strftime("%Y-%m")
    found = []
    while month.start.strftime("%Y-%m") <= now:
        found.append({"key": month.label, "name": month_name(month), "in_progress": month.label == now})
        month = Period(month.end, Period.month(month.end.strftime("%Y-%m")).end)
    return found[::-1]


def _refused(request: Request, error: DomainError) -> Response:
    """In the report's language (the app's handler would answer in the browser's)."""
    return render(request, "error.html", status_code=422, title=i18n.gettext("Not done"), message=message_of(error))


@router.get("/reports")
def reports_page(request: Request, user: Reader) -> Response:
    container = container_of(request)
    months = _months(kpi_engine(request))
    for item in months:
        item["editions"] = container.app.report_editions(item["key"], fresh=False)
    return render(request, "reports/index.html", months=months)


@router.get("/reports/{month}")
def report_page(
    request: Request,
    month: str,
    user: Reader,
    lang: str | None = None,
    position: str | None = None,
    sector: str | None = None,
) -> Response:
    with i18n.use_locale(_lang(lang)):
        try:
            report = build_report(container_of(request), month, position, sector)
        except DomainError as error:
            return _refused(request, error)
        rest = (f"&position={report.edition.position}") + (f"&sector={report.sector.value}" if report.sector else "")
        return render(request, "reports/page.html", **_page_context(request, user, report), query_rest=rest)


def _page_context(request: Request, user: SignedIn, report: Report, **extra: object) -> dict:
    container = container_of(request)
    return {
        **context(report),
        "editions": container.app.report_editions(report.month)[::-1],
        "may_publish": PUBLISHERS.admits(user),
        "month_over": report.edition.period.instants()[1] <= container.app.clock(),
        "files": FILES,
        "errors": {},
        "values": {},
        **extra,
    }


@router.post("/reports/{month}/publish")
async def publish_edition(request: Request, month: str, user: Publisher) -> Response:
    container = container_of(request)

    def command(form: Form):
        reason = form.text("reason")
        return publish(container, month, by=user.user_id, reason=reason or "") if form.ok else None

    form, published = await submit(request, command)
    if published is not None:
        return RedirectResponse(f"/reports/{published.month}?published={published.edition}", status_code=303)
    try:
        report = await run_in_threadpool(build_report, container, month, None, None)
    except DomainError as error:
        return _refused(request, error)
    ctx = _page_context(request, user, report, errors=form.errors, values={"reason": form.raw("reason")})
    return render(request, "reports/page.html", status_code=422, **ctx, query_rest="")


@router.get("/reports/{month}/editions/{number}/{file}")
def edition_file(request: Request, month: str, number: int, file: str, user: Reader) -> Response:
    """A published edition's file, byte for byte as published."""
    container = container_of(request)
    try:
        label = Period.month(month).label
    except DomainError as error:
        return _refused(request, error)
    found = [e for e in editions(container, label) if e.number == number]
    if not found or file not in found[0].files:
        return render(
            request,
            "error.html",
            status_code=404,
            title=i18n.gettext("Not found"),
            message=i18n.gettext("There is no such published edition of this report."),
        )
    edition = found[0]
    digest = edition.files[file]
    try:
        body = store_of(container).open(digest)
    except (FileNotFoundError, DamagedFile):
        log.error("report.edition_file_missing_or_damaged", month=label, edition=number, file=file, digest=digest)
        return render(
            request,
            "error.html",
            status_code=500,
            title=i18n.gettext("Not done"),
            message=i18n.gettext("The published file is missing or damaged in the report store."),
        )
    record_download(
        container.engine,
        at=container.app.clock(),
        user_id=user.user_id,
        role=str(user.role),
        month=label,
        edition=number,
        position=edition.position,
        file=file,
        digest=digest,
    )
    lang, _, kind = file.partition(".")
    name = f"ssz-report-{label}-edition-{number}-{lang}.{kind}"
    media = "application/pdf" if kind == "pdf" else "text/csv; charset=utf-8"
    return Response(body, media_type=media, headers={"content-disposition": f'attachment; filename="{name}"'})


def _download(
    request: Request, user: SignedIn, month: str, lang: str | None, position: str | None, sector: str | None, kind: str
) -> Response:
    with i18n.use_locale(_lang(lang)) as t:
        try:
            report = build_report(container_of(request), month, position, sector)
        except DomainError as error:
            return _refused(request, error)
        body = pdf_bytes(report) if kind == "pdf" else csv_bytes(report)
        locale = t.locale
    container = container_of(request)
    record_download(
        container.engine,
        at=container.app.clock(),
        user_id=user.user_id,
        role=str(user.role),
        month=report.month,
        edition=None,
        position=report.edition.position,
        file=f"{locale}.{kind}",
        digest=hashlib.sha256(body).hexdigest(),
        sector=report.sector.value if report.sector else None,
    )
    log.info(
        "report.downloaded",
        user_id=str(user.user_id),
        role=user.role,
        month=report.month,
        position=report.edition.position,
        format=kind,
        lang=locale,
    )
    name = f"ssz-report-{report.month}-{locale}.{kind}"
    media = "application/pdf" if kind == "pdf" else "text/csv; charset=utf-8"
    return Response(body, media_type=media, headers={"content-disposition": f'attachment; filename="{name}"'})


@router.get("/reports/{month}/csv")
async def report_csv(
    request: Request,
    month: str,
    user: Reader,
    lang: str | None = None,
    position: str | None = None,
    sector: str | None = None,
) -> Response:
    return await run_in_threadpool(_download, request, user, month, lang, position, sector, "csv")


@router.get("/reports/{month}/pdf")
async def report_pdf(
    request: Request,
    month: str,
    user: Reader,
    lang: str | None = None,
    position: str | None = None,
    sector: str | None = None,
) -> Response:
    return await run_in_threadpool(_download, request, user, month, lang, position, sector, "pdf")


@router.get("/kpi/charts.css")
def charts_css(user: Reader) -> Response:
    return Response(stylesheet(), media_type="text/css", headers={"cache-control": "private, max-age=3600"})
