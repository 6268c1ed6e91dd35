import pytest

from domain.accounts import UserAccount
from domain.errors import InvalidInput, NotPermitted, TransitionRefused
from domain.values import Actor, Role


@pytest.fixture
def make_account(admin, now):
    def make(role: Role = Role.DISPATCHER, username: str = "somchai.k", disabled: bool = False) -> UserAccount:
        account = UserAccount.create(
            username=username, display_name="Somchai K.", role=role, actor=admin, occurred_at=now
        )
        if disabled:
            account.disable(reason="Left the unit", actor=admin, occurred_at=now)
        account.collect_events()
        return account

    return make


@pytest.fixture
def account(make_account) -> UserAccount:
    return make_account()


# --- create -------------------------------------------------------------------


@pytest.mark.parametrize("creator", ["admin", "system"])
def test_an_account_is_created_with_a_lower_case_username(creator, request, now, recorded):
    actor = request.getfixturevalue(creator)
    account = UserAccount.create(
        username="  Somchai.K ", display_name=" Somchai K. ", role=Role.OFFICER, actor=actor, occurred_at=now
    )

    assert account.id == UserAccount.id_for("somchai.k") == UserAccount.id_for("SOMCHAI.K")
    assert (account.username, account.display_name, account.role) == ("somchai.k", "Somchai K.", Role.OFFICER)
    assert not account.disabled
    recorded(account, "Created", actor=actor, at=now)


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.SYSTEM])
def test_an_account_may_hold_any_role_but_system(role, admin, now):
    assert (
        UserAccount.create(username="user01", display_name="User", role=role, actor=admin, occurred_at=now).role is role
    )


def test_an_account_with_the_system_role_is_refused(admin, now):
    with pytest.raises(InvalidInput, match=r"^The system role is not for people\.$") as info:
        UserAccount.create(username="robot", display_name="Robot", role=Role.SYSTEM, actor=admin, occurred_at=now)
    assert info.value.field == "role"


@pytest.mark.parametrize("username", ["", "ab", "-somchai", ".somchai", "som chai", "สมชาย", "a" * 33, "som@chai"])
def test_an_account_with_a_bad_username_is_refused(username, admin, now):
    with pytest.raises(InvalidInput, match=r"^A username is 3–32 lower-case letters") as info:
        UserAccount.create(username=username, display_name="Somchai", role=Role.OFFICER, actor=admin, occurred_at=now)
    assert info.value.field == "username"


def test_an_account_without_a_display_name_is_refused(admin, now):
    with pytest.raises(InvalidInput, match=r"^The display name must not be empty\.$"):
        UserAccount.create(username="somchai", display_name=" ", role=Role.OFFICER, actor=admin, occurred_at=now)


@pytest.mark.parametrize("role", ["supervisor", "dispatcher", "auditor"])
def test_only_admins_and_the_system_manage_accounts(role, request, now):
    with pytest.raises(NotPermitted, match=r"may not manage user accounts\.$"):
        UserAccount.create(
            username="somchai",
            display_name="Somchai",
            role=Role.OFFICER,
            actor=request.getfixturevalue(role),
            occurred_at=now,
        )


def test_an_enabled_account_acts_with_its_role(make_account):
    account = make_account(Role.SUPERVISOR)
    assert account.as_actor == Actor(account.id, Role.SUPERVISOR)


def test_a_disabled_account_cannot_act(make_account):
    account = make_account(disabled=True)
    with pytest.raises(NotPermitted, match=r"^The account 'somchai\.k' is disabled and cannot act\.$"):
        account.as_actor


# --- role ---------------------------------------------------------------------


def test_an_admin_changes_an_accounts_role(account, admin, now, recorded):
    account.change_role(role=Role.SUPERVISOR, reason="Promoted", actor=admin, occurred_at=now)

    assert account.role is Role.SUPERVISOR and account.as_actor.role is Role.SUPERVISOR
    [event] = recorded(account, "RoleChanged", actor=admin, at=now)
    assert (event.role, event.reason) == (Role.SUPERVISOR, "Promoted")


