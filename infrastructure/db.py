from sqlalchemy import Engine, create_engine, event

from infrastructure.settings import Settings


def make_engine(settings: Settings) -> Engine:
    if settings.uses_postgres:
        # Up to as many connections as the web process has worker threads (40); 20 of them are kept open between
        # bursts, so that a busy minute does not open and close a connection per request (with 10 kept, the intake
        # under 50 connections opened ~540 in 12 s). Not 40 kept: two web processes and a projection worker, with
        # the event store's own pools, must stay well under PostgreSQL's default of 100 connections.
        return create_engine(settings.sqlalchemy_url(), pool_size=20, max_overflow=20, pool_pre_ping=True)
    settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.sqlalchemy_url(), connect_args={"timeout": 10})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    return engine
