"""Who follows the log: one worker owns the projections at a time (a PostgreSQL advisory lock, or a file lock on the
embedded store), and a waker tells it when the log may have grown."""

from __future__ import annotations

import fcntl
import time
from pathlib import Path
from typing import Any

import psycopg

from infrastructure.db import libpq_options
from infrastructure.settings import Settings


class FileLock:
    def __init__(self, path: Path):
        self.path = path
        self.handle: Any = None

    def try_acquire(self) -> bool:
        if self.handle is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 — held open for as long as the lock is
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self.handle = handle
        return True

    def release(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


class AdvisoryLock:
    """A session-level advisory lock on its own connection: released by the server when the owner dies."""

    def __init__(self, dsn: str, key: int):
        self.dsn = dsn
        self.key = key
        self.conn: psycopg.Connection | None = None

    def try_acquire(self) -> bool:
        if self.conn is not None and not self.conn.closed:
            return True
        conn = psycopg.connect(self.dsn, autocommit=True)
        if conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()[0]:
            self.conn = conn
            return True
        conn.close()
        return False

    def release(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Waker:
    """Wakes the worker when the log grows: LISTEN on PostgreSQL, a short poll on SQLite."""

    def __init__(self, dsn: str | None, channel: str, poll_interval: float):
        self.dsn = dsn
        self.channel = channel
        self.poll_interval = poll_interval
        self.conn: psycopg.Connection | None = None

    def wait(self, timeout: float) -> None:
        """Returns when the log may have grown: on its NOTIFY, after `timeout`, or at once when it has just started
        listening (what was committed before the LISTEN told it nothing: the caller must look at the log again)."""
        if self.dsn is None:
            time.sleep(self.poll_interval)
            return
        try:
            if self.conn is None or self.conn.closed:
                self.conn = psycopg.connect(self.dsn, autocommit=True)
                self.conn.execute(f"LISTEN {self.channel}")
                return
            for _ in self.conn.notifies(timeout=timeout, stop_after=1):
                pass
        except psycopg.Error:
            self.close()
            time.sleep(self.poll_interval)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def libpq_dsn(settings: Settings) -> str:
    """The worker's own connections (its lock, its listener, a rebuild's) with the web pools' limits: a database that
    accepts connections and never answers, or a peer gone silent, fails them instead of holding the worker forever."""
    return psycopg.conninfo.make_conninfo(settings.libpq_conninfo(), **libpq_options(settings))
