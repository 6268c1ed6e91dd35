"""The published editions of a month's partner report. A month's report is an aggregate of its own; each edition is
a `ReportPublished` event that says which position of the log it was computed at, which signed checkpoint of the
ledger covers that position, and the SHA-256 of every file published (CSV and PDF, Thai and English), so that what a
partner downloads can be checked against the log. A later edition corrects an earlier one: it names what changed and
why; the earlier edition stays in the history, never rewritten."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import event

from domain.base import ZoneAggregate
from domain.errors import InvalidInput, TransitionRefused
from domain.incident import NAMESPACE
from domain.permissions import Action, authorize
from domain.values import BANGKOK, MAX_SHORT_TEXT, Actor, clean_text

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_FILE = re.compile(r"^(th|en)\.(csv|pdf)$")
MAX_CHANGES = 200  # lines named in a correction; more are summed up in the last one


def check_over(month: str, now: datetime) -> None:
    """A month (CE, YYYY-MM) is published once it has ended in Bangkok."""
    year, number = int(month[:4]), int(month[5:7])
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=BANGKOK)
    if end > now:
        raise InvalidInput(
            "{period} has not ended yet: a month is published once it is over.", field="month", period=month
        )


@dataclass(frozen=True)
class Edition:
    """One published edition, as the history shows it."""

    number: int
    position: int
    checkpoint: dict  # tree_size, root (base64), key_id (hex); empty when the log had no ledger
    files: dict  # "th.csv" -> SHA-256 hex digest
    published_at: datetime
    actor: Actor
    automatic: bool
    reason: str
    changes: list


class MonthlyReport(ZoneAggregate):
    """All editions of one month's partner report (the month in the common era, YYYY-MM)."""

    TOPIC = "domain.reports:MonthlyReport"

    class Created(ZoneAggregate.Created):
        TOPIC = "domain.reports:MonthlyReport.Created"

    id: UUID

    @staticmethod
    def id_for(month: str) -> UUID:
        return uuid5(NAMESPACE, f"monthly-report/{month}")

    @classmethod
    def start(cls, *, month: str, actor: Actor, occurred_at: datetime) -> MonthlyReport:
        authorize(actor, Action.PUBLISH_REPORT)
        if not _MONTH.match(month or ""):
            raise InvalidInput("A month is written YYYY-MM, for example 2569-05.", field="month")
        return cls(id=cls.id_for(month), month=month, actor=actor, occurred_at=occurred_at)

    @event("Started", topic="domain.reports:MonthlyReport.Started")
    def __init__(self, month: str, actor: Actor, occurred_at: datetime):
        self.month = month
        self.editions: list[Edition] = []

    def publish(
        self,
        *,
        position: int,
        checkpoint: dict,
        files: dict,
        changes: list,
        reason: str,
        automatic: bool,
        actor: Actor,
        occurred_at: datetime,
    ) -> None:
        authorize(actor, Action.PUBLISH_REPORT)
        check_over(self.month, occurred_at)
        if not files or any(not _FILE.match(k) or not _DIGEST.match(str(v)) for k, v in files.items()):
            raise InvalidInput("An edition names each file it publishes by its SHA-256.", field="files")
        if position < 1:
            raise InvalidInput("An edition is computed at a position of the log.", field="position")
        if self.editions:
            latest = self.editions[-1]
            if position < latest.position:
                raise TransitionRefused(
                    "Edition {number} of {month} was computed at a later position ({position}).",
                    number=latest.number,
                    month=self.month,
                    position=latest.position,
                )
            if not changes:
                raise TransitionRefused(
                    "No figure of {month} changed since edition {number}: there is nothing to correct.",
                    month=self.month,
                    number=latest.number,
                )
            reason = clean_text(reason, "reason", required=True, max_len=MAX_SHORT_TEXT)
        else:
            reason, changes = "", []
        if len(changes) > MAX_CHANGES:
            changes = [*changes[: MAX_CHANGES - 1], f"… and {len(changes) - MAX_CHANGES + 1} more"]
        self._published(
            edition=len(self.editions) + 1,
            position=position,
            checkpoint=dict(checkpoint),
            files=dict(files),
            changes=[str(c) for c in changes],
            reason=reason,
            automatic=automatic,
            actor=actor,
            occurred_at=occurred_at,
        )

    @event("ReportPublished", topic="domain.reports:MonthlyReport.ReportPublished")
    def _published(
        self,
        edition: int,
        position: int,
        checkpoint: dict,
        files: dict,
        changes: list,
        reason: str,
        automatic: bool,
        actor: Actor,
        occurred_at: datetime,
    ) -> None:
        self.editions = [
            *self.editions,
            Edition(edition, position, checkpoint, files, occurred_at, actor, automatic, reason, list(changes)),
        ]

    @property
    def latest(self) -> Edition | None:
        return self.editions[-1] if self.editions else None
