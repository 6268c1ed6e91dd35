from sqlalchemy import Engine, create_engine, event

from infrastructure.settings import Settings


def make_engine(settings: Settings) -> Engine:
    if settings.uses_postgres:
        # As many connections as the web process has worker threads (40), so that none is opened per request.
        return create_engine(settings.sqlalchemy_url(), pool_size=10, max_overflow=30, pool_pre_ping=True)
    settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.sqlalchemy_url(), connect_args={"timeout": 10})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    return engine
