"""API keys of the integrations (the national police app's SOS button, partners' systems, camera workers).

One key per integration: a high-entropy secret shown once at creation, of which only the SHA-256 is kept;
revocable; with a name, scopes, and the UserAccount the integration acts as — its own account, with a role,
so that the domain's permission checks apply and the log says which integration acted. Creating and revoking
keys is an audit log line (`audit.api_key`), like a sign-in; what the integration then does is in the log.

A web process trusts a key it has looked up for `RECHECK_SECONDS` (every intake would otherwise read it from the
database, and its connection pool's ping besides). Revoking a key refuses it at once in the process that revokes it,
and in every other process within `RECHECK_SECONDS`; disabling an integration's account refuses its key within
`RECHECK_SECONDS` of the accounts read model showing it (the domain refuses a disabled account's commands at once).
Only live keys are remembered: an unknown or revoked key is looked up every time.

`RateLimiter` is a token bucket per key, in this process (each web worker limits on its own)."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy import Engine, bindparam, insert, select, update

from application.zone import ZoneApplication
from domain.accounts import UserAccount
from domain.errors import InvalidInput, TransitionRefused
from domain.values import Role, clean_text
from infrastructure.readmodels.tables import users
from infrastructure.tables import api_keys

log = structlog.get_logger("audit")

KEY_PREFIX = "ssz_"
SHOWN_PREFIX = 12  # "ssz_" and 8 characters of the secret: enough to tell keys apart, useless for guessing
ACCOUNT_PREFIX = "api-"  # integrations' accounts, so that a key never acts as a person
TOUCH_EVERY_SECONDS = 60.0  # last_used_at is written at most this often per key and process
RECHECK_SECONDS = 2.0  # how long a process trusts a live key it has looked up (as web sessions do)


class Scope(Enum):
    INTAKE = "intake"  # report incidents
    ALERTS = "alerts"  # raise camera alerts (as the system, like the camera workers)
    LIFECYCLE = "lifecycle"  # triage, dispatch, unit progress, resolve, close, reopen, cancel, notes
    READ = "read"  # incidents, their timelines
    CONTACTS = "contacts"  # reporters' names and phones in the incident it reads (never without this scope)
    CAMERAS = "cameras"  # cameras' zones and rules: read (supervisors, administrators), set (administrators)


# The only scopes a key of an administrator's account may hold: only administrators set cameras up, and a key that
# leaks must still not be able to make accounts or hand out keys (no route of these scopes does either).
ADMIN_SCOPES = frozenset({Scope.CAMERAS})


def check_admin_integration(role: Role, scopes: frozenset[Scope], field: str) -> None:
    if role is Role.ADMIN and not scopes <= ADMIN_SCOPES:
        raise InvalidInput(
            "An integration's account can be an administrator only for a key whose one scope is cameras.", field=field
        )


def parse_scopes(text: str) -> frozenset[Scope]:
    return frozenset(Scope(s) for s in text.split() if s in {m.value for m in Scope})


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ApiCaller:
    """Who is calling: the key and the account it acts as (with the role the account holds now)."""

    key_id: UUID
    name: str
    prefix: str
    scopes: frozenset[Scope]
    user_id: UUID
    username: str
    role: Role


@dataclass(frozen=True)
class IssuedKey:
    key_id: UUID
    key: str  # the whole key: shown once, never stored
    user_id: UUID
    username: str


class ApiKeys:
    def __init__(
        self, engine: Engine, *, recheck_seconds: float = RECHECK_SECONDS, clock: Callable[[], float] = time.monotonic
    ):
        self.engine = engine
        self.recheck_seconds = recheck_seconds
        self.clock = clock
        self._touched: dict[UUID, float] = {}
        self._known: dict[str, tuple[float, ApiCaller]] = {}  # digest -> (trusted until, caller)
        k, u = api_keys.c, users.c
        self._lookup = (
            select(k.key_id, k.name, k.prefix, k.scopes, k.user_id, u.username, u.role)
            .join_from(api_keys, users, u.id == k.user_id)
            .where(k.secret_hash == bindparam("digest"), k.revoked_at.is_(None), u.disabled.is_(False))
        )

    def create(self, *, name: str, scopes: Iterable[Scope], user_id: UUID, created_by: UUID) -> tuple[UUID, str]:
        """A new key for this account; returns its id and the key itself (only its digest is stored)."""
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        key_id = uuid.uuid4()
        with self.engine.begin() as conn:
            conn.execute(
                insert(api_keys).values(
                    key_id=key_id,
                    name=name,
                    prefix=key[:SHOWN_PREFIX],
                    secret_hash=_digest(key),
                    scopes=" ".join(sorted(s.value for s in scopes)),
                    user_id=user_id,
                    created_at=_now(),
                    created_by=created_by,
                )
            )
        return key_id, key

    def resolve(self, key: str | None) -> ApiCaller | None:
        """The caller of a live key whose account is enabled, or None (as of at most `recheck_seconds` ago)."""
        if not key or not key.startswith(KEY_PREFIX) or len(key) > 100:
            return None
        digest, now = _digest(key), self.clock()
        known = self._known.get(digest)
        if known is not None and known[0] > now:
            caller = known[1]
        else:
            with self.engine.connect() as conn:
                row = conn.execute(self._lookup, {"digest": digest}).first()
            if row is None:
                self._known.pop(digest, None)
                return None
            caller = ApiCaller(
                row.key_id, row.name, row.prefix, parse_scopes(row.scopes), row.user_id, row.username, Role(row.role)
            )
            if len(self._known) > 10_000:
                self._known.clear()
            self._known[digest] = (now + self.recheck_seconds, caller)
        self._touch(caller.key_id)
        return caller

    def resolve_known(self, key: str | None) -> ApiCaller | None:
        """`resolve` when it needs no query (the key checked less than `recheck_seconds` ago and its last use
        recorded lately): the caller; otherwise None, and `resolve` answers."""
        if not key or not key.startswith(KEY_PREFIX) or len(key) > 100:
            return None
        known = self._known.get(_digest(key))
        if known is None or known[0] <= self.clock():
            return None
        caller = known[1]
        if time.monotonic() - self._touched.get(caller.key_id, -TOUCH_EVERY_SECONDS) >= TOUCH_EVERY_SECONDS:
            return None
        return caller

    def _touch(self, key_id: UUID) -> None:
        now = time.monotonic()
        if now - self._touched.get(key_id, -TOUCH_EVERY_SECONDS) < TOUCH_EVERY_SECONDS:
            return
        self._touched[key_id] = now
        with self.engine.begin() as conn:
            conn.execute(update(api_keys).where(api_keys.c.key_id == key_id).values(last_used_at=_now()))

    def revoke(self, key_id: UUID, *, reason: str, by: UUID) -> dict[str, Any]:
        """Revokes a key: refused at once in this process, within `recheck_seconds` in the others."""
        reason = clean_text(reason, "reason", required=True, max_len=300)
        with self.engine.begin() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.key_id == key_id)).mappings().first()
            if row is None:
                raise InvalidInput("There is no API key {key_id}.", field="key_id", key_id=key_id)
            if row["revoked_at"] is not None:
                raise TransitionRefused("The API key {name} is already revoked.", name=row["name"])
            conn.execute(
                update(api_keys)
                .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=_now(), revoked_by=by, revoke_reason=reason)
            )
        for digest, (_, caller) in list(self._known.items()):
            if caller.key_id == key_id:
                self._known.pop(digest, None)
        log.info(
            "audit.api_key",
            action="revoked",
            key_id=str(key_id),
            name=row["name"],
            prefix=row["prefix"],
            by=str(by),
            reason=reason,
        )
        return dict(row)

    def find(self, key_id_or_prefix: str) -> list[dict[str, Any]]:
        """Keys whose id, or whose shown prefix, starts with this (for the command line)."""
        text = key_id_or_prefix.strip()
        return (
            [k for k in self.listing() if str(k["key_id"]).startswith(text.lower()) or k["prefix"].startswith(text)]
            if text
            else []
        )

    def listing(self) -> list[dict[str, Any]]:
        """Every key, live ones first, newest first, with its account's username and role."""
        k, u = api_keys.c, users.c
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    select(api_keys, u.username, u.role, u.disabled)
                    .join_from(api_keys, users, u.id == k.user_id, isouter=True)
                    .order_by(k.revoked_at.is_not(None), k.created_at.desc())
                )
                .mappings()
                .all()
            )
        aware = [
            {n: v.replace(tzinfo=UTC) if isinstance(v, datetime) and v.tzinfo is None else v for n, v in r.items()}
            for r in rows
        ]
        return [{**r, "scopes": sorted(parse_scopes(r["scopes"]), key=lambda s: list(Scope).index(s))} for r in aware]


