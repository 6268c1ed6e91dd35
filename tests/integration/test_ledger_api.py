"""The ledger over the JSON API: a checkpoint, an event's audit path and a consistency proof that check out with
nothing but the RFC's verification algorithms and the public key; bad requests answered 4xx as problem details."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from domain import ledger
from infrastructure.api_keys import RateLimiter, Scope
from infrastructure.bootstrap import Container
from infrastructure.checkpoints import Checkpoint, open_note
from infrastructure.readmodels.ledger import take_checkpoint
from tests.integration.conftest import build_world
from tests.integration.test_api import Api, assert_problem
from tests.integration.web_support import head
from web.api import ledger as ledger_api
from web.app import create_app


@pytest.fixture
def api(container: Container) -> Iterator[Api]:
    world = build_world(container.app)
    for _ in range(4):
        world.report()
    app = create_app(container, run_projections=True)
    app.router.routes[0:0] = ledger_api.router.routes  # (the one-line registration the lead adds in web/api)
    app.state.api_limiter = RateLimiter(rate=10_000, burst=10_000)
    with TestClient(app) as client:
        api = Api(client, container, world)
        api.settle()
        yield api


def b64(text: str) -> bytes:
    return base64.b64decode(text)


def test_an_auditor_checks_an_event_and_the_log_growing_against_signed_checkpoints(api: Api) -> None:
    key = api.key([Scope.READ])
    verifier = api.container.projections.by_name["ledger"].signer.verifier
    first = api.call("GET", "/api/v1/ledger/checkpoint", key)
    assert first.status_code == 200, first.text
    note = api.call("GET", "/api/v1/ledger/checkpoint/note", key)
    assert note.text == first.json()["note"]
    old = Checkpoint.parse(open_note(note.text, verifier))

    api.world.report()
    api.settle()
    take_checkpoint(api.container.engine, api.container.projections.by_name["ledger"])
    new = Checkpoint.parse(open_note(api.call("GET", "/api/v1/ledger/checkpoint", key).json()["note"], verifier))
    assert new.size == head(api.container) > old.size

    for notification_id in (1, old.size, new.size):
        proof = api.call("GET", f"/api/v1/ledger/inclusion?notification_id={notification_id}", key).json()
        leaf = ledger.leaf_hash(b64(proof["leaf_entry"]))
        assert leaf == b64(proof["leaf_hash"])
        assert proof["tree_size"] == new.size
        assert ledger.verify_inclusion(proof["position"], new.size, leaf, [b64(h) for h in proof["path"]], new.root)

    at_old = api.call("GET", f"/api/v1/ledger/inclusion?position=0&tree_size={old.size}", key).json()
    assert ledger.verify_inclusion(0, old.size, b64(at_old["leaf_hash"]), [b64(h) for h in at_old["path"]], old.root)
    proof = api.call("GET", f"/api/v1/ledger/consistency?first={old.size}&second={new.size}", key).json()
    assert ledger.verify_consistency(old.size, new.size, old.root, new.root, [b64(h) for h in proof["proof"]])
    history = api.call("GET", "/api/v1/ledger/checkpoints?since=1", key).json()
    sizes = [c["tree_size"] for c in history]
    assert old.size in sizes and sizes[-1] == new.size and sizes == sorted(sizes)


@pytest.mark.parametrize(
    "query, status, field",
    [
        ("inclusion?position=100000&tree_size=5", 422, "position"),
        ("inclusion?position=0&tree_size=100000", 422, "tree_size"),
        ("inclusion?position=7&tree_size=5", 422, "position"),
        ("inclusion?position=-1", 422, "position"),
        ("inclusion?tree_size=-3&position=0", 422, "tree_size"),
        ("inclusion?position=1&notification_id=2", 422, "position"),
        ("inclusion?notification_id=999999", 404, None),
        ("consistency?first=5&second=3", 422, "first"),
        ("consistency?first=1&second=99999", 422, "second"),
        ("consistency?first=x&second=3", 422, "first"),
        ("checkpoints?since=-1", 422, "since"),
    ],
)
def test_a_bad_proof_request_is_a_problem_that_says_which_input(
    api: Api, query: str, status: int, field: str | None
) -> None:
    response = api.call("GET", f"/api/v1/ledger/{query}", api.key([Scope.READ]))
    body = assert_problem(response, status, field=field)
    assert body["detail"]


def test_the_ledger_needs_a_key_with_the_read_scope(api: Api) -> None:
    assert_problem(api.call("GET", "/api/v1/ledger/checkpoint", None), 401)
    assert_problem(api.call("GET", "/api/v1/ledger/checkpoint", api.key([Scope.INTAKE])), 403)
