"""End-to-end fixtures: the real app (`ssz serve`, a subprocess on a fresh SQLite store) driven by Debian's
Chromium through Playwright's sync API.

- `live_server` (session, so one per xdist worker): `.base_url`, `.data_dir`, `.env`, `.log_path`,
  `.admin_username` / `.admin_password`, `.ssz(*args)` (the CLI against the same store) and
  `.create_user(role=..., ...)`.
- `browser` (session); `new_context(viewport=..., locale=..., **kwargs)` (factory); `page`.
- `login(page, username, password)`; `create_user(...)`; `unique_username(prefix)`; `screenshot(page, label)`.
- Screenshots go to tests/e2e/artifacts/<test>.png (the `page` fixture saves its last state itself).

Chromium is /usr/bin/chromium (`make test` installs Debian's package when it is missing). The server shares
one store between the tests of a worker: give every test its own users (`unique_username`).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
ARTIFACTS = HERE / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEFAULT_VIEWPORT = {"width": 1280, "height": 800}
DEFAULT_LOCALE = "th-TH"
STARTUP_TIMEOUT = 90.0


# ---------------------------------------------------------------------------------------------- marker


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: end-to-end test of the real app in a real browser (Chromium)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/e2e/ carries the `e2e` marker (`-m e2e` / `-m 'not e2e'`)."""
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # noqa: ANN201
    """Keep each phase's report on the item (for screenshots named by outcome) and, when a test that used
    the live server fails, attach the tail of the server's log to the failure report."""
    report = yield
    setattr(item, f"_e2e_report_{report.when}", report)
    if report.failed:
        server = getattr(item, "funcargs", {}).get("live_server") if hasattr(item, "funcargs") else None
        if isinstance(server, LiveServer):
            report.sections.append(("live server log (last 200 lines)", server.log_tail(200)))
    return report


def _test_failed(item: pytest.Item) -> bool:
    return any(getattr(getattr(item, f"_e2e_report_{when}", None), "failed", False) for when in ("setup", "call"))


def artifact_name(nodeid: str) -> str:
    """tests/e2e/test_x.py::test_y[a-b] -> test_x__test_y-a-b"""
    path, _, name = nodeid.partition("::")
    stem = Path(path).stem
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{stem}__{name.replace('::', '__')}").strip("-")


# ------------------------------------------------------------------------------------------ live server


@dataclass
class User:
    username: str
    password: str
    role: str
    display_name: str