def account_name_for(name: str) -> str:
    """The integration's username, from its name: `api-` and the name's Latin letters and digits."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[: 32 - len(ACCOUNT_PREFIX)].strip("-")
    return ACCOUNT_PREFIX + (slug if len(slug) >= 2 else secrets.token_hex(4))


def issue_key(
    app: ZoneApplication,
    keys: ApiKeys,
    *,
    name: str,
    scopes: Iterable[Scope],
    by: UUID,
    role: Role | None = None,
    account: str | None = None,
    wait: Callable[[int | None], Any] | None = None,
) -> IssuedKey:
    """A key for an integration: for its existing account (`account`, an `api-…` username: a second key, e.g. to
    rotate), or for a new account with `role` (created here, as done by `by`; its password is never shown, so it
    cannot sign in). `wait` is given the new account's notification id (the key resolves once the accounts read
    model shows the account)."""
    name = clean_text(name, "name", required=True, max_len=100)
    scopes = frozenset(scopes)
    if not scopes:
        raise InvalidInput("Choose at least one scope.", field="scopes")
    if account:
        username = account.strip().lower()
        if not username.startswith(ACCOUNT_PREFIX):
            raise InvalidInput(
                "An API key acts as an integration's own account (its username starts with {prefix}).",
                field="account",
                prefix=ACCOUNT_PREFIX,
            )
        user = app.get_user(UserAccount.id_for(username))
        check_admin_integration(Role(user.role), scopes, "account")
        if user.disabled:
            raise TransitionRefused("The account '{username}' is disabled and cannot act.", username=username)
        user_id = user.id
    else:
        if role is None:
            raise InvalidInput("Choose the role the integration's account acts with.", field="role")
        check_admin_integration(role, scopes, "role")
        username = account_name_for(name)
        result = app.create_user(
            username=username, display_name=f"{name} (API)", role=role, password=secrets.token_urlsafe(32), by=by
        )
        user_id = result.id
        if wait is not None:
            wait(result.notification_id)
    key_id, key = keys.create(name=name, scopes=scopes, user_id=user_id, created_by=by)
    log.info(
        "audit.api_key",
        action="created",
        key_id=str(key_id),
        name=name,
        prefix=key[:SHOWN_PREFIX],
        account=username,
        scopes=sorted(s.value for s in scopes),
        by=str(by),
    )
    return IssuedKey(key_id, key, user_id, username)


class RateLimiter:
    """A token bucket per key: `burst` requests at once, refilled at `rate` per second."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[Any, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: Any) -> float | None:
        """None if the request may go ahead; otherwise the seconds until it could."""
        with self._lock:
            now = self.clock()
            tokens, at = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return None
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate
