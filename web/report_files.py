"""A month's partner report as an HTML page, a CSV of every table and a PDF made with WeasyPrint from the
same template. Only figures go in (application.kpi.tables with the partners' suppression): no name, phone,
description, note, location or free text can reach these files."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from application.kpi.edition import Edition
from application.kpi.figures import IncidentFigures
from application.kpi.period import Period
from application.kpi.tables import Table, tables
from domain.values import PartnerSector
from web import i18n, kpi_view
from web.i18n import N_
from web.kpi_charts import heat_chart, trend_charts
from web.pages import ENV

STATIC = Path(__file__).resolve().parent / "static"
ALL_SECTORS = N_("All six Big 6 partner sectors", "kpi")


@dataclass(frozen=True)
class Report:
    edition: Edition
    trend: list[tuple[Period, IncidentFigures]]
    sector: PartnerSector | None = None

    @property
    def month(self) -> str:
        return self.edition.period.label

    def tables(self) -> list[Table]:
        return tables(self.edition, partner=True)


def month_name(period: Period) -> str:
    t = i18n.current()
    name = t.month(period.start.year, period.start.month)
    return name if t.thai else f"{name} (B.E. {period.start.year + 543})"


def context(report: Report, *, for_pdf: bool = False) -> dict[str, Any]:
    t = i18n.current()
    return {
        "edition": report.edition,
        "tables": report.tables(),
        "charts": [
            *trend_charts(report.trend, partner=True, styled=for_pdf),
            heat_chart(report.edition.figures.patrol.heat, partner=True, styled=for_pdf),
        ],
        "kv": kpi_view,
        "t": t,
        "lang": t.locale,
        "month": report.month,
        "month_name": month_name(report.edition.period),
        "sector_name": t.label(report.sector) if report.sector else t.pgettext("kpi", ALL_SECTORS),
    }


ATTACHMENT = "report.csv"


def pdf_bytes(report: Report) -> bytes:
    """The PDF, with the report's CSV (in the same language) embedded as the attachment `report.csv`, so that
    `ssz report verify` can check a PDF as it checks a CSV. The same edition gives the same bytes every time: no
    date of the build goes in (the attachment's dates are the edition's cut-off), the charts' ids are derived from
    their content, and WeasyPrint's PDF identifier is a digest of the content."""
    from weasyprint import HTML, Attachment  # imported on first use: it takes a second to load Pango

    html = ENV.get_template("reports/pdf.html").render({**context(report, for_pdf=True)})
    at = report.edition.cut_off
    attachment = Attachment(
        file_obj=io.BytesIO(csv_bytes(report)),
        name=ATTACHMENT,
        description="CSV",
        created=at,
        modified=at,
        relationship="Data",
    )
    fetcher = _font_fetcher()()
    return HTML(string=html, base_url=str(STATIC) + "/", url_fetcher=fetcher).write_pdf(attachments=[attachment])


@lru_cache(maxsize=1)
def _font_fetcher() -> type:
    """WeasyPrint's URL fetcher, but the vendored WOFF2 fonts are decompressed once per process (WeasyPrint does it
    on every PDF, for each of the four files: a twentieth of a report's time)."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class FontFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            if not url.endswith(".woff2") or not url.startswith(STATIC.as_uri()):
                return super().fetch(url, headers)
            return URLFetcherResponse(url, _decompressed(url), {"Content-Type": "font/ttf"})

    return FontFetcher


@lru_cache(maxsize=8)
def _decompressed(url: str) -> bytes:
    from fontTools.ttLib import TTFont

    font = TTFont(STATIC / url.removeprefix(STATIC.as_uri() + "/"))
    font.flavor = None
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def embedded_csv(pdf: bytes) -> bytes | None:
    """The CSV a report's PDF carries (None when it carries none)."""
    from pypdf import PdfReader

    found = PdfReader(io.BytesIO(pdf)).attachments.get(ATTACHMENT)
    return found[0] if found else None


def csv_bytes(report: Report) -> bytes:
    """Every table, one after another, in the request's language; UTF-8 with a BOM so that Excel reads Thai.
    The first lines say which month, which position of the log and which signed checkpoint of the ledger covers it."""
    edition = report.edition
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["month", edition.period.label])
    w.writerow(["position", edition.position])
    w.writerow(["checkpoint", str(edition.checkpoint or "")])
    w.writerow(["language", i18n.current().locale])
    for table in report.tables():
        w.writerow([])
        w.writerow([kpi_view.title(table)])
        w.writerow(["", *(kpi_view.column(name) for name in table.columns)])
        for row in table.rows:
            w.writerow(
                [
                    kpi_view.row_label(table, row.label),
                    *(kpi_view.cell(shown, change=table.columns[n] == "change") for n, shown in enumerate(row.cells)),
                ]
            )
    return ("\ufeff" + out.getvalue()).encode("utf-8")
