"""Sign-in sessions and logon attempts, kept in the database so that every web process sees the same:
logging out, or an administrator disabling an account, ends a session everywhere at once."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import structlog
from sqlalchemy import Engine, bindparam, func, insert, select, update

from infrastructure.readmodels.tables import users
from infrastructure.tables import login_attempts, web_sessions

log = structlog.get_logger("audit")

SESSION_LIFETIME = timedelta(hours=12)  # one shift
# How long a web process trusts a session it has looked up. Ending a session (logout, account disabled)
# clears this process's copy at once; other processes see the end within this many seconds.
RECHECK_SECONDS = 2.0
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USERNAME = 5
MAX_FAILURES_PER_IP = 20
# An attempt whose password is being checked counts against the limits like a failure until it is decided; one left
# so by a process that died mid-check counts until it leaves the window.
CHECKING = "checking"
COUNTED = (CHECKING, "bad_password")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SignedIn:
    session_id: str
    user_id: UUID
    username: str
    display_name: str
    role: str


class WebSessions:
    def __init__(self, engine: Engine, *, recheck_seconds: float = RECHECK_SECONDS):
        self.engine = engine
        self.recheck_seconds = recheck_seconds
        self._known: dict[str, tuple[float, SignedIn | None]] = {}
        # Counts the sessions ended by this process: a lookup that was running while one ended may have read it
        # still alive, so its answer is not kept (and a caller sharing lookups starts a fresh one).
        self.generation = 0
        self._lock = threading.Lock()
        s, u = web_sessions.c, users.c
        self._lookup = (
            select(s.session_id, u.id, u.username, u.display_name, u.role)
            .join_from(web_sessions, users, u.id == s.user_id)
            .where(
                s.session_id == bindparam("digest"),
                s.ended_at.is_(None),
                s.expires_at > bindparam("now"),
                u.disabled.is_(False),
            )
        )

    def known(self, token: str | None) -> tuple[bool, SignedIn | None]:
        """(True, who) when this process looked the session up less than `recheck_seconds` ago."""
        if not token:
            return True, None
        entry = self._known.get(_digest(token))
        if entry is None or entry[0] < time.monotonic():
            return False, None
        return True, entry[1]

    def start(self, user_id: UUID, *, ip: str, user_agent: str) -> str:
        """A new session; returns the cookie's secret (only its digest is stored)."""
        token = secrets.token_urlsafe(32)
        now = _now()
        with self.engine.begin() as conn:
            conn.execute(
                insert(web_sessions).values(
                    session_id=_digest(token),
                    user_id=user_id,
                    created_at=now,
                    expires_at=now + SESSION_LIFETIME,
                    ended_at=None,
                    ip=ip[:64],
                    user_agent=user_agent[:200],
                )
            )
        return token

    def resolve(self, token: str | None) -> SignedIn | None:
        """The signed-in user of a live session whose account is enabled, or None."""
        if not token or len(token) > 100:
            return None
        digest = _digest(token)
        generation = self.generation
        with self.engine.connect() as conn:
            row = conn.execute(self._lookup, {"digest": digest, "now": _now()}).first()
        who = SignedIn(*row) if row else None
        with self._lock:
            if len(self._known) > 10_000:
                self._known.clear()
            if generation == self.generation:
                self._known[digest] = (time.monotonic() + self.recheck_seconds, who)
        return who

    def end(self, token: str) -> None:
        digest = _digest(token)
        self._known.pop(digest, None)
        with self.engine.begin() as conn:
            conn.execute(
                update(web_sessions)
                .where(web_sessions.c.session_id == digest, web_sessions.c.ended_at.is_(None))
                .values(ended_at=_now())
            )
        with self._lock:
            self.generation += 1
            self._known.pop(digest, None)  # kept by a lookup that read the session before it ended

    def end_all(self, user_id: UUID, *, keep: str | None = None) -> int:
        """Ends every session of the person (but `keep`'s, the token of the session asking, when given)."""
        kept = _digest(keep) if keep else None
        with self.engine.begin() as conn:
            where = [web_sessions.c.user_id == user_id, web_sessions.c.ended_at.is_(None)]
            if kept is not None:
                where.append(web_sessions.c.session_id != kept)
            ended = conn.execute(update(web_sessions).where(*where).values(ended_at=_now())).rowcount
        with self._lock:
            self.generation += 1
            for digest, (_, who) in list(self._known.items()):
                if who is not None and who.user_id == user_id and digest != kept:
                    self._known.pop(digest, None)
        return ended


