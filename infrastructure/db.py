"""Connections to the database: the SQLAlchemy engine of the tables beside the event store, the time limits of every
PostgreSQL connection, and the gate that makes a process answer "unavailable" at once while its database is down.

Without limits, a database that stopped answering held each request for the pool's wait (5 s) times the event
store's own retries (10): 14 s, then a 500. Now every connection has a connect timeout and a TCP user timeout,
statements a server-side time limit, and the first failure to reach the database makes the gate suspect it: a
probe thread tries to connect; while it has not succeeded for `SUSPECT_SECONDS`, every use fails at once with
`DatabaseUnavailable`; the first probe that connects opens the gate again and the pools start afresh.

A server that hangs (its host frozen, its processes stopped) is the harder case: the kernel still accepts and
acknowledges, so no time-out of the connection fires, and the server-side statement limit cannot either. The
`HungServerWatch` sees every statement that waits for the server (each connection's `wait`): when one has waited
`OVERDUE_SECONDS`, it tries a new connection; a server that answers it is only busy (the statement goes on, its own
limit still holds); one that does not answer within the connect time-out is hung: the gate is shut at once and the
statements still waiting are cut (their sockets shut down), so each of their requests gets its 503 within seconds."""

from __future__ import annotations

import os
import socket
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
from psycopg.pq import TransactionStatus
from sqlalchemy import Engine, create_engine, event

from infrastructure.settings import Settings

log = structlog.get_logger()
SUSPECT_SECONDS = 1.0  # how long a failure may go unconfirmed before every use fails at once
PROBE_INTERVAL = 0.25
OVERDUE_SECONDS = 0.5  # a statement waiting this long makes the watch ask whether the server still answers
REPROBE_SECONDS = 5.0  # while statements stay overdue on a server that answered, how often to ask again


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

    def __init__(self, probe: Callable[[], None], probe_seconds: float = 2.0):
        self._probe = probe
        self.watch = HungServerWatch(self, probe_seconds)
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

    def suspect(self, error: BaseException | None = None, *, confirmed: bool = False) -> None:
        """A failure to reach the database; `confirmed` when it is certain already (the gate shuts at once)."""
        with self._condition:
            if self._closed:
                return
            if self._suspected_at is not None:
                if confirmed:
                    self._suspected_at = min(self._suspected_at, time.monotonic() - SUSPECT_SECONDS)
                return
            self._suspected_at = time.monotonic() - (SUSPECT_SECONDS if confirmed else 0.0)
            log.warning("db.unreachable_suspected", error=repr(error))
            if self._thread is None:
                self._thread = threading.Thread(target=self._probing, name="db-gate", daemon=True)
                self._thread.start()
            self._condition.notify_all()

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        self.watch.close()

    def probe(self) -> None:
        """Connects and asks one trivial question; raises when the database cannot be reached."""
        self._probe()

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


class HungServerWatch:
    """Per process: cuts the statements that wait on a server that stopped answering. See the module's docstring."""

    def __init__(self, gate: DatabaseGate, probe_seconds: float):
        self._gate = gate
        self._probe_seconds = probe_seconds
        self._waiting: dict[object, tuple[psycopg.Connection, float]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._answered_at = float("-inf")  # when the last probe that the server answered began
        watch = self

        class WatchedConnection(psycopg.Connection):
            def wait(self, *args: Any, **kwargs: Any) -> Any:  # every statement, commit and ping goes through here
                token = watch._begin(self)
                try:
                    return super().wait(*args, **kwargs)
                finally:
                    watch._end(token)

        self.connection_class: type[psycopg.Connection] = WatchedConnection

    def close(self) -> None:
        self._stop.set()

    def _begin(self, conn: psycopg.Connection) -> object:
        token = object()
        with self._lock:
            self._waiting[token] = (conn, time.monotonic())
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._watching, name="db-hung-watch", daemon=True)
                self._thread.start()
        return token

    def _end(self, token: object) -> None:
        with self._lock:
            self._waiting.pop(token, None)

    def _overdue(self, began_before: float) -> list[tuple[psycopg.Connection, float]]:
        """Connections whose statement (not a wait for notifications: that is idle) began before `began_before`."""
        with self._lock:
            waiting = list(self._waiting.values())
        return [
            (conn, since)
            for conn, since in waiting
            if since <= began_before and not conn.closed and conn.pgconn.transaction_status == TransactionStatus.ACTIVE
        ]

    def _watching(self) -> None:
        while not self._stop.wait(0.1):
            now = time.monotonic()
            overdue = self._overdue(now - OVERDUE_SECONDS)
            if not overdue:
                continue
            if self._gate.down:  # found unreachable already (by a connection that failed, say): no need to ask
                for conn, _ in overdue:
                    _sever(conn)
                continue
            # A statement that already waited when the server last answered a probe is slow, not stuck: for those,
            # ask again only now and then; a statement that began since then is asked about at once.
            fresh = any(since > self._answered_at for _, since in overdue)
            if not fresh and now - self._answered_at < REPROBE_SECONDS:
                continue
            began = time.monotonic()
            if self._answers_within(self._probe_seconds):
                self._answered_at = began
                continue
            stuck = self._overdue(began - OVERDUE_SECONDS)
            log.warning("db.server_hung", statements_cut=len(stuck), waited_s=round(time.monotonic() - began, 2))
            self._gate.suspect(DatabaseUnavailable("the server stopped answering"), confirmed=True)
            for conn, _ in stuck:
                _sever(conn)

    def _answers_within(self, seconds: float) -> bool:
        answered = threading.Event()

        def probe() -> None:
            try:
                self._gate.probe()
            except Exception:  # noqa: BLE001 - not answering, in whatever way
                return
            answered.set()

        threading.Thread(target=probe, name="db-hung-probe", daemon=True).start()
        return answered.wait(seconds)


def _sever(conn: psycopg.Connection) -> None:
    """Shuts the connection's socket down under the statement waiting on it: libpq then reports the connection lost."""
    try:
        duplicate = socket.socket(fileno=os.dup(conn.pgconn.socket))
    except (OSError, psycopg.Error):
        return  # closed meanwhile
    try:
        duplicate.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        duplicate.close()


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

    return DatabaseGate(probe, probe_seconds=options["connect_timeout"] + 0.5)


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

    @event.listens_for(engine, "do_connect")
    def _watched(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> psycopg.Connection:
        return gate.watch.connection_class.connect(*cargs, **cparams)

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
    pool.connection_class = gate.watch.connection_class
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
