"""One validated Settings class, read from the environment (and .env). The same code runs on the
embedded SQLite default and on PostgreSQL; DATABASE_URL or the library's POSTGRES_* variables choose."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

import psycopg.conninfo
from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "changeme-development-only"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SSZ_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("data")
    database_url: str | None = Field(default=None, validation_alias=AliasChoices("DATABASE_URL", "SSZ_DATABASE_URL"))
    secret_key: SecretStr = SecretStr(DEV_SECRET)
    admin_username: str = "admin"
    admin_password: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    log_format: Literal["console", "json"] | None = None
    log_level: str = "INFO"
    # The address people reach this system at (e.g. https://ccoc.example), printed in red-box QR codes; when
    # unset, the address the printing supervisor's browser used.
    public_url: str | None = None
    projection_page_size: int = Field(default=2000, ge=1, le=100_000)
    projections_in_process: bool = True  # production: false, and run `ssz projections run` workers
    # The JSON API's rate limit, per key and web process: a token bucket of `api_rate_burst` requests,
    # refilled at `api_rate_per_second`.
    api_rate_per_second: float = Field(default=10.0, gt=0, le=100_000)
    api_rate_burst: int = Field(default=20, ge=1, le=1_000_000)
    # `/metrics` answers only a request with `Authorization: Bearer <this token>`; without a token it is not served.
    metrics_token: SecretStr | None = None
    # How long a web process waits to reach PostgreSQL (to connect, for a pooled connection, for unacknowledged data)
    # before it answers 503; and the server-side limit of one statement.
    db_timeout: float = Field(default=2.0, ge=0.5, le=60)
    db_statement_timeout: float = Field(default=30.0, ge=0.5, le=3600)
    # Reporters' contacts are erased this many days after all of a reporter's incidents closed (0: never by time);
    # the web process checks every `contact_retention_check_seconds`.
    contact_retention_days: int = Field(default=0, ge=0, le=36_500)
    contact_retention_check_seconds: float = Field(default=3600.0, ge=1, le=604_800)
    # Base tiles under the zone map, e.g. https://tiles.example/{z}/{x}/{y}.png (an http(s) template with {z}, {x}
    # and {y}); empty: the map shows the zone's own geometry only and needs no network.
    tile_url: str = Field(default="", pattern=r"^(https?://[^\s\"'<>]+\{z\}[^\s\"'<>]*)?$")

    @model_validator(mode="after")
    def _refuse_default_secret_outside_development(self) -> Settings:
        if self.environment == "production" and self.secret_key.get_secret_value() == DEV_SECRET:
            raise ValueError("SSZ_SECRET_KEY must be set to a long random value in production.")
        return self

    @property
    def uses_postgres(self) -> bool:
        if self.database_url:
            return self.database_url.startswith(("postgres://", "postgresql"))
        return os.environ.get("PERSISTENCE_MODULE", "") == "eventsourcing.postgres"

    @property
    def sqlite_path(self) -> Path:
        if self.database_url and self.database_url.startswith("sqlite:///"):
            return Path(self.database_url.removeprefix("sqlite:///"))
        return self.data_dir / "ssz.sqlite3"

    def postgres_params(self) -> dict[str, str]:
        """POSTGRES_* parameters, from DATABASE_URL when given, else from the environment."""
        if self.database_url:
            url = urlsplit(self.database_url)
            return {
                "POSTGRES_DBNAME": url.path.lstrip("/") or "postgres",
                "POSTGRES_HOST": url.hostname or "127.0.0.1",
                "POSTGRES_PORT": str(url.port or 5432),
                "POSTGRES_USER": unquote(url.username or os.environ.get("USER", "postgres")),
                "POSTGRES_PASSWORD": unquote(url.password or ""),
            }
        keys = ("POSTGRES_DBNAME", "POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_USER", "POSTGRES_PASSWORD")
        params = {k: os.environ.get(k, "") for k in keys}
        params["POSTGRES_PORT"] = params["POSTGRES_PORT"] or "5432"
        return params

    def event_store_env(self) -> dict[str, str]:
        if self.uses_postgres:
            return {
                "PERSISTENCE_MODULE": "eventsourcing.postgres",
                "POSTGRES_POOL_SIZE": "8",
                "POSTGRES_MAX_OVERFLOW": "8",
                "APPLICATION_RECORDER_TOPIC": "infrastructure.pg_recorder:OneTripPostgresRecorder",
                "POSTGRES_CONNECT_TIMEOUT": str(max(1, round(self.db_timeout))),
                **self.postgres_params(),
            }
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(self.sqlite_path),
            "SQLITE_LOCK_TIMEOUT": "10",
        }

    def libpq_conninfo(self) -> str:
        p = self.postgres_params()
        return psycopg.conninfo.make_conninfo(
            dbname=p["POSTGRES_DBNAME"],
            host=p["POSTGRES_HOST"],
            port=p["POSTGRES_PORT"],
            user=p["POSTGRES_USER"],
            password=p["POSTGRES_PASSWORD"] or None,
        )

    def sqlalchemy_url(self) -> str:
        if self.uses_postgres:
            p = self.postgres_params()
            auth = p["POSTGRES_USER"] + (f":{p['POSTGRES_PASSWORD']}" if p["POSTGRES_PASSWORD"] else "")
            return f"postgresql+psycopg://{auth}@{p['POSTGRES_HOST']}:{p['POSTGRES_PORT']}/{p['POSTGRES_DBNAME']}"
        return f"sqlite:///{self.sqlite_path}"

    @property
    def snapshot_dir(self) -> Path:
        return self.data_dir / "snapshots"