class LogonGuard:
    """Throttles guessing (per username and per address) and records every attempt.

    An attempt is counted before its password is checked: `admit` commits the attempt's row, then counts, in a
    transaction of its own, the recent failures and the attempts still being checked. Of two attempts counting at
    once, the one that committed later sees the other, so however many arrive together, no more than the limit are
    ever let through to the password check."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def admit(self, username: str, ip: str) -> tuple[int, timedelta | None]:
        """Records an attempt as being checked; returns its id and, when it is over a limit, how long this username
        (or address) must wait — the attempt is then recorded as throttled, and its password must not be checked."""
        name, address = username.lower()[:64], ip[:64]
        with self.engine.begin() as conn:
            attempt_id = conn.execute(
                insert(login_attempts)
                .values(username=name, ip=address, at=_now(), accepted=False, cause=CHECKING)
                .returning(login_attempts.c.id)
            ).scalar_one()
        wait = self._wait(attempt_id, name, address)
        if wait is not None:
            self.finish(attempt_id, username, ip, accepted=False, cause="throttled")
        return attempt_id, wait

    def _wait(self, attempt_id: int, username: str, ip: str) -> timedelta | None:
        a = login_attempts.c
        since = _now() - THROTTLE_WINDOW
        with self.engine.connect() as conn:

            def oldest_of_recent(condition, limit: int) -> datetime | None:  # noqa: ANN001
                others = (
                    select(a.at)
                    .where(condition, a.id != attempt_id, a.at > since, a.cause.in_(COUNTED))
                    .order_by(a.at.desc())
                    .limit(limit)
                    .subquery()
                )
                count, oldest = conn.execute(select(func.count(), func.min(others.c.at))).one()
                return oldest if count >= limit else None

            oldest = oldest_of_recent(a.username == username, MAX_FAILURES_PER_USERNAME) or oldest_of_recent(
                a.ip == ip, MAX_FAILURES_PER_IP
            )
        if oldest is None:
            return None
        oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
        return max(timedelta(seconds=1), oldest + THROTTLE_WINDOW - _now())

    def finish(
        self, attempt_id: int, username: str, ip: str, *, accepted: bool, cause: str, user_id: UUID | None = None
    ) -> None:
        """What became of an admitted attempt (ok, bad_password, throttled)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(login_attempts).where(login_attempts.c.id == attempt_id).values(accepted=accepted, cause=cause)
            )
        log.info(
            "audit.logon",
            username=username.lower()[:64],
            ip=ip,
            accepted=accepted,
            cause=cause,
            user_id=str(user_id) if user_id else None,
        )

    def record(self, username: str, ip: str, *, accepted: bool, cause: str, user_id: UUID | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(login_attempts).values(
                    username=username.lower()[:64], ip=ip[:64], at=_now(), accepted=accepted, cause=cause
                )
            )
        log.info(
            "audit.logon",
            username=username.lower()[:64],
            ip=ip,
            accepted=accepted,
            cause=cause,
            user_id=str(user_id) if user_id else None,
        )

    def recent(self, limit: int = 100) -> list[dict]:
        with self.engine.connect() as conn:
            rows = (
                conn.execute(select(login_attempts).order_by(login_attempts.c.at.desc()).limit(limit)).mappings().all()
            )
        return [dict(r) for r in rows]
