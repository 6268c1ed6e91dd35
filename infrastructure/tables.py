"""Tables that live beside the event store and belong to Alembic (never to the library)."""

from sqlalchemy import Column, DateTime, LargeBinary, MetaData, String, Table, Text, Uuid

metadata = MetaData()

credentials = Table(
    "credentials", metadata,
    Column("user_id", Uuid, primary_key=True),
    Column("username", String(32), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# One key per reporter. Destroying a key (key = NULL) erases that reporter's contact everywhere.
reporter_keys = Table(
    "reporter_keys", metadata,
    Column("key_id", String(64), primary_key=True),
    Column("subject", String(64), nullable=True, unique=True),
    Column("key", LargeBinary, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("erased_at", DateTime(timezone=True), nullable=True),
    Column("erased_by", Uuid, nullable=True),
    Column("erasure_reason", Text, nullable=True),
)
