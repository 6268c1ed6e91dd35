"""Publishing a month's partner report: its files (CSV and PDF, Thai and English) are built at one position of the
log, citing the ledger's checkpoint that covers it, stored byte for byte by their SHA-256, and recorded as a
`ReportPublished` event. Used by the /reports page (a supervisor's or admin's button), by `ssz report publish`, and
by the server's automatic publisher (`AutoPublisher`, on the 3rd of the next month at 09:00 Bangkok time by
default): several servers may try at once; the month's aggregate lets one edition through and tells the others."""

from __future__ import annotations

import csv
import io
import threading
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from uuid import UUID

import structlog
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from application.errors import ConflictError
from application.kpi.engine import KpiEngine
from application.kpi.period import Period
from domain.errors import InvalidInput, TransitionRefused
from domain.reports import Edition as Published
from domain.reports import check_over
from domain.values import BANGKOK, SYSTEM_USER_ID
from infrastructure.bootstrap import Container
from infrastructure.report_editions import ReportFileStore, cite
from web import i18n
from web.report_files import Report, csv_bytes, pdf_bytes

log = structlog.get_logger()
FILES = ("th.csv", "th.pdf", "en.csv", "en.pdf")
HEAD_LINES = 4  # month, position, checkpoint, language: not figures


class ReportSettings(BaseSettings):
    """SSZ_REPORTS_AUTO_PUBLISH (on by default in `ssz serve`), the day of the next month and the local time
    (Asia/Bangkok) at which a month's first edition is published, and how often the server looks."""

    model_config = SettingsConfigDict(env_prefix="SSZ_REPORTS_", env_file=".env", extra="ignore")

    auto_publish: bool = True
    publish_day: int = Field(default=3, ge=1, le=28)
    publish_time: time = time(9, 0)
    check_seconds: float = Field(default=60.0, gt=0)


def store_of(container: Container) -> ReportFileStore:
    return ReportFileStore(container.settings.data_dir / "reports")


def build(
    container: Container, month: str, position: int | None = None, *, pdf: bool = True
) -> tuple[Report, dict[str, bytes]]:
    """The four files of a month's report at `position` (default: the read models' latest), with its citation
    (`pdf=False`: the CSVs only)."""
    engine: KpiEngine = container.kpi
    period = Period.month(month)
    edition = engine.edition(period, position=position)
    ledger = container.projections.by_name["ledger"]
    citation = cite(container.engine, ledger, edition.position)
    if citation is None and container.read_side.wait(edition.position, names=["ledger"], timeout=10):
        citation = cite(container.engine, ledger, edition.position)
    report = Report(replace(edition, checkpoint=citation), engine.trend(period, position=edition.position))
    files = {}
    for lang in i18n.LOCALES:
        with i18n.use_locale(lang):
            files[f"{lang}.csv"] = csv_bytes(report)
            if pdf:
                files[f"{lang}.pdf"] = pdf_bytes(report)
    return report, files


def add_pdfs(report: Report, files: dict[str, bytes]) -> dict[str, bytes]:
    for lang in i18n.LOCALES:
        with i18n.use_locale(lang):
            files[f"{lang}.pdf"] = pdf_bytes(report)
    return files


def figure_lines(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))[HEAD_LINES:]


def changes_between(before: bytes, after: bytes) -> list[str]:
    """What changed from one edition's English CSV to the next's, line by line (the head lines aside)."""
    old, new = figure_lines(before), figure_lines(after)
    changed = []
    section = ""
    for n in range(max(len(old), len(new))):
        a = old[n] if n < len(old) else None
        b = new[n] if n < len(new) else None
        if b and len(b) == 1:
            section = b[0]
        if a != b:
            label = (b or a or [""])[0]
            changed.append(
                f"{section} · {label}: {','.join(a[1:]) if a else '—'} → {','.join(b[1:]) if b else '—'}".strip()
            )
    return changed


@dataclass(frozen=True)
class Publication:
    month: str
    edition: int
    position: int
    files: dict[str, str]
    notification_id: int | None


def publish(
    container: Container,
    month: str,
    *,
    by: UUID,
    reason: str = "",
    automatic: bool = False,
    occurred_at: datetime | None = None,
) -> Publication:
    """Publishes the next edition of `month` (YYYY-MM, CE or B.E.): built at the read models' latest position."""
    period = Period.month(month)
    check_over(period.label, occurred_at or container.app.clock())
    label = period.label
    earlier = container.app.report_editions(label)
    report, files = build(container, label, pdf=False)
    store = store_of(container)
    changes: list[str] = []
    if earlier:
        changes = changes_between(store.open(earlier[-1].files["en.csv"]), files["en.csv"])
        if not changes:  # refused before the PDFs are made (the month's aggregate would refuse it too)
            raise TransitionRefused(
                "No figure of {month} changed since edition {number}: there is nothing to correct.",
                month=label,
                number=earlier[-1].number,
            )
    add_pdfs(report, files)
    digests = {name: store.put(files[name]) for name in FILES}
    citation = report.edition.checkpoint
    result = container.app.publish_report(
        month=label,
        position=report.edition.position,
        checkpoint=(
            {"tree_size": citation.tree_size, "root": citation.root, "key_id": citation.key_id} if citation else {}
        ),
        files=digests,
        expected_edition=len(earlier),
        changes=changes,
        reason=reason,
        automatic=automatic,
        by=by,
        occurred_at=occurred_at,
    )
    log.info("report.published", month=label, edition=len(earlier) + 1, position=report.edition.position, by=str(by))
    return Publication(label, len(earlier) + 1, report.edition.position, digests, result.notification_id)


def due_month(now: datetime, options: ReportSettings) -> str | None:
    """The month whose first edition is due at `now` (the month before, once its publication day and time have come
    in Bangkok), or None before that."""
    local = now.astimezone(BANGKOK)
    due = datetime.combine(local.date().replace(day=options.publish_day), options.publish_time, BANGKOK)
    if local < due:
        return None
    return (local.date().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


def publish_due(container: Container, options: ReportSettings, now: datetime | None = None) -> Publication | None:
    """The automatic publication: the month due now, if it has no edition yet and the log holds something of it.
    Of several servers doing this at once, one publishes and the others find it published."""
    month = due_month(now or container.app.clock(), options)
    if month is None or container.app.report_editions(month):
        return None
    try:
        return publish(container, month, by=SYSTEM_USER_ID, automatic=True)
    except ConflictError:
        log.info("report.auto_publish_lost_race", month=month)
        return None
    except InvalidInput as error:  # nothing of that month in the log (a new installation)
        log.info("report.auto_publish_skipped", month=month, reason=error.message)
        return None


class AutoPublisher:
    """A thread of the server process that publishes each month's first edition when it is due."""

    def __init__(self, container: Container, options: ReportSettings | None = None):
        self.container = container
        self.options = options or ReportSettings()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if not self.options.auto_publish or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="report-auto-publisher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.options.check_seconds):
            try:
                publish_due(self.container, self.options)
            except Exception:  # a database outage: try again at the next check
                log.exception("report.auto_publish_failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


def editions(container: Container, month: str) -> list[Published]:
    return container.app.report_editions(Period.month(month).label)
