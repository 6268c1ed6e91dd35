"""The rough edges a newcomer hit (issue 18, item 6), each over HTTP on a real store: what the pages say, where a
form leaves the browser, and what a refused input stores."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from argon2 import PasswordHasher
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from structlog.testing import capture_logs
from typer.testing import CliRunner

from application.errors import IdempotencyKeyReused
from domain.accounts import UserAccount
from domain.values import (
    BANGKOK,
    SYSTEM_USER_ID,
    Category,
    Channel,
    Community,
    GeoPoint,
    PartnerSector,
    Priority,
    Role,
)
from entrypoints import cli as cli_module
from infrastructure import credentials
from infrastructure.api_keys import Scope
from infrastructure.bootstrap import Container, bootstrap
from infrastructure.settings import Settings
from simulation.run import default_until
from tests.integration.conftest import build_world
from tests.integration.test_api import SOS, assert_problem, served
from tests.integration.web_support import Browser, browser, head, signed_in
from web.access import SESSION_COOKIE
from web.app import create_app
from web.middleware import LANG_COOKIE


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """One SQLite zone for the module's page tests (each test makes its own incidents and accounts)."""
    data = Path(tmp_path_factory.mktemp("edges")) / "data"
    container = bootstrap(Settings(environment="test", data_dir=data, database_url=None))
    world = build_world(container.app)
    app = create_app(container, run_projections=True)
    with TestClient(app):
        assert container.projections.wait(head(container), timeout=30)
        yield app, container, world
    container.close()


def person(site: tuple, who: str, lang: str = "en") -> Browser:
    app, container, world = site
    b = signed_in(app, container, getattr(world, who))
    b.client.cookies.set(LANG_COOKIE, lang)
    return b


def version_on(page: str) -> str:
    return re.search(r'name="expected_version" value="(\d+)"', page).group(1)


REPORT = {
    "priority": "P2",
    "category": "theft",
    "community": "ko_loi",
    "channel": "phone_191",
    "location": "Soi Ko Loi 3",
    "description": "A bag was snatched.",
}


def reported(site: tuple) -> str:
    response = person(site, "dispatcher").post("/incidents", REPORT)
    assert response.status_code == 303, response.text
    return response.headers["location"]


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- the timeline names the unit of every step, and a closed incident its units --------------------------------
def test_the_timeline_names_the_unit_of_each_officer_step_and_a_closed_incident_its_attended_units(
    site: tuple,
) -> None:
    app, container, world = site
    dispatcher, officer, supervisor = person(site, "dispatcher"), person(site, "officer"), person(site, "supervisor")
    page = reported(site)
    unit = str(world.units[0])
    assert (
        dispatcher.post(
            f"{page}/dispatch", {"unit_id": unit, "expected_version": version_on(dispatcher.get(page).text)}
        ).status_code
        == 303
    )
    for step in ("en-route", "on-scene"):
        assert officer.post(f"{page}/units/{unit}/{step}").status_code == 303
    resolved = officer.post(
        f"{page}/resolve",
        {"outcome": "warning_given", "summary": "Warned.", "expected_version": version_on(officer.get(page).text)},
    )
    assert resolved.status_code == 303
    closed = supervisor.post(f"{page}/close", {"expected_version": version_on(supervisor.get(page).text)})
    assert closed.status_code == 303
    shown = text_of(supervisor.get(page).text)
    assert "Unit ?" not in shown and "?" not in re.findall(r"Unit (\S+)", shown)
    for words in ("Unit M-01 dispatched", "Unit M-01 en route", "Unit M-01 on scene"):
        assert words in shown
    assert "No unit is on this incident" not in shown
    assert re.search(r"Attended\W.*M-01", shown)


