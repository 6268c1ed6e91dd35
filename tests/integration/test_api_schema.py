"""Schemathesis against the app's own OpenAPI description: generated requests (valid and invalid) to every API
operation, over a real uvicorn server, with a key that has every scope, on a zone with incidents, units and a
camera. No answer is a 5xx, and every answer is what the description promises: status code, media type,
headers and body schema; invalid requests are refused with a 4xx.

(The description is taken from the app itself at import time; schemathesis's loader from a fixture does not
run under pytest 9.)"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from domain.values import Community, PartnerSector, Role
from infrastructure.api_keys import Scope
from infrastructure.bootstrap import bootstrap
from infrastructure.settings import Settings
from tests.integration.conftest import build_world
from tests.integration.test_api import new_key
from tests.integration.test_api_live import uvicorn_server
from tests.integration.web_support import head
from web.app import create_app

EXAMPLES = 12  # per operation and generation mode: the whole run stays well under a minute
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@dataclass
class Zone:
    base: str
    key: str
    installer: str  # camera set-up changes: an administrator's key, which holds that scope only


def _key_for(case, zone: Zone) -> str:  # noqa: ANN001
    changes_a_camera = case.path.startswith("/api/v1/cameras") and case.method.upper() != "GET"
    return zone.installer if changes_a_camera else zone.key


@pytest.fixture(scope="module")
def zone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zone]:
    container = bootstrap(
        Settings(
            environment="test",
            data_dir=tmp_path_factory.mktemp("schema"),
            api_rate_burst=1_000_000,
            api_rate_per_second=100_000,
        )
    )
    world = build_world(container.app)
    container.app.register_camera(
        code="CAM-07",
        name="Clock tower east",
        community=Community.WAT_PHRA_KAEO,
        owner=PartnerSector.BUSINESS,
        owner_name="Tower Hotel",
        consent_reference="MOU 2569/4",
        source="rtsp://cam7/stream",
        by=world.admin,
    )
    for _ in range(3):
        world.report()
    with uvicorn_server(container, run_projections=True) as base:
        key = new_key(container, world, set(Scope), name="Schemathesis")
        installer = new_key(container, world, {Scope.CAMERAS}, role=Role.ADMIN, name="Schemathesis installer")
        assert container.projections.wait(head(container), timeout=30)
        yield Zone(base, key.key, installer.key)
    container.close()


schema = schemathesis.openapi.from_dict(create_app().openapi())


@schema.parametrize()
# Derandomized: the same cases every run. A random run once sent a "negative" case whose only invalid part was the
# missing Authorization header, which this test then adds: a valid request, rightly answered 200, and a red build.
@settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True
)
def test_every_api_operation_answers_as_its_description_says(case, zone: Zone) -> None:  # noqa: ANN001
    case.call_and_validate(
        base_url=zone.base, headers={"authorization": f"Bearer {_key_for(case, zone)}"}, checks=CHECKS
    )
