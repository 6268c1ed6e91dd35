"""What the camera workers' tables need on both stores: instants in UTC, the database's clock, upserts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite

from infrastructure.vision.camera_runner import utc_now

# A dead worker's cameras are taken over this long after its last renewal (WorkerOptions.lease_seconds).
LEASE_SECONDS = 10.0


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands instants back without their zone; they were written in UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def db_now(conn: Connection) -> datetime:
    """The database's clock on PostgreSQL, so that workers on several machines agree on lease expiry;
    this machine's clock on the embedded SQLite store (whose workers all run on one machine)."""
    if conn.dialect.name == "postgresql":
        return as_utc(conn.execute(select(func.now())).scalar_one())
    return utc_now()


def insert_for(conn: Connection, table: Any) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)
