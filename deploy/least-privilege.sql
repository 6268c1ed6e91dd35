-- The role the services (ssz serve, ssz projections run, ssz cameras run) connect as: it may read the log and append to
-- it, never change or remove what it holds. Run with psql as the database's owner (the role that ran `ssz migrate` and
-- first started the app, which created the tables), after the first start:
--   psql -v app_password="'…'" -d ssz -f deploy/least-privilege.sql
-- The services then run with DATABASE_URL=postgresql://ssz_app:…@…/ssz and CREATE_TABLE=n (the tables exist; the
-- role may not create them). `ssz migrate` and `ssz projections rebuild` stay with the owner.

\set ON_ERROR_STOP on
BEGIN;

DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ssz_app') THEN CREATE ROLE ssz_app LOGIN; END IF;
END $$;
ALTER ROLE ssz_app PASSWORD :app_password;
GRANT CONNECT, TEMPORARY ON DATABASE :"DBNAME" TO ssz_app;
GRANT USAGE ON SCHEMA public TO ssz_app;

-- Beside the log: read models, projection positions, sessions, sign-ins, password hashes, reporters' keys, API keys,
-- camera leases and secrets. Read and written in place.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ssz_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ssz_app;

-- The log (events and snapshots): read and append, nothing else.
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ssz_events, ssz_snapshots FROM ssz_app;

-- An append takes the events table's EXCLUSIVE lock (so that commit order is notification order, which the projections
-- rely on), and PostgreSQL allows that lock only to roles that may UPDATE, DELETE or TRUNCATE. The append function
-- therefore runs with its owner's rights, and the app's role may only call it: it inserts, and does nothing else.
ALTER FUNCTION ssz_events_append(uuid[], integer[], text[], bytea[]) SECURITY DEFINER;
ALTER FUNCTION ssz_events_append(uuid[], integer[], text[], bytea[]) SET search_path = public, pg_temp;
REVOKE ALL ON FUNCTION ssz_events_append(uuid[], integer[], text[], bytea[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ssz_events_append(uuid[], integer[], text[], bytea[]) TO ssz_app;

COMMIT;
