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
from infrastructure.checkpoints import Checkpoint, Signer, open_note
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


def test_a_witness_copy_of_a_checkpoint_is_checked_against_the_ledger(api: Api) -> None:
    """A partner's copy of an old checkpoint: the ledger still has its root, and the latest checkpoint extends it (the
    consistency proof checks out with the RFC's algorithm and the two signed roots alone)."""
    key = api.key([Scope.READ])
    projection = api.container.projections.by_name["ledger"]
    old_note = api.call("GET", "/api/v1/ledger/checkpoint/note", key).text
    old = Checkpoint.parse(open_note(old_note, projection.signer.verifier))
    api.world.report()
    api.settle()
    take_checkpoint(api.container.engine, projection)

    answer = api.call("POST", "/api/v1/ledger/witness", key, content=old_note.encode(), headers=TEXT)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    latest = Checkpoint.parse(open_note(body["latest"]["note"], projection.signer.verifier))
    assert (body["tree_size"], body["consistent"]) == (old.size, True) and latest.size > old.size
    proof = [b64(h) for h in body["proof"]]
    assert ledger.verify_consistency(old.size, latest.size, old.root, latest.root, proof)

    signer = projection.signer  # signed by the ledger's own key, but not the ledger's tree: the witness is told
    for size, root, says in ((old.size, bytes(32), "another root"), (10**6, bytes(32), "lost events")):
        forged = signer.sign(Checkpoint(signer.name, size, root).text())
        body = api.call("POST", "/api/v1/ledger/witness", key, content=forged.encode(), headers=TEXT).json()
        assert body["consistent"] is False and says in body["detail"] and body["proof"] == []


TEXT = {"content-type": "text/plain; charset=utf-8"}


def test_a_witness_copy_that_is_not_a_checkpoint_of_this_ledger_is_a_problem_that_says_why(api: Api) -> None:
    key = api.key([Scope.READ])
    note = api.call("GET", "/api/v1/ledger/checkpoint/note", key).text
    text, signature = note.split("\n\n")
    lines = text.split("\n")
    other = Signer.generate(api.container.projections.by_name["ledger"].signer.name)
    cases = {
        "a signature over other text": (
            f"{lines[0]}\n{int(lines[1]) + 1}\n{lines[2]}\n\n{signature}",
            "does not verify",
        ),
        "not a note": ("hello\n", "blank line"),
        "another key": (other.sign(text + "\n"), "no signature by"),
        "a note that is no checkpoint": (
            api.container.projections.by_name["ledger"].signer.sign("just some text\n"),
            "checkpoint",
        ),
        "empty": ("", "empty"),
    }
    for case, (body, says) in cases.items():
        response = api.call("POST", "/api/v1/ledger/witness", key, content=body.encode(), headers=TEXT)
        problem = assert_problem(response, 422, field="body")
        assert says in problem["detail"], (case, problem)
    response = api.call("POST", "/api/v1/ledger/witness", key, content=b"\xff\xfe\x00", headers=TEXT)
    assert "UTF-8" in assert_problem(response, 422, field="body")["detail"]
    assert_problem(api.call("POST", "/api/v1/ledger/witness", None, content=note.encode(), headers=TEXT), 401)


def test_a_proof_against_a_given_tree_size_may_be_kept_for_good_and_one_against_the_latest_is_revalidated(
    api: Api,
) -> None:
    key = api.key([Scope.READ])
    size = api.call("GET", "/api/v1/ledger/checkpoint", key).json()["tree_size"]
    fixed = api.call("GET", f"/api/v1/ledger/inclusion?position=1&tree_size={size}", key)
    assert fixed.status_code == 200, fixed.text
    assert fixed.headers["cache-control"] == "private, max-age=31536000, immutable"
    again = api.call(
        "GET",
        f"/api/v1/ledger/inclusion?position=1&tree_size={size}",
        key,
        headers={"If-None-Match": fixed.headers["etag"]},
    )
    assert again.status_code == 304 and not again.content and again.headers["etag"] == fixed.headers["etag"]
    assert api.call("GET", f"/api/v1/ledger/inclusion?position=1&tree_size={size}", None).status_code == 401

    latest = api.call("GET", "/api/v1/ledger/inclusion?position=1", key)
    assert latest.status_code == 200 and latest.headers["cache-control"] == "private, no-cache"
    assert latest.json() == fixed.json()
    unchanged = api.call(
        "GET", "/api/v1/ledger/inclusion?position=1", key, headers={"If-None-Match": latest.headers["etag"]}
    )
    assert unchanged.status_code == 304

    api.world.report()
    api.settle()
    take_checkpoint(api.container.engine, api.container.projections.by_name["ledger"])
    grown = api.call(
        "GET", "/api/v1/ledger/inclusion?position=1", key, headers={"If-None-Match": latest.headers["etag"]}
    )
    assert grown.status_code == 200 and grown.json()["tree_size"] > size
