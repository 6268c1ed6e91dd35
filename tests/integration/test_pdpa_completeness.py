"""After a PDPA erasure, nothing holds the reporter's name or phone: not a table of either store (a full dump of the
database, and the database files themselves on SQLite), not a line the server or the console logged, not a read model,
an export or a report. Run against a real `ssz serve` process on real SQLite and real PostgreSQL, driven over HTTP by
a dispatcher, an integration, an auditor and an administrator, as they use it."""

from __future__ import annotations

import re
import secrets
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select

from domain.values import BANGKOK, SYSTEM_USER_ID, Role
from infrastructure.api_keys import Scope
from infrastructure.bootstrap import bootstrap
from infrastructure.settings import Settings
from infrastructure.tables import reporter_keys
from testkit.api import new_key
from testkit.servers import REPO, running, server_env, ssz_command
from testkit.world import build_world
from web.access import SESSION_COOKIE

NAME, PHONE, INTL = "Malee Srisuk", "081 234 5678", "+66 81 234 5678"
NEEDLES = [NAME, "Srisuk", PHONE, "0812345678", INTL, "081-234-5678"]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
REPORT = {
    "priority": "P1",
    "category": "sexual_harassment",
    "community": "ko_loi",
    "channel": "phone_191",
    "location": "Soi Ko Loi 3",
    "description": "A woman is followed by a man on a motorbike.",
}


class Person:
    def __init__(self, base_url: str, cookie: str):
        self.http = httpx.Client(base_url=base_url, cookies={SESSION_COOKIE: cookie}, timeout=60)

    def get(self, path: str) -> httpx.Response:
        return self.http.get(path)

    def post(self, path: str, data: dict[str, str]) -> httpx.Response:
        token = CSRF.search(self.http.get("/login", follow_redirects=True).text).group(1)
        return self.http.post(path, data={**data, "csrf_token": token})


def leaks(text: str | bytes) -> list[str]:
    """The needles found in a text or in bytes, also as the hex of their UTF-8 (how dumps write binary columns)."""
    data = text.encode("utf-8", "replace") if isinstance(text, str) else text
    lowered = data.lower()
    return [n for n in NEEDLES if n.encode() in data or n.encode().hex().encode() in lowered]


def reporter_key(settings: Settings, subject: str) -> bytes:
    """The reporter's key as the vault keeps it (to check that no copy of it survives its destruction)."""
    url = settings.database_url.replace("postgresql://", "postgresql+psycopg://") if settings.uses_postgres else None
    engine = create_engine(url or f"sqlite:///{settings.data_dir / 'ssz.sqlite3'}")
    try:
        with engine.connect() as conn:
            return conn.execute(select(reporter_keys.c.key).where(reporter_keys.c.subject == subject)).scalar_one()
    finally:
        engine.dispose()


def dump(settings: Settings) -> bytes:
    """Every table of the store as its tool dumps it; on SQLite also the database files as they are on disk."""
    if settings.uses_postgres:
        return subprocess.run(["pg_dump", settings.database_url], check=True, capture_output=True).stdout
    files = b"".join(f.read_bytes() for f in sorted(settings.data_dir.glob("ssz.sqlite3*")))  # with the WAL
    conn = sqlite3.connect(settings.data_dir / "ssz.sqlite3")
    try:
        return "\n".join(conn.iterdump()).encode() + files
    finally:
        conn.close()


