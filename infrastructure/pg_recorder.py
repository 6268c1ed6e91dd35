"""A PostgreSQL application recorder that appends in one round trip.

The library's own path sends BEGIN, the table lock, NOTIFY and the INSERT, syncs, then COMMITs: two
round trips per save. Here a server function does the same work — EXCLUSIVE table lock (so commit
order is notification order and readers never pass over a gap), NOTIFY for live subscribers, INSERT
... RETURNING — and the prepared call of that function commits by itself (autocommit).

Every write carries an id of its own, recorded in the same transaction with the notification ids it made. When the
connection fails after the commit and before the answer arrived, the retry of that write (the same id) is answered
from that record instead of inserting again: the write happened once, and its caller learns so."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier


class OneTripPostgresRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        self.append_function_name = f"{events_table_name}_append"
        names = {
            "schema": Identifier(self.datastore.schema),
            "table": Identifier(self.events_table_name),
            "event": Identifier(self.stored_event_type_name),
            "function": Identifier(self.append_function_name),
            "channel": Identifier(self.channel_name),
            "writes": Identifier(f"{events_table_name}_writes"),
        }
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {schema}.{writes} ("
                "  write_id uuid PRIMARY KEY, notification_ids bigint[] NOT NULL,"
                "  recorded_at timestamptz NOT NULL DEFAULT now())"
            ).format(**names)
        )
        # Earlier forms of the function: one array of the stored-event type, then four arrays without a write id.
        self.sql_create_statements.append(
            SQL("DROP FUNCTION IF EXISTS {schema}.{function}({schema}.{event}[])").format(**names)
        )
        self.sql_create_statements.append(
            SQL("DROP FUNCTION IF EXISTS {schema}.{function}(uuid[], integer[], text[], bytea[])").format(**names)
        )
        self.sql_create_statements.append(
            SQL(
                "CREATE OR REPLACE FUNCTION {schema}.{function}("
                "  write uuid, ids uuid[], versions integer[], topics text[], states bytea[]) "
                # SECURITY DEFINER: the application's role holds only INSERT and SELECT on the log, too little for the lock.
                "RETURNS SETOF bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $BODY$ "
                "DECLARE made bigint[]; "
                "BEGIN "
                "  SET LOCAL lock_timeout = '" + str(int(self.datastore.lock_timeout)) + "s'; "
                "  LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; "
                "  SELECT notification_ids INTO made FROM {schema}.{writes} WHERE write_id = write; "
                "  IF FOUND THEN RETURN QUERY SELECT unnest(made); RETURN; END IF; "
                "  NOTIFY {channel}; "
                "  WITH inserted AS ("
                "    INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
                "    SELECT * FROM unnest(ids, versions, topics, states) RETURNING notification_id) "
                "  SELECT array_agg(notification_id ORDER BY notification_id) INTO made FROM inserted; "
                "  INSERT INTO {schema}.{writes} (write_id, notification_ids) VALUES (write, made); "
                # A write is retried within seconds: older records only take room.
                "  IF random() < 0.001 THEN "
                "    DELETE FROM {schema}.{writes} WHERE recorded_at < now() - interval '1 hour'; "
                "  END IF; "
                "  RETURN QUERY SELECT unnest(made); "
                "END; $BODY$"
            ).format(**names)
        )
        self.sql_max_versions = SQL(
            "SELECT originator_id, max(originator_version) AS version FROM {schema}.{table} "
            "WHERE originator_id = ANY(%s::uuid[]) GROUP BY originator_id"
        ).format(**names)
        self.sql_append = SQL(
            "SELECT notification_id FROM {schema}.{function}(%b::uuid, %b::uuid[], %b::integer[], %b::text[], %b::bytea[])"
            " AS notification_id"
        ).format(**names)

    def _create_table(self, curs: Cursor[DictRow]) -> None:
        # Processes that start together would race to replace the function ("tuple concurrently updated"):
        # one at a time.
        curs.execute("SELECT pg_advisory_xact_lock(%s)", (zlib.crc32(b"ssz-create-tables"),))
        super()._create_table(curs)

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if kwargs.get("tracking") is not None or not stored_events:
            return super().insert_events(stored_events, **kwargs)
        columns = (
            [e.originator_id for e in stored_events],
            [e.originator_version for e in stored_events],
            [e.topic for e in stored_events],
            [e.state for e in stored_events],
        )
        return self._append(uuid4(), columns)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _append(self, write_id: UUID, columns: tuple[list[Any], ...]) -> list[int]:
        """One write; a retry after an unknown outcome (the same `write_id`) is answered from its commit if it made one."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.sql_append, (write_id, *columns), prepare=True)
            return [row["notification_id"] for row in curs.fetchall()]

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def max_versions(self, originator_ids: Sequence[UUID]) -> dict[UUID, int]:
        """The latest stored version of each of these aggregates (absent when none is stored), in one round trip."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.sql_max_versions, (list(originator_ids),), prepare=True)
            return {row["originator_id"]: row["version"] for row in curs.fetchall()}
