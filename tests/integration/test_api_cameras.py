"""Setting a camera up through the JSON API (issue 17: "the same through the JSON API and the CLI"): an
administrator's integration registers a camera, draws its zones and sets its rules; each change is an event on
the camera by the key's account; bad input is a 422 that says what is wrong, and nothing is saved. Supervisors'
keys read; only an administrator's account may change, and such a key holds no other scope."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from domain.errors import InvalidInput
from domain.values import Role
from infrastructure.api_keys import Scope, issue_key
from tests.integration.test_api import Api, api, assert_problem  # noqa: F401 — the fixture
from tests.integration.web_support import head

CAMERA = {
    "code": "CAM-21",
    "name": "Night market north",
    "community": "chet_yot",
    "owner": "business",
    "owner_name": "Market association",
    "consent_reference": "MOU 21/2569",
    "source": "rtsp://installer:s3cret@10.0.0.21/stream",
    "lat": 19.9105,
    "lon": 99.8406,
}
GATE = {"name": "gate", "name_th": "ประตู", "points": [[0.1, 0.5], [0.6, 0.5], [0.6, 0.95], [0.1, 0.95]]}
RULES = [
    {"kind": "person", "zone": "gate", "schedule": "night", "sensitivity": "high"},
    {"kind": "loitering", "zone": "gate", "schedule": "custom", "start": "08:00", "end": "17:30", "loiter_seconds": 45},
    {"kind": "motion_in_zone", "sensitivity": "advanced", "min_area": 0.0123},
]


def _installer(api: Api):  # noqa: ANN202
    return api.key({Scope.CAMERAS}, role=Role.ADMIN, name="Camera installer")


def _set_up(api: Api, key: Any) -> None:
    assert api.call("POST", "/api/v1/cameras", key, json=CAMERA).status_code == 201
    assert api.call("PUT", "/api/v1/cameras/CAM-21/zones", key, json={"zones": [GATE]}).status_code == 200


def test_an_administrators_integration_sets_a_camera_up_and_each_change_is_an_event_by_its_account(api: Api) -> None:
    installer = _installer(api)
    added = api.call("POST", "/api/v1/cameras", installer, json=CAMERA)
    assert added.status_code == 201, added.text
    assert added.headers["location"] == "/api/v1/cameras/CAM-21"
    assert added.json()["zones"] == [] and added.json()["rules"] == []
    assert "s3cret" not in added.text

    zoned = api.call("PUT", "/api/v1/cameras/cam-21/zones", installer, json={"zones": [GATE]})
    assert zoned.status_code == 200, zoned.text
    assert zoned.json()["zones"] == [{"name": "gate", "name_th": "ประตู", "points": GATE["points"]}]
    ruled = api.call("PUT", "/api/v1/cameras/CAM-21/rules", installer, json={"rules": RULES})
    assert ruled.status_code == 200, ruled.text

    supervisor = api.key({Scope.CAMERAS}, role=Role.SUPERVISOR, name="Control room wall")
    shown = api.call("GET", "/api/v1/cameras/CAM-21", supervisor)
    assert shown.status_code == 200, shown.text
    camera = shown.json()
    person, loitering, motion = camera["rules"]
    assert (person["kind"], person["zone"], person["schedule"], person["sensitivity"]) == (
        "person",
        "gate",
        "night",
        "high",
    )
    assert (loitering["schedule"], loitering["start"], loitering["end"], loitering["loiter_seconds"]) == (
        "custom",
        "08:00",
        "17:30",
        45,
    )
    assert (motion["zone"], motion["sensitivity"], motion["min_area"]) == ("", "advanced", 0.0123)
    changes = [(c["event"], c["by"]) for c in camera["history"]]
    assert changes == [
        ("Registered", "Camera installer (API)"),
        ("ZonesSet", "Camera installer (API)"),
        ("RulesSet", "Camera installer (API)"),
    ]
    listed = api.call("GET", "/api/v1/cameras", supervisor).json()["items"]
    assert [c["code"] for c in listed if c["code"] == "CAM-21"] == ["CAM-21"]
    assert next(c for c in listed if c["code"] == "CAM-21")["rules"] == camera["rules"]

    # The camera's page shows the same set-up: one aggregate, whichever way it was set.
    assert api.container.app.load(UUID(camera["id"]), fresh=True).rules[0].zone == "gate"


@pytest.mark.parametrize(
    "path, body, field, words",
    [
        ("zones", {"zones": [{**GATE, "points": [[0.1, 0.1], [0.5, 0.1]]}]}, "zones", "needs at least three corners"),
        (
            "zones",
            {"zones": [{**GATE, "points": [[0.1, 0.1], [0.5, 0.5], [0.5, 0.1], [0.1, 0.5]]}]},
            "zones",
            "crosses itself",
        ),
        (
            "zones",
            {"zones": [{**GATE, "points": [[0.1, 0.1], [1.2, 0.1], [0.5, 0.9]]}]},
            "zones",
            "outside the picture",
        ),
        ("zones", {"zones": [GATE, GATE]}, "zones", "its own name"),
        ("rules", {"rules": [{"kind": "person", "zone": "back door"}]}, "rules", "zone 'back door'"),
        (
            "rules",
            {"rules": [{"kind": "person", "schedule": "custom", "start": "17:00", "end": "08:00"}]},
            "end",
            "ends (08:00) before it starts (17:00)",
        ),
        (
            "rules",
            {"rules": [{"kind": "person", "schedule": "custom", "start": "8 am", "end": "17:00"}]},
            "start",
            "8 am",
        ),
        (
            "rules",
            {"rules": [{"kind": "motion_in_zone", "sensitivity": "advanced", "min_area": 2}]},
            "rules",
            "0 and 1",
        ),
    ],
)
def test_bad_set_up_is_a_422_that_says_what_is_wrong_and_saves_nothing(
    api: Api, path: str, body: dict, field: str, words: str
) -> None:
    installer = _installer(api)
    _set_up(api, installer)
    before = head(api.container)

    refused = api.call("PUT", f"/api/v1/cameras/CAM-21/{path}", installer, json=body)

    problem = assert_problem(refused, 422, field=field)
    assert words in problem["detail"], problem
    assert head(api.container) == before
    assert api.call("GET", "/api/v1/cameras/CAM-21", installer).json()["zones"][0]["name"] == "gate"


def test_who_may_read_and_change_a_camera_through_the_api(api: Api) -> None:
    installer = _installer(api)
    _set_up(api, installer)
    supervisor = api.key({Scope.CAMERAS}, role=Role.SUPERVISOR, name="Supervisor desk")
    dispatcher_reads = api.key({Scope.READ}, role=Role.DISPATCHER, name="Dispatch board")
    before = head(api.container)

    assert api.call("GET", "/api/v1/cameras/CAM-21", supervisor).status_code == 200
    assert_problem(api.call("PUT", "/api/v1/cameras/CAM-21/rules", supervisor, json={"rules": RULES}), 403)
    assert_problem(api.call("POST", "/api/v1/cameras", supervisor, json={**CAMERA, "code": "CAM-22"}), 403)
    assert_problem(api.call("GET", "/api/v1/cameras", dispatcher_reads), 403)
    assert_problem(api.call("GET", "/api/v1/cameras/CAM-99", installer), 404)
    assert_problem(api.call("PUT", "/api/v1/cameras/CAM-99/zones", installer, json={"zones": []}), 404)
    assert_problem(api.call("POST", "/api/v1/cameras", installer, json=CAMERA), 422, field="code")  # exists already
    assert head(api.container) == before

    # An administrator's account holds keys only for camera set-up: a leaked key can make no account.
    container = api.container
    with pytest.raises(InvalidInput):
        issue_key(
            container.app,
            container.api_keys,
            name="Too much",
            scopes={Scope.CAMERAS, Scope.READ},
            role=Role.ADMIN,
            by=api.world.admin,
        )