@pytest.fixture
def deployment(store_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[dict]:
    secret = secrets.token_urlsafe(32)
    url = request.getfixturevalue("postgres_url") if store_kind == "postgres" else ""
    data_dir = tmp_path / "server-a"  # the server's own directory: on SQLite, its database is there
    settings = Settings(environment="test", data_dir=data_dir, database_url=url or None, secret_key=secret)
    container = bootstrap(settings)
    world = build_world(container.app)
    auditor = container.app.create_user(
        username="auditor", display_name="A", role=Role.AUDITOR, password="a-long-enough-password", by=SYSTEM_USER_ID
    ).id
    key = new_key(container, world, "SOS app", scopes={Scope.INTAKE, Scope.READ, Scope.CONTACTS}, role=Role.DISPATCHER)
    cookies = {
        name: container.sessions.start(user, ip="10.0.0.7", user_agent="pytest")
        for name, user in (
            ("dispatcher", world.dispatcher),
            ("admin", world.admin),
            ("auditor", auditor),
            ("supervisor", world.supervisor),
        )
    }
    vault = container.app.vault
    subject = vault._subject(PHONE)  # the keyed hash of the number, which links it to the reports
    container.close()
    with running(url, tmp_path, 1, secret_key=secret, env={"SSZ_LOG_LEVEL": "INFO"}) as [server]:
        yield {
            "settings": settings,
            "server": server,
            "people": {name: Person(server.base_url, cookie) for name, cookie in cookies.items()},
            "api": httpx.Client(base_url=server.base_url, headers={"authorization": f"Bearer {key.key}"}, timeout=60),
            "subject": subject,
            "env": server_env(url, data_dir, secret_key=secret),
        }


def caught_up(api: httpx.Client, patience: float = 30.0) -> None:
    """Waits until the server's read models hold every event stored so far (an intake by another client is not the
    dispatcher's own write: their pages may be a moment behind it)."""
    deadline = time.monotonic() + patience
    while True:
        ready = api.get("/readyz")
        if ready.status_code == 200 and not any(ready.json()["projection_lag"].values()):
            return
        assert time.monotonic() < deadline, ready.text
        time.sleep(0.05)


def console(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*ssz_command(), *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )


def test_after_an_erasure_no_table_log_read_model_export_or_report_holds_the_name_or_phone(deployment: dict) -> None:
    d = deployment
    dispatcher, admin, auditor, supervisor = (d["people"][n] for n in ("dispatcher", "admin", "auditor", "supervisor"))
    api, settings = d["api"], d["settings"]

    # Reported twice, by a dispatcher's form and by the SOS app; read on purpose on the page, by phone and by the API.
    made = dispatcher.post("/incidents", {**REPORT, "reporter_name": NAME, "reporter_phone": PHONE})
    assert made.status_code == 303, made.text
    first = made.headers["location"].rsplit("/", 1)[1]
    sos = api.post("/api/v1/incidents", json={**REPORT, "reporter": {"name": NAME, "phone": INTL}})
    assert sos.status_code == 201, sos.text
    second = sos.json()["reference"]
    caught_up(api)
    refused = dispatcher.post("/incidents", {**REPORT, "reporter_name": NAME, "reporter_phone": "081 234 5678 <x>"})
    assert refused.status_code == 422  # echoed back to the dispatcher, stored nowhere
    assert NAME in dispatcher.post(f"/incidents/{first}/contact", {"purpose": "call_back"}).text
    found = dispatcher.post("/search/phone", {"phone": "081-234-5678", "purpose": "investigation"})
    assert found.status_code == 200 and first in found.text and second in found.text
    shown = api.post(f"/api/v1/incidents/{second}/contact", json={"purpose": "call_back"})
    assert shown.status_code == 200 and shown.json()["name"] == NAME
    before = dump(settings)
    assert leaks(before) == []  # sealed from the start: the log and the tables hold ciphertext only
    assert d["subject"].encode() in before and first.encode() in before  # (the scan does read the stores)
    key = reporter_key(settings, d["subject"])

    # The reporter asks for erasure; an administrator records the request and carries it out.
    taken = admin.post(
        "/admin/pdpa/requests",
        {
            "phone": INTL,
            "request_reference": "PDPA-2569/031",
            "requester": "data_subject",
            "channel": "in_person",
            "legal_basis": "pdpa_erasure",
        },
    )
    assert taken.status_code == 303, taken.text
    request_page = taken.headers["location"]
    assert admin.post(f"{request_page}/erase", {}).status_code == 303

    # What people read and export afterwards.
    month = datetime.now(UTC).astimezone(BANGKOK).strftime("%Y-%m")
    seen = {
        "incident page": dispatcher.get(f"/incidents/{first}").text,
        "contact asked again": dispatcher.post(f"/incidents/{first}/contact", {"purpose": "call_back"}).text,
        "API contact": api.post(f"/api/v1/incidents/{second}/contact", json={"purpose": "call_back"}).text,
        "API incident": api.get(f"/api/v1/incidents/{second}").text,
        "API timeline": api.get(f"/api/v1/incidents/{second}/timeline").text,
        "incident list": supervisor.get("/incidents").text,
        "readings": auditor.get("/audit/personal-data").text,
        "readings CSV": auditor.get("/audit/personal-data/csv").text,
        "request": admin.get(request_page).text,
        "receipt": admin.get(f"{request_page}/receipt").text,
        "report CSV": supervisor.get(f"/reports/{month}/csv").text,
    }
    assert "PDPA" in seen["contact asked again"] and shown.json()["erased"] is False
    assert '"erased":true' in seen["API contact"].replace(" ", "")
    for what, text in seen.items():
        assert leaks(text) == [], what
    history = console(d["env"], "history", first)
    asked = console(d["env"], "history", first, "--show-contact", "--reason", "court_request")
    no_reason = console(d["env"], "history", first, "--show-contact")
    assert history.returncode == 0 and "erased" in history.stdout, history.stderr
    assert asked.returncode == 0 and "erased on request" in asked.stdout, asked.stderr
    assert no_reason.returncode == 2 and "--reason" in no_reason.stderr
    for run in (history, asked, no_reason):
        assert leaks(run.stdout + run.stderr) == []
    d["server"].stop()

    after = dump(settings)
    assert leaks(after) == []
    assert d["subject"].encode() not in after  # nothing links the number to the reports any more
    assert key not in after and key.hex().encode() not in after.lower()  # nor is there a copy of the destroyed key
    log = d["server"].log_path.read_text(errors="replace")
    assert "pdpa.contact_read" in log and "pdpa.contact_erased" in log  # (the log was captured)
    assert leaks(log) == []
    for path in settings.data_dir.rglob("*"):  # snapshots, locks, anything else the server wrote
        if path.is_file():
            assert leaks(path.read_bytes()) == [], path
