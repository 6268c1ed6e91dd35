"""The auditor's workspace on both stores: the state at a version equals a replay to that version, the state at an
instant follows the recorded (or, asked, the occurred) times, the diff of two versions, the zone's board at an
instant against an independent recomputation from the raw log, the pages and their bad input, and the exported
bundle verifying offline while a tampered one fails."""

from __future__ import annotations

import base64
import json
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from typer.testing import CliRunner

from application.ports import Contact
from application.time_travel import diff, state_at_version, state_of
from domain.values import (
    OPEN_INCIDENT_STATUSES,
    SYSTEM_USER_ID,
    AlertKind,
    CancelReason,
    Community,
    FalseAlarmReason,
    GeoPoint,
    Outcome,
    PartnerSector,
    Role,
)
from entrypoints.ledger_cli import ledger_cli, verifier_module
from infrastructure.bootstrap import bootstrap
from infrastructure.checkpoints import configured_signer
from infrastructure.readmodels.audit_instants import OCCURRED, RECORDED
from infrastructure.readmodels.ledger import take_checkpoint
from infrastructure.settings import Settings
from tests.integration.conftest import build_world
from tests.integration.web_support import head, signed_in
from web.app import create_app


def _pause() -> datetime:
    """An instant strictly between the events before it and those after it (recorded times are the store's)."""
    time.sleep(0.005)
    instant = datetime.now(UTC)
    time.sleep(0.005)
    return instant


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def story(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if request.param == "postgres":
        url = request.getfixturevalue("module_postgres_url")
        settings = Settings(environment="test", data_dir=tmp_path_factory.mktemp("audit-pg"), database_url=url)
    else:
        settings = Settings(environment="test", data_dir=tmp_path_factory.mktemp("audit-sqlite"), database_url=None)
    container = bootstrap(settings)
    app = container.app
    world = build_world(app)
    auditor = app.create_user(
        username="auditor",
        display_name="Auditor",
        role=Role.AUDITOR,
        password="a-long-enough-password",
        by=SYSTEM_USER_ID,
    ).id
    partner = app.create_user(
        username="partner",
        display_name="Partner",
        role=Role.PARTNER,
        password="a-long-enough-password",
        by=SYSTEM_USER_ID,
    ).id
    camera = app.register_camera(
        code="CAM-01",
        name="Gate",
        community=Community.KO_LOI,
        owner=PartnerSector.POLICE,
        owner_name="Station",
        consent_reference="-",
        source="rtsp://cam1",
        by=world.admin,
    ).id
    now = datetime.now(UTC)
    instants: dict[str, datetime] = {"begin": _pause()}
    # An incident entered 10 minutes after it occurred, with the reporter's contact (sealed).
    first = world.report(occurred_at=now - timedelta(minutes=10), contact=Contact(name="Somchai", phone="0812345678"))
    app.dispatch_unit(first, world.units[0], by=world.dispatcher)
    app.mark_en_route(first, world.units[0], by=world.officer)
    app.mark_on_scene(first, world.units[0], by=world.officer)
    instants["on_scene"] = _pause()
    app.resolve_incident(first, outcome=Outcome.ASSISTANCE_GIVEN, summary="Bag returned", by=world.officer)
    app.close_incident(first, by=world.supervisor)
    second = world.report(location="Market lane")
    app.cancel_incident(second, cancel_reason=CancelReason.FALSE_REPORT, by=world.dispatcher)
    alert = app.raise_camera_alert(
        camera_id=camera, kind=AlertKind.MOTION_IN_ZONE, score=0.7, snapshot_digest="0" * 64, frame_at=now
    ).id
    instants["alert_waiting"] = _pause()
    app.dismiss_alert(alert, reason=FalseAlarmReason.ANIMAL, by=world.dispatcher)
    app.reopen_incident(first, reason="The victim called again", by=world.supervisor)
    third = world.report(location="School gate")
    app.dispatch_unit(third, world.units[1], by=world.dispatcher)
    # The unit's latest event is a position, which leaves its status and incident as they were.
    app.report_unit_position(world.units[1], position=GeoPoint(19.91, 99.83), accuracy_m=15, by=world.dispatcher)
    instants["reopened"] = _pause()
    for n in range(3):
        app.add_incident_note(first, text=f"note {n}", by=world.dispatcher)
    instants["end"] = _pause()
    container.projections.catch_up()
    take_checkpoint(container.engine, container.projections.by_name["ledger"])
    site = create_app(container)
    yield {
        "container": container,
        "world": world,
        "site": site,
        "auditor": auditor,
        "partner": partner,
        "incidents": [first, second, third],
        "alert": alert,
        "instants": instants,
        "store": request.param,
    }
    container.close()


@pytest.fixture(scope="module")
def module_postgres_url(postgres_admin_url: str) -> Iterator[str]:
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    name = f"ssz_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield urlunsplit(urlsplit(postgres_admin_url)._replace(path=f"/{name}"))
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- an independent recomputation from the raw log -------------------------------------------------------------
def raw_log(container: Any) -> dict[UUID, list[Any]]:
    """Every stored event, decoded by the library's mapper, by aggregate, in version order."""
    app = container.app
    events: dict[UUID, list[Any]] = defaultdict(list)
    start = 1
    while page := app.recorder.select_notifications(start=start, limit=1000):
        for notification in page:
            events[notification.originator_id].append(app.mapper.to_domain_event(notification))
        start = page[-1].id + 1
    return events


def fold(events: list[Any]) -> Any:
    aggregate = None
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def prefix_at(events: list[Any], instant: datetime, basis: str) -> list[Any]:
    """The events up to the one recorded (or occurred) last by then, the latest in the aggregate's order among equals."""
    times = [e.timestamp if basis == RECORDED else e.occurred_at for e in events]
    known = [(at, i) for i, at in enumerate(times) if at <= instant]
    return events[: max(known)[1] + 1] if known else []


def board_by_replay(log: dict[UUID, list[Any]], instant: datetime, basis: str) -> dict[str, dict[str, str]]:
    board: dict[str, dict[str, str]] = {"incidents": {}, "units": {}, "alerts": {}}
    for aggregate_id, events in log.items():
        then = fold(prefix_at(events, instant, basis))
        kind = type(then).__name__ if then is not None else None
        if kind == "Incident" and then.status in OPEN_INCIDENT_STATUSES:
            board["incidents"][str(aggregate_id)] = then.status.value
        elif kind == "PatrolUnit" and then.status.value != "retired":
            board["units"][str(aggregate_id)] = f"{then.status.value} {then.incident_id}"
        elif kind == "CameraAlert" and then.status.value in ("raised", "acknowledged"):
            board["alerts"][str(aggregate_id)] = then.status.value
    return board


# --- time travel -----------------------------------------------------------------------------------------------
def test_the_state_at_every_version_of_every_aggregate_equals_a_replay_to_that_version(story: dict) -> None:
    container = story["container"]
    for aggregate_id, events in raw_log(container).items():
        for version in range(1, len(events) + 1):
            assert state_at_version(container.app, aggregate_id, version) == state_of(fold(events[:version])), (
                aggregate_id,
                version,
            )


def test_a_reporters_contact_stays_sealed_in_past_states(story: dict) -> None:
    state = state_at_version(story["container"].app, story["incidents"][0], 1)
    assert state["contact"] == "sealed"
    assert "Somchai" not in json.dumps(state, default=str) and "0812345678" not in json.dumps(state, default=str)


def test_the_state_at_an_instant_follows_recorded_time_unless_occurred_time_is_asked(story: dict) -> None:
    container, first = story["container"], story["incidents"][0]
    instants = story["instants"]
    log = raw_log(container)
    for name, instant in instants.items():
        for basis in (RECORDED, OCCURRED):
            expected = len(prefix_at(log[first], instant, basis)) or None
            assert container.audit.version_at(first, instant, basis) == expected, (name, basis)
    # Entered 10 minutes late: before it was recorded the system did not know it, although it had occurred.
    reported = log[first][0]
    between = reported.occurred_at + timedelta(minutes=5)
    assert container.audit.version_at(first, between, RECORDED) is None
    assert container.audit.version_at(first, between, OCCURRED) == 1
    assert state_at_version(container.app, first, container.audit.version_at(first, instants["on_scene"]))[
        "status"
    ] == ("on_scene")


def test_the_diff_of_two_versions_names_each_changed_field_old_and_new(story: dict) -> None:
    container, first = story["container"], story["incidents"][0]
    app = container.app
    changes = {c.field: (c.old, c.new) for c in diff(state_at_version(app, first, 4), state_at_version(app, first, 6))}
    assert changes["status"] == ("on_scene", "closed")
    assert changes["phase"] == ("reported", "closed") or changes["phase"][1] == "closed"
    assert changes["version"] == (4, 6)
    assert "reference" not in changes
    assert diff(state_at_version(app, first, 3), state_at_version(app, first, 3)) == []


def test_the_board_at_an_instant_equals_an_independent_recomputation_from_the_raw_log(story: dict) -> None:
    container = story["container"]
    log = raw_log(container)
    checked = 0
    for instant in story["instants"].values():
        for basis in (RECORDED, OCCURRED):
            board = container.audit.board_at(instant, basis)
            got = {
                "incidents": {s["id"]: s["status"] for s in board["incidents"]},
                "units": {s["id"]: f"{s['status']} {s['incident_id']}" for s in board["units"]},
                "alerts": {s["id"]: s["status"] for s in board["alerts"]},
            }
            assert got == board_by_replay(log, instant, basis), (instant, basis)
            checked += 1
    on_scene = container.audit.board_at(story["instants"]["on_scene"])
    assert [s["status"] for s in on_scene["incidents"]] == ["on_scene"]
    assert len(container.audit.board_at(story["instants"]["alert_waiting"])["alerts"]) == 1
    reopened = container.audit.board_at(story["instants"]["reopened"])
    assert {s["id"] for s in reopened["incidents"]} == {str(story["incidents"][0]), str(story["incidents"][2])}
    moved = next(u for u in reopened["units"] if u["id"] == str(story["world"].units[1]))
    assert (moved["status"], moved["incident_id"]) == ("assigned", str(story["incidents"][2]))
    assert checked == 10


# --- the pages ---------------------------------------------------------------------------------------------------
def _auditor(story: dict, lang: str = "en"):  # noqa: ANN202
    who = signed_in(story["site"], story["container"], story["auditor"])
    who.client.cookies.set("ssz_lang", lang)
    return who


def test_an_auditor_finds_records_by_reference_call_sign_code_username_and_id(story: dict) -> None:
    container, first = story["container"], story["incidents"][0]
    auditor = _auditor(story)
    reference = container.reads.incident(first)["reference"]
    for text, target in (
        (reference.lower(), first),
        ("m-01", story["world"].units[0]),
        ("CAM-01", None),
        ("dispatcher", story["world"].dispatcher),
        (str(story["alert"]), story["alert"]),
    ):
        answer = auditor.get(f"/audit?q={text}")
        assert answer.status_code == 303, text
        if target is not None:
            assert answer.headers["location"] == f"/audit/history/{target}"
    missing = auditor.get("/audit?q=CR-2569-999999")
    assert missing.status_code == 200 and "Nothing was found for" in missing.text


def test_the_history_page_shows_every_event_with_both_times_the_late_flag_and_no_contact(story: dict) -> None:
    first = story["incidents"][0]
    page = _auditor(story).get(f"/audit/history/{first}")
    assert page.status_code == 200
    text = page.text
    assert text.count("data-notification=") == 10
    assert "over a minute apart" in text  # reported 10 minutes after it occurred
    assert "The victim called again" in text  # the reason of the reopening
    assert f"/audit/history/{story['world'].units[0]}" in text  # the unit it touched
    assert "Somchai" not in text and "0812345678" not in text
    checked = _auditor(story).get(f"/audit/history/{first}?check=1").text
    assert checked.count("✓") == 10 and "signature valid" in checked.replace("(signature ", "signature ")


def test_the_proofs_the_page_checks_verify_against_the_signed_checkpoint(story: dict) -> None:
    from domain import ledger as merkle

    container = story["container"]
    rows = container.audit.history(story["incidents"][0])
    answer = _auditor(story).get("/audit/proofs?n=" + ",".join(str(r["notification_id"]) for r in rows)).json()
    root = base64.b64decode(answer["checkpoint"]["root"])
    assert len(answer["proofs"]) == len(rows)
    for proof in answer["proofs"]:
        leaf = base64.b64decode(proof["leaf_hash"])
        path = [base64.b64decode(h) for h in proof["path"]]
        assert merkle.verify_inclusion(proof["position"], answer["checkpoint"]["tree_size"], leaf, path, root)


def test_state_diff_and_board_pages_and_their_bad_input(story: dict) -> None:
    first = story["incidents"][0]
    auditor = _auditor(story)
    assert "on_scene" in auditor.get(f"/audit/history/{first}/state?version=4").text
    diff_page = auditor.get(f"/audit/history/{first}/diff?a=4&b=6")
    assert diff_page.status_code == 200 and "<del>On scene (on_scene)</del>" in diff_page.text
    board = auditor.get("/audit/board", params={"at": story["instants"]["on_scene"].astimezone().isoformat()[:19]})
    assert board.status_code in (200, 422)
    local = story["instants"]["end"] + timedelta(hours=7)
    be = f"{local.day:02d}/{local.month:02d}/{local.year + 543} {local.hour:02d}:{local.minute:02d}:{local.second:02d}"
    answer = auditor.get("/audit/board", params={"at": be})
    assert answer.status_code == 200, answer.text[answer.text.find("<main") :][:600]
    bad = {
        f"/audit/history/{first}/state?version=0": "versions 1 to 10",
        f"/audit/history/{first}/state?version=11": "versions 1 to 10",
        f"/audit/history/{first}/diff?a=3&b=3": "does not differ from itself",
        f"/audit/history/{first}/state?at=01/01/2500 10:00": "did not exist yet",
        f"/audit/history/{first}/state?at=01/01/2700 10:00": "in the future",
        "/audit/board?at=01/01/2500 10:00": "begins at",
        "/audit/board?at=31/02/2569 10:00": "Please give a date and time",
        "/audit/board?at=yesterday": "Please give a date and time",
        "/audit?kind=Incident.Exploded": "no such kind of event",
        "/audit?actor=nobody-at-all": "No account is named",
        "/audit?after=-1": "whole number",
    }
    for url, message in bad.items():
        answer = auditor.get(url)
        assert answer.status_code == 422 and message in answer.text, (url, answer.status_code)
    assert auditor.get(f"/audit/history/{UUID(int=5)}").status_code == 404
    assert auditor.get("/audit/history/not-an-id").status_code == 404
    thai = _auditor(story, "th").get(f"/audit/history/{first}/diff?a=3&b=3")
    assert thai.status_code == 422 and "does not differ from itself" not in thai.text


def test_the_log_browser_filters_and_pages_in_notification_order(story: dict) -> None:
    container = story["container"]
    from infrastructure.readmodels.audit import LogFilter

    everything = container.audit.log(LogFilter(), after=0, limit=10_000)
    ids = [r["notification_id"] for r in everything]
    assert ids == sorted(ids) and len(ids) == head(container) - (head(container) - ids[-1])
    by_officer = container.audit.log(LogFilter(actor_id=story["world"].officer), limit=10_000)
    assert by_officer and all(r["actor_id"] == story["world"].officer for r in by_officer)
    page = container.audit.log(LogFilter(aggregate="Incident"), after=ids[5], limit=3)
    assert [r["aggregate"] for r in page] == ["Incident"] * 3 and page[0]["notification_id"] > ids[5]
    kinds = container.audit.log(LogFilter(aggregate="Incident", event="Reopened"), limit=10)
    assert [r["event"] for r in kinds] == ["Reopened"]
    auditor = _auditor(story)
    listed = auditor.get("/audit?aggregate=Incident&kind=Incident.Closed&time=recorded")
    assert listed.status_code == 200 and listed.text.count("data-notification=") == 1


# --- exports --------------------------------------------------------------------------------------------------------
def test_the_bundle_verifies_offline_and_a_tampered_one_fails(story: dict, tmp_path: Path) -> None:
    container, first = story["container"], story["incidents"][0]
    verifier = verifier_module()
    key = verifier.Key.parse(str(configured_signer(container.settings).verifier))
    answer = _auditor(story).get(f"/audit/history/{first}/export.jsonl")
    assert answer.status_code == 200
    text = answer.text
    assert "Somchai" not in text and "0812345678" not in text and "ciphertext" not in text
    lines = text.splitlines()
    assert len(lines) == 11 and json.loads(lines[1])["withheld"]  # the report holds the sealed contact
    good = tmp_path / "good.jsonl"
    good.write_text(text)
    assert verifier.verify_bundle(good, key) == []
    assert verifier.main(["--bundle", str(good), "--key", str(key_text(container))]) == 0
    cli = CliRunner().invoke(ledger_cli, ["verify", "--bundle", str(good), "--key", key_text(container)])
    assert cli.exit_code == 0 and cli.output.startswith("OK 10 events"), cli.output

    def tampered(change) -> list[str]:  # noqa: ANN001
        rows = [json.loads(line) for line in lines]
        change(rows)
        path = tmp_path / "bad.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        return verifier.verify_bundle(path, key)

    def edit_bytes(rows: list) -> None:
        entry = bytearray(base64.b64decode(rows[3]["leaf_entry"]))
        entry[-5] ^= 1
        rows[3]["leaf_entry"] = base64.b64encode(bytes(entry)).decode()

    def edit_reason(rows: list) -> None:
        reopened = next(r for r in rows[1:] if r["event"] == "Reopened")
        reopened["reason"] = "Nothing happened"

    def drop_line(rows: list) -> None:
        del rows[4]

    def swap_root(rows: list) -> None:
        rows[0]["checkpoint"]["note"] = rows[0]["checkpoint"]["note"].replace("\n\n", "\nx\n\n")

    def edit_time(rows: list) -> None:
        rows[2]["recorded_at"] = "2020-01-01T00:00:00+00:00"

    for change in (edit_bytes, edit_reason, drop_line, swap_root, edit_time):
        assert tampered(change), change.__name__
    refused = CliRunner().invoke(
        ledger_cli, ["verify", "--bundle", str(tmp_path / "bad.jsonl"), "--key", key_text(container)]
    )
    assert refused.exit_code == 1 and "FAIL" in refused.output
    csv = _auditor(story).get(f"/audit/history/{first}/export.csv")
    assert csv.status_code == 200 and csv.text.startswith("\ufeffnotification_id") and "Somchai" not in csv.text
    log = _auditor(story).get("/audit/log/export.jsonl?aggregate=Incident&time=recorded")
    log_file = tmp_path / "log.jsonl"
    log_file.write_text(log.text)
    assert verifier.verify_bundle(log_file, key) == [] and len(log.text.splitlines()) == 1 + 14  # every incident event


def key_text(container: Any) -> str:
    return str(configured_signer(container.settings).verifier)


def test_partners_reach_none_of_the_auditors_pages(story: dict) -> None:
    partner = signed_in(story["site"], story["container"], story["partner"])
    first = story["incidents"][0]
    for path in ("/audit", f"/audit/history/{first}", f"/audit/history/{first}/export.jsonl", "/audit/board"):
        assert partner.get(path).status_code == 403, path
