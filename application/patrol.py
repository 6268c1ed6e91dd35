"""Commands on red boxes (the QR-coded check-in points) and on patrol visits, the check-ins at them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from application.errors import NotFound, RecordKind
from application.unit_of_work import CommandResult, UnitOfWork, Work
from domain.errors import InvalidInput
from domain.patrol import PatrolVisit, RedBox, RefusedCheckIn, VisitStatus, check_code, refused
from domain.permissions import Action, authorize
from domain.rounds import OfficerRound
from domain.values import SYSTEM, CheckInRefusal, Community, GeoPoint


@dataclass(frozen=True)
class ScannedCode:
    """The box a scanned QR code opens, and the version of the token it carries."""

    box_id: UUID
    code: str
    token_version: int


@dataclass(frozen=True)
class PrintedCode:
    """What a red box's printed sheet shows: the box and the token its QR code carries now."""

    box_id: UUID
    code: str
    name_th: str
    name_en: str
    community: Community
    token_version: int
    token: str


def _latest_standing(work: Work, visit_ids: list[UUID]) -> PatrolVisit | None:
    """The latest of these visits that was not voided: the one the next check-in is judged against."""
    for visit_id in reversed(visit_ids):
        visit = work.find(visit_id, PatrolVisit)
        if visit is not None and visit.status is not VisitStatus.VOIDED:
            return visit
    return None


