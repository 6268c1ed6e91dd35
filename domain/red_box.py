"""The zone's red boxes, whose signed QR codes patrols scan to check in, and the refused check-ins.

The classes moved here from domain.patrol; their events keep the topics under which the log stores them."""

from __future__ import annotations

import re
from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import event

from domain.base import ZoneAggregate
from domain.errors import InvalidInput, TokenRefused, TransitionRefused
from domain.incident import NAMESPACE
from domain.permissions import Action, authorize
from domain.values import MAX_SHORT_TEXT, Actor, CheckInRefusal, Community, GeoPoint, clean_text

_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,23}$")


def check_code(code: str, field: str = "code") -> str:
    code = (code or "").strip().upper()
    if not _CODE.match(code):
        raise InvalidInput("A code is 2–24 letters, digits or dashes, e.g. RB-07.", field=field)
    return code


class RedBox(ZoneAggregate):
    """A red patrol box (ตู้แดง). Its QR carries a token of the current `token_version`;
    rotating the token makes every printed older code void."""

    TOPIC = "domain.patrol:RedBox"

    class Created(ZoneAggregate.Created):
        TOPIC = "domain.patrol:RedBox.Created"

    id: UUID

    @staticmethod
    def id_for(code: str) -> UUID:
        return uuid5(NAMESPACE, f"red-box/{code}")

    @classmethod
    def register(
        cls,
        *,
        code: str,
        name_th: str,
        name_en: str,
        community: Community,
        position: GeoPoint,
        actor: Actor,
        occurred_at: datetime,
    ) -> RedBox:
        authorize(actor, Action.MANAGE_RED_BOXES)
        code = check_code(code)
        return cls(
            id=cls.id_for(code),
            code=code,
            name_th=clean_text(name_th, "name_th", required=True, max_len=MAX_SHORT_TEXT),
            name_en=clean_text(name_en, "name_en", required=True, max_len=MAX_SHORT_TEXT),
            community=community,
            position=position,
            actor=actor,
            occurred_at=occurred_at,
        )

    @event("Registered", topic="domain.patrol:RedBox.Registered")
    def __init__(
        self,
        code: str,
        name_th: str,
        name_en: str,
        community: Community,
        position: GeoPoint,
        actor: Actor,
        occurred_at: datetime,
    ):
        self.code = code
        self.name_th = name_th
        self.name_en = name_en
        self.community = community
        self.position = position
        self.token_version = 1
        self.retired = False

    def _check_active(self) -> None:
        if self.retired:
            raise TransitionRefused("Red box {code} is retired.", code=self.code)

    def rotate_token(self, *, reason: str, actor: Actor, occurred_at: datetime) -> None:
        authorize(actor, Action.MANAGE_RED_BOXES)
        self._check_active()
        self._token_rotated(
            token_version=self.token_version + 1,
            reason=clean_text(reason, "reason", required=True, max_len=MAX_SHORT_TEXT),
            actor=actor,
            occurred_at=occurred_at,
        )

    @event("TokenRotated", topic="domain.patrol:RedBox.TokenRotated")
    def _token_rotated(self, token_version: int, reason: str, actor: Actor, occurred_at: datetime) -> None:
        self.token_version = token_version

    def move(self, *, position: GeoPoint, reason: str, actor: Actor, occurred_at: datetime) -> None:
        authorize(actor, Action.MANAGE_RED_BOXES)
        self._check_active()
        if position == self.position:
            raise InvalidInput("Red box {code} is already at that position.", field="position", code=self.code)
        self._moved(
            position=position,
            reason=clean_text(reason, "reason", required=True, max_len=MAX_SHORT_TEXT),
            actor=actor,
            occurred_at=occurred_at,
        )

    @event("Moved", topic="domain.patrol:RedBox.Moved")
    def _moved(self, position: GeoPoint, reason: str, actor: Actor, occurred_at: datetime) -> None:
        self.position = position

    def retire(self, *, reason: str, actor: Actor, occurred_at: datetime) -> None:
        authorize(actor, Action.MANAGE_RED_BOXES)
        self._check_active()
        self._retired(
            reason=clean_text(reason, "reason", required=True, max_len=MAX_SHORT_TEXT),
            actor=actor,
            occurred_at=occurred_at,
        )

    @event("Retired", topic="domain.patrol:RedBox.Retired")
    def _retired(self, reason: str, actor: Actor, occurred_at: datetime) -> None:
        self.retired = True

    def refusal(self, token_version: int | None) -> CheckInRefusal | None:
        """Why a code of this box carrying `token_version` (None: its signature did not verify) is refused, if it is."""
        if self.retired:
            return CheckInRefusal.RETIRED
        if token_version is None or token_version > self.token_version:
            return CheckInRefusal.INVALID
        if token_version != self.token_version:
            return CheckInRefusal.OUTDATED
        return None

    def check_token(self, token_version: int | None) -> None:
        refusal = self.refusal(token_version)
        if refusal is not None:
            raise refused(refusal, self.code)


def refused(refusal: CheckInRefusal, code: str) -> TokenRefused:
    """The refusal as a domain error an officer reads; `error.refusal` says which."""
    if refusal is CheckInRefusal.UNKNOWN_BOX:
        error = TokenRefused("This QR code does not belong to any red box of the zone.")
    elif refusal is CheckInRefusal.INVALID:
        error = TokenRefused("This QR code of red box {code} is not valid; scan the code posted on the box.", code=code)
    elif refusal is CheckInRefusal.OUTDATED:
        error = TokenRefused(
            "This QR code of red box {code} is out of date; scan the code now posted on the box.", code=code
        )
    else:
        error = TokenRefused("Red box {code} is retired.", code=code)
    error.refusal = refusal
    return error


class RefusedCheckIn(ZoneAggregate):
    """One refused attempt to check in at a red box: a wrong, damaged, out-of-date or forged QR code, or a
    retired box. Kept so that a supervisor sees who tried which code when, and where."""

    TOPIC = "domain.patrol:RefusedCheckIn"

    class Created(ZoneAggregate.Created):
        TOPIC = "domain.patrol:RefusedCheckIn.Created"

    id: UUID

    @classmethod
    def record(
        cls,
        *,
        id: UUID,
        box: RedBox | None,
        code: str,
        refusal: CheckInRefusal,
        token_version: int | None,
        position: GeoPoint | None,
        actor: Actor,
        occurred_at: datetime,
    ) -> RefusedCheckIn:
        authorize(actor, Action.LOG_VISIT)
        return cls(
            id=id,
            box_id=box.id if box else None,
            box_code=(box.code if box else re.sub(r"[^A-Z0-9-]", "", code.upper())[:24]),
            refusal=refusal,
            token_version=token_version,
            position=position,
            actor=actor,
            occurred_at=occurred_at,
        )

    @event("Recorded", topic="domain.patrol:RefusedCheckIn.Recorded")
    def __init__(
        self,
        box_id: UUID | None,
        box_code: str,
        refusal: CheckInRefusal,
        token_version: int | None,
        position: GeoPoint | None,
        actor: Actor,
        occurred_at: datetime,
    ):
        self.box_id = box_id
        self.box_code = box_code
        self.refusal = refusal
        self.officer_id = actor.user_id