@dataclass
class LiveServer:
    base_url: str
    data_dir: Path
    env: dict[str, str]
    log_path: Path
    admin_username: str
    admin_password: str
    process: subprocess.Popen | None = field(default=None, repr=False)

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def ssz(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run the `ssz` CLI against the same store as the server (same environment and working directory)."""
        result = subprocess.run(
            [*ssz_command(), *args],
            env=self.env,
            cwd=self.data_dir,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"ssz {' '.join(args)} exited {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    def create_user(
        self,
        role: str = "dispatcher",
        *,
        username: str | None = None,
        name: str | None = None,
        password: str | None = None,
    ) -> User:
        """`ssz user create USERNAME --role ROLE --name NAME --password PASSWORD` with a unique username."""
        username = username or unique_username(role)
        password = password or f"pw-{secrets.token_urlsafe(12)}"
        name = name or f"ผู้ทดสอบ {username}"
        self.ssz("user", "create", username, "--role", role, "--name", name, "--password", password)
        return User(username=username, password=password, role=role, display_name=name)

    def log_tail(self, lines: int = 200) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError as error:
            return f"(no log: {error})"


def ssz_command() -> list[str]:
    """The venv's `ssz` entry point, or the same module run by this interpreter."""
    script = Path(sys.executable).with_name("ssz")
    return [str(script)] if script.exists() else [sys.executable, "-m", "entrypoints.cli"]


def unique_username(prefix: str = "user") -> str:
    """A valid, unique username (lower-case, 3–32 characters) so tests stay independent on the shared server."""
    prefix = re.sub(r"[^a-z0-9._-]", "", prefix.lower())[:16] or "user"
    return f"{prefix}-{secrets.token_hex(5)}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_env(data_dir: Path, port: int, admin_username: str, admin_password: str) -> dict[str, str]:
    # Drop anything that could point the server at another store (DATABASE_URL, POSTGRES_*, PERSISTENCE_MODULE...).
    dropped = (
        "SSZ_",
        "POSTGRES_",
        "SQLITE_",
        "PERSISTENCE_MODULE",
        "DATABASE_URL",
        "APPLICATION_RECORDER_TOPIC",
        "CIPHER_",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p),
            "PYTHONUNBUFFERED": "1",
            "SSZ_ENVIRONMENT": "test",
            "SSZ_DATA_DIR": str(data_dir),
            "DATABASE_URL": f"sqlite:///{data_dir / 'ssz.sqlite3'}",
            "SSZ_SECRET_KEY": secrets.token_urlsafe(32),
            "SSZ_ADMIN_USERNAME": admin_username,
            "SSZ_ADMIN_PASSWORD": admin_password,
            "SSZ_HOST": "127.0.0.1",
            "SSZ_PORT": str(port),
            "SSZ_LOG_FORMAT": "console",
            "SSZ_PROJECTIONS_IN_PROCESS": "true",
        }
    )
    return env


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def start_serving(server: LiveServer, port: int) -> None:
    """`ssz serve` on the server's store; returns once it answers /healthz, has exited, or the start-up time is up."""
    with server.log_path.open("ab") as log:
        server.process = subprocess.Popen(
            [*ssz_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=server.env,
            cwd=server.data_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline and server.process.poll() is None and not _healthy(server.url("/healthz")):
        time.sleep(0.2)


def caught_up(server: LiveServer) -> bool:
    """Whether every read model has caught up with the log (the server's /readyz)."""
    try:
        with urllib.request.urlopen(server.url("/readyz"), timeout=5) as answer:
            return not any(json.loads(answer.read())["projection_lag"].values())
    except (OSError, ValueError, KeyError):
        return False


@contextmanager
def serving(data_dir: Path, port: int, env: dict[str, str], admin: tuple[str, str]) -> Iterator[LiveServer]:
    """`ssz serve` on a store made beforehand (a demo history), once it answers and its read models have caught up
    with that history; stopped afterwards."""
    server = LiveServer(f"http://127.0.0.1:{port}", data_dir, env, data_dir / "server.log", *admin)
    start_serving(server, port)
    try:
        assert _healthy(server.url("/healthz")), server.log_tail(100)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not caught_up(server):
            time.sleep(0.5)
        yield server
    finally:
        _stop(server.process)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    """`ssz serve` on a free port with a fresh data dir (SQLite); one per xdist worker."""
    data_dir = tmp_path_factory.mktemp("live-server")
    log_path = data_dir / "server.log"
    admin_username, admin_password = "admin", f"admin-{secrets.token_urlsafe(12)}"
    for attempt in range(3):  # a free port can be taken between choosing it and binding it
        port = _free_port()
        env = _server_env(data_dir, port, admin_username, admin_password)
        server = LiveServer(
            base_url=f"http://127.0.0.1:{port}",
            data_dir=data_dir,
            env=env,
            log_path=log_path,
            admin_username=admin_username,
            admin_password=admin_password,
        )
        start_serving(server, port)
        if server.process.poll() is None and _healthy(server.url("/healthz")):
            break
        _stop(server.process)
        if attempt == 2 or "address already in use" not in server.log_tail(50).lower():
            pytest.fail(
                f"`ssz serve` did not answer /healthz within {STARTUP_TIMEOUT:.0f}s "
                f"(exit code {server.process.returncode}). Log:\n{server.log_tail(300)}",
                pytrace=False,
            )
    try:
        yield server
    finally:
        _stop(server.process)
        if request.session.testsfailed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
            copy = ARTIFACTS / f"live-server-{worker}.log"
            copy.write_text(log_path.read_text(errors="replace"))  # failing tests also show its tail in their report
            sys.stderr.write(f"\nlive server log ({worker}): {copy}\n")


def _stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture
def create_user(live_server: LiveServer) -> Callable[..., User]:
    """create_user(role="dispatcher", *, username=None, name=None, password=None) -> User, via the real CLI."""
    return live_server.create_user


@pytest.fixture(name="unique_username")
def unique_username_fixture() -> Callable[[str], str]:
    return unique_username


# ---------------------------------------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def playwright_instance():  # noqa: ANN201
    from playwright.sync_api import sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (`make test` does it: "
            "apt-get update && apt-get install -y chromium).",
            pytrace=False,
        )
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance):  # noqa: ANN001, ANN201
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


@pytest.fixture
def new_context(browser, live_server: LiveServer):  # noqa: ANN001, ANN201
    """new_context(viewport={"width": 1280, "height": 800}, locale="th-TH", **kwargs) -> BrowserContext.
    base_url is the live server, so `page.goto("/login")` works; contexts are closed after the test."""
    contexts = []

    def make(viewport: dict[str, int] | None = None, locale: str = DEFAULT_LOCALE, **kwargs):  # noqa: ANN003, ANN202
        kwargs.setdefault("base_url", live_server.base_url)
        kwargs.setdefault("timezone_id", "Asia/Bangkok")
        context = browser.new_context(viewport=viewport or DEFAULT_VIEWPORT, locale=locale, **kwargs)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[..., Path]:
    """screenshot(page, label="") -> Path: tests/e2e/artifacts/<test>[-<label>].png (full page)."""
    base = artifact_name(request.node.nodeid)

    def take(page, label: str = "", *, full_page: bool = True) -> Path:  # noqa: ANN001
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / (f"{base}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', label)}.png" if label else f"{base}.png")
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take


@pytest.fixture
def page(new_context, screenshot, request: pytest.FixtureRequest):  # noqa: ANN001, ANN201
    """A page in a fresh context (1280×800, th-TH); its last state is saved as artifacts/<test>.png
    (<test>-FAILED.png when the test failed)."""
    page = new_context().new_page()
    yield page
    try:
        screenshot(page, "FAILED" if _test_failed(request.node) else "")
    except Exception as error:  # a crashed page must not hide the test's own failure
        sys.stderr.write(f"screenshot of {request.node.nodeid} failed: {error}\n")


# ------------------------------------------------------------------------------------------------ login


def do_login(page, username: str, password: str, *, expect_success: bool = True, base_url: str | None = None) -> None:  # noqa: ANN001
    """Open /login, fill input[name=username] and input[name=password], submit. With expect_success, wait
    until the browser has left /login (and fail with the page's text if it has not)."""
    page.goto((base_url or "") + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    form = page.locator("form", has=page.locator("input[name=password]")).first
    form.locator("button:not([type=button]):not([type=reset]), input[type=submit]").first.click()
    if not expect_success:
        page.wait_for_load_state()
        return
    try:
        page.wait_for_url(lambda url: not urlsplit(url).path.rstrip("/").endswith("/login"), timeout=15_000)
    except Exception as error:
        raise AssertionError(
            f"login as {username!r} did not leave /login; the page says:\n{page.locator('body').inner_text()[:2000]}"
        ) from error
    page.wait_for_load_state()


@pytest.fixture
def login(live_server: LiveServer) -> Callable[..., None]:
    """login(page, username, password, *, expect_success=True)"""

    def run(page, username: str, password: str, *, expect_success: bool = True) -> None:  # noqa: ANN001
        do_login(page, username, password, expect_success=expect_success, base_url=live_server.base_url)

    return run
