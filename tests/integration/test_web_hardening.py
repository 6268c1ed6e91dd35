"""Smaller findings of the fault-and-fuzz run (issue 12), each as a user or an operator meets it: personal data in
no cache, metrics only with a token, no administrator integrations, and an API that takes what its schema says."""

from __future__ import annotations

import re

import pytest
from pydantic import SecretStr

from domain.errors import InvalidInput
from domain.values import Role
from infrastructure.api_keys import ACCOUNT_PREFIX, Scope, issue_key
from tests.integration.test_api import SOS, Api, api, assert_problem  # noqa: F401 — `api` is the fixture
from tests.integration.test_web_incidents import report
from tests.integration.web_support import signed_in


def test_pages_and_answers_with_personal_data_are_never_stored_by_a_cache(api: Api) -> None:
    dispatcher = signed_in(api.client.app, api.container, api.world.dispatcher)
    page = report(dispatcher)
    shown = dispatcher.post(f"{page}/contact", {"purpose": "call_back"})
    assert shown.status_code == 200 and "Malee" in shown.text
    assert shown.headers["cache-control"] == "no-store"
    assert dispatcher.get(page).headers["cache-control"] == "no-store"
    key = api.key({Scope.INTAKE, Scope.READ, Scope.CONTACTS})
    href = api.call("POST", "/api/v1/incidents", key, json=SOS).json()["href"]
    for path in (href, f"{href}/timeline"):
        answer = api.call("GET", path, key)
        assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    contact = api.call("POST", f"{href}/contact", key, json={"purpose": "call_back"})
    assert contact.status_code == 200 and contact.headers["cache-control"] == "no-store"


def test_metrics_are_served_only_to_a_scraper_with_the_configured_token(api: Api) -> None:
    assert api.client.get("/metrics").status_code == 404  # no token configured: not served at all
    api.container.settings.metrics_token = SecretStr("a-scraper-token")
    assert api.client.get("/metrics").status_code == 401
    assert api.client.get("/metrics", headers={"authorization": "Bearer another"}).status_code == 401
    shown = api.client.get("/metrics", headers={"authorization": "Bearer a-scraper-token"})
    assert shown.status_code == 200 and "ssz_log_head" in shown.text


def test_an_integration_account_can_never_be_an_administrator(api: Api) -> None:
    container, world = api.container, api.world
    with pytest.raises(InvalidInput):
        issue_key(
            container.app, container.api_keys, name="Rogue", scopes={Scope.ALERTS}, by=world.admin, role=Role.ADMIN
        )
    admin = signed_in(api.client.app, container, world.admin)
    refused = admin.post("/admin/api-keys", {"name": "Rogue", "scope": "alerts", "role": "admin"})
    assert refused.status_code == 422 and "ผู้ดูแลระบบ" in refused.text
    key = api.key({Scope.ALERTS}, role=Role.DISPATCHER, name="Camera hub")
    account = next(u for u in container.reads.users() if u["username"].startswith(ACCOUNT_PREFIX))
    before = container.app.recorder.max_notification_id()
    promoted = admin.post(f"/admin/users/{account['id']}/role", {"role": "admin", "reason": "convenience"})
    assert promoted.status_code == 422
    assert container.app.recorder.max_notification_id() == before
    assert key.username == account["username"]
    created = admin.post("/admin/users", {"username": f"{ACCOUNT_PREFIX}fake", "display_name": "Fake", "role": "admin"})
    assert created.status_code == 422


def test_an_administrators_integration_gets_a_key_for_camera_set_up_only(api: Api) -> None:
    admin = signed_in(api.client.app, api.container, api.world.admin)
    both = admin.post("/admin/api-keys", {"name": "Installer", "scope": ["cameras", "read"], "role": "admin"})
    assert both.status_code == 422
    issued = admin.post("/admin/api-keys", {"name": "Installer", "scope": "cameras", "role": "admin"}, follow=True)
    assert issued.status_code == 200 and "data-api-key" in issued.text, issued.text
    key = re.search(r"<code class=\"secret\" data-api-key>([^<]+)</code>", issued.text).group(1)
    api.settle()
    cameras = api.call("GET", "/api/v1/cameras", key)
    assert cameras.status_code == 200
    assert api.call("GET", "/api/v1/incidents", key).status_code == 403  # no other scope


def test_the_api_takes_a_whole_number_written_as_a_float_because_its_schema_says_integer(api: Api) -> None:
    schema = api.client.get("/api/v1/openapi.json").json()
    version = schema["components"]["schemas"]["TriageIn"]["properties"]["expected_version"]
    assert "integer" in re.findall(r"'type': '(\w+)'", str(version))
    key = api.key({Scope.INTAKE, Scope.LIFECYCLE})
    path = api.call("POST", "/api/v1/incidents", key, json=SOS).json()["href"]
    assert_problem(
        api.call("POST", f"{path}/triage", key, json={"priority": "P2", "reason": "r", "expected_version": 1.5}),
        422,
        field="expected_version",
    )
    assert_problem(
        api.call("POST", f"{path}/triage", key, json={"priority": "P2", "reason": "r", "expected_version": "1"}),
        422,
        field="expected_version",
    )
    taken = api.call(
        "POST", f"{path}/triage", key, json={"priority": "P2", "reason": "Calmer now", "expected_version": 1.0}
    )
    assert taken.status_code == 200 and taken.json()["version"] == 2


def test_options_and_a_wrong_method_name_every_method_of_the_path(api: Api) -> None:
    key = api.key({Scope.INTAKE, Scope.READ})
    options = api.call("OPTIONS", "/api/v1/incidents", key)
    assert options.status_code == 204
    assert {m.strip() for m in options.headers["allow"].split(",")} >= {"GET", "POST", "OPTIONS"}
    wrong = api.call("DELETE", "/api/v1/incidents", key)
    assert_problem(wrong, 405)
    assert {"GET", "POST"} <= {m.strip() for m in wrong.headers["allow"].split(",")}
    assert api.call("OPTIONS", "/api/v1/no-such-thing", key).status_code == 404