def test_a_timeline_shows_when_a_step_happened_and_when_it_was_recorded_to_the_second(site: tuple) -> None:
    dispatcher = person(site, "dispatcher")
    earlier = (datetime.now(BANGKOK) - timedelta(minutes=20)).replace(second=0, microsecond=0)
    response = dispatcher.post("/incidents", {**REPORT, "occurred_at": earlier.strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 303
    page = dispatcher.get(response.headers["location"]).text
    stamps = re.findall(r"\d{1,2} \w{3} \d{4}, (\d{2}:\d{2}:\d{2})", text_of(page))
    assert earlier.strftime("%H:%M:00") in stamps  # when it happened, to the second
    assert re.search(r"\(recorded \d{1,2} \w{3} \d{4}, \d{2}:\d{2}:\d{2}\)", text_of(page))
    thai = person(site, "dispatcher", "th").get(response.headers["location"]).text
    assert "บันทึกเมื่อ" in thai and re.search(r"\d{2}:\d{2}:\d{2} น\.", thai)


def test_the_incident_page_blames_someone_else_only_for_a_real_conflict(site: tuple) -> None:
    app, container, world = site
    dispatcher, officer = person(site, "dispatcher"), person(site, "officer")
    page = reported(site)
    stale = version_on(dispatcher.get(page).text)
    unit = str(world.units[1])
    # A step refused on the incident as it stands (the unit was never dispatched to it): not a conflict.
    refused = officer.post(f"{page}/units/{unit}/on-scene")
    assert refused.status_code == 409
    assert "Someone else changed this incident first" not in refused.text
    assert "has not been dispatched to" in text_of(refused.text)
    # A decision on a version someone else has changed since: a conflict, said as one.
    assert dispatcher.post(f"{page}/notes", {"text": "Caller rang again."}).status_code == 303
    triage = {"category": "theft", "priority": "P1", "reason": "Weapon seen", "expected_version": stale}
    conflict = person(site, "supervisor").post(f"{page}/triage", triage)
    assert conflict.status_code == 409 and "Someone else changed this incident first" in conflict.text


def test_a_unit_with_a_thai_call_sign_is_registered_and_a_bad_one_is_told_with_a_call_sign_example(site: tuple) -> None:
    app, container, world = site
    supervisor = person(site, "supervisor")
    made = supervisor.post("/units", {"call_sign": "ชร-101", "kind": "car"})
    assert made.status_code == 303, text_of(made.text)[-400:]
    assert "ชร-101" in supervisor.get("/units").text
    refused = supervisor.post("/units", {"call_sign": "ชร 101!", "kind": "car"})
    assert refused.status_code == 422
    said = text_of(refused.text)
    assert "ชร-101" in said and "RB-07" not in said  # the example is a call sign, not a red box's code
    thai = person(site, "supervisor", "th").post("/units", {"call_sign": "x", "kind": "car"})
    assert thai.status_code == 422 and "ชร-101" in thai.text and "RB-07" not in thai.text


# --- the same Idempotency-Key with another body ---------------------------------------------------------------
def test_the_same_idempotency_key_with_a_different_body_is_a_422_that_says_so_and_stores_nothing(
    container: Container,
) -> None:
    for api in served(container):
        key = api.key({Scope.INTAKE})
        headers = {"Idempotency-Key": "app-77/sos/9"}
        first = api.call("POST", "/api/v1/incidents", key, json=SOS, headers=headers)
        assert first.status_code == 201
        before = head(api.container)
        other = {**SOS, "description": "Someone else, somewhere else."}
        reused = api.call("POST", "/api/v1/incidents", key, json=other, headers=headers)
        body = assert_problem(reused, 422, field="Idempotency-Key")
        assert body["type"].endswith("idempotency-key-reused") and "already used" in body["title"]
        assert "different report" in body["detail"]
        assert head(api.container) == before  # nothing stored
        # The same body again is still the retry it was: 200 and the first incident.
        again = api.call("POST", "/api/v1/incidents", key, json=SOS, headers=headers)
        assert again.status_code == 200 and again.json()["reference"] == first.json()["reference"]
    # A process that never saw the key (a fresh cache) finds it in the store and refuses alike.
    world = api.world
    world.report(idempotency_key="desk/1", description="The first report.")
    fresh = bootstrap(container.settings)
    try:
        with pytest.raises(IdempotencyKeyReused):
            fresh.app.report_incident(
                **{**FIELDS, "description": "Another report."}, by=world.dispatcher, idempotency_key="desk/1"
            )
        again = fresh.app.report_incident(
            **{**FIELDS, "description": "The first report."}, by=world.dispatcher, idempotency_key="desk/1"
        )
        assert again.notification_id is None  # the retry it is: nothing new
    finally:
        fresh.close()


FIELDS = dict(
    channel=Channel.PHONE_191,
    category=Category.THEFT,
    priority=Priority.P2,
    community=Community.KO_LOI,
    location="Soi 3, near the market",
)


# --- one-time passwords work once; everyone can change their own ---------------------------------------------------
def sign_in(b: Browser, username: str, password: str, **more: str):  # noqa: ANN201
    return b.post("/login", {"username": username, "password": password, **more})


def test_the_first_sign_in_with_a_one_time_password_chooses_a_new_one_and_the_one_time_password_then_fails(
    site: tuple,
) -> None:
    app, container, world = site
    container.app.create_user(
        username="newcomer",
        display_name="New Comer",
        role=Role.DISPATCHER,
        password="given-once-123",
        by=world.admin,
        one_time=True,
    )
    b = browser(app)
    b.client.cookies.set(LANG_COOKIE, "en")
    first = sign_in(b, "newcomer", "given-once-123")
    assert first.status_code == 200 and 'name="new_password"' in first.text
    assert SESSION_COOKIE not in b.client.cookies  # no session yet: the one-time password opens nothing by itself
    mismatch = sign_in(b, "newcomer", "given-once-123", new_password="my-own-password-1", new_password_again="typo")
    assert mismatch.status_code == 422 and "not the same" in mismatch.text
    chosen = sign_in(
        b, "newcomer", "given-once-123", new_password="my-own-password-1", new_password_again="my-own-password-1"
    )
    assert chosen.status_code == 303 and SESSION_COOKIE in b.client.cookies
    assert b.get("/board").status_code == 200
    again = browser(app)
    assert sign_in(again, "newcomer", "given-once-123").status_code == 401  # used once, never again
    assert sign_in(again, "newcomer", "my-own-password-1").status_code == 303
    rows = container.reads.timeline(UserAccount.id_for("newcomer"))
    assert [r["event"] for r in rows][-1] == "PasswordChanged"


def test_a_person_changes_their_own_password_with_the_current_one_and_their_other_sessions_end(site: tuple) -> None:
    app, container, world = site
    container.app.create_user(
        username="changer", display_name="Changer", role=Role.OFFICER, password="first-password-1", by=world.admin
    )
    phone, desk = browser(app), browser(app)
    for b in (phone, desk):
        b.client.cookies.set(LANG_COOKIE, "en")
        assert sign_in(b, "changer", "first-password-1").status_code == 303
    page = desk.get("/account")
    assert page.status_code == 200 and 'action="/account/password"' in page.text
    wrong = desk.post(
        "/account/password",
        {"current_password": "nope", "new_password": "second-password-2", "new_password_again": "second-password-2"},
    )
    assert wrong.status_code == 422 and "current password is not right" in wrong.text
    done = desk.post(
        "/account/password",
        {
            "current_password": "first-password-1",
            "new_password": "second-password-2",
            "new_password_again": "second-password-2",
        },
    )
    assert done.status_code == 303 and done.headers["location"] == "/account?changed=1"
    assert "sessions on other devices have ended" in desk.get("/account?changed=1").text
    assert desk.get("/my").status_code == 200  # this session goes on
    assert phone.get("/my").status_code in (303, 401)  # the other one has ended
    assert sign_in(browser(app), "changer", "first-password-1").status_code == 401
    assert sign_in(browser(app), "changer", "second-password-2").status_code == 303


def test_serve_creates_the_first_administrator_when_a_demo_left_only_other_people(tmp_path: Path) -> None:
    container = bootstrap(Settings(environment="test", data_dir=tmp_path / "data", database_url=None))
    try:
        container.app.create_user(
            username="dispatcher01",
            display_name="Demo",
            role=Role.DISPATCHER,
            password="demo-password-1",
            by=SYSTEM_USER_ID,
        )
        out = CliRunner().invoke(cli_module.cli, ["--help"])  # the CLI loads
        assert out.exit_code == 0
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            cli_module.ensure_first_admin(container)
        password = re.search(r"one-time password: (\S+)", printed.getvalue()).group(1)
        assert len(password) >= 10
        admin = container.app.authenticate("admin", password)
        assert admin is not None and admin.role is Role.ADMIN
        assert container.app.must_choose_password(admin.user_id)  # usable once, then the person's own
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            cli_module.ensure_first_admin(container)  # an administrator exists now: nothing more
        assert printed.getvalue() == ""
    finally:
        container.close()


# --- post, then redirect, everywhere ----------------------------------------------------------------------------------
def test_admin_actions_redirect_to_their_page_which_shows_a_one_time_secret_once_and_reloads_or_switches_language(
    site: tuple,
) -> None:
    app, container, world = site
    admin = person(site, "admin")
    made = admin.post("/admin/users", {"username": "prg-user", "display_name": "P R G", "role": "officer"})
    assert made.status_code == 303 and made.headers["location"] == "/admin/users"
    shown = admin.get("/admin/users")
    password = re.search(r'<code class="secret">([^<]+)</code>', shown.text).group(1)
    assert shown.headers["cache-control"] == "no-store"
    assert container.app.authenticate("prg-user", password) is not None
    reloaded = admin.get("/admin/users")  # a reload is a page again, and the secret is not shown twice
    assert reloaded.status_code == 200 and password not in reloaded.text
    switched = admin.post("/lang", {"lang": "th", "next": "/admin/users"})
    assert switched.status_code == 303 and admin.get(switched.headers["location"]).status_code == 200
    admin.post("/lang", {"lang": "en", "next": "/admin/users"})
    user_id = str(UserAccount.id_for("prg-user"))
    for action, data in [
        ("role", {"role": "dispatcher", "reason": "moved desks"}),
        ("disable", {"reason": "left"}),
        ("enable", {"reason": "back"}),
        ("reset-password", {"reason": "forgot"}),
    ]:
        done = admin.post(f"/admin/users/{user_id}/{action}", data)
        assert (done.status_code, done.headers.get("location")) == (303, "/admin/users"), action
        assert admin.get("/admin/users").status_code == 200
    key = admin.post("/admin/api-keys", {"name": "SOS app", "scope": ["intake"], "role": "dispatcher"})
    assert key.status_code == 303 and key.headers["location"] == "/admin/api-keys"
    page = admin.get("/admin/api-keys").text
    assert re.search(r"data-api-key>[^<]{20,}<", page)
    assert not re.search(r"data-api-key>[^<]{20,}<", admin.get("/admin/api-keys").text)
    key_id = container.api_keys.listing()[0]["key_id"]
    revoked = admin.post(f"/admin/api-keys/{key_id}/revoke", {"reason": "rotated"})
    assert revoked.status_code == 303 and "revoked" in admin.get("/admin/api-keys").text


def test_a_refused_form_switches_language_back_to_the_page_it_was_sent_from(site: tuple) -> None:
    admin = person(site, "admin")
    refused = admin.post(
        "/admin/users", {"username": "", "role": "officer"}, headers={"referer": "http://testserver/admin/users"}
    )
    assert refused.status_code == 422
    assert re.search(r'name="next" value="/admin/users"', refused.text)


def test_no_form_address_opened_as_a_page_answers_405(site: tuple) -> None:
    """Every POST route of the pages, opened with GET (a reload, a bookmark, an old language switch), leads to a
    page that answers."""
    app, container, world = site
    admin = person(site, "admin")
    samples = {
        "reference": reported(site).rsplit("/", 1)[1],
        "unit_id": str(world.units[0]),
        "user_id": str(world.officer),
        "alert_id": str(UUID(int=5)),
        "camera_id": "CAM-01",
        "key_id": str(UUID(int=1)),
        "code": "RB-01",
        "visit_id": str(UUID(int=3)),
        "month": "2025-01",
        "request_id": str(UUID(int=7)),
        "handover_id": str(UUID(int=2)),
    }
    checked = 0
    for route in app.routes:
        if not isinstance(route, APIRoute) or "POST" not in route.methods or route.path.startswith("/api/"):
            continue
        if "GET" in route.methods or any(
            getattr(r, "path", None) == route.path and "GET" in getattr(r, "methods", ()) for r in app.routes
        ):
            continue
        path = route.path.format(**samples)
        answer = admin.get(path)
        assert answer.status_code != 405, path
        assert answer.status_code == 303, (path, answer.status_code)
        checked += 1
    assert checked >= 25


# --- the demo is deterministic all day ------------------------------------------------------------------------------
def test_two_demo_runs_with_the_same_seed_on_the_same_day_write_the_same_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.integration.test_demo import comparable, open_store, read_log

    monkeypatch.setattr(credentials, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    logs = []
    for run in ("first", "second"):
        env = {"SSZ_DATA_DIR": str(tmp_path / run / "data"), "SSZ_ENVIRONMENT": "test", "SSZ_LOG_LEVEL": "WARNING"}
        result = CliRunner().invoke(cli_module.cli, ["demo", "--months", "0.1", "--seed", "7"], env=env)
        assert result.exit_code == 0, result.output
        container = open_store(tmp_path / run)
        try:
            logs.append(comparable(read_log(container)))
        finally:
            container.close()
    assert len(logs[0]) > 100 and logs[0] == logs[1]
    midnight = default_until(datetime.now(UTC))
    last = max(e[3]["occurred_at"] for e in logs[0] if "occurred_at" in e[3])
    assert last <= midnight  # anchored to today's 00:00 in Bangkok, not to the minute it ran
    later = CliRunner().invoke(
        cli_module.cli,
        ["demo", "--months", "0.1", "--seed", "7", "--until", "2199-01-01"],
        env={"SSZ_DATA_DIR": str(tmp_path / "future" / "data"), "SSZ_ENVIRONMENT": "test"},
    )
    assert later.exit_code == 2 and "future" in later.output


# --- the QR sheet and the start-up warn when SSZ_PUBLIC_URL is unset ------------------------------------------------
def test_the_qr_sheet_and_the_start_up_warn_when_the_public_address_is_not_set(site: tuple, tmp_path: Path) -> None:
    app, container, world = site
    red_box(site, "RB-77")
    supervisor = person(site, "supervisor")
    assert container.settings.public_url is None
    sheet = supervisor.get("/red-boxes/RB-77/sheet")
    assert sheet.status_code == 200
    assert "SSZ_PUBLIC_URL is not set" in sheet.text and "http://testserver" in text_of(sheet.text)
    starting = bootstrap(Settings(environment="test", data_dir=tmp_path / "data", database_url=None))
    try:
        with capture_logs() as logs, TestClient(create_app(starting)):
            pass
    finally:
        starting.close()
    assert any(entry["event"] == "config.public_url_unset" for entry in logs)
    container.settings.public_url = "https://ccoc.example"
    try:
        sheet = supervisor.get("/red-boxes/RB-77/sheet")
        assert "SSZ_PUBLIC_URL is not set" not in sheet.text and "https://ccoc.example/checkin/RB-77" in sheet.text
    finally:
        container.settings.public_url = None


# --- a check-in with no position ----------------------------------------------------------------------------------
BOX_AT = GeoPoint(19.9094, 99.8322)


def red_box(site: tuple, code: str) -> str:
    """The box's check-in token (the box registered at BOX_AT the first time)."""
    app, container, world = site
    if container.reads.red_box_by_code(code) is None:
        container.app.register_red_box(
            code=code,
            name_th=f"ตู้แดง {code}",
            name_en=f"Box {code}",
            community=Community.KO_LOI,
            position=BOX_AT,
            by=world.admin,
        )
        container.projections.wait(head(container), timeout=5)
    sheet = person(site, "supervisor").get(f"/red-boxes/{code}/sheet").text
    return re.search(r"/checkin/[^?]+\?t=([^<\s\"]+)", sheet).group(1)


def test_a_check_in_with_no_position_is_recorded_as_no_position_and_does_not_count(site: tuple) -> None:
    app, container, world = site
    token = red_box(site, "RB-78")
    officer = person(site, "officer")
    blind = officer.post("/checkin/RB-78", {"t": token})  # the phone shared no position (a replayed photo, say)
    assert blind.status_code == 303
    visit_page = officer.get(blind.headers["location"]).text
    assert "no position" in text_of(visit_page).lower()
    container.projections.wait(head(container), timeout=5)
    day = datetime.now(BANGKOK).date()
    [visit] = [v for v in container.reads.visits_between(*_day_span(day)) if v["box_code"] == "RB-78"]
    assert visit["status"] == "flagged" and visit["flags"][0]["finding"] == {"kind": "no_position"}
    counted = {s["box_code"]: s for s in container.reads.visit_slots(day, day) if s["box_code"] == "RB-78"}
    assert counted["RB-78"]["valid"] == 0 and counted["RB-78"]["flagged"] == 1  # KPIS.md: a flagged visit never counts
    # With the phone's position, at the box, the same check-in counts.
    placed = officer.post("/checkin/RB-78", {"t": token, "lat": "19.90945", "lon": "99.83225"})
    assert placed.status_code == 303
    container.projections.wait(head(container), timeout=5)
    counted = {s["box_code"]: s for s in container.reads.visit_slots(day, day) if s["box_code"] == "RB-78"}
    assert sum(s["valid"] for s in container.reads.visit_slots(day, day) if s["box_code"] == "RB-78") == 1
    thai = person(site, "supervisor", "th").get(blind.headers["location"].split("?")[0]).text
    assert "ไม่มีตำแหน่ง" in thai


def _day_span(day):  # noqa: ANN001, ANN202
    start = datetime.combine(day, datetime.min.time(), tzinfo=BANGKOK)
    return start, start + timedelta(days=1)


# --- one banner when no camera worker runs ----------------------------------------------------------------------------
def test_with_no_camera_worker_running_the_cameras_page_shows_one_banner_not_a_red_flag_per_camera(site: tuple) -> None:
    app, container, world = site
    for n in (1, 2, 3):
        code = f"CAM-5{n}"
        if not any(c["code"] == code for c in container.reads.cameras()):
            container.app.register_camera(
                code=code,
                name=f"Gate {n}",
                community=Community.KO_LOI,
                owner=PartnerSector.POLICE,
                owner_name="Station",
                consent_reference="-",
                source=f"rtsp://cam{n}",
                by=world.admin,
            )
    container.projections.wait(head(container), timeout=5)
    page = person(site, "dispatcher").get("/cameras").text
    assert page.count("No camera worker is running") == 1
    assert not re.search(r'class="flag">(<span[^>]*>[^<]*</span>)?No worker', page)  # no wall of red
    assert 'class="camera-no_worker overdue' not in page
    thai = person(site, "dispatcher", "th").get("/cameras").text
    assert thai.count("ssz cameras run") == 1 and "No camera worker" not in thai


# --- human-readable API docs and a favicon ----------------------------------------------------------------------------
def test_the_api_has_human_readable_docs_served_from_this_site_and_the_site_has_a_favicon(site: tuple) -> None:
    app, container, world = site
    anyone = browser(app)
    docs = anyone.get("/api/v1/docs")
    assert docs.status_code == 200 and 'data-openapi="/api/v1/openapi.json"' in docs.text
    scripts = re.findall(r'<(?:script src|link rel="stylesheet" href)="([^"]+)"', docs.text)
    assert scripts and all(s.startswith("/static/") for s in scripts)  # vendored: no CDN
    for path in scripts:
        assert anyone.get(path).status_code == 200, path
    assert "SwaggerUIBundle" in anyone.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").text
    icon = anyone.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00" and b"PNG" in icon.content[:40]
    assert '<link rel="icon" href="/static/favicon.svg"' in person(site, "dispatcher").get("/board").text
