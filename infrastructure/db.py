"""Connections to the database: the SQLAlchemy engine of the tables beside the event store, the time limits of every
PostgreSQL connection, and the gate that makes a process answer "unavailable" at once while its database is down.

Without limits, a database that stopped answering held each request for the pool's wait (5 s) times the event
store's own retries (10): 14 s, then a 500. Now every connection has a connect timeout and a TCP user timeout,
statements a server-side time limit, and the first failure to reach the database makes the gate suspect it: a
probe thread tries to connect; while it has not succeeded for `SUSPECT_SECONDS`, every use fails at once with
`DatabaseUnavailable`; the first probe that connects opens the gate again and the pools start afresh."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import eventsourcing.persistence
import psycopg
import psycopg_pool
import sqlalchemy.exc
import structlog
from sqlalchemy import Engine, create_engine, event

from infrastructure.settings import Settings

log = structlog.get_logger()
SUSPECT_SECONDS = 1.0  # how long a failure may go unconfirmed before every use fails at once
PROBE_INTERVAL = 0.25


class DatabaseUnavailable(Exception):
    """The database cannot be reached now; nothing was done."""


# What reaches a caller when the database cannot be reached (or did not answer in time), from each layer that talks
# to it: the web answers all of them with 503 and Retry-After.
UNAVAILABLE: tuple[type[Exception], ...] = (
    DatabaseUnavailable,
    psycopg.OperationalError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.TimeoutError,
    eventsourcing.persistence.OperationalError,
    eventsourcing.persistence.InterfaceError,
)
RETRY_AFTER_SECONDS = 2


def libpq_options(settings: Settings) -> dict[str, Any]:
    """The limits every PostgreSQL connection of a web process gets."""
    seconds = settings.db_timeout
    return {
        "connect_timeout": max(2, round(seconds)),  # libpq's minimum is 2
        "tcp_user_timeout": int(seconds * 1000),  # unacknowledged data: the peer is gone
        "keepalives": 1,
        "keepalives_idle": 5,
        "keepalives_interval": 1,
        "keepalives_count": 2,
        "options": f"-c statement_timeout={int(settings.db_statement_timeout * 1000)}"
        f" -c lock_timeout={int(settings.db_statement_timeout * 1000)}",
    }


class DatabaseGate:
    """Per process: whether the database is worth trying. See the module's docstring."""

    def __init__(self, probe: Callable[[], None]):
        self._probe = probe
        self._recoveries: list[Callable[[], None]] = []
        self._suspected_at: float | None = None
        self._condition = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    @property
    def down(self) -> bool:
        suspected = self._suspected_at
        return suspected is not None and time.monotonic() - suspected >= SUSPECT_SECONDS

    def on_recovery(self, action: Callable[[], None]) -> None:
        self._recoveries.append(action)

    def check(self) -> None:
        if self.down:
            raise DatabaseUnavailable()

    def suspect(self, error: BaseException | None = None) -> None:
        with self._condition:
            if self._closed or self._suspected_at is not None:
                return
            self._suspected_at = time.monotonic()
            log.warning("db.unreachable_suspected", error=repr(error))
            if self._thread is None:
                self._thread = threading.Thread(target=self._probing, name="db-gate", daemon=True)
                self._thread.start()
            self._condition.notify_all()

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    def _probing(self) -> None:
        while True:
            with self._condition:
                while self._suspected_at is None and not self._closed:
                    self._condition.wait()
                if self._closed:
                    return
            try:
                self._probe()
            except Exception:  # still unreachable: try again shortly  # noqa: BLE001
                time.sleep(PROBE_INTERVAL)
                continue
            for action in self._recoveries:
                action()
            with self._condition:
                log.info("db.reachable_again", after_s=round(time.monotonic() - (self._suspected_at or 0), 2))
                self._suspected_at = None


# Operational errors that a reachable server sends; any other one means the connection (or the pool) failed.
_ANSWERED = (
    psycopg.errors.QueryCanceled,
    psycopg.errors.LockNotAvailable,
    psycopg.errors.SerializationFailure,
    psycopg.errors.DeadlockDetected,
)


def _connection_lost(error: BaseException) -> bool:
    return isinstance(error, psycopg.OperationalError) and not isinstance(error, _ANSWERED)


def make_gate(settings: Settings) -> DatabaseGate | None:
    if not settings.uses_postgres:
        return None  # the embedded store is a file: nothing to reach
    conninfo = settings.libpq_conninfo()
    options = libpq_options(settings)

    def probe() -> None:
        with psycopg.connect(conninfo, autocommit=True, **options) as conn:
            conn.execute("SELECT 1")

    return DatabaseGate(probe)


def make_engine(settings: Settings, gate: DatabaseGate | None = None) -> Engine:
    if settings.uses_postgres:
        # Up to as many connections as the web process has worker threads (40); 20 of them are kept open between
        # bursts, so that a busy minute does not open and close a connection per request. Not 40 kept: two web
        # processes and a projection worker, with the event store's own pools, must stay well under PostgreSQL's
        # default of 100 connections.
        engine = create_engine(
            settings.sqlalchemy_url(),
            pool_size=20,
            max_overflow=20,
            pool_pre_ping=True,
            pool_timeout=settings.db_timeout,
            connect_args=libpq_options(settings),
        )
        if gate is not None:
            _gate_engine(engine, gate)
            gate.on_recovery(engine.pool.dispose)
        return engine
    settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.sqlalchemy_url(), connect_args={"timeout": 10})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    return engine


def _gate_engine(engine: Engine, gate: DatabaseGate) -> None:
    @event.listens_for(engine, "do_connect")
    def _refuse_while_down(*_: Any) -> None:
        gate.check()

    @event.listens_for(engine, "handle_error")
    def _suspect(context: Any) -> Exception | None:
        error = context.original_exception
        if context.is_disconnect or _connection_lost(error):
            gate.suspect(error)
        elif isinstance(error, psycopg.ProgrammingError) and "status ACTIVE" in str(error) and not context.is_pre_ping:
            # A connection whose socket closed in the middle of a statement: as lost as a disconnect.
            context.is_disconnect = True
            gate.suspect(error)
            return DatabaseUnavailable()
        return None


def gate_event_store(pool: psycopg_pool.ConnectionPool, settings: Settings, gate: DatabaseGate) -> None:
    """Gives the event store's pool (made by the eventsourcing library, which takes no libpq options) the same limits
    and the gate: while the database is down, a command fails at once instead of waiting out the pool and the
    library's ten retries."""
    pool.kwargs = {**(pool.kwargs or {}), **libpq_options(settings)}
    pool.drain()  # the connections opened while the application was built get the limits too
    take = pool.connection

    @contextmanager
    def connection(timeout: float | None = None) -> Iterator[Any]:
        gate.check()
        try:
            with take(timeout) as conn:
                yield conn
        except psycopg.OperationalError as error:
            if _connection_lost(error):
                gate.suspect(error)
                if isinstance(error, psycopg_pool.PoolTimeout):
                    raise DatabaseUnavailable() from error
            raise

    pool.connection = connection  # type: ignore[method-assign]
    gate.on_recovery(pool.drain)
