"""The independent verifier (tools/verify_ledger.py) on copies of a small history, tampered with as a database
superuser would (the append-only triggers dropped first: that is what it takes): for every kind of tampering it
names the first bad event (or checkpoint), for randomly chosen events, on both stores; a clean history verifies."""

from __future__ import annotations

import importlib.util
import random
import shutil
import sqlite3
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from domain.values import Category, Channel, Community, Priority
from infrastructure.bootstrap import bootstrap
from infrastructure.checkpoints import Checkpoint, Signer
from infrastructure.readmodels import ledger as ledger_model
from infrastructure.settings import Settings
from tests.integration.conftest import build_world

spec = importlib.util.spec_from_file_location("verify_ledger", Path(__file__).parents[2] / "tools" / "verify_ledger.py")
verifier = sys.modules["verify_ledger"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(verifier)

TRIALS = 25  # per kind and store: 8 kinds x 25 x 2 stores = 400 trials, each on the history as it was made


class History:
    """A small history with a checkpoint after every incident, and a way to get fresh copies of it."""

    def __init__(self, settings: Settings, admin_url: str | None):
        self.settings = settings
        self.admin_url = admin_url
        container = bootstrap(settings)
        try:
            world = build_world(container.app, units=1)
            projection = container.projections.by_name["ledger"]
            for n in range(6):
                incident = world.report()
                container.app.triage_incident(incident, reason=f"call {n}", priority=Priority.P1, by=world.dispatcher)
                container.projections.catch_up()
                ledger_model.take_checkpoint(container.engine, projection)
            self.key = str(projection.signer.verifier)
            self.signer = projection.signer
            self.events = world.head()
        finally:
            container.close()
        self.copies: list[str] = []

    def copy(self) -> str:
        if self.settings.uses_postgres:
            name = f"ssz_tamper_{uuid.uuid4().hex[:12]}"
            source = self.settings.database_url.rsplit("/", 1)[1]
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
            self.copies.append(name)
            return self.settings.database_url.rsplit("/", 1)[0] + "/" + name
        target = self.settings.sqlite_path.with_name(f"copy-{uuid.uuid4().hex[:8]}.sqlite3")
        shutil.copy(self.settings.sqlite_path, target)
        return f"sqlite:///{target}"

    def drop_copies(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            for name in self.copies:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Superuser:
    """Plain SQL on a copy, with the append-only triggers gone."""

    def __init__(self, url: str):
        self.postgres = url.startswith("postgresql")
        if self.postgres:
            self.conn = psycopg.connect(url, autocommit=True)
            self.conn.execute("DROP TRIGGER ssz_events_append_only ON ssz_events")
            self.conn.execute("DROP TRIGGER ledger_checkpoints_append_only ON ledger_checkpoints")
            self.events, self.nid = "ssz_events", "notification_id"
        else:
            self.conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            for trigger in (
                "stored_events_no_update",
                "stored_events_no_delete",
                "stored_events_no_replace",
                "ledger_checkpoints_no_update",
                "ledger_checkpoints_no_delete",
            ):
                self.conn.execute(f"DROP TRIGGER {trigger}")
            self.events, self.nid = "stored_events", "rowid"

    def run(self, statement: str, *params: Any) -> list[tuple]:
        if self.postgres:
            return (
                self.conn.execute(statement.replace("?", "%s"), params).fetchall()
                if "SELECT" in statement[:7]
                else (self.conn.execute(statement.replace("?", "%s"), params), [])[1]
            )
        return self.conn.execute(statement, params).fetchall()

    def saved(self) -> dict[str, tuple[list[str], list[tuple]]]:
        """The tables a tampering touches, row for row (the notification ids too), to put back after each trial."""
        found = {}
        for table in (self.events, "ledger_leaves", "ledger_checkpoints"):
            extra = "rowid, " if table == "stored_events" else ""
            cursor = self.conn.execute(f"SELECT {extra}* FROM {table}")
            found[table] = ([c[0] for c in cursor.description], cursor.fetchall())
        return found

    def restore(self, saved: dict[str, tuple[list[str], list[tuple]]]) -> None:
        marker = "%s" if self.postgres else "?"
        self.conn.execute("BEGIN")
        for table, (columns, rows) in saved.items():
            self.conn.execute(f"DELETE FROM {table}")
            insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([marker] * len(columns))})"
            (self.conn.cursor() if self.postgres else self.conn).executemany(insert, rows)
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


