"""The event log is append-only in the database itself: an UPDATE, a DELETE or a TRUNCATE through a plain SQL
connection (the superuser's, on PostgreSQL) is refused, and nothing changes."""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from pathlib import Path

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from infrastructure import append_only
from infrastructure.bootstrap import Container, bootstrap, migrate
from infrastructure.settings import Settings
from tests.integration.conftest import World, build_world

REWRITES = {
    "postgres": [
        "UPDATE ssz_events SET topic = 'domain.incident:Incident.Closed' WHERE notification_id = 9",
        "UPDATE ssz_events SET state = state",
        "DELETE FROM ssz_events WHERE notification_id = (SELECT max(notification_id) FROM ssz_events)",
        "DELETE FROM ssz_events",
        "TRUNCATE ssz_events",
        "TRUNCATE ssz_events CASCADE",
        "INSERT INTO ssz_events (originator_id, originator_version, topic, state) "
        "SELECT originator_id, originator_version, topic, '{}'::bytea FROM ssz_events LIMIT 1 "
        "ON CONFLICT (originator_id, originator_version) DO UPDATE SET state = excluded.state",
    ],
    "sqlite": [
        "UPDATE stored_events SET topic = 'domain.incident:Incident.Closed' WHERE rowid = 9",
        "UPDATE stored_events SET state = state",
        "DELETE FROM stored_events WHERE rowid = (SELECT max(rowid) FROM stored_events)",
        "DELETE FROM stored_events",  # SQLite's TRUNCATE
        "INSERT OR REPLACE INTO stored_events SELECT originator_id, originator_version, topic, x'7b7d' "
        "FROM stored_events LIMIT 1",
        "REPLACE INTO stored_events SELECT * FROM stored_events",
    ],
}


def digest_of_log(container: Container) -> tuple[int, str]:
    """How many events the log holds and a SHA-256 of all of them, read through a plain connection."""
    h = hashlib.sha256()
    if container.settings.uses_postgres:
        with psycopg.connect(container.settings.database_url) as conn:
            rows = conn.execute(
                "SELECT notification_id, originator_id::text, originator_version, topic, state "
                "FROM ssz_events ORDER BY notification_id"
            ).fetchall()
    else:
        with sqlite3.connect(container.settings.sqlite_path) as conn:
            rows = conn.execute(
                "SELECT rowid, originator_id, originator_version, topic, state FROM stored_events ORDER BY rowid"
            ).fetchall()
    for row in rows:
        h.update(repr(tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)).encode())
    return len(rows), h.hexdigest()


def test_every_rewrite_of_the_log_is_refused_and_changes_nothing(
    container: Container, world: World, store_kind: str
) -> None:
    world.report()
    before = digest_of_log(container)
    assert before[0] >= 9
    for statement in REWRITES[store_kind]:
        if store_kind == "postgres":
            with psycopg.connect(container.settings.database_url) as conn, pytest.raises(psycopg.Error) as refused:
                conn.execute(statement)
        else:
            with sqlite3.connect(container.settings.sqlite_path) as conn, pytest.raises(sqlite3.Error) as refused:
                conn.execute(statement)
        assert "append-only" in str(refused.value), statement
        assert digest_of_log(container) == before, statement
    # and the application goes on appending
    world.report()
    assert digest_of_log(container)[0] > before[0]


def test_the_signed_checkpoints_cannot_be_rewritten_or_removed_either(
    container: Container, world: World, store_kind: str
) -> None:
    container.projections.catch_up()
    statements = ["UPDATE ledger_checkpoints SET tree_size = tree_size + 1", "DELETE FROM ledger_checkpoints"]
    if store_kind == "postgres":
        statements.append("TRUNCATE ledger_checkpoints")
    for statement in statements:
        if store_kind == "postgres":
            with (
                psycopg.connect(container.settings.database_url) as conn,
                pytest.raises(psycopg.Error, match="append-only"),
            ):
                conn.execute(statement)
        else:
            with (
                sqlite3.connect(container.settings.sqlite_path) as conn,
                pytest.raises(sqlite3.Error, match="append-only"),
            ):
                conn.execute(statement)
    with container.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM ledger_checkpoints").scalar() == 1


