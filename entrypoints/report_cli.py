"""`ssz report build`, `ssz report publish` and `ssz report verify`: a month's report as files, its publication as
an edition, and the check that a CSV or a PDF (as downloaded or published) holds exactly the figures the log gives
up to the position it cites, under the checkpoint it cites.

Registered in entrypoints/cli.py beside the other command groups."""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from application.kpi.engine import KpiEngine
from application.kpi.period import Period
from domain.errors import DomainError, InvalidInput
from infrastructure.bootstrap import Container, bootstrap
from infrastructure.readmodels.kpi_queries import SqlKpiMarks
from infrastructure.report_editions import covering_checkpoint
from web import i18n
from web.report_files import Report, csv_bytes, embedded_csv, pdf_bytes

report_cli = typer.Typer(help="The monthly partner reports: build, publish, verify a CSV or PDF.", no_args_is_help=True)
FORMATS = ("pdf", "csv", "html")


def build_files(
    container: Container, month: str, *, langs: list[str], formats: list[str], out: Path, position: int | None = None
) -> list[Path]:
    from web.pages import ENV
    from web.report_files import context

    engine = KpiEngine(SqlKpiMarks(container.engine))
    period = Period.month(month)
    edition = engine.edition(period, position=position)
    edition = replace(edition, checkpoint=covering_checkpoint(container.engine, edition.position))
    report = Report(edition, engine.trend(period, position=edition.position))
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for lang in langs:
        with i18n.use_locale(lang):
            for kind in formats:
                path = out / f"ssz-report-{report.month}-{lang}.{kind}"
                if kind == "pdf":
                    path.write_bytes(pdf_bytes(report))
                elif kind == "csv":
                    path.write_bytes(csv_bytes(report))
                else:
                    path.write_text(
                        ENV.get_template("reports/pdf.html").render(context(report, for_pdf=True)), encoding="utf-8"
                    )
                written.append(path)
    return written


def _rows(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("The file is not a report's CSV (not UTF-8).", field="file") from None
    return list(csv.reader(io.StringIO(text)))


def verify_csv(container: Container, data: bytes) -> list[str]:
    """The differences between a report's CSV and the same report recomputed from the log up to the position it
    cites (empty when equal)."""
    rows = _rows(data)
    head = {row[0]: row[1] for row in rows[:4] if len(row) == 2}
    if (
        set(head) != {"month", "position", "checkpoint", "language"}
        or not head["position"].isdigit()
        or head["language"] not in i18n.LOCALES
    ):
        raise InvalidInput(
            "The file is not a report's CSV: it does not start with its month, position and language.", field="file"
        )
    engine = KpiEngine(SqlKpiMarks(container.engine))
    period = Period.month(head["month"])
    with i18n.use_locale(head["language"]):
        edition = engine.edition(period, position=int(head["position"]))
        edition = replace(edition, checkpoint=covering_checkpoint(container.engine, edition.position))
        expected = _rows(csv_bytes(Report(edition, [])))
    differences = []
    for n in range(max(len(rows), len(expected))):
        given = rows[n] if n < len(rows) else None
        wanted = expected[n] if n < len(expected) else None
        if given != wanted and not (n == 2 and given == ["checkpoint", ""]):  # built before any checkpoint
            differences.append(f"line {n + 1}: the file has {given!r}, the log gives {wanted!r}")
    return differences


def csv_of(data: bytes) -> bytes:
    """The report's CSV: the file itself, or the data a report's PDF carries."""
    if not data.startswith(b"%PDF"):
        return data
    try:
        found = embedded_csv(data)
    except Exception:  # pypdf's many errors on a damaged file  # noqa: BLE001
        raise InvalidInput("The PDF is damaged: its embedded report data cannot be read.", field="file") from None
    if found is None:
        raise InvalidInput("The PDF carries no report data (it is not a report's PDF).", field="file")
    return found


def published_as(container: Container, data: bytes) -> str | None:
    """Which published edition these exact bytes are, if any."""
    digest = hashlib.sha256(data).hexdigest()
    try:
        month = _rows(csv_of(data))[0][1]
        label = Period.month(month).label
    except (DomainError, IndexError):
        return None
    for edition in container.app.report_editions(label):
        for name, value in edition.files.items():
            if value == digest:
                return f"edition {edition.number} of {label} ({name}), published {edition.published_at.isoformat()}"
    return None


def verify_file(container: Container, data: bytes) -> list[str]:
    return verify_csv(container, csv_of(data))


@report_cli.command("build")
def build(
    month: Annotated[str, typer.Option(help="2569-05 (Buddhist era) or 2026-05")],
    lang: Annotated[str | None, typer.Option(help="th or en (default: both)")] = None,
    format: Annotated[str | None, typer.Option("--format", help="pdf, csv or html (default: all)")] = None,  # noqa: A002
    out: Annotated[Path, typer.Option(help="the directory to write to")] = Path("."),
    position: Annotated[int | None, typer.Option(help="the log position (default: the latest)")] = None,
) -> None:
    """Write a month's report (PDF, CSV, HTML) in Thai and English."""
    if lang not in (None, *i18n.LOCALES) or format not in (None, *FORMATS):
        typer.secho("Refused: --lang is th or en; --format is pdf, csv or html.", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    container = bootstrap()
    try:
        for path in build_files(
            container,
            month,
            langs=[lang] if lang else list(i18n.LOCALES),
            formats=[format] if format else list(FORMATS),
            out=out,
            position=position,
        ):
            typer.echo(str(path))
    except DomainError as error:
        typer.secho(f"Refused: {error.message}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    finally:
        container.close()


@report_cli.command("publish")
def publish_command(
    month: Annotated[str, typer.Option(help="2569-05 (Buddhist era) or 2026-05")],
    reason: Annotated[str, typer.Option(help="why a corrected edition (required after the first)")] = "",
) -> None:
    """Publish the next edition of a month's report (recorded as done by the system)."""
    from domain.values import SYSTEM_USER_ID
    from web.report_editions import publish

    container = bootstrap()
    try:
        container.projections.catch_up()
        published = publish(container, month, by=SYSTEM_USER_ID, reason=reason)
    except DomainError as error:
        typer.secho(f"Refused: {error.message}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    finally:
        container.close()
    typer.echo(f"Published edition {published.edition} of {published.month} at position {published.position}")
    for name, digest in published.files.items():
        typer.echo(f"  {name}  sha256:{digest}")


@report_cli.command("verify")
def verify(file: Annotated[Path, typer.Argument(help="a report's CSV or PDF")]) -> None:
    """Recompute a report's figures from the log up to the position its CSV (or the data its PDF carries) cites:
    equal, or the differences."""
    container = bootstrap()
    try:
        data = file.read_bytes()
        differences = verify_file(container, data)
        edition = published_as(container, data)
    except (DomainError, OSError) as error:
        typer.secho(f"Refused: {getattr(error, 'message', error)}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    finally:
        container.close()
    if differences:
        typer.secho(f"DIFFERENT: {len(differences)} line(s) differ from the log", fg=typer.colors.RED)
        for line in differences:
            typer.echo(line)
        raise typer.Exit(1)
    typer.secho("EQUAL: every figure matches the log up to the cited position", fg=typer.colors.GREEN)
    typer.echo(f"This file is {edition}." if edition else "This file is not byte for byte a published edition.")
