"""A PostgreSQL application recorder that appends in one round trip.

The library's own path sends BEGIN, the table lock, NOTIFY and the INSERT, syncs, then COMMITs: two
round trips per save. Here a server function does the same work — EXCLUSIVE table lock (so commit
order is notification order and readers never pass over a gap), NOTIFY for live subscribers, INSERT
... RETURNING — and the prepared call of that function commits by itself (autocommit)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any
from uuid import UUID

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
        }
        self.sql_create_statements.append(SQL(
            "CREATE OR REPLACE FUNCTION {schema}.{function}("
            "  ids uuid[], versions integer[], topics text[], states bytea[]) "
            "RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$ "
            "BEGIN "
            "  SET LOCAL lock_timeout = '" + str(int(self.datastore.lock_timeout)) + "s'; "
            "  LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; "
            "  NOTIFY {channel}; "
            "  RETURN QUERY INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
            "    SELECT * FROM unnest(ids, versions, topics, states) "
            "    RETURNING notification_id; "
            "END; $BODY$"
        ).format(**names))
        # The first form of the function took one array of the stored-event type: psycopg dumped it field by field
        # in Python (a tenth of the intake's CPU); four arrays of plain types are dumped whole.
        self.sql_create_statements.append(SQL("DROP FUNCTION IF EXISTS {schema}.{function}({schema}.{event}[])").format(**names))
        self.sql_max_versions = SQL(
            "SELECT originator_id, max(originator_version) AS version FROM {schema}.{table} "
            "WHERE originator_id = ANY(%s::uuid[]) GROUP BY originator_id"
        ).format(**names)
        self.sql_append = SQL("SELECT notification_id FROM {schema}.{function}(%b::uuid[], %b::integer[], %b::text[], %b::bytea[]) AS notification_id").format(**names)

    def _create_table(self, curs: Cursor[DictRow]) -> None:
        # Processes that start together would race to replace the function ("tuple concurrently updated"):
        # one at a time.
        curs.execute("SELECT pg_advisory_xact_lock(%s)", (zlib.crc32(b"ssz-create-tables"),))
        super()._create_table(curs)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if kwargs.get("tracking") is not None or not stored_events:
            return super().insert_events(stored_events, **kwargs)
        columns = ([e.originator_id for e in stored_events], [e.originator_version for e in stored_events],
                   [e.topic for e in stored_events], [e.state for e in stored_events])
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.sql_append, columns, prepare=True)
            return [row["notification_id"] for row in curs.fetchall()]

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def max_versions(self, originator_ids: Sequence[UUID]) -> dict[UUID, int]:
        """The latest stored version of each of these aggregates (absent when none is stored), in one round trip."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.sql_max_versions, (list(originator_ids),), prepare=True)
            return {row["originator_id"]: row["version"] for row in curs.fetchall()}
