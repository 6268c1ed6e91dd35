import infrastructure.readmodels.ledger  # noqa: F401 — registers the ledger's tables
import infrastructure.readmodels.tables  # noqa: F401 — registers the read-model tables
from alembic import context
from infrastructure.db import make_engine
from infrastructure.settings import Settings
from infrastructure.tables import metadata

settings = context.config.attributes.get("settings") or Settings()


def owned_by_alembic(obj, name, type_, reflected, compare_to) -> bool:  # noqa: ANN001
    """The event store's tables belong to the eventsourcing library: autogenerate must leave them alone."""
    return not (type_ == "table" and reflected and name not in metadata.tables)


def run_migrations_online() -> None:
    engine = make_engine(settings)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            include_object=owned_by_alembic,
            render_as_batch=engine.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def run_migrations_offline() -> None:
    context.configure(url=settings.sqlalchemy_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
