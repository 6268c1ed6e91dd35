"""Password hashes (argon2) live here, outside the log; the log only says that a password was set."""

from datetime import UTC, datetime
from uuid import UUID

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from infrastructure.tables import credentials, one_time_passwords

_hasher = PasswordHasher()
# Verifying an unknown user still costs a hash, so timing does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class SqlCredentials:
    def __init__(self, engine: Engine):
        self.engine = engine

    def set_password(self, user_id: UUID, username: str, password: str, *, one_time: bool = False) -> None:
        """A one-time password (given by someone else) must be replaced at the first sign-in with it."""
        values = {
            "user_id": user_id,
            "username": username,
            "password_hash": _hasher.hash(password),
            "updated_at": datetime.now(UTC),
        }
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(credentials).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=["user_id"],
            set_={"password_hash": statement.excluded.password_hash, "updated_at": statement.excluded.updated_at},
        )
        with self.engine.begin() as conn:
            conn.execute(statement)
            conn.execute(delete(one_time_passwords).where(one_time_passwords.c.user_id == user_id))
            if one_time:
                conn.execute(one_time_passwords.insert().values(user_id=user_id, issued_at=values["updated_at"]))

    def is_one_time(self, user_id: UUID) -> bool:
        with self.engine.connect() as conn:
            found = conn.execute(select(one_time_passwords.c.user_id).where(one_time_passwords.c.user_id == user_id))
            return found.first() is not None

    def user_ids(self) -> list[UUID]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(credentials.c.user_id)).scalars())

    def verify(self, username: str, password: str) -> UUID | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(credentials.c.user_id, credentials.c.password_hash).where(
                    credentials.c.username == username.strip().lower()
                )
            ).first()
        try:
            _hasher.verify(row.password_hash if row else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None
        return row.user_id if row else None

    def any_users(self) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(credentials.c.user_id).limit(1)).first() is not None
