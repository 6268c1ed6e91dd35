"""Shared helpers for the benchmarks: fresh stores, timing, and the metric line format."""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

ADMIN_URL = os.environ.get("SSZ_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def metric(name: str, value: float) -> None:
    print(f"metric {name} {value:.4g}" if isinstance(value, float) else f"metric {name} {value}", flush=True)


@contextmanager
def fresh_postgres() -> Iterator[str]:
    name = f"ssz_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="ssz-bench-") as d:
        yield Path(d)


def issue_bench_key(database_url: str, data_dir: Path, *, name: str, scope: str, role: str) -> str:
    """An API key issued as an administrator would (`scope`: an infrastructure.api_keys.Scope's name, `role`: a
    domain.values.Role's), on a bootstrapped container of the database at `database_url`; returns the key."""
    from domain.values import SYSTEM_USER_ID, Role
    from infrastructure.api_keys import Scope, issue_key
    from infrastructure.bootstrap import bootstrap
    from infrastructure.settings import Settings

    settings = Settings(environment="test", data_dir=data_dir, database_url=database_url, log_level="WARNING")
    container = bootstrap(settings, run_migrations=False)
    try:
        issued = issue_key(
            container.app,
            container.api_keys,
            name=name,
            scopes={Scope[scope]},
            role=Role[role],
            by=SYSTEM_USER_ID,
            wait=lambda _: container.projections.catch_up(),
        )
    finally:
        container.close()
    return issued.key


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def history_url(name: str) -> str:
    """A database kept between runs for a benchmark's long history (`SSZ_BENCH_FRESH=1` makes it anew)."""
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and os.environ.get("SSZ_BENCH_FRESH"):
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return url