def change_state(db: Superuser, nid: int) -> None:
    """Priority P1 recorded as P2, say: one byte of the stored state changed."""
    state = bytes(db.run(f"SELECT state FROM {db.events} WHERE {db.nid} = ?", nid)[0][0])
    db.run(
        f"UPDATE {db.events} SET state = ? WHERE {db.nid} = ?", state[:-2] + bytes([state[-2] ^ 1]) + state[-1:], nid
    )


def edit(db: Superuser, nid: int, _: History) -> str:
    change_state(db, nid)
    return f"notification {nid} "


def delete(db: Superuser, nid: int, _: History) -> str:
    db.run(f"DELETE FROM {db.events} WHERE {db.nid} = ?", nid)
    return f"recorded notification {nid} at leaf {nid - 1}"


def reorder(db: Superuser, nid: int, history: History) -> str:
    other = nid + 1 + (nid * 7) % (history.events - nid)
    db.run(f"UPDATE {db.events} SET {db.nid} = -1 WHERE {db.nid} = ?", nid)
    db.run(f"UPDATE {db.events} SET {db.nid} = ? WHERE {db.nid} = ?", nid, other)
    db.run(f"UPDATE {db.events} SET {db.nid} = ? WHERE {db.nid} = -1", other)
    return f"notification {nid} "


def insert(db: Superuser, nid: int, _: History) -> str:
    """An event slipped into the past, the ones after it renumbered to make room."""
    db.run(f"UPDATE {db.events} SET {db.nid} = -{db.nid} - 1 WHERE {db.nid} >= ?", nid)
    db.run(f"UPDATE {db.events} SET {db.nid} = -{db.nid} WHERE {db.nid} < 0")
    row = db.run(f"SELECT originator_version, topic, state FROM {db.events} WHERE {db.nid} = ?", nid + 1)[0]
    db.run(
        f"INSERT INTO {db.events} ({db.nid}, originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?, ?)",
        nid,
        uuid.uuid4() if db.postgres else uuid.uuid4().hex,
        row[0],
        row[1],
        bytes(row[2]),
    )
    return f"notification {nid} "


def rewrite_checkpoint(db: Superuser, nid: int, _: History) -> str:
    size, note = db.run(
        "SELECT tree_size, note FROM ledger_checkpoints WHERE tree_size >= ? ORDER BY tree_size LIMIT 1", nid
    )[0]
    forged = note.replace(f"\n{size}\n", f"\n{size - 1}\n", 1)
    db.run("UPDATE ledger_checkpoints SET note = ? WHERE tree_size = ?", forged, size)
    return f"checkpoint of {size} events: its signature does not verify"


def other_key(db: Superuser, nid: int, history: History) -> str:
    size, note = db.run(
        "SELECT tree_size, note FROM ledger_checkpoints WHERE tree_size >= ? ORDER BY tree_size LIMIT 1", nid
    )[0]
    text = note.split("\n\n")[0] + "\n"
    forged = Signer.generate(history.signer.name).sign(Checkpoint.parse(text).text())
    db.run("UPDATE ledger_checkpoints SET note = ? WHERE tree_size = ?", forged, size)
    return f"checkpoint of {size} events: it is not signed by {history.signer.name}"


