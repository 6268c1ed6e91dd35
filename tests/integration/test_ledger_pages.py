"""The checkpoints' pages for people and witnesses: the latest and the history, each as a page and as plain text
exactly as signed, which opens with the public key; shown to auditors, supervisors, administrators and partners
signed in, to nobody else; bad input a 4xx with a message."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from domain.values import SYSTEM_USER_ID, Role
from infrastructure.bootstrap import Container
from infrastructure.checkpoints import Checkpoint, configured_signer, open_note
from infrastructure.readmodels.ledger import take_checkpoint
from tests.integration.conftest import build_world
from tests.integration.web_support import browser, head, signed_in
from web.app import create_app


@pytest.fixture
def site(container: Container) -> Iterator[tuple]:
    world = build_world(container.app)
    people = {
        role: container.app.create_user(
            username=role.value,
            display_name=role.value,
            role=role,
            password="a-long-enough-password",
            by=SYSTEM_USER_ID,
        ).id
        for role in (Role.AUDITOR, Role.PARTNER)
    }
    people.update({Role.DISPATCHER: world.dispatcher, Role.OFFICER: world.officer})
    app = create_app(container)
    notes = []
    for _ in range(3):
        world.report()
        container.projections.catch_up()
        notes.append(take_checkpoint(container.engine, container.projections.by_name["ledger"]))
    yield app, container, people, notes


def test_the_latest_checkpoint_as_text_is_the_note_as_signed_and_opens_with_the_public_key(site: tuple) -> None:
    app, container, people, notes = site
    auditor = signed_in(app, container, people[Role.AUDITOR])
    text = auditor.get("/ledger/checkpoint?format=text")
    assert text.status_code == 200
    assert text.headers["content-type"].startswith("text/plain")
    assert text.text == notes[-1]
    verifier = configured_signer(container.settings).verifier
    checkpoint = Checkpoint.parse(open_note(text.text, verifier))
    assert checkpoint.size == container.ledger.size()
    page = auditor.get("/ledger/checkpoint")
    assert page.status_code == 200
    assert str(verifier) in page.text
    assert notes[-1].splitlines()[2] in page.text  # the root, as in the note


def test_the_history_from_a_size_on_as_page_and_as_signed_notes(site: tuple) -> None:
    app, container, people, notes = site
    partner = signed_in(app, container, people[Role.PARTNER])
    sizes = [row["tree_size"] for row in container.ledger.checkpoints()]
    everything = partner.get("/ledger/checkpoints?format=text")
    assert everything.text == "\n".join(notes)
    later = partner.get(f"/ledger/checkpoints?since={sizes[1]}&format=text")
    assert later.text == "\n".join(notes[1:])
    page = partner.get(f"/ledger/checkpoints?since={sizes[1]}")
    assert page.status_code == 200
    assert notes[1].splitlines()[2] in page.text and notes[0].splitlines()[2] not in page.text


@pytest.mark.parametrize("query", ["since=-1", "since=abc", "since=1e3", "since=99999999999999", "format=pdf"])
def test_bad_input_is_a_4xx_with_a_message_and_changes_nothing(site: tuple, query: str) -> None:
    app, container, people, _ = site
    auditor = signed_in(app, container, people[Role.AUDITOR])
    before = head(container)
    for path in (
        ("/ledger/checkpoints", "/ledger/checkpoint") if query.startswith("format") else ("/ledger/checkpoints",)
    ):
        response = auditor.get(f"{path}?{query}", headers={"accept-language": "en"})
        assert response.status_code == 422, (path, query, response.status_code)
        assert "Please give a whole number" in response.text or "The format may be" in response.text
    assert head(container) == before


def test_bad_input_is_answered_in_thai_for_a_thai_reader(site: tuple) -> None:
    app, container, people, _ = site
    auditor = signed_in(app, container, people[Role.AUDITOR])
    response = auditor.get("/ledger/checkpoints?since=abc", headers={"accept-language": "th"})
    assert response.status_code == 422
    assert "โปรดระบุเป็นจำนวนเต็ม" in response.text
    response = auditor.get("/ledger/checkpoint?format=pdf", headers={"accept-language": "th"})
    assert "The format may be" not in response.text


def test_only_witnesses_signed_in_read_the_checkpoints(site: tuple) -> None:
    app, container, people, _ = site
    for path in ("/ledger/checkpoint?format=text", "/ledger/checkpoints?format=text"):
        assert browser(app).get(path).status_code in (303, 401)
        for role in (Role.DISPATCHER, Role.OFFICER):
            assert signed_in(app, container, people[role]).get(path).status_code == 403
