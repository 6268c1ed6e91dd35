"""The ledger read model on both stores: the tree it keeps is the tree of the raw event table (recomputed here
from plain SQL with the pure tree code), live and after a rebuild, after a page that failed half-way, and a PDPA
erasure changes no leaf."""

from __future__ import annotations

import sqlite3
import uuid

import psycopg
import pytest
from sqlalchemy import func, select

from application.ports import Contact
from domain import ledger
from domain.values import Priority
from infrastructure.bootstrap import Container
from infrastructure.checkpoints import Checkpoint, open_note
from infrastructure.readmodels import ledger as ledger_model
from infrastructure.readmodels.ledger_reads import LedgerReads
from tests.integration.conftest import World


def raw_leaves(container: Container) -> list[bytes]:
    """Every stored event's leaf hash, from the event table through a plain connection."""
    if container.settings.uses_postgres:
        with psycopg.connect(container.settings.database_url) as conn:
            rows = conn.execute(
                "SELECT notification_id, originator_id, originator_version, topic, state FROM ssz_events "
                "ORDER BY notification_id"
            ).fetchall()
    else:
        with sqlite3.connect(container.settings.sqlite_path) as conn:
            rows = [
                (n, uuid.UUID(o), v, t, s)
                for n, o, v, t, s in conn.execute(
                    "SELECT rowid, originator_id, originator_version, topic, state FROM stored_events ORDER BY rowid"
                )
            ]
    return [ledger.leaf_hash(ledger.leaf_entry(n, o, v, t, bytes(s))) for n, o, v, t, s in rows]


def reads(container: Container) -> LedgerReads:
    return LedgerReads(container.engine, container.app.recorder.events_table_name)


def some_history(world: World, incidents: int = 5) -> None:
    for n in range(incidents):
        incident = world.report(contact=Contact(f"Reporter {n}", f"+66 81 000 00{n:02d}"))
        world.app.triage_incident(incident, reason="checked by phone", priority=Priority.P1, by=world.dispatcher)


def test_the_ledger_holds_the_tree_of_the_event_table_and_proves_every_event(
    container: Container, world: World
) -> None:
    some_history(world)
    container.projections.catch_up()
    expected = raw_leaves(container)
    tree = reads(container)
    size = tree.size()
    assert size == len(expected) == world.head()
    root = tree.root(size)
    assert root == ledger.root_of(expected)
    for position in range(size):
        proof = tree.inclusion(position, size)
        assert proof["leaf_hash"] == expected[position]
        assert ledger.verify_inclusion(position, size, expected[position], proof["path"], root)
        assert ledger.leaf_hash(tree.leaf_entry(position)) == expected[position]
    for first in range(size + 1):
        assert ledger.verify_consistency(
            first, size, ledger.root_of(expected[:first]), root, tree.consistency(first, size)
        )

    # more events, live: the old tree is a prefix of the new one
    some_history(world, 2)
    container.projections.catch_up()
    bigger = tree.size()
    assert bigger > size
    assert ledger.verify_consistency(size, bigger, root, tree.root(bigger), tree.consistency(size, bigger))
    assert tree.root(bigger) == ledger.root_of(raw_leaves(container))


def test_the_first_page_is_checkpointed_and_the_note_verifies(container: Container, world: World) -> None:
    some_history(world, 1)
    container.projections.catch_up()
    projection = container.projections.by_name["ledger"]
    latest = reads(container).latest_checkpoint()
    assert latest is not None
    checkpoint = Checkpoint.parse(open_note(latest["note"], projection.signer.verifier))
    assert checkpoint.size == latest["tree_size"]
    assert checkpoint.root == ledger.root_of(raw_leaves(container)[: checkpoint.size])
    note = ledger_model.take_checkpoint(container.engine, projection)
    assert Checkpoint.parse(open_note(note, projection.signer.verifier)).size == reads(container).size()


def test_a_rebuild_makes_the_same_tree(container: Container, world: World) -> None:
    some_history(world)
    container.projections.catch_up()
    tree = reads(container)
    size, root = tree.size(), tree.root(tree.size())
    with container.engine.connect() as conn:
        before = conn.execute(ledger_model.nodes.select().order_by("level", "position")).all()
    container.projections.rebuild(["ledger"])
    assert (tree.size(), tree.root(size)) == (size, root)
    with container.engine.connect() as conn:
        assert conn.execute(ledger_model.nodes.select().order_by("level", "position")).all() == before
    container.projections.rebuild()  # all of them, the ledger among them
    assert tree.root(size) == root == ledger.root_of(raw_leaves(container))
    assert container.projections.lag()["ledger"] == 0


def test_a_page_that_fails_half_way_leaves_no_trace_and_the_next_one_catches_up(
    container: Container, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    some_history(world, 2)
    container.projections.catch_up()
    some_history(world, 3)
    written = []
    real = ledger_model.LedgerProjection._write_page

    def dies_after_writing(self, conn, leaf_rows, node_rows):  # noqa: ANN001 — killed before the page commits
        real(self, conn, leaf_rows, node_rows)
        written.append(len(leaf_rows))
        assert conn.execute(select(func.max(ledger_model.leaves.c.position))).scalar() == leaf_rows[-1][0]
        raise RuntimeError("killed mid-page")

    monkeypatch.setattr(ledger_model.LedgerProjection, "_write_page", dies_after_writing)
    with pytest.raises(RuntimeError):
        container.projections.catch_up()
    assert written  # (the page's leaves and nodes were written, in its transaction)
    monkeypatch.setattr(ledger_model.LedgerProjection, "_write_page", real)
    container.projections.catch_up()
    assert reads(container).root(world.head()) == ledger.root_of(raw_leaves(container))


def test_a_pdpa_erasure_changes_no_leaf_and_an_earlier_checkpoint_still_holds(
    container: Container, world: World
) -> None:
    world.report(contact=Contact("Malee", "+66 81 234 5678"))
    some_history(world, 2)
    container.projections.catch_up()
    projection = container.projections.by_name["ledger"]
    note = ledger_model.take_checkpoint(container.engine, projection)
    before = raw_leaves(container)
    assert container.app.erase_reporter_contact(phone="0812345678", reason="PDPA request 2569/17", by=world.admin) == 1
    # No leaf changes: the erasure only adds the request's own events (received, approved, erased) after them.
    assert raw_leaves(container)[: len(before)] == before and len(raw_leaves(container)) == len(before) + 3
    checkpoint = Checkpoint.parse(open_note(note, projection.signer.verifier))
    assert checkpoint.root == ledger.root_of(raw_leaves(container)[: checkpoint.size])
    container.projections.rebuild(["ledger"])
    assert reads(container).root(checkpoint.size) == checkpoint.root
