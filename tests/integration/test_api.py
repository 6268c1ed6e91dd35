"""The JSON API over HTTP, on real SQLite and real PostgreSQL: intake → lifecycle → reads as integrations use
it; every error as problem details (401, 403, 404, 409, 422, 400, 429); retries that never report twice;
and personal data that never leaves without the `contacts` scope."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from domain.values import AlertKind, Community, PartnerSector, Role
from infrastructure.api_keys import IssuedKey, RateLimiter, Scope, issue_key
from infrastructure.bootstrap import Container, bootstrap
from infrastructure.settings import Settings
from tests.integration.conftest import World, build_world
from tests.integration.web_support import head
from web.app import create_app

PROBLEM = "application/problem+json"
SOS = {
    "channel": "mobile_sos",
    "category": "sexual_harassment",
    "priority": "P1",
    "community": "chet_yot",
    "location": "Night market, Chet Yot road",
    "description": "SOS button pressed; the caller is being followed.",
    "position": {"lat": 19.9105, "lon": 99.8406},
    "reporter": {"name": "Malee", "phone": "081 234 5678"},
}


@dataclass
class Api:
    client: TestClient
    container: Container
    world: World

    def key(
        self,
        scopes: Iterable[Scope] = tuple(Scope),
        *,
        role: Role = Role.SUPERVISOR,
        name: str | None = None,
        account: str | None = None,
    ) -> IssuedKey:
        self.keys = getattr(self, "keys", 0) + 1
        return new_key(
            self.container, self.world, scopes, role=role, name=name or f"Integration {self.keys}", account=account
        )

    def call(
        self,
        method: str,
        path: str,
        key: IssuedKey | str | None,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ):  # noqa: ANN201
        sent = dict(headers or {})
        if key is not None:
            sent["authorization"] = f"Bearer {key.key if isinstance(key, IssuedKey) else key}"
        return self.client.request(method, path, json=json, headers=sent, **kwargs)

    def settle(self) -> None:
        assert self.container.projections.wait(head(self.container), timeout=10)


def new_key(
    container: Container,
    world: World,
    scopes: Iterable[Scope],
    *,
    role: Role = Role.SUPERVISOR,
    name: str = "Integration",
    account: str | None = None,
) -> IssuedKey:
    return issue_key(
        container.app,
        container.api_keys,
        name=name,
        scopes=scopes,
        role=None if account else role,
        account=account,
        by=world.admin,
        wait=lambda n: container.projections.wait(n, timeout=10),
    )


def served(container: Container, *, rate_limited: bool = False) -> Iterator[Api]:
    world = build_world(container.app)
    app = create_app(container, run_projections=True)
    if not rate_limited:  # the tests send more than a key's default burst; the limits have their own test
        app.state.api_limiter = RateLimiter(rate=10_000, burst=10_000)
    with TestClient(app) as client:  # the lifespan runs the projections
        api = Api(client, container, world)
        api.settle()
        yield api


@pytest.fixture
def api(container: Container) -> Iterator[Api]:
    yield from served(container)


def assert_problem(response, status: int, *, field: str | None = None) -> dict[str, Any]:  # noqa: ANN001
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["type"].startswith("urn:ssz:problem:")
    assert body["title"] and body["detail"] and body["instance"]
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return body


# --- the life of an incident ------------------------------------------------------------------------------------


def test_an_sos_is_reported_acted_on_and_read_through_the_api(api: Api) -> None:
    sos_app, dispatch = (
        api.key({Scope.INTAKE}, role=Role.OFFICER, name="Police app SOS"),
        api.key({Scope.LIFECYCLE, Scope.READ}),
    )
    reported = api.call("POST", "/api/v1/incidents", sos_app, json=SOS, headers={"idempotency-key": "sos-1"})
    assert reported.status_code == 201, reported.text
    body = reported.json()
    reference = body["reference"]
    assert reported.headers["location"] == body["href"] == f"/api/v1/incidents/{reference}"

    # Read-your-writes: the incident reads at once, and the log says which integration reported it.
    incident = api.call("GET", body["href"], dispatch).json()
    assert incident["status"] == "reported" and incident["channel"] == "mobile_sos" and incident["version"] == 1
    assert incident["has_contact"] is True and incident["reporter"] is None  # no `contacts` scope: no name, no phone

    path = body["href"]
    step = api.call(
        "POST",
        f"{path}/triage",
        dispatch,
        json={"category": "assault", "reason": "Caller was grabbed", "expected_version": 1},
    )
    assert step.status_code == 200 and step.json()["version"] == 2 and step.json()["position"] > 0
    dispatched = api.call(
        "POST", f"{path}/dispatch", dispatch, json={"call_sign": "m-01", "expected_version": 2}
    ).json()
    assert dispatched["status"] == "dispatched"
    assert api.call("POST", f"{path}/units/M-01/en-route", dispatch).json()["status"] == "en_route"
    unit_id = str(api.world.units[0])
    assert api.call("POST", f"{path}/units/{unit_id}/on-scene", dispatch, json={}).json()["status"] == "on_scene"
    assert (
        api.call("POST", f"{path}/notes", dispatch, json={"text": "The man ran towards the river."}).status_code == 200
    )
    resolved = api.call(
        "POST", f"{path}/resolve", dispatch, json={"outcome": "warning_given", "summary": "Man warned."}
    ).json()
    assert resolved["status"] == "resolved"
    closed = api.call(
        "POST", f"{path}/close", dispatch, json={"reason": "Reviewed", "expected_version": resolved["version"]}
    )
    assert closed.json()["status"] == "closed"
    reopened = api.call("POST", f"{path}/reopen", dispatch, json={"reason": "Victim called back"}).json()
    assert reopened["status"] == "reported"
    cancelled = api.call(
        "POST", f"{path}/cancel", dispatch, json={"cancel_reason": "withdrawn", "note": "She is safe at home"}
    )
    assert cancelled.json()["status"] == "cancelled"

    api.settle()
    shown = api.call("GET", path, dispatch).json()
    assert shown["status"] == "cancelled" and shown["category"] == "assault" and shown["notes_count"] == 1
    assert (
        shown["units"][0]["call_sign"] == "M-01"
        and shown["reopen_count"] == 1
        and shown["cancel_reason"] == "withdrawn"
    )
    events = api.call("GET", f"{path}/timeline", dispatch).json()["events"]
    assert [e["event"] for e in events] == [
        "Reported",
        "Triaged",
        "UnitDispatched",
        "UnitEnRoute",
        "UnitOnScene",
        "NoteAdded",
        "Resolved",
        "Closed",
        "Reopened",
        "Cancelled",
    ]
    assert events[0]["actor"]["name"] == "Police app SOS (API)" and events[0]["actor"]["role"] == "officer"
    assert events[1]["reason"] == "Caller was grabbed"
    assert "contact" not in events[0]["details"] and "Malee" not in str(events)

    found = api.call(
        "GET",
        "/api/v1/incidents",
        dispatch,
        params={"status": ["resolved", "cancelled"], "channel": "mobile_sos", "sort": "reference", "direction": "asc"},
    ).json()
    assert [i["reference"] for i in found["items"]] == [reference] and found["total"] == 1 and found["pages"] == 1
    assert api.call("GET", "/api/v1/incidents", dispatch, params={"community": "ko_loi"}).json()["total"] == 0
    paged = api.call("GET", "/api/v1/incidents", dispatch, params={"page_size": 1, "page": 2}).json()
    assert paged["items"] == [] and paged["page"] == 2


def test_a_retry_with_the_same_idempotency_key_answers_200_with_the_same_body_and_reports_once(api: Api) -> None:
    key = api.key({Scope.INTAKE})
    first = api.call("POST", "/api/v1/incidents", key, json=SOS, headers={"Idempotency-Key": "app-77/sos/1"})
    before = head(api.container)
    retry = api.call("POST", "/api/v1/incidents", key, json=SOS, headers={"Idempotency-Key": "app-77/sos/1"})
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.content == first.content and retry.headers["location"] == first.headers["location"]
    assert head(api.container) == before  # nothing new in the log
    other = api.call("POST", "/api/v1/incidents", key, json=SOS, headers={"Idempotency-Key": "app-77/sos/2"})
    assert other.status_code == 201 and other.json()["reference"] != first.json()["reference"]
    # Another integration's identical key is its own: it never sees the first one's incident.
    elsewhere = api.call(
        "POST", "/api/v1/incidents", api.key({Scope.INTAKE}), json=SOS, headers={"Idempotency-Key": "app-77/sos/1"}
    )
    assert elsewhere.status_code == 201 and elsewhere.json()["reference"] != first.json()["reference"]


def test_contacts_are_read_only_with_the_contacts_scope_and_a_purpose_and_every_reading_is_recorded(api: Api) -> None:
    reference = api.call("POST", "/api/v1/incidents", api.key({Scope.INTAKE}), json=SOS).json()["reference"]
    plain, trusted = api.key({Scope.READ}), api.key({Scope.READ, Scope.CONTACTS}, role=Role.DISPATCHER)
    for path in (f"/api/v1/incidents/{reference}", "/api/v1/incidents", f"/api/v1/incidents/{reference}/timeline"):
        for key in (plain, trusted):  # reads never carry a contact, whatever the key's scopes
            text = api.call("GET", path, key).text
            # The phone as sent or as digits ("234" alone turns up in instants' microseconds).
            assert "Malee" not in text and "234 5678" not in text and "2345678" not in text
    contact = f"/api/v1/incidents/{reference}/contact"
    assert api.call("POST", contact, plain, json={"purpose": "call_back"}).status_code == 403
    before = head(api.container)
    missing = api.call("POST", contact, trusted, json={})
    assert missing.status_code == 422 and missing.headers["content-type"].startswith(PROBLEM)
    other = api.call("POST", contact, trusted, json={"purpose": "other"})  # "other" needs its reason in words
    assert other.status_code == 422 and head(api.container) == before  # a refused reading records nothing
    shown = api.call("POST", contact, trusted, json={"purpose": "investigation"})
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert (body["name"], body["phone"], body["erased"]) == ("Malee", "081 234 5678", False)
    assert head(api.container) == before + 1  # the reading is one event
    event = api.container.app.history(UUID(body["read_id"]))[0]
    assert event.event == "Recorded" and event.details["references"] == [reference]
    assert event.details["source"].startswith("api ") and event.actor_role is Role.DISPATCHER


def test_a_camera_worker_raises_an_alert_with_its_snapshot_once(api: Api) -> None:
    app, world = api.container.app, api.world
    app.register_camera(
        code="CAM-07",
        name="Clock tower east",
        community=Community.WAT_PHRA_KAEO,
        owner=PartnerSector.BUSINESS,
        owner_name="Tower Hotel",
        consent_reference="MOU 2569/4",
        source="rtsp://cam7/stream",
        by=world.admin,
    )
    worker = api.key({Scope.ALERTS}, role=Role.AUDITOR, name="Tower Hotel cameras")
    ok, jpeg = cv2.imencode(".jpg", np.full((48, 64, 3), 90, np.uint8))
    frame_at = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    alert = {
        "camera_code": "CAM-07",
        "kind": "person_at_night",
        "score": 0.82,
        "frame_at": frame_at,
        "zone": "alley",
        "snapshot_jpeg_base64": base64.b64encode(jpeg.tobytes()).decode(),
    }
    raised = api.call(
        "POST", "/api/v1/camera-alerts", worker, json=alert, headers={"Idempotency-Key": "CAM-07/episode-1"}
    )
    assert raised.status_code == 201, raised.text
    again = api.call(
        "POST", "/api/v1/camera-alerts", worker, json=alert, headers={"Idempotency-Key": "CAM-07/episode-1"}
    )
    assert again.status_code == 200 and again.json() == raised.json()
    digest = raised.json()["snapshot_digest"]
    assert (api.container.settings.snapshot_dir / digest[:2] / f"{digest[2:]}.jpg").is_file()
    api.settle()
    board = api.container.reads.board()
    assert [(a["camera_code"], a["kind"]) for a in board.alerts] == [("CAM-07", AlertKind.PERSON_AT_NIGHT.value)]
    history = app.history(UUID(raised.json()["id"]))
    assert history[0].actor_role is Role.SYSTEM  # raised as the system, like the zone's own workers
    unknown = api.call("POST", "/api/v1/camera-alerts", worker, json={**alert, "camera_code": "CAM-99"})
    assert_problem(unknown, 422, field="camera_code")
    assert_problem(
        api.call("POST", "/api/v1/camera-alerts", worker, json={**alert, "snapshot_jpeg_base64": "bm90IGEganBlZw=="}),
        422,
        field="snapshot_jpeg_base64",
    )


# --- refusals as problem details --------------------------------------------------------------------------------


def test_keys_that_are_missing_wrong_revoked_or_of_a_disabled_account_are_refused_with_401(api: Api) -> None:
    key = api.key({Scope.READ})
    assert api.call("GET", "/api/v1/incidents", key).status_code == 200
    for bad in (None, "ssz_not-a-key", key.key[:-1], "Basic abc"):
        refused = api.call("GET", "/api/v1/incidents", bad)
        assert_problem(refused, 401)
        assert refused.headers["www-authenticate"].startswith("Bearer")
    assert_problem(api.client.get("/api/v1/incidents", headers={"authorization": f"Basic {key.key}"}), 401)
    api.container.api_keys.revoke(key.key_id, reason="Integration retired", by=api.world.admin)
    assert_problem(api.call("GET", "/api/v1/incidents", key), 401)

    other = api.key({Scope.READ})
    result = api.container.app.disable_user(other.user_id, reason="Contract ended", by=api.world.admin)
    api.container.projections.wait(result.notification_id, timeout=10)
    assert_problem(api.call("GET", "/api/v1/incidents", other), 401)


def test_a_scope_not_granted_or_a_role_that_may_not_act_is_a_403_and_changes_nothing(api: Api) -> None:
    reference = api.call("POST", "/api/v1/incidents", api.key({Scope.INTAKE}), json=SOS).json()["reference"]
    reader, officer = api.key({Scope.READ}), api.key({Scope.LIFECYCLE, Scope.READ}, role=Role.OFFICER)
    before = head(api.container)
    assert "intake" in assert_problem(api.call("POST", "/api/v1/incidents", reader, json=SOS), 403)["detail"]
    assert_problem(api.call("POST", f"/api/v1/incidents/{reference}/notes", reader, json={"text": "x"}), 403)
    assert_problem(
        api.call("POST", f"/api/v1/incidents/{reference}/close", officer, json={}), 403
    )  # only supervisors close
    assert_problem(
        api.call("POST", f"/api/v1/incidents/{reference}/triage", officer, json={"reason": "x", "priority": "P2"}), 403
    )
    assert head(api.container) == before
    assert (
        api.call("POST", f"/api/v1/incidents/{reference}/notes", officer, json={"text": "Seen on patrol"}).status_code
        == 200
    )


def test_a_decision_on_a_changed_incident_is_a_409_with_the_version_now(api: Api) -> None:
    key = api.key({Scope.INTAKE, Scope.LIFECYCLE})
    path = api.call("POST", "/api/v1/incidents", key, json=SOS).json()["href"]
    assert (
        api.call(
            "POST", f"{path}/triage", key, json={"priority": "P2", "reason": "Calmer now", "expected_version": 1}
        ).status_code
        == 200
    )
    stale = api.call(
        "POST", f"{path}/triage", key, json={"priority": "P3", "reason": "Stale view", "expected_version": 1}
    )
    assert "changed by someone else" in assert_problem(stale, 409)["detail"]
    assert stale.json()["current_version"] == 2
    too_early = api.call("POST", f"{path}/close", key, json={"reason": "Done?"})
    assert "resolved" in assert_problem(too_early, 409)["detail"] and too_early.json()["current_version"] == 2
    not_there = api.call("POST", f"{path}/units/M-01/on-scene", key)
    assert_problem(not_there, 409)


def test_bad_input_is_a_422_naming_each_field_and_stores_nothing(api: Api) -> None:
    key = api.key({Scope.INTAKE, Scope.LIFECYCLE, Scope.READ})
    path = api.call("POST", "/api/v1/incidents", key, json=SOS).json()["href"]
    before = head(api.container)
    missing = assert_problem(api.call("POST", "/api/v1/incidents", key, json={"channel": "fax"}), 422, field="channel")
    assert {"category", "priority", "community", "location", "description"} <= {e["field"] for e in missing["errors"]}
    assert_problem(api.call("POST", "/api/v1/incidents", key, json={**SOS, "location": "   "}), 422, field="location")
    assert_problem(
        api.call("POST", "/api/v1/incidents", key, json={**SOS, "description": "bell\x07"}), 422, field="description"
    )
    lone_surrogate = json.dumps({**SOS, "location": "\ud800"})  # escaped: valid JSON, but not text
    assert_problem(
        api.call(
            "POST", "/api/v1/incidents", key, content=lone_surrogate, headers={"content-type": "application/json"}
        ),
        422,
        field="location",
    )
    assert_problem(
        api.call("POST", "/api/v1/incidents", key, json={**SOS, "reporter": {"phone": "call me"}}),
        422,
        field="reporter.phone",
    )
    assert_problem(
        api.call("POST", "/api/v1/incidents", key, json={**SOS, "position": {"lat": 91, "lon": 0}}),
        422,
        field="position.lat",
    )
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert_problem(
        api.call("POST", "/api/v1/incidents", key, json={**SOS, "occurred_at": future}), 422, field="occurred_at"
    )
    assert_problem(
        api.call("POST", "/api/v1/incidents", key, json={**SOS, "occurred_at": "0001-01-01T00:00:00+05:00"}),
        422,
        field="occurred_at",
    )
    assert_problem(
        api.call("POST", "/api/v1/incidents", key, json={**SOS, "occurred_at": "2026-11-25T10:00:00"}),
        422,
        field="occurred_at",
    )  # a time without its zone
    assert_problem(api.call("POST", "/api/v1/incidents", key, json={**SOS, "extra": 1}), 422, field="extra")
    assert_problem(
        api.call("POST", "/api/v1/incidents", key, json=SOS, headers={"idempotency-key": "x" * 101}),
        422,
        field="Idempotency-Key",
    )
    assert_problem(api.call("POST", f"{path}/dispatch", key, json={"call_sign": "M-99"}), 422, field="call_sign")
    assert_problem(
        api.call("POST", f"{path}/dispatch", key, json={"call_sign": "M-01", "unit_id": str(api.world.units[0])}), 422
    )
    assert_problem(
        api.call("POST", f"{path}/cancel", key, json={"cancel_reason": "duplicate", "duplicate_of": "CR-2569-999999"}),
        422,
        field="duplicate_of",
    )
    assert_problem(api.call("POST", f"{path}/notes", key, json={"text": " "}), 422, field="text")
    assert_problem(
        api.call("GET", "/api/v1/incidents", key, params={"page_size": 500, "status": "lost"}), 422, field="page_size"
    )
    assert_problem(
        api.call("GET", "/api/v1/incidents", key, params={"reported_from": "yesterday"}), 422, field="reported_from"
    )
    assert_problem(
        api.call("GET", "/api/v1/incidents", key, params={"reported_from": "1764000000"}), 422, field="reported_from"
    )
    assert_problem(
        api.call("GET", "/api/v1/incidents", key, params={"statuss": "reported"}), 422, field="statuss"
    )  # a typo
    assert_problem(
        api.call("POST", f"{path}/triage", key, json={"priority": "P2", "reason": "x", "expected_version": "1"}),
        422,
        field="expected_version",
    )  # JSON's numbers, not text
    assert_problem(api.call("POST", "/api/v1/incidents/cr-1/notes", key, json={"text": "x"}), 422, field="reference")
    assert_problem(api.call("POST", "/api/v1/incidents/CR-2569-999999/notes", key, json={"text": "x"}), 404)
    assert_problem(api.call("GET", "/api/v1/incidents/CR-2569-999999", key), 404)
    assert_problem(api.call("GET", "/api/v1/incidents/CR-2569-999999/timeline", key), 404)
    assert head(api.container) == before


def test_a_body_that_is_not_json_is_a_400_or_422_never_a_5xx(api: Api) -> None:
    key = api.key({Scope.INTAKE})
    broken = api.call(
        "POST", "/api/v1/incidents", key, content=b'{"channel": ', headers={"content-type": "application/json"}
    )
    assert_problem(broken, 400)
    for content, kind in (
        (b"channel=phone_191", "application/x-www-form-urlencoded"),
        (b"\xff\xfe", "application/json"),
        (b"[1, 2]", "application/json"),
        (b"", "application/json"),
        (b"null", "application/json"),
    ):
        answer = api.call("POST", "/api/v1/incidents", key, content=content, headers={"content-type": kind})
        assert answer.status_code in (400, 422) and answer.headers["content-type"].startswith(PROBLEM), (
            content,
            answer.text,
        )
    assert_problem(api.call("DELETE", "/api/v1/incidents", key), 405)
    assert_problem(api.call("GET", "/api/v1/no-such-thing", key), 404)


def test_the_api_needs_no_csrf_and_a_session_cookie_opens_nothing(api: Api) -> None:
    from tests.integration.web_support import signed_in

    key = api.key({Scope.INTAKE})
    answer = api.call("POST", "/api/v1/incidents", key, json=SOS)
    assert answer.status_code == 201  # no CSRF cookie or token
    assert "set-cookie" not in answer.headers  # and none is handed out: the API has no forms
    supervisor = signed_in(api.client.app, api.container, api.world.supervisor)
    assert_problem(supervisor.client.post("/api/v1/incidents", json=SOS), 401)


def test_a_key_over_its_rate_limit_gets_429_with_retry_after(settings: Settings) -> None:
    container = bootstrap(settings.model_copy(update={"api_rate_burst": 3, "api_rate_per_second": 0.5}))
    try:
        for api in served(container, rate_limited=True):
            key, other = api.key({Scope.READ}), api.key({Scope.READ})
            answers = [api.call("GET", "/api/v1/incidents", key) for _ in range(4)]
            assert [a.status_code for a in answers] == [200, 200, 200, 429]
            assert_problem(answers[-1], 429)
            assert 1 <= int(answers[-1].headers["retry-after"]) <= 2
            assert api.call("GET", "/api/v1/incidents", other).status_code == 200  # per key
    finally:
        container.close()


def test_the_openapi_description_covers_the_api_and_not_the_pages(api: Api) -> None:
    spec = api.client.get("/api/v1/openapi.json").json()
    assert set(spec["paths"]) == {
        "/api/v1/incidents",
        "/api/v1/incidents/{reference}",
        "/api/v1/incidents/{reference}/timeline",
        "/api/v1/camera-alerts",
        *("/api/v1/cameras", "/api/v1/cameras/{code}", "/api/v1/cameras/{code}/zones", "/api/v1/cameras/{code}/rules"),
        *(
            f"/api/v1/incidents/{{reference}}/{a}"
            for a in ("triage", "dispatch", "resolve", "close", "reopen", "cancel", "notes", "contact")
        ),
        *(f"/api/v1/incidents/{{reference}}/units/{{unit}}/{s}" for s in ("en-route", "on-scene", "clear")),
        *(
            f"/api/v1/ledger/{p}"
            for p in (
                "checkpoint",
                "checkpoint/note",
                "checkpoints",
                "inclusion",
                "consistency",
                "witness",
            )
        ),
    }
    intake = spec["paths"]["/api/v1/incidents"]["post"]
    assert {"201", "200", "401", "403", "409", "422", "429"} <= set(intake["responses"])
    assert PROBLEM in intake["responses"]["422"]["content"]
    assert intake["security"] == [{"ApiKey": []}]
    assert any(p["name"] == "Idempotency-Key" for p in intake["parameters"])
    assert "examples" in spec["components"]["schemas"]["IncidentIn"]
    assert {"errors", "current_version"} <= set(spec["components"]["schemas"]["Problem"]["properties"])
    assert api.client.get("/docs").status_code == 404 or "swagger" not in api.client.get("/docs").text.lower()


def test_the_token_bucket_lets_a_burst_through_then_refills_at_its_rate() -> None:
    now = [100.0]
    limiter = RateLimiter(rate=2.0, burst=3, clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(3)] == [None, None, None]
    assert limiter.take("a") == pytest.approx(0.5)
    assert limiter.take("b") is None  # each key has its own bucket
    now[0] += 0.5
    assert limiter.take("a") is None and limiter.take("a") == pytest.approx(0.5)
    now[0] += 60
    assert [limiter.take("a") for _ in range(4)][-1] is not None  # refilled up to the burst, not beyond
