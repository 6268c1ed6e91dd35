"""Real web servers, each `ssz serve` in a process of its own, as production runs them, on one database."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
STARTUP_SECONDS = 90.0
# Anything that could point a server at another store than the one given.
FOREIGN_ENV = (
    "SSZ_",
    "POSTGRES_",
    "SQLITE_",
    "PERSISTENCE_MODULE",
    "DATABASE_URL",
    "APPLICATION_RECORDER_TOPIC",
    "CIPHER_",
)


@dataclass
class Server:
    name: str
    base_url: str
    log_path: Path
    process: subprocess.Popen

    def log_tail(self, lines: int = 80) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError as error:
            return f"(no log: {error})"

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def ssz_command() -> list[str]:
    """The venv's `ssz` entry point, or the same module run by this interpreter."""
    script = Path(sys.executable).with_name("ssz")
    return [str(script)] if script.exists() else [sys.executable, "-m", "entrypoints.cli"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(
    database_url: str, data_dir: Path, *, secret_key: str, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN_ENV)}
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p),
            "PYTHONUNBUFFERED": "1",
            "SSZ_ENVIRONMENT": "test",
            "SSZ_DATA_DIR": str(data_dir),
            "DATABASE_URL": database_url,
            "SSZ_SECRET_KEY": secret_key,
            "SSZ_ADMIN_USERNAME": "admin",
            "SSZ_ADMIN_PASSWORD": secrets.token_urlsafe(16),
            "SSZ_LOG_FORMAT": "console",
            "SSZ_LOG_LEVEL": "WARNING",
            # The integrations here send more than a key's default burst; the limiter has its own tests.
            "SSZ_API_RATE_PER_SECOND": "100000",
            "SSZ_API_RATE_BURST": "1000000",
        }
    )
    env.update(extra or {})
    return env


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _launch(name: str, env: dict[str, str], data_dir: Path) -> Server:
    port = free_port()
    log_path = data_dir / f"{name}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [*ssz_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=data_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return Server(name, f"http://127.0.0.1:{port}", log_path, process)


def start_servers(
    database_url: str, work_dir: Path, count: int, *, secret_key: str, env: Mapping[str, str] | None = None
) -> list[Server]:
    """`count` servers started together on the database (already migrated: servers starting at once would race to
    migrate it), each with a data directory of its own; returns once each answers /healthz."""
    servers: list[Server] = []
    pending: dict[str, dict[str, str]] = {}
    for n in range(count):
        name = chr(ord("a") + n)
        data_dir = work_dir / f"server-{name}"
        data_dir.mkdir(parents=True, exist_ok=True)
        pending[name] = server_env(database_url, data_dir, secret_key=secret_key, extra=env)
    launched = {name: _launch(name, e, Path(e["SSZ_DATA_DIR"])) for name, e in pending.items()}
    deadline = time.monotonic() + STARTUP_SECONDS
    try:
        while launched:
            for name, server in list(launched.items()):
                if _answers(server.base_url + "/healthz"):
                    servers.append(launched.pop(name))
                elif server.process.poll() is not None:
                    if "address already in use" not in server.log_tail(20).lower():  # else: a port taken meanwhile
                        raise RuntimeError(f"server {name} exited {server.process.returncode}:\n{server.log_tail()}")
                    launched[name] = _launch(name, pending[name], Path(pending[name]["SSZ_DATA_DIR"]))
            if time.monotonic() > deadline:
                raise RuntimeError(
                    "servers did not answer /healthz in time:\n"
                    + "\n".join(f"{s.name}:\n{s.log_tail()}" for s in launched.values())
                )
            time.sleep(0.2)
    except BaseException:
        for server in [*servers, *launched.values()]:
            server.stop()
        raise
    return sorted(servers, key=lambda s: s.name)


@contextmanager
def running(
    database_url: str, work_dir: Path, count: int = 2, *, secret_key: str, env: Mapping[str, str] | None = None
) -> Iterator[list[Server]]:
    servers = start_servers(database_url, work_dir, count, secret_key=secret_key, env=env)
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()


def start_projection_worker(
    database_url: str, work_dir: Path, *, secret_key: str, env: Mapping[str, str] | None = None
) -> Server:
    """`ssz projections run`: the read models' worker of a production deployment (the servers run none)."""
    data_dir = work_dir / "projections"
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "projections.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [*ssz_command(), "projections", "run"],
            cwd=data_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=server_env(database_url, data_dir, secret_key=secret_key, extra=env),
        )
    return Server("projections", "", log_path, process)