def test_a_superuser_in_replica_mode_is_refused_too(pg_settings: Settings) -> None:
    container = bootstrap(pg_settings)
    try:
        build_world(container.app, units=1)
        before = digest_of_log(container)
        with (
            psycopg.connect(pg_settings.database_url) as conn,
            pytest.raises(psycopg.errors.IntegrityConstraintViolation),
        ):
            conn.execute("SET session_replication_role = replica")
            conn.execute("DELETE FROM ssz_events")
        assert digest_of_log(container) == before
    finally:
        container.close()


def test_a_conflicting_save_is_still_a_conflict(container: Container, world: World) -> None:
    recorder = container.app.recorder
    first = recorder.select_notifications(start=1, limit=1)[0]
    with pytest.raises(IntegrityError):
        recorder.insert_events([StoredEvent(first.originator_id, first.originator_version, first.topic, b"{}")])


def _columns_postgres(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        columns = conn.execute(
            "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns "
            "WHERE table_name = 'ssz_events' ORDER BY ordinal_position"
        ).fetchall()
        indexes = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'ssz_events' ORDER BY indexname"
        ).fetchall()
    return columns + indexes


def test_the_migration_makes_the_event_table_as_the_library_does(
    tmp_path: Path, postgres_admin_url: str, request: pytest.FixtureRequest
) -> None:
    """On a database where the application never started, the migration makes the event store (to put its triggers on
    it); the table is the one the library would have made."""
    by_migration = request.getfixturevalue("postgres_url")
    migrate(Settings(environment="test", data_dir=tmp_path / "a", database_url=by_migration))
    by_library = by_migration.rsplit("/", 1)[0] + f"/ssz_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{by_library.rsplit("/", 1)[1]}"')
    try:
        append_only.create_event_store(Settings(environment="test", data_dir=tmp_path / "b", database_url=by_library))
        assert _columns_postgres(by_migration) == _columns_postgres(by_library)
    finally:
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{by_library.rsplit("/", 1)[1]}" WITH (FORCE)')

    sqlite_settings = Settings(environment="test", data_dir=tmp_path / "c", database_url=None)
    migrate(sqlite_settings)
    with sqlite3.connect(sqlite_settings.sqlite_path) as conn:
        made = conn.execute("PRAGMA table_info(stored_events)").fetchall()
    from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

    library = SQLiteApplicationRecorder(SQLiteDatastore(str(tmp_path / "library.sqlite3")))
    library.create_table()
    with sqlite3.connect(tmp_path / "library.sqlite3") as conn:
        assert conn.execute("PRAGMA table_info(stored_events)").fetchall() == made


def test_the_application_role_appends_and_reads_but_cannot_rewrite(
    pg_settings: Settings, postgres_admin_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tools/app_role.sql as the README tells an operator to run it; the application then works as that role."""
    migrate(pg_settings)
    role = f"ssz_app_{uuid.uuid4().hex[:8]}"
    url = pg_settings.database_url
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(Path("tools/app_role.sql").read_text().replace("ssz_app", role))
    try:
        monkeypatch.setenv("CREATE_TABLE", "n")
        as_role = pg_settings.model_copy(update={"database_url": url.replace("postgres@", f"{role}@", 1)})
        container = bootstrap(as_role)
        try:
            build_world(container.app, units=1).report()
            container.projections.catch_up()  # the read models too are kept as this role
            before = digest_of_log(container)
            assert before[0] >= 7
        finally:
            container.close()
        with psycopg.connect(as_role.database_url, autocommit=True) as conn:
            for statement in [
                "UPDATE ssz_events SET state = state",
                "DELETE FROM ssz_events",
                "TRUNCATE ssz_events",
                "DROP TRIGGER ssz_events_append_only ON ssz_events",
                "ALTER TABLE ssz_events DISABLE TRIGGER ALL",
            ]:
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(statement)
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM ssz_events").fetchone()[0] == before[0]
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}")
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
            conn.execute(f"DROP ROLE IF EXISTS {role}")