def truncate(db: Superuser, nid: int, _: History) -> str:
    """The log cut back to before notification `nid`, and the ledger's rows with it."""
    db.run(f"DELETE FROM {db.events} WHERE {db.nid} >= ?", nid)
    db.run("DELETE FROM ledger_leaves WHERE notification_id >= ?", nid)
    first = db.run("SELECT min(tree_size) FROM ledger_checkpoints WHERE tree_size >= ?", nid)[0][0]
    return f"checkpoint of {first} events was published, the log now holds {nid - 1}"


def edit_and_cover(db: Superuser, nid: int, _: History) -> str:
    """An edited event whose leaf in the ledger's own table is rewritten to agree: the checkpoints still hold the truth."""
    from domain import ledger

    change_state(db, nid)
    oid, version, topic, state = db.run(
        f"SELECT originator_id, originator_version, topic, state FROM {db.events} WHERE {db.nid} = ?", nid
    )[0]
    leaf = ledger.leaf_hash(
        ledger.leaf_entry(nid, oid if isinstance(oid, uuid.UUID) else uuid.UUID(oid), version, topic, bytes(state))
    )
    db.run("UPDATE ledger_leaves SET hash = ? WHERE notification_id = ?", leaf, nid)
    sizes = [s for (s,) in db.run("SELECT tree_size FROM ledger_checkpoints ORDER BY tree_size")]
    first = min(s for s in sizes if s >= nid)
    before = max([s for s in sizes if s < nid], default=0)
    return f"checkpoint of {first} events: its root no longer matches the log; the change is among the events at leaves {before}..{first - 1}"


KINDS: dict[str, Callable[[Superuser, int, History], str]] = {
    "edit": edit,
    "delete": delete,
    "reorder": reorder,
    "insert": insert,
    "rewrite_checkpoint": rewrite_checkpoint,
    "other_key": other_key,
    "truncate": truncate,
    "edit_and_cover": edit_and_cover,
}


