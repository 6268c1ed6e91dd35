"""The officers' web pages over HTTP, on real SQLite and real PostgreSQL: the whole life of an incident,
conflicts told plainly, and bad input that never becomes a 5xx or a stored change."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from domain.values import Outcome
from infrastructure.bootstrap import Container
from tests.integration.conftest import build_world
from tests.integration.web_support import Browser, browser, head, signed_in
from web.app import create_app


@pytest.fixture
def site(container: Container) -> Iterator[tuple]:
    world = build_world(container.app)
    app = create_app(container, run_projections=True)
    with TestClient(app):  # runs the lifespan: projections follow the log in this process
        assert container.projections.wait(head(container), timeout=30)
        yield app, container, world


def people(site: tuple) -> tuple[Browser, Browser, Browser]:
    app, container, world = site
    return (
        signed_in(app, container, world.dispatcher),
        signed_in(app, container, world.officer),
        signed_in(app, container, world.supervisor),
    )


def version_on(page: str) -> str:
    return re.search(r'name="expected_version" value="(\d+)"', page).group(1)


REPORT = {
    "priority": "P1",
    "category": "sexual_harassment",
    "community": "ko_loi",
    "channel": "phone_191",
    "location": "Soi Ko Loi 3, by the night market",
    "description": "A woman is followed by a man on a motorbike.",
    "reporter_name": "Malee",
    "reporter_phone": "081 234 5678",
}


def report(dispatcher: Browser, **changes: str) -> str:
    response = dispatcher.post("/incidents", {**REPORT, **changes})
    assert response.status_code == 303, response.text
    return response.headers["location"]


def test_an_incident_goes_from_report_to_close_through_the_pages(site: tuple) -> None:
    app, container, world = site
    dispatcher, officer, supervisor = people(site)
    page = report(dispatcher)
    reference = page.rsplit("/", 1)[1]
    shown = dispatcher.get(page).text
    assert reference in shown and "Malee" not in shown  # the contact is shown only when asked for, with a reason
    called_back = dispatcher.post(f"{page}/contact", {"purpose": "call_back"}).text
    assert "Malee" in called_back and "tel:081 234 5678" in called_back  # the dispatcher can call back
    assert reference in dispatcher.get("/board").text  # read-your-writes: already on the board

    unit = str(world.units[0])
    dispatched = dispatcher.post(f"{page}/dispatch", {"unit_id": unit, "expected_version": version_on(shown)})
    assert dispatched.status_code == 303
    my = officer.get("/my").text
    assert reference in my and "/en-route" in my  # the officer's phone page shows the assignment and its next step
    assert officer.post(f"{page}/units/{unit}/en-route", {"next": "/my"}).headers["location"] == "/my"
    assert officer.post(f"{page}/units/{unit}/on-scene", {"next": "/my"}).status_code == 303
    resolved = officer.post(
        f"{page}/resolve",
        {
            "outcome": "warning_given",
            "summary": "Man warned; woman escorted home.",
            "expected_version": version_on(officer.get(page).text),
        },
    )
    assert resolved.status_code == 303
    assert officer.post(f"{page}/close", {}).status_code == 403  # closing is a supervisor's
    closed = supervisor.post(
        f"{page}/close", {"reason": "checked", "expected_version": version_on(supervisor.get(page).text)}
    )
    assert closed.status_code == 303
    final = supervisor.get(page).text
    assert "Man warned; woman escorted home." in final
    row = container.reads.incident(container.app.incident_id_for(reference))
    assert row["status"] == "closed" and row["outcome"] == "warning_given"
    assert [u["state"] for u in row["units"]] == ["cleared"]
    kinds = [e.event for e in container.app.history(row["id"])]
    assert kinds == ["Reported", "UnitDispatched", "UnitEnRoute", "UnitOnScene", "Resolved", "Closed"]


def test_a_stale_page_is_told_plainly_and_shown_the_fresh_state(site: tuple) -> None:
    app, container, world = site
    dispatcher, _, supervisor = people(site)
    page = report(dispatcher, priority="P3", category="theft")
    stale = version_on(dispatcher.get(page).text)
    first = supervisor.post(
        f"{page}/triage", {"category": "robbery", "priority": "P1", "reason": "weapon seen", "expected_version": stale}
    )
    assert first.status_code == 303
    before = head(container)
    second = dispatcher.post(
        f"{page}/triage", {"category": "theft", "priority": "P4", "reason": "minor", "expected_version": stale}
    )
    assert second.status_code == 409
    assert 'class="alert conflict"' in second.text
    assert 'value="robbery" selected' in second.text  # the fresh state, not the one the dispatcher saw
    assert head(container) == before  # the loser stored nothing; the winner's event is intact
    incident_id = container.app.incident_id_for(page.rsplit("/", 1)[1])
    assert [e.event for e in container.app.history(incident_id)] == ["Reported", "Triaged"]


def test_cancelling_as_a_duplicate_links_both_incidents(site: tuple) -> None:
    dispatcher, _, _ = people(site)
    original = report(dispatcher)
    duplicate = report(dispatcher, location="Same place, second caller")
    original_ref, duplicate_ref = original.rsplit("/", 1)[1], duplicate.rsplit("/", 1)[1]
    response = dispatcher.post(
        f"{duplicate}/cancel",
        {
            "cancel_reason": "duplicate",
            "duplicate_of": original_ref,
            "expected_version": version_on(dispatcher.get(duplicate).text),
        },
    )
    assert response.status_code == 303
    assert f'href="/incidents/{original_ref}"' in dispatcher.get(duplicate).text
    assert f'href="/incidents/{duplicate_ref}"' in dispatcher.get(original).text


def test_a_busy_unit_is_only_taken_off_its_incident_when_the_dispatcher_says_reassign(site: tuple) -> None:
    app, container, world = site
    dispatcher, _, _ = people(site)
    first, second = report(dispatcher), report(dispatcher, priority="P1")
    unit = str(world.units[0])
    assert dispatcher.post(f"{first}/dispatch", {"unit_id": unit}).status_code == 303
    page = dispatcher.get(second).text
    assert "busy on" in page or "CR-" in page
    refused = dispatcher.post(f"{second}/dispatch", {"unit_id": unit})
    assert refused.status_code == 409 and "reassign" in refused.text.lower()
    taken = dispatcher.post(f"{second}/dispatch", {"unit_id": unit, "reassign": "on", "reason": "P1 nearby"})
    assert taken.status_code == 303
    assert container.reads.incident(container.app.incident_id_for(first.rsplit("/", 1)[1]))["status"] == "reported"


GARBAGE = [
    "",
    " ",
    "\x00",
    "'; DROP TABLE rm_incidents; --",
    "<script>alert(1)</script>",
    "🚓" * 50,
    "x" * 100_000,
    "-1",
    "1e309",
    "NaN",
    "P9",
    "00000000-0000-0000-0000-000000000000",
    "CR-2569-99999999",
]
EMPTY, CONTROL, HUGE = ["", " "], ["\x00", "a\x07b"], ["x" * 100_000]
NOT_A_NUMBER = ["NaN", "1e309", "P9", "<script>alert(1)</script>", "🚓" * 50, "x" * 100_000, "12abc"]
# What each field must refuse (values that some field may rightly accept, like "-1" as a latitude, are left out there).
MUST_REFUSE = {
    "enum": GARBAGE,
    "required_text": EMPTY + CONTROL + HUGE,
    "optional_text": CONTROL + HUGE,
    "phone": CONTROL + HUGE + ["<script>alert(1)</script>", "P9", "🚓" * 50, "'; DROP TABLE rm_incidents; --"],
    "instant": CONTROL + HUGE + ["-1", "NaN", "P9", "2026-13-45T25:61", "9999-12-31T23:59", "0001-01-01T00:00"],
    "coordinate": NOT_A_NUMBER + ["181", "-181"],
    "version": NOT_A_NUMBER + ["-1", "99999999999999999999", "²", "1.5"],
    "id": GARBAGE,
    "reference": [g for g in GARBAGE if g.strip()],
    "username": EMPTY
    + CONTROL
    + HUGE
    + ["<script>alert(1)</script>", "🚓" * 50, "'; DROP TABLE rm_incidents; --", "ab"],
    "call_sign": EMPTY + CONTROL + HUGE,
}


def test_garbage_on_every_form_gives_a_clear_4xx_and_stores_nothing(site: tuple) -> None:
    app, container, world = site
    dispatcher, officer, supervisor = people(site)
    admin = signed_in(app, container, world.admin)
    page = report(dispatcher)
    unit = str(world.units[1])
    forms = [
        (
            dispatcher,
            "/incidents",
            {
                "priority": "enum",
                "category": "enum",
                "community": "enum",
                "channel": "enum",
                "location": "required_text",
                "description": "required_text",
                "occurred_at": "instant",
                "lat": "coordinate",
                "lon": "coordinate",
                "reporter_phone": "phone",
                "reporter_name": "optional_text",
            },
        ),
        (
            supervisor,
            f"{page}/triage",
            {"category": "enum", "priority": "enum", "reason": "required_text", "expected_version": "version"},
        ),
        (dispatcher, f"{page}/dispatch", {"unit_id": "id", "expected_version": "version", "reason": "optional_text"}),
        (supervisor, f"{page}/resolve", {"outcome": "enum", "summary": "required_text", "expected_version": "version"}),
        (supervisor, f"{page}/reopen", {"reason": "required_text", "expected_version": "version"}),
        (
            supervisor,
            f"{page}/cancel",
            {
                "cancel_reason": "enum",
                "duplicate_of": "reference",
                "note": "optional_text",
                "expected_version": "version",
            },
        ),
        (officer, f"{page}/notes", {"text": "required_text"}),
        (supervisor, "/units", {"call_sign": "call_sign", "kind": "enum"}),
        (supervisor, f"/units/{unit}/retire", {"reason": "required_text"}),
        (admin, "/admin/users", {"username": "username", "display_name": "required_text", "role": "enum"}),
    ]
    valid = {
        "priority": "P2",
        "category": "theft",
        "community": "ko_loi",
        "channel": "walk_in",
        "location": "Soi 1",
        "description": "bag taken",
        "reason": "because",
        "summary": "done",
        "outcome": "arrest",
        "cancel_reason": "duplicate",
        "duplicate_of": page.rsplit("/", 1)[1],
        "unit_id": unit,
        "call_sign": "B-77",
        "kind": "bicycle",
        "username": "new.person",
        "display_name": "New Person",
        "role": "officer",
        "text": "note",
        "lat": "19.91",
        "lon": "99.83",
    }
    problems = []
    for who, path, fields in forms:
        for name, kind in fields.items():
            for junk in MUST_REFUSE[kind]:
                before = head(container)
                data = {k: v for k, v in valid.items() if k in fields}
                data[name] = junk
                response = who.post(path, data)
                if not 400 <= response.status_code < 500:
                    problems.append(f"{path} {name}={junk[:20]!r}: {response.status_code}")
                if head(container) != before:
                    problems.append(f"{path} {name}={junk[:20]!r}: stored something")
        before = head(container)
        assert who.post(path, {"csrf_token": "x"}, token=False).status_code == 403
        wrong_type = who.client.post(path, content=b"\xff\xfe garbage", headers={"content-type": "application/json"})
        assert 400 <= wrong_type.status_code < 500, path
        assert head(container) == before
    assert not problems, "\n".join(problems)


def test_signing_in_is_throttled_after_repeated_failures_and_every_attempt_is_recorded(site: tuple) -> None:
    app, container, world = site
    visitor = browser(app)
    for _ in range(5):
        assert visitor.post("/login", {"username": "dispatcher", "password": "wrong-password-guess"}).status_code == 401
    throttled = visitor.post("/login", {"username": "dispatcher", "password": "a-long-enough-password"})
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0
    assert SESSION_COOKIE_NAME not in throttled.cookies
    other = browser(app).post("/login", {"username": "officer", "password": "a-long-enough-password"})
    assert other.status_code == 303 and other.headers["location"] == "/my"
    causes = [a["cause"] for a in container.logons.recent()]
    assert causes[:2] == ["ok", "throttled"] and causes.count("bad_password") == 5


def test_a_disabled_account_is_signed_out_everywhere_at_once(site: tuple) -> None:
    app, container, world = site
    admin = signed_in(app, container, world.admin)
    dispatcher = browser(app)
    assert (
        dispatcher.post("/login", {"username": "dispatcher", "password": "a-long-enough-password"}).status_code == 303
    )
    assert dispatcher.get("/board").status_code == 200
    assert admin.post(f"/admin/users/{world.dispatcher}/disable", {"reason": "left the station"}).status_code == 303
    assert dispatcher.get("/board").status_code == 303  # back to the sign-in page
    assert (
        browser(app).post("/login", {"username": "dispatcher", "password": "a-long-enough-password"}).status_code == 401
    )


def test_an_admin_creates_an_account_that_can_sign_in_with_its_one_time_password(site: tuple) -> None:
    app, container, world = site
    admin = signed_in(app, container, world.admin)
    created = admin.post("/admin/users", {"username": "somsri.k", "display_name": "Somsri K.", "role": "dispatcher"})
    assert created.status_code == 303 and created.headers["location"] == "/admin/users"  # post, then redirect
    shown = admin.get("/admin/users")
    password = re.search(r'<code class="secret">([^<]+)</code>', shown.text).group(1)
    assert "somsri.k" in shown.text
    mine = {"new_password": "somsri-own-pass", "new_password_again": "somsri-own-pass"}  # chosen at once
    signed = browser(app).post("/login", {"username": "somsri.k", "password": password, **mine})
    assert signed.status_code == 303 and signed.headers["location"] == "/board"
    assert (
        admin.post("/admin/users", {"username": "somsri.k", "display_name": "Again", "role": "officer"}).status_code
        == 422
    )


def test_pages_are_thai_by_default_with_buddhist_era_years_and_english_on_request(site: tuple) -> None:
    app, container, world = site
    dispatcher, _, _ = people(site)
    page = report(dispatcher)
    thai = dispatcher.get(page).text
    assert 'lang="th"' in thai and "2569" in thai and "เกาะลอย" in thai
    dispatcher.post("/lang", {"lang": "en", "next": page})
    english = dispatcher.get(page).text
    assert 'lang="en"' in english and "Ko Loi" in english and "2026" in english and "เกาะลอย" not in english


SESSION_COOKIE_NAME = "ssz_session"


def test_a_dispatch_form_naming_a_unit_that_does_not_exist_dispatches_none(site: tuple) -> None:
    app, container, world = site
    dispatcher, _, _ = people(site)
    page = report(dispatcher)
    before = head(container)
    refused = dispatcher.post(
        f"{page}/dispatch", {"unit_id": [str(world.units[0]), "00000000-0000-4000-8000-000000000001"]}
    )
    assert refused.status_code == 422
    assert "00000000-0000-4000-8000-000000000001" in refused.text  # the message names the unit it could not find
    assert head(container) == before
    assert container.app.state_at(world.units[0])["incident_id"] is None


def test_a_dispatch_form_naming_a_unit_twice_dispatches_it_once(site: tuple) -> None:
    app, container, world = site
    dispatcher, _, _ = people(site)
    page = report(dispatcher)
    unit = str(world.units[0])
    dispatched = dispatcher.post(f"{page}/dispatch", {"unit_id": [unit, unit], "expected_version": "1"})
    assert dispatched.status_code == 303, dispatched.text
    incident = container.app.incident_id_for(page.rsplit("/", 1)[1])
    assert [entry.event for entry in container.app.history(incident)] == ["Reported", "UnitDispatched"]


def test_a_dispatch_of_two_units_is_all_or_nothing(site: tuple) -> None:
    app, container, world = site
    dispatcher, _, _ = people(site)
    busy, page = report(dispatcher), report(dispatcher)
    assert dispatcher.post(f"{busy}/dispatch", {"unit_id": str(world.units[1])}).status_code == 303
    refused = dispatcher.post(f"{page}/dispatch", {"unit_id": [str(world.units[0]), str(world.units[1])]})
    assert refused.status_code == 409 and "reassign" in refused.text.lower()
    assert container.app.state_at(world.units[0])["incident_id"] is None
    both = dispatcher.post(
        f"{page}/dispatch",
        {"unit_id": [str(world.units[0]), str(world.units[1])], "reassign": "on", "reason": "Both needed"},
    )
    assert both.status_code == 303
    incident = container.app.incident_id_for(page.rsplit("/", 1)[1])
    assert [entry.event for entry in container.app.history(incident)] == [
        "Reported",
        "UnitDispatched",
        "UnitDispatched",
    ]


def test_a_report_form_sent_again_with_changes_says_which_incident_it_made(site: tuple) -> None:
    """Found at the desk: report, press Back, correct the description, press Report again. The form still holds
    the first submission's key, so the report was refused with "please correct the marked fields" and no field
    marked (the key is a hidden input), and pressing Report again was refused the same way, for ever."""
    app, container, world = site
    dispatcher = signed_in(app, container, world.dispatcher)
    key = "form-key-1"
    first = report(dispatcher, idempotency_key=key)
    reference = first.rsplit("/", 1)[1]
    before = head(container)
    again = dispatcher.post("/incidents", {**REPORT, "idempotency_key": key, "description": "A corrected account."})
    assert again.status_code == 409
    assert f'href="/incidents/{reference}"' in again.text and reference in again.text
    assert head(container) == before  # nothing more was saved
    fresh = re.search(r'name="idempotency_key" value="([^"]*)"', again.text).group(1)
    assert fresh and fresh != key
    assert "A corrected account." in again.text  # what was typed is kept
    second = report(dispatcher, idempotency_key=fresh, description="A corrected account.")
    assert second != first


def test_the_board_says_when_an_incident_was_resolved_not_when_it_last_changed(site: tuple) -> None:
    """Found on the demo's board: every incident awaiting a supervisor's close said "resolved 8 minutes ago" (when the
    rows were recorded), and a note added after the resolution reset it to "resolved 0 seconds ago"."""
    app, container, world = site
    now = datetime.now(UTC)
    incident = world.report(occurred_at=now - timedelta(hours=3))
    container.app.resolve_incident(
        incident,
        outcome=Outcome.ASSISTANCE_GIVEN,
        summary="ให้คำแนะนำแล้ว",
        by=world.supervisor,
        occurred_at=now - timedelta(hours=2),
    )
    container.app.add_incident_note(incident, text="โทรกลับผู้แจ้งแล้ว", by=world.dispatcher)
    assert container.projections.wait(head(container), timeout=10)
    reference = container.app.incident_state(incident).reference
    english = signed_in(app, container, world.supervisor)
    english.client.cookies.set("ssz_lang", "en")
    board = english.get("/board").text
    row = board[board.index(f">{reference}<") :][:400]
    assert "resolved 2 h" in row, row
