"""Commands on user accounts, and their passwords (kept outside the log, by the credentials port)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from application.errors import NotFound, RecordKind
from application.unit_of_work import CommandResult, UnitOfWork, Work
from domain.accounts import UserAccount, check_username
from domain.errors import InvalidInput, NotPermitted
from domain.values import SYSTEM_USER_ID, Actor, Role

MIN_PASSWORD = 10


def check_password(password: str) -> None:
    if not (MIN_PASSWORD <= len(password or "") <= 200):
        raise InvalidInput(
            "A password needs at least {min_length} characters.", field="password", min_length=MIN_PASSWORD
        )


@dataclass(frozen=True)
class Account:
    """A user account as a query answers it."""

    id: UUID
    username: str
    display_name: str
    role: Role
    disabled: bool

    @property
    def as_actor(self) -> Actor:
        if self.disabled:
            raise NotPermitted("The account '{username}' is disabled and cannot act.", username=self.username)
        return Actor(self.id, self.role)


class AccountCommands(UnitOfWork):
    def create_user(
        self,
        *,
        username: str,
        display_name: str,
        role: Role,
        password: str,
        by: UUID,
        occurred_at: datetime | None = None,
        one_time: bool = False,
    ) -> CommandResult:
        """`one_time`: the password is given to the person, who must choose their own at the first sign-in."""
        check_password(password)
        at = self._at(occurred_at)

        def command(work: Work) -> UUID:
            actor = work.actor(by)
            if work.find(UserAccount.id_for(username), UserAccount) is not None:
                raise InvalidInput("The username '{username}' is taken.", field="username", username=username)
            user = UserAccount.create(
                username=username, display_name=display_name, role=role, actor=actor, occurred_at=at
            )
            work.add(user)
            return user.id

        result = self._run("create_user", command)
        self.credentials.set_password(result.id, check_username(username), password, one_time=one_time)
        return result

    def ensure_first_admin(self, *, username: str, password: str, one_time: bool = False) -> CommandResult | None:
        """Creates the first administrator when no enabled administrator can sign in (a store with only the demo's
        people, say); an account of that name that is not an enabled administrator is refused, never promoted."""
        if self.credentials.any_users() and self._an_administrator_can_sign_in():
            return None
        user_id = UserAccount.id_for(username)
        if user_id in self.repository:
            account = self.get_user(user_id)
            if account.role is not Role.ADMIN or account.disabled:
                raise InvalidInput(
                    "There is no administrator, and '{username}' is an account that is not one: choose another "
                    "username for the first administrator.",
                    field="username",
                    username=account.username,
                )
            self.credentials.set_password(user_id, check_username(username), password, one_time=one_time)
            return CommandResult(user_id, None)
        return self.create_user(
            username=username,
            display_name="Administrator",
            role=Role.ADMIN,
            password=password,
            by=SYSTEM_USER_ID,
            one_time=one_time,
        )

    def _an_administrator_can_sign_in(self) -> bool:
        for user_id in self.credentials.user_ids():
            user = self.load(user_id, fresh=True)
            if isinstance(user, UserAccount) and user.role is Role.ADMIN and not user.disabled:
                return True
        return False

    def must_choose_password(self, user_id: UUID) -> bool:
        return self.credentials.is_one_time(user_id)

    def change_own_password(
        self, user_id: UUID, *, current: str, new: str, occurred_at: datetime | None = None
    ) -> CommandResult:
        """The person replaces their password, proving the current one; a one-time password stops working."""
        account = self.get_user(user_id)
        if self.credentials.verify(account.username, current) != user_id:
            raise InvalidInput("The current password is not right.", field="current_password")
        check_password(new)
        if new == current:
            raise InvalidInput("Choose a password different from the current one.", field="new_password")
        at = self._at(occurred_at)
        result = self._run_on(
            "change_own_password",
            user_id,
            UserAccount,
            user_id,
            lambda user, actor, work: user.record_password_change(actor=actor, occurred_at=at),
        )
        self.credentials.set_password(user_id, account.username, new)
        return result

    def change_user_role(
        self, user_id: UUID, *, role: Role, reason: str, by: UUID, occurred_at: datetime | None = None
    ) -> CommandResult:
        at = self._at(occurred_at)
        return self._run_on(
            "change_user_role",
            user_id,
            UserAccount,
            by,
            lambda user, actor, work: user.change_role(role=role, reason=reason, actor=actor, occurred_at=at),
        )

    def disable_user(
        self, user_id: UUID, *, reason: str, by: UUID, occurred_at: datetime | None = None
    ) -> CommandResult:
        at = self._at(occurred_at)
        return self._run_on(
            "disable_user",
            user_id,
            UserAccount,
            by,
            lambda user, actor, work: user.disable(reason=reason, actor=actor, occurred_at=at),
        )

    def enable_user(
        self, user_id: UUID, *, reason: str, by: UUID, occurred_at: datetime | None = None
    ) -> CommandResult:
        at = self._at(occurred_at)
        return self._run_on(
            "enable_user",
            user_id,
            UserAccount,
            by,
            lambda user, actor, work: user.enable(reason=reason, actor=actor, occurred_at=at),
        )

    def reset_password(
        self,
        user_id: UUID,
        *,
        new_password: str,
        reason: str,
        by: UUID,
        occurred_at: datetime | None = None,
        one_time: bool = False,
    ) -> CommandResult:
        check_password(new_password)
        at = self._at(occurred_at)

        def command(work: Work) -> UUID:
            actor = work.actor(by)
            work.get(user_id, UserAccount, RecordKind.USER_ACCOUNT).record_password_reset(
                reason=reason, actor=actor, occurred_at=at
            )
            return user_id

        result = self._run("reset_password", command)
        self.credentials.set_password(user_id, self.get_user(user_id).username, new_password, one_time=one_time)
        return result

    def get_user(self, user_id: UUID) -> Account:
        user = self.load(user_id, fresh=True)
        if not isinstance(user, UserAccount):
            raise NotFound(
                "There is no {what} with id {aggregate_id}.", what=RecordKind.USER_ACCOUNT, aggregate_id=user_id
            )
        return Account(user.id, user.username, user.display_name, user.role, user.disabled)

    def authenticate(self, username: str, password: str) -> Actor | None:
        """The actor for these credentials, or None; a disabled account never authenticates."""
        user_id = self.credentials.verify(username, password)
        if user_id is None:
            return None
        user = self.get_user(user_id)
        return None if user.disabled else user.as_actor