def run_verifier(url: str, key: str, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    status = verifier.main(["--database-url", url, "--key", key, *args])
    out = capsys.readouterr().out
    return status, [line.removeprefix("FAIL  ") for line in out.splitlines() if line.startswith("FAIL")]


@pytest.fixture
def history(store_kind: str, tmp_path: Path, request: pytest.FixtureRequest):
    url = request.getfixturevalue("postgres_url") if store_kind == "postgres" else None
    settings = Settings(environment="test", data_dir=tmp_path / "data", database_url=url)
    made = History(settings, request.getfixturevalue("postgres_admin_url") if url else None)
    yield made
    if url:
        made.drop_copies()


def test_a_clean_history_verifies_and_a_witness_copy_is_consistent(
    history: History, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = history.copy()
    assert run_verifier(url, history.key, capsys) == (0, [])
    db = Superuser(url)
    note = db.run("SELECT note FROM ledger_checkpoints ORDER BY tree_size LIMIT 1")[0][0]
    db.close()
    witness = tmp_path / "witness.note"
    witness.write_text(note)
    status, findings = run_verifier(url, history.key, capsys, "--from-checkpoint", str(witness))
    assert (status, findings) == (0, [])


def test_every_kind_of_tampering_is_found_and_the_first_bad_event_named(
    history: History, capsys: pytest.CaptureFixture[str]
) -> None:
    chooser = random.Random()
    first_user_event = 8  # (the first events are the accounts and the unit: any will do, but incidents are the point)
    url = history.copy()  # one copy, put back after every trial: a database made and dropped per trial took ~2 s
    db = Superuser(url)
    untouched = db.saved()
    try:
        for kind, tamper in KINDS.items():
            for _ in range(TRIALS):
                nid = chooser.randint(first_user_event, history.events - 2)
                expected = tamper(db, nid, history)
                status, findings = run_verifier(url, history.key, capsys)
                assert status == 1, (kind, nid)
                assert expected in findings[0], (kind, nid, findings)
                db.restore(untouched)
                assert run_verifier(url, history.key, capsys) == (0, []), (kind, nid, "not put back")
    finally:
        db.close()


def test_a_database_without_the_ledger_is_told_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "other.sqlite3"
    sqlite3.connect(path).execute("CREATE TABLE stored_events (originator_id TEXT)").connection.close()
    with pytest.raises(SystemExit, match="no ledger tables"):
        verifier.main(["--database-url", f"sqlite:///{path}", "--key", str(Signer.generate().verifier)])


def test_on_postgresql_the_server_assembles_each_entry_byte_for_byte_as_the_format_says(pg_settings: Settings) -> None:
    """The verifier reads whole leaf entries that PostgreSQL joins from the stored columns (ENTRY_SQL): for every event
    they are the bytes of the format's definition (tools/verify_ledger.leaf_entry, domain/ledger.leaf_entry)."""
    from domain import ledger

    container = bootstrap(pg_settings)
    try:
        build_world(container.app, units=1).report()
    finally:
        container.close()
    with psycopg.connect(pg_settings.database_url) as conn:
        rows = conn.execute(
            f"SELECT notification_id, originator_id, originator_version, topic, state, {verifier.ENTRY_SQL} "
            "FROM ssz_events ORDER BY notification_id"
        ).fetchall()
    assert len(rows) > 5
    for nid, oid, version, topic, state, entry in rows:
        assert entry == ledger.leaf_entry(nid, oid, version, topic, state)
        assert entry == verifier.leaf_entry(nid, oid.bytes, version, topic, state)


def test_the_verifier_reads_one_snapshot_while_the_log_grows(
    history: History, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Opened, then the log and the ledger grow (a live zone): every stream of the verifier (on PostgreSQL, three
    connections) still reads the database as it was when it began, so the ledger never seems ahead of the log."""
    from domain.accounts import UserAccount

    url = history.copy()
    if history.settings.uses_postgres:
        settings = history.settings.model_copy(update={"database_url": url})
    else:
        settings = Settings(environment="test", data_dir=tmp_path / "live", database_url=None)
        settings.data_dir.mkdir()
        shutil.copy(url.removeprefix("sqlite:///"), settings.sqlite_path)
        shutil.copy(history.settings.data_dir / "ledger.key", settings.data_dir / "ledger.key")
        url = f"sqlite:///{settings.sqlite_path}"
    store = verifier.Store(url, None)
    container = bootstrap(settings, run_migrations=False)
    try:
        for n in range(3):
            container.app.report_incident(
                channel=Channel.PHONE_191,
                category=Category.THEFT,
                priority=Priority.P2,
                community=Community.KO_LOI,
                location="Soi 3",
                description=f"late call {n}",
                by=UserAccount.id_for("dispatcher"),
            )
        container.projections.catch_up()
        ledger_model.take_checkpoint(container.engine, container.projections.by_name["ledger"])
    finally:
        container.close()
    try:
        report = verifier.verify(store, verifier.Key.parse(history.key))
    finally:
        store.close()
    out = capsys.readouterr().out
    assert report.findings == []
    assert f"ok    {history.events} events read, {history.events} recorded in the ledger" in out
    assert run_verifier(url, history.key, capsys) == (0, [])  # and afterwards, the grown log verifies


def test_a_witness_copy_that_is_not_a_checkpoint_is_named_and_one_that_is_not_text_is_refused(
    history: History, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = history.copy()
    witness = tmp_path / "witness.note"
    for content, says in (
        ("hello\n", "not a signed note"),
        (Signer.generate(history.signer.name).sign("x\n"), "not signed by"),
        (history.signer.sign("no checkpoint\n"), "not a checkpoint"),
    ):
        witness.write_text(content)
        status, findings = run_verifier(url, history.key, capsys, "--from-checkpoint", str(witness))
        assert status == 1 and says in findings[0], (content, findings)
    witness.write_bytes(b"\xff\xfe\x00garbage")
    assert verifier.main(["--database-url", url, "--key", history.key, "--from-checkpoint", str(witness)]) == 2
    assert "cannot be read as text" in capsys.readouterr().err
