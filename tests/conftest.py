"""Real stores for the tests: a fresh SQLite file, or a fresh database on the real PostgreSQL server
(127.0.0.1:5432 by default; SSZ_TEST_POSTGRES_URL overrides). PostgreSQL tests never skip: if no
server answers, the run tries to start the local cluster and otherwise stops with a clear message."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from tempfile import TemporaryDirectory
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from infrastructure.bootstrap import Container, bootstrap, migrate
from infrastructure.settings import Settings

ADMIN_URL = os.environ.get("SSZ_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _reachable() -> bool:
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def _start_local_cluster() -> None:
    clusters = Path("/etc/postgresql")
    if shutil.which("pg_ctlcluster") and clusters.is_dir():
        for version in sorted(p.name for p in clusters.iterdir()):
            subprocess.run(
                ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
                check=False,
                capture_output=True,
                timeout=60,
            )
        for _ in range(30):
            if _reachable():
                return
            time.sleep(1)


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    if not _reachable():
        _start_local_cluster()
    if not _reachable():
        pytest.exit(
            f"PostgreSQL is not reachable at {ADMIN_URL} and could not be started here. Start a server "
            "(trust auth) or set SSZ_TEST_POSTGRES_URL; the PostgreSQL tests never skip.",
            returncode=3,
        )
    return ADMIN_URL


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    name = f"ssz_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(postgres_admin_url)
    yield urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_template(postgres_admin_url: str) -> Iterator[str]:
    """A database migrated to the head once per test process: the stores of the tests are copies of it (PostgreSQL
    copies a template in a fraction of the time the migrations take), so that each test gets a fresh store cheaply."""
    name = f"ssz_template_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(postgres_admin_url)
    with TemporaryDirectory() as data:
        migrate(
            Settings(environment="test", data_dir=Path(data), database_url=urlunsplit(parts._replace(path=f"/{name}")))
        )
    yield name
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def migrated_postgres_url(postgres_admin_url: str, postgres_template: str) -> Iterator[str]:
    """A fresh database for one test, already migrated to the head (a copy of the template), dropped afterwards."""
    name = f"ssz_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"')
    parts = urlsplit(postgres_admin_url)
    yield urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded store's file migrated to the head once per test process; the tests' stores start as copies."""
    settings = Settings(environment="test", data_dir=tmp_path_factory.mktemp("sqlite-template"), database_url=None)
    migrate(settings)
    return settings.sqlite_path


def make_settings(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """A fresh store of the kind, migrated to the head (bootstrap finds nothing left to migrate)."""
    if kind == "postgres":
        url = request.getfixturevalue("migrated_postgres_url")
        return Settings(environment="test", data_dir=tmp_path / "data", database_url=url)
    settings = Settings(environment="test", data_dir=tmp_path / "data", database_url=None)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(request.getfixturevalue("sqlite_template"), settings.sqlite_path)
    return settings


@pytest.fixture(params=["sqlite", "postgres"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def settings(store_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    return make_settings(store_kind, tmp_path, request)


@pytest.fixture
def container(settings: Settings) -> Iterator[Container]:
    c = bootstrap(settings)
    yield c
    c.close()


@pytest.fixture
def pg_settings(tmp_path: Path, migrated_postgres_url: str) -> Settings:
    return Settings(environment="test", data_dir=tmp_path / "data", database_url=migrated_postgres_url)
