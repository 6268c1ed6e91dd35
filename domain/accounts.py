from __future__ import annotations

import re
from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import event

from domain.base import ZoneAggregate
from domain.errors import InvalidInput, NotPermitted, TransitionRefused
from domain.incident import NAMESPACE
from domain.permissions import Action, authorize
from domain.values import MAX_SHORT_TEXT, Actor, Role, clean_text

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,31}$")


def check_username(username: str) -> str:
    username = (username or "").strip().lower()
    if not _USERNAME.match(username):
        raise InvalidInput(
            "A username is 3–32 lower-case letters, digits, dots, dashes or underscores.", field="username"
        )
    return username


class UserAccount(ZoneAggregate):
    """A person's account. The event says that a password was set or reset; the hash itself lives
    in the credentials table, outside the log."""

    id: UUID

    @staticmethod
    def id_for(username: str) -> UUID:
        return uuid5(NAMESPACE, f"user/{check_username(username)}")

    @classmethod
    def create(
        cls, *, username: str, display_name: str, role: Role, actor: Actor, occurred_at: datetime
    ) -> UserAccount:
        authorize(actor, Action.MANAGE_USERS)
        if role is Role.SYSTEM:
            raise InvalidInput("The system role is not for people.", field="role")
        username = check_username(username)
        return cls(
            id=cls.id_for(username),
            username=username,
            display_name=clean_text(display_name, "display_name", required=True, max_len=MAX_SHORT_TEXT),
            role=role,
            actor=actor,
            occurred_at=occurred_at,
        )

    @event("Created")
    def __init__(self, username: str, display_name: str, role: Role, actor: Actor, occurred_at: datetime):
        self.username = username
        self.display_name = display_name
        self.role = role
        self.disabled = False

    @property
    def as_actor(self) -> Actor:
        if self.disabled:
            raise NotPermitted("The account '{username}' is disabled and cannot act.", username=self.username)
        return Actor(self.id, self.role)

    def change_role(self, *, role: Role, reason: str, actor: Actor, occurred_at: datetime) -> None:
        authorize(actor, Action.MANAGE_USERS)
        if role is Role.SYSTEM:
            raise InvalidInput("The system role is not for people.", field="role")
        if role is self.role:
            raise InvalidInput(
                "'{username}' already has the role {role}.", field="role", username=self.username, role=role
            )
        self._role_changed(
            role=role,
            reason=clean_text(reason, "reason", required=True, max_len=MAX_SHORT_TEXT),
            actor=actor,
            occurred_at=occurred_at,
        )

    @event("RoleChanged")
    def _role_changed(self, role: Role, reason: str, actor: Actor, occurred_at: datetime) -> None:
        self.role = role

    def disable(self, *, reason: str, actor: Actor, occurred_at: datetime) -> None:
        authorize(actor, Action.MANAGE_USERS)
        if self.disabled:
            raise TransitionRefused("The account '{username}' is already disabled.", username=self.username)
        if actor.user_id == self.id:
            raise TransitionRefused("You cannot disable your own account.")
        self._disabled(
            reason=clean_text(reason, "reason", required=True, max_len=MAX_SHORT_TEXT),
            actor=actor,
            occurred_at=occurred_at,
        )

    @event("Disabled")
    def _disabled(self, reason: str, actor: Actor, occurred_at: datetime) -> None:
        self.disabled = True

    def enable(self, *, reason: str, actor: Actor, occurred_at: datetime) -> None:
        authorize(actor, Action.MANAGE_USERS)
        if not self.disabled:
            raise TransitionRefused("The account '{username}' is not disabled.", username=self.username)
        self._enabled(
            reason=clean_text(reason, "reason", required=True, max_len=MAX_SHORT_TEXT),
            actor=actor,
            occurred_at=occurred_at,
        )

    @event("Enabled")
    def _enabled(self, reason: str, actor: Actor, occurred_at: datetime) -> None:
        self.disabled = False

    def record_password_reset(self, *, reason: str, actor: Actor, occurred_at: datetime) -> None:
        authorize(actor, Action.MANAGE_USERS)
        if self.disabled:
            raise TransitionRefused(
                "The account '{username}' is disabled; enable it before resetting its password.", username=self.username
            )
        self._password_reset(
            reason=clean_text(reason, "reason", required=True, max_len=MAX_SHORT_TEXT),
            actor=actor,
            occurred_at=occurred_at,
        )

    @event("PasswordReset")
    def _password_reset(self, reason: str, actor: Actor, occurred_at: datetime) -> None:
        pass

    def record_password_change(self, *, actor: Actor, occurred_at: datetime) -> None:
        """The person chose a password of their own (the hash is kept outside the log)."""
        if actor.user_id != self.id:
            raise NotPermitted("Only the account's owner can change its password this way.")
        if self.disabled:
            raise NotPermitted("The account '{username}' is disabled and cannot act.", username=self.username)
        self._password_changed(actor=actor, occurred_at=occurred_at)

    @event("PasswordChanged")
    def _password_changed(self, actor: Actor, occurred_at: datetime) -> None:
        pass
