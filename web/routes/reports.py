"""The partners' monthly reports: the list of months, a month's report (Thai by default, English on one click),
its CSV and its PDF. Every download is logged: who, which month, which position of the log."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from application.kpi.engine import KpiEngine, Period, sector_of
from domain.errors import DomainError
from domain.values import BANGKOK, Role
from infrastructure.web_sessions import SignedIn
from web import i18n
from web.access import guard
from web.deps import container_of
from web.kpi_charts import stylesheet
from web.pages import message_of, render
from web.report_files import Report, context, csv_bytes, month_name, pdf_bytes

log = structlog.get_logger()
router = APIRouter(include_in_schema=False)
REPORTS = guard(Role.PARTNER, Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN)
Reader = Annotated[SignedIn, Depends(REPORTS)]


def kpi_engine(request: Request) -> KpiEngine:
    return container_of(request).kpi


def _lang(lang: str | None) -> str:
    return lang if lang in i18n.LOCALES else "th"  # a report is Thai unless English is asked for


def build_report(engine: KpiEngine, month: str, position: int | None, sector: str | None) -> Report:
    period = Period.month(month)
    edition = engine.edition(period, position=position)
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
    return render(request, "reports/index.html", months=_months(kpi_engine(request)))


@router.get("/reports/{month}")
def report_page(
    request: Request,
    month: str,
    user: Reader,
    lang: str | None = None,
    position: int | None = None,
    sector: str | None = None,
) -> Response:
    with i18n.use_locale(_lang(lang)):
        try:
            report = build_report(kpi_engine(request), month, position, sector)
        except DomainError as error:
            return _refused(request, error)
        rest = (f"&position={report.edition.position}") + (f"&sector={report.sector.value}" if report.sector else "")
        return render(request, "reports/page.html", **context(report), query_rest=rest)


def _download(
    request: Request, user: SignedIn, month: str, lang: str | None, position: int | None, sector: str | None, kind: str
) -> Response:
    with i18n.use_locale(_lang(lang)) as t:
        try:
            report = build_report(kpi_engine(request), month, position, sector)
        except DomainError as error:
            return _refused(request, error)
        body = pdf_bytes(report) if kind == "pdf" else csv_bytes(report)
        locale = t.locale
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
    position: int | None = None,
    sector: str | None = None,
) -> Response:
    return await run_in_threadpool(_download, request, user, month, lang, position, sector, "csv")


@router.get("/reports/{month}/pdf")
async def report_pdf(
    request: Request,
    month: str,
    user: Reader,
    lang: str | None = None,
    position: int | None = None,
    sector: str | None = None,
) -> Response:
    return await run_in_threadpool(_download, request, user, month, lang, position, sector, "pdf")


@router.get("/kpi/charts.css")
def charts_css(user: Reader) -> Response:
    return Response(stylesheet(), media_type="text/css", headers={"cache-control": "private, max-age=3600"})
