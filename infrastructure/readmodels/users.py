"""The accounts read model: who can sign in, with which role — for the admin page and for naming actors."""

from __future__ import annotations

from typing import Any

from domain.accounts import UserAccount
from infrastructure.readmodels import tables as t
from infrastructure.readmodels.base import Projection, updating
from infrastructure.readmodels.rows import RowSet
from infrastructure.readmodels.stored import Handler


class UsersProjection(Projection):
    name = "users"
    table = t.users

    def __init__(self) -> None:
        def created(e: Any, rows: RowSet) -> None:
            rows.put(
                {
                    "id": e.originator_id,
                    "username": e.username,
                    "display_name": e.display_name,
                    "role": e.role.value,
                    "disabled": False,
                    "created_at": e.timestamp,
                    "updated_at": e.timestamp,
                    "version": e.originator_version,
                }
            )

        def update(**changes: Any) -> Handler:
            return updating(
                lambda e, row: row.update({column: value(e) for column, value in changes.items()}), stamped=True
            )

        self.handlers = {
            UserAccount.Created: created,
            UserAccount.RoleChanged: update(role=lambda e: e.role.value),
            UserAccount.Disabled: update(disabled=lambda e: True),
            UserAccount.Enabled: update(disabled=lambda e: False),
            UserAccount.PasswordReset: update(),
        }
        super().__init__()
