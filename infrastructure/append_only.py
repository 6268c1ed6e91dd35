"""The event log made append-only by the database itself: triggers that refuse UPDATE, DELETE and TRUNCATE on
the event table, whoever asks (the application, an operator at a psql prompt, a superuser in replica mode).
Only the table's owner can drop them, which is why the application runs as a role that does not own it
(README, "Tamper-evident log").

The event table is the eventsourcing library's, made by the library when the application starts. The
migration that installs the triggers may run on a database where the application has never started, so it
first makes the event store's tables itself, with the library's own statements (PostgreSQL) or the library's
statement (SQLite), before the triggers."""

from __future__ import annotations

import os

from sqlalchemy import Connection

from infrastructure.settings import Settings

# The library's names: "<application name>_events" on PostgreSQL (ZoneApplication.name is "ssz"), unprefixed on SQLite.
EVENTS_TABLE = {"postgresql": "ssz_events", "sqlite": "stored_events"}
REFUSAL = "the event log is append-only: history is never rewritten, a correction is a new event"
# The ledger's signed checkpoints are the record of what the log was: kept the same way.
CHECKPOINTS_TABLE = "ledger_checkpoints"

# The library's SQLiteApplicationRecorder.construct_create_table_statements (eventsourcing 9.5); a test compares
# the table this makes with the one the library makes.
SQLITE_EVENTS_TABLE = (
    "CREATE TABLE IF NOT EXISTS stored_events (originator_id TEXT, originator_version INTEGER, topic TEXT, "
    "state BLOB, PRIMARY KEY (originator_id, originator_version))"
)


def sqlite_statements(table: str = "stored_events", *, events: bool = True) -> list[str]:
    refuse = f"SELECT RAISE(ABORT, '{{what}} on {table} refused: {REFUSAL}')"
    statements = [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} BEGIN {refuse.format(what='UPDATE')}; END",
        # (SQLite has no TRUNCATE: its "truncate optimisation" of an unqualified DELETE is off where a DELETE trigger is.)
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} BEGIN {refuse.format(what='DELETE')}; END",
    ]
    if not events:
        return statements
    return [
        *statements,
        # INSERT OR REPLACE deletes the row it replaces without firing DELETE triggers (unless recursive_triggers is
        # on): an insert over an existing key is refused here. A conflicting save is still an IntegrityError.
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_replace BEFORE INSERT ON {table} "
        f"WHEN EXISTS (SELECT 1 FROM {table} WHERE originator_id = NEW.originator_id "
        f"AND originator_version = NEW.originator_version) "
        f"BEGIN {refuse.format(what='REPLACE')}; END",
    ]


def postgres_statements(table: str = "ssz_events") -> list[str]:
    function = f"{table}_refuse_rewrite"
    return [
        f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $BODY$ BEGIN "
        f"RAISE EXCEPTION USING MESSAGE = TG_OP || ' on ' || TG_TABLE_NAME || ' refused: {REFUSAL}', "
        f"ERRCODE = 'integrity_constraint_violation'; END; $BODY$",
        # Statement-level (TRUNCATE triggers can only be), so a statement that would touch no row is refused too.
        f"CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        # Fires also under session_replication_role = replica (which skips ordinary triggers).
        f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_append_only",
    ]


def postgres_drop_statements(table: str = "ssz_events") -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
        f"DROP FUNCTION IF EXISTS {table}_refuse_rewrite()",
    ]


def create_event_store(settings: Settings) -> None:
    """PostgreSQL: the event store's tables, types and functions, made by the library as the application makes them
    when it starts (on its own connections, committed)."""
    from eventsourcing.persistence import InfrastructureFactory
    from eventsourcing.utils import Environment

    env = Environment("ssz", {**os.environ, **settings.event_store_env(), "CREATE_TABLE": "y"})
    factory = InfrastructureFactory.construct(env)
    try:
        factory.application_recorder()
        factory.aggregate_recorder("snapshots")
    finally:
        factory.close()


def install(conn: Connection, settings: Settings) -> None:
    if conn.dialect.name == "postgresql":
        create_event_store(settings)
        for statement in postgres_statements(EVENTS_TABLE["postgresql"]):
            conn.exec_driver_sql(statement)
    else:
        conn.exec_driver_sql(SQLITE_EVENTS_TABLE)
        for statement in sqlite_statements(EVENTS_TABLE["sqlite"]):
            conn.exec_driver_sql(statement)


def install_on_checkpoints(conn: Connection) -> None:
    statements = (
        postgres_statements(CHECKPOINTS_TABLE)
        if conn.dialect.name == "postgresql"
        else sqlite_statements(CHECKPOINTS_TABLE, events=False)
    )
    for statement in statements:
        conn.exec_driver_sql(statement)


def uninstall(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        for table in (EVENTS_TABLE["postgresql"], CHECKPOINTS_TABLE):
            for statement in postgres_drop_statements(table):
                conn.exec_driver_sql(statement)
    else:
        for table in (EVENTS_TABLE["sqlite"], CHECKPOINTS_TABLE):
            for suffix in ("no_update", "no_delete", "no_replace"):
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_{suffix}")
