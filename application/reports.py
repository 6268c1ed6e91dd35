"""Publishing the monthly partner reports: each edition is a `ReportPublished` event on the month's own aggregate."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from application.errors import ConflictError
from application.unit_of_work import CommandResult, UnitOfWork, Work
from domain.reports import Edition, MonthlyReport


class ReportCommands(UnitOfWork):
    def publish_report(
        self,
        *,
        month: str,
        position: int,
        checkpoint: dict,
        files: dict,
        expected_edition: int,
        changes: list | None = None,
        reason: str = "",
        automatic: bool = False,
        by: UUID,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        """Publishes the next edition of `month`. `expected_edition` is the latest edition the publisher built
        against (0: none): if someone else published meanwhile, the publisher is told and nothing is recorded,
        so of several servers publishing a month automatically at once, only one edition is published."""
        at = self._at(occurred_at)

        def publish(work: Work) -> UUID:
            actor = work.actor(by)
            report = work.find(MonthlyReport.id_for(month), MonthlyReport)
            latest = report.latest.number if report is not None and report.latest else 0
            if latest != expected_edition:
                raise ConflictError(
                    "Edition {number} of {month} was published meanwhile; look at it before publishing another.",
                    number=latest,
                    month=month,
                )
            if report is None:
                report = MonthlyReport.start(month=month, actor=actor, occurred_at=at)
                work.add(report)
            report.publish(
                position=position,
                checkpoint=checkpoint,
                files=files,
                changes=list(changes or []),
                reason=reason,
                automatic=automatic,
                actor=actor,
                occurred_at=at,
            )
            return report.id

        return self._run("publish_report", publish)

    def report_editions(self, month: str, *, fresh: bool = True) -> list[Edition]:
        """The editions of a month (CE, YYYY-MM), oldest first; none if it was never published."""
        report = self.load(MonthlyReport.id_for(month), fresh=fresh)
        return list(report.editions) if isinstance(report, MonthlyReport) else []