class PatrolCommands(UnitOfWork):
    def register_red_box(
        self,
        *,
        code: str,
        name_th: str,
        name_en: str,
        community: Community,
        position: GeoPoint,
        by: UUID,
        occurred_at: datetime | None = None,
    ) -> CommandResult:
        at = self._at(occurred_at)

        def register(work: Work) -> UUID:
            box = RedBox.register(
                code=code,
                name_th=name_th,
                name_en=name_en,
                community=community,
                position=position,
                actor=work.actor(by),
                occurred_at=at,
            )
            if work.find(box.id, RedBox) is not None:
                raise InvalidInput("A red box with code {code} exists already.", field="code", code=box.code)
            work.add(box)
            return box.id

        return self._run("register_red_box", register)

    def rotate_red_box_token(
        self, box_id: UUID, *, reason: str, by: UUID, occurred_at: datetime | None = None
    ) -> CommandResult:
        at = self._at(occurred_at)
        return self._run_on(
            "rotate_red_box_token",
            box_id,
            RedBox,
            by,
            lambda box, actor, work: box.rotate_token(reason=reason, actor=actor, occurred_at=at),
        )

    def move_red_box(
        self, box_id: UUID, *, position: GeoPoint, reason: str, by: UUID, occurred_at: datetime | None = None
    ) -> CommandResult:
        at = self._at(occurred_at)
        return self._run_on(
            "move_red_box",
            box_id,
            RedBox,
            by,
            lambda box, actor, work: box.move(position=position, reason=reason, actor=actor, occurred_at=at),
        )

    def retire_red_box(
        self, box_id: UUID, *, reason: str, by: UUID, occurred_at: datetime | None = None
    ) -> CommandResult:
        at = self._at(occurred_at)
        return self._run_on(
            "retire_red_box",
            box_id,
            RedBox,
            by,
            lambda box, actor, work: box.retire(reason=reason, actor=actor, occurred_at=at),
        )

    def log_patrol_visit(
        self,
        *,
        box_id: UUID,
        token_version: int | None,
        by: UUID,
        unit_id: UUID | None = None,
        position: GeoPoint | None = None,
        observation: str = "",
        occurred_at: datetime | None = None,
        previous_visit_id: UUID | None = None,
        id: UUID | None = None,
    ) -> CommandResult:
        """Logs a check-in; flags it when implausible given the officer's previous visit. The officer's unit and
        previous visit are the write side's (their round), unless the caller names them."""
        at = self._at(occurred_at)

        def log_visit(work: Work) -> UUID:
            box = work.get(box_id, RedBox, RecordKind.RED_BOX)
            actor = work.actor(by)
            officer_round = work.find(OfficerRound.id_for(by), OfficerRound) or OfficerRound.begin(by, actor, at)
            visit = PatrolVisit.log(
                id=id or uuid.uuid4(),
                box=box,
                token_version=token_version,
                unit_id=unit_id if unit_id is not None else officer_round.unit_id,
                actor=actor,
                occurred_at=at,
                now=self.clock(),
                position=position,
                observation=observation,
            )
            work.add(visit)
            previous = (
                work.find(previous_visit_id, PatrolVisit)
                if previous_visit_id is not None
                else _latest_standing(work, officer_round.recent_visit_ids)
            )
            previous_box = work.find(previous.box_id, RedBox) if previous else None
            finding = visit.implausibility(box, previous, previous_box)
            if finding:
                visit.flag_finding(finding, actor=SYSTEM, occurred_at=at)
            officer_round.visited(visit.id, actor=actor, occurred_at=at)
            work.add(officer_round)
            return visit.id

        return self._run("log_patrol_visit", log_visit)

    def _scan(self, code: str, token: str) -> tuple[RedBox | None, int | None, CheckInRefusal | None]:
        """The box a scanned code (its box's code and signed token) opens, the token's version, and the refusal."""
        try:
            box = self.load(RedBox.id_for(check_code(code)), fresh=True)
        except InvalidInput:
            box = None
        if not isinstance(box, RedBox):
            return None, None, CheckInRefusal.UNKNOWN_BOX
        version = self.codes.version_of(box.id, token)
        return box, version, box.refusal(version)

    def scan_code(self, *, code: str, token: str, by: UUID) -> ScannedCode:
        """What a scanned code opens, for the page the phone shows: a query, so a refusal (TokenRefused) is raised and
        not recorded; link prefetchers and crawlers open these links too. The check-in records one."""
        box, version, refusal = self._scan(code, token)
        if refusal is not None:
            raise refused(refusal, box.code if box else code)
        authorize(self.get_user(by).as_actor, Action.LOG_VISIT)
        return ScannedCode(box.id, box.code, version)

    def check_in(
        self,
        *,
        code: str,
        token: str,
        by: UUID,
        unit_id: UUID | None = None,
        position: GeoPoint | None = None,
        observation: str = "",
        previous_visit_id: UUID | None = None,
    ) -> CommandResult:
        """An officer's check-in through a red box's QR code: a refused code is recorded (RefusedCheckIn) and raised
        (TokenRefused); otherwise the visit is logged, and its save checks the token once more against the box."""
        box, version, refusal = self._scan(code, token)
        if refusal is not None:
            at = self._at(None)

            def record(work: Work) -> UUID:
                attempt = RefusedCheckIn.record(
                    id=uuid.uuid4(),
                    box=box,
                    code=code,
                    refusal=refusal,
                    token_version=version,
                    position=position,
                    actor=work.actor(by),
                    occurred_at=at,
                )
                work.add(attempt)
                return attempt.id

            self._run("record_refused_check_in", record)
            raise refused(refusal, box.code if box else code)
        authorize(self.get_user(by).as_actor, Action.LOG_VISIT)
        return self.log_patrol_visit(
            box_id=box.id,
            token_version=version,
            by=by,
            unit_id=unit_id,
            position=position,
            observation=observation,
            previous_visit_id=previous_visit_id,
        )

    def red_box_code(self, box_id: UUID) -> PrintedCode:
        """A red box and the token its QR code carries now (for its printed sheet)."""
        box = self.load(box_id, fresh=True)
        if not isinstance(box, RedBox):
            raise NotFound("There is no {what} with id {aggregate_id}.", what=RecordKind.RED_BOX, aggregate_id=box_id)
        return PrintedCode(
            box.id,
            box.code,
            box.name_th,
            box.name_en,
            box.community,
            box.token_version,
            self.codes.token(box.id, box.token_version),
        )

    def add_visit_observation(
        self, visit_id: UUID, *, text: str, by: UUID, occurred_at: datetime | None = None
    ) -> CommandResult:
        at = self._at(occurred_at)
        return self._run_on(
            "add_visit_observation",
            visit_id,
            PatrolVisit,
            by,
            lambda visit, actor, work: visit.add_observation(text=text, actor=actor, occurred_at=at),
        )

    def flag_visit(
        self, visit_id: UUID, *, reason: str, by: UUID, occurred_at: datetime | None = None
    ) -> CommandResult:
        at = self._at(occurred_at)
        return self._run_on(
            "flag_visit",
            visit_id,
            PatrolVisit,
            by,
            lambda visit, actor, work: visit.flag(reason=reason, actor=actor, occurred_at=at),
        )

    def void_visit(
        self, visit_id: UUID, *, reason: str, by: UUID, occurred_at: datetime | None = None
    ) -> CommandResult:
        at = self._at(occurred_at)
        return self._run_on(
            "void_visit",
            visit_id,
            PatrolVisit,
            by,
            lambda visit, actor, work: visit.void(reason=reason, actor=actor, occurred_at=at),
        )
