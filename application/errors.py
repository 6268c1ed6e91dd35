from __future__ import annotations

from enum import Enum
from typing import Any
from uuid import UUID

from domain.errors import DomainError, InvalidInput


class RecordKind(Enum):
    """What a command looked for; named by NotFound and ConflictError, and labelled by the web layer."""

    INCIDENT = "incident"
    PATROL_UNIT = "patrol_unit"
    RED_BOX = "red_box"
    PATROL_VISIT = "patrol_visit"
    CAMERA = "camera"
    CAMERA_ALERT = "camera_alert"
    USER_ACCOUNT = "user_account"
    OFFICER = "officer"
    SHIFT_HANDOVER = "shift_handover"


class NotFound(DomainError):
    pass


class ConflictError(DomainError):
    """Someone else changed the same thing first. `current_version` is the version now stored.

    When the command, run again on the winner's state, was refused, the refusal is the parameter
    `cause` (``ConflictError("Someone else acted first: {cause}", cause=error)``); `cause_error` gives it,
    so that the web layer can translate it too."""

    def __init__(
        self, template: str, *, aggregate_id: UUID | None = None, current_version: int | None = None, **params: Any
    ):
        super().__init__(template, **params)
        self.aggregate_id = aggregate_id
        self.current_version = current_version

    @property
    def cause_error(self) -> DomainError | None:
        cause = self.params.get("cause")
        return cause if isinstance(cause, DomainError) else None


class IdempotencyKeyReused(InvalidInput):
    """An idempotency key came again with a different report: a retry must repeat the request it retries."""
