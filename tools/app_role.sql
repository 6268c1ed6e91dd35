-- The role the application connects as on PostgreSQL: it appends to the event log and reads it, and cannot change
-- or remove what is there (it owns no table, so it cannot drop the append-only triggers either). Run as the owner of
-- the tables (the role that ran `ssz migrate`), in the application's database, after `ssz migrate`:
--   psql -h HOST -U OWNER -d DBNAME -f tools/app_role.sql
--   psql -h HOST -U OWNER -d DBNAME -c "ALTER ROLE ssz_app PASSWORD '...'"
-- then start the application as ssz_app with CREATE_TABLE=n (the owner made the event store's tables).
CREATE ROLE ssz_app LOGIN;
-- USAGE: to reach the tables; CREATE: a rebuild of the read models stages rows in unlogged tables of its own.
GRANT USAGE, CREATE ON SCHEMA public TO ssz_app;
-- The tables beside the log (read models, credentials, reporters' keys, sessions, API keys, camera leases, the
-- ledger's tree): the application keeps them.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ssz_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ssz_app;
-- The event log and the snapshots: append and read, nothing else.
REVOKE ALL ON ssz_events, ssz_snapshots FROM ssz_app;
GRANT SELECT, INSERT ON ssz_events, ssz_snapshots TO ssz_app;
-- Tables that later migrations make (run by the same owner) are the application's to keep as well.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ssz_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO ssz_app;