def test_changing_to_the_role_an_account_already_has_is_refused(account, admin, now, refused):
    with refused(InvalidInput, account, mentions=("'somchai.k' already has the role dispatcher.",), field="role"):
        account.change_role(role=Role.DISPATCHER, reason="Same", actor=admin, occurred_at=now)


def test_an_account_cannot_be_given_the_system_role(account, admin, now, refused):
    with refused(InvalidInput, account, mentions=("The system role is not for people.",), field="role"):
        account.change_role(role=Role.SYSTEM, reason="Automation", actor=admin, occurred_at=now)


def test_changing_a_role_needs_a_reason(account, admin, now, refused):
    with refused(InvalidInput, account, mentions=("The reason must not be empty.",), field="reason"):
        account.change_role(role=Role.OFFICER, reason="", actor=admin, occurred_at=now)


def test_a_supervisor_may_not_change_a_role(account, supervisor, now, refused):
    with refused(NotPermitted, account, mentions=("A supervisor may not manage user accounts.",)):
        account.change_role(role=Role.OFFICER, reason="Moved", actor=supervisor, occurred_at=now)


# --- disable, enable, password reset ---------------------------------------------


def test_an_admin_disables_an_account(account, admin, now, recorded):
    account.disable(reason="Left the force", actor=admin, occurred_at=now)

    assert account.disabled
    recorded(account, "Disabled", actor=admin, at=now)


def test_an_account_cannot_be_disabled_twice(make_account, admin, now, refused):
    account = make_account(disabled=True)
    with refused(TransitionRefused, account, mentions=("The account 'somchai.k' is already disabled.",)):
        account.disable(reason="Again", actor=admin, occurred_at=now)


def test_an_admin_cannot_disable_their_own_account(make_account, now, refused):
    account = make_account(Role.ADMIN)
    with refused(TransitionRefused, account, mentions=("You cannot disable your own account.",)):
        account.disable(reason="Bye", actor=account.as_actor, occurred_at=now)


def test_disabling_needs_a_reason(account, admin, now, refused):
    with refused(InvalidInput, account, mentions=("The reason must not be empty.",), field="reason"):
        account.disable(reason="", actor=admin, occurred_at=now)


def test_an_admin_enables_a_disabled_account(make_account, admin, now, recorded):
    account = make_account(disabled=True)
    account.enable(reason="Back from leave", actor=admin, occurred_at=now)

    assert not account.disabled and account.as_actor.role is Role.DISPATCHER
    recorded(account, "Enabled", actor=admin, at=now)


def test_an_enabled_account_cannot_be_enabled(account, admin, now, refused):
    with refused(TransitionRefused, account, mentions=("The account 'somchai.k' is not disabled.",)):
        account.enable(reason="Again", actor=admin, occurred_at=now)


def test_a_password_reset_is_recorded_without_the_password(account, admin, now, recorded):
    account.record_password_reset(reason="Forgot it", actor=admin, occurred_at=now)

    [event] = recorded(account, "PasswordReset", actor=admin, at=now)
    assert event.reason == "Forgot it"
    assert not any("password" in name or "hash" in name for name in vars(event))


def test_a_disabled_accounts_password_cannot_be_reset(make_account, admin, now, refused):
    account = make_account(disabled=True)
    message = "The account 'somchai.k' is disabled; enable it before resetting its password."
    with refused(TransitionRefused, account, mentions=(message,)):
        account.record_password_reset(reason="Forgot it", actor=admin, occurred_at=now)


@pytest.mark.parametrize("command", ["disable", "enable", "record_password_reset"])
def test_a_dispatcher_may_not_manage_accounts(command, make_account, dispatcher, now, refused):
    account = make_account(disabled=command == "enable")
    with refused(NotPermitted, account, mentions=("A dispatcher may not manage user accounts.",)):
        getattr(account, command)(reason="Because", actor=dispatcher, occurred_at=now)
