"""Verifies the zone's event log against its ledger and its signed checkpoints, from the stored bytes alone.

    python tools/verify_ledger.py --database-url postgresql://auditor@host/ssz --key "NAME+ID+KEY" \
        [--from-checkpoint witness.note]

It imports nothing of the application (it is meant to be read as the reference of the format): it reads the event
table, recomputes every leaf (README, "Tamper-evident log") and the RFC 9162 tree, and checks
  - every leaf the ledger recorded (ledger_leaves) against the event now stored at its place: the first event that
    no longer matches is named (edited, deleted, inserted or reordered);
  - every stored checkpoint: its signature by the given key, its form, and its root against the recomputed tree of
    its size (one published for more events than the log holds: the log was truncated); where the ledger's own rows
    were rewritten to agree with an edited event, the first checkpoint that no longer matches and the range of
    events between it and the one before, which must hold the change;
  - a checkpoint kept elsewhere (--from-checkpoint, a witness copy), the same way, and that the latest stored
    checkpoint is consistent with it (an RFC 9162 consistency proof made from the recomputed tree and checked).
Exit status 0: all holds; 1: something does not (each finding printed); 2: it could not check (says why)."""

from __future__ import annotations

import argparse
import base64
import bisect
import hashlib
import json
import queue
import sqlite3
import struct
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

DASH = "\u2014"


def sha256(data: bytes, _new=hashlib.sha256) -> bytes:  # noqa: ANN001 — (bound once: this runs twice per event)
    return _new(data).digest()


def leaf_entry(notification_id: int, originator_id: bytes, version: int, topic: str, state: bytes) -> bytes:
    """The event's canonical bytes; `originator_id`: the UUID's 16 bytes."""
    topic_bytes = topic.encode()
    return b"".join(
        (
            struct.pack(">QQ16sI", notification_id, version, originator_id, len(topic_bytes)),
            topic_bytes,
            struct.pack(">I", len(state)),
            state,
        )
    )


class Tree:
    """The RFC 9162 tree over leaf hashes, grown one leaf at a time (its right edge: perfect subtrees' roots)."""

    def __init__(self) -> None:
        self.size = 0
        self.edge: list[tuple[int, bytes]] = []  # (height, root), largest first

    def append(self, leaf: bytes) -> None:
        height, value = 0, leaf
        while self.edge and self.edge[-1][0] == height:
            value = sha256(b"\x01" + self.edge.pop()[1] + value)
            height += 1
        self.edge.append((height, value))
        self.size += 1

    def root(self) -> bytes:
        if not self.edge:
            return sha256(b"")
        value = self.edge[-1][1]
        for _, left in reversed(self.edge[:-1]):
            value = sha256(b"\x01" + left + value)
        return value


def mth(leaves: list[bytes], start: int, end: int) -> bytes:
    if end - start == 1:
        return leaves[start]
    k = 1 << ((end - start - 1).bit_length() - 1)
    return sha256(b"\x01" + mth(leaves, start, start + k) + mth(leaves, start + k, end))


def consistency_proof(leaves: list[bytes], first: int, second: int) -> list[bytes]:
    """RFC 9162 §2.1.4.1 PROOF(first, D[second]), 0 < first < second."""

    def subproof(m: int, start: int, end: int, whole: bool) -> list[bytes]:
        if m == end - start:
            return [] if whole else [mth(leaves, start, end)]
        k = 1 << ((end - start - 1).bit_length() - 1)
        if m <= k:
            return subproof(m, start, start + k, whole) + [mth(leaves, start + k, end)]
        return subproof(m - k, start + k, end, False) + [mth(leaves, start, start + k)]

    return subproof(first, 0, second, True)


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2, for 0 < first < second."""
    if not proof:
        return False
    path = ([first_root] if first & (first - 1) == 0 else []) + proof
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = sha256(b"\x01" + c + fr), sha256(b"\x01" + c + sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = sha256(b"\x01" + sr + c)
        fn, sn = fn >> 1, sn >> 1
    return fr == first_root and sr == second_root and sn == 0


# --- signed notes and checkpoints (C2SP signed-note, tlog-checkpoint) ------------------------------------------
@dataclass
class Key:
    name: str
    id: bytes
    public: Ed25519PublicKey

    @classmethod
    def parse(cls, vkey: str) -> Key:
        name, hex_id, data = vkey.strip().split("+", 2)
        raw = base64.b64decode(data, validate=True)
        if len(raw) != 33 or raw[0] != 1 or sha256(name.encode() + b"\n" + raw)[:4].hex() != hex_id:
            raise ValueError("not an Ed25519 verifier key whose id matches its name and key")
        return cls(name, bytes.fromhex(hex_id), Ed25519PublicKey.from_public_bytes(raw[1:]))


def open_checkpoint(note: str, key: Key) -> tuple[str, int, bytes]:
    """(origin, size, root) of a checkpoint signed by `key`; ValueError saying what is wrong otherwise."""
    text, blank, signatures = note.rpartition("\n\n")
    if not blank or not signatures.endswith("\n"):
        raise ValueError("not a signed note (text, blank line, signature lines)")
    text += "\n"
    for line in signatures[:-1].split("\n"):
        dash, name, blob = (line.split(" ") + ["", "", ""])[:3]
        if dash != DASH:
            raise ValueError(f"malformed signature line {line!r}")
        signature = base64.b64decode(blob)
        if name == key.name and signature[:4] == key.id:
            try:
                key.public.verify(signature[4:], text.encode())
            except InvalidSignature:
                raise ValueError("its signature does not verify: the checkpoint was rewritten") from None
            break
    else:
        raise ValueError(f"it is not signed by {key.name}+{key.id.hex()} (signed by another key?)")
    lines = text.split("\n")
    if len(lines) < 4 or not lines[1].isdigit():
        raise ValueError("its text is not a checkpoint (origin, size, root)")
    root = base64.b64decode(lines[2], validate=True)
    if len(root) != 32:
        raise ValueError("its root is not a SHA-256 hash")
    return lines[0], int(lines[1]), root


# --- an exported bundle (JSON Lines) ----------------------------------------------------------------------------
def verify_inclusion(index: int, size: int, leaf: bytes, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: `leaf` (a leaf hash) is leaf `index` of the tree of `size` leaves whose root is `root`."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = sha256(b"\x01" + p + r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = sha256(b"\x01" + r + p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def _entry_fields(entry: bytes) -> tuple[int, int, str, str, bytes]:
    """(notification id, version, originator id, topic, state) of an event's canonical bytes."""
    nid, version, oid, topic_len = struct.unpack(">QQ16sI", entry[:36])
    topic = entry[36 : 36 + topic_len].decode()
    (state_len,) = struct.unpack(">I", entry[36 + topic_len : 40 + topic_len])
    state = entry[40 + topic_len :]
    if len(state) != state_len:
        raise ValueError("its length fields do not match its bytes")
    return nid, version, str(UUID(bytes=oid)), topic, state


def _same_instant(text: str, stored: str) -> bool:
    from datetime import datetime

    return datetime.fromisoformat(text) == datetime.fromisoformat(stored)


def _readable_findings(line: dict, state: dict) -> list[str]:
    """Where the line's readable fields say something else than the event's own bytes."""

    def data(value):  # noqa: ANN001, ANN202 — a stored value tagged with its type
        return value["_data_"] if isinstance(value, dict) and "_data_" in value else value

    found = []
    if not _same_instant(line["recorded_at"], data(state["timestamp"])):
        found.append("recorded_at")
    if not _same_instant(line["occurred_at"], data(state["occurred_at"])):
        found.append("occurred_at")
    actor = data(state["actor"])
    if line["actor_id"].replace("-", "") != str(data(actor["user_id"])).replace("-", ""):
        found.append("actor_id")
    if line["actor_role"] != data(actor["role"]):
        found.append("actor_role")
    if (line.get("reason") or None) != (state.get("reason") or None):
        found.append("reason")
    for name, value in (line.get("params") or {}).items():
        if name == "contact":
            continue
        if name == "source" and line.get("event") == "Registered" and line.get("aggregate") == "Camera":
            continue  # a camera's source is shown masked (an older one recorded a password)
        if state.get(name) != value:
            found.append(f"params.{name}")
    return found


def verify_bundle(path: Path, key: Key) -> list[str]:
    """The findings of a bundle exported by /audit (README, "For auditors"): its checkpoint's signature by `key`,
    each event's bytes against its readable fields and its leaf hash, and each audit path against the checkpoint's
    root. An empty list: everything in it holds."""
    findings: list[str] = []
    with path.open(encoding="utf-8") as lines:
        try:
            header = json.loads(next(lines))
        except (StopIteration, ValueError):
            return ["the bundle is empty or its first line is not JSON"]
        if header.get("format") != "ssz-audit-bundle/1":
            return [f"not a bundle of this system (format {header.get('format')!r})"]
        checkpoint = header.get("checkpoint")
        if not checkpoint:
            return ["the bundle holds no signed checkpoint: nothing can be proven"]
        try:
            _origin, size, root = open_checkpoint(checkpoint["note"], key)
        except ValueError as error:
            return [f"its checkpoint: {error}"]
        if size != checkpoint.get("tree_size") or base64.b64encode(root).decode() != checkpoint.get("root"):
            findings.append("the checkpoint's size or root beside the note differ from the signed note")
        count = withheld = pending = 0
        for number, text in enumerate(lines, start=2):
            try:
                line = json.loads(text)
                nid = line["notification_id"]
            except (ValueError, KeyError, TypeError):
                findings.append(f"line {number}: not an event of a bundle")
                continue
            count += 1
            where = f"line {number} (notification {nid})"
            if line.get("path") is None:
                pending += 1
                continue
            try:
                leaf = base64.b64decode(line["leaf_hash"], validate=True)
                proof = [base64.b64decode(h, validate=True) for h in line["path"]]
                if line.get("leaf_entry") is None:
                    withheld += 1
                else:
                    entry = base64.b64decode(line["leaf_entry"], validate=True)
                    e_nid, e_version, e_oid, e_topic, e_state = _entry_fields(entry)
                    if (e_nid, e_version, e_oid, e_topic) != (
                        nid,
                        line["version"],
                        line["originator_id"],
                        line["topic"],
                    ):
                        findings.append(f"{where}: its fields differ from its bytes (id, version or topic)")
                    if sha256(b"\x00" + entry) != leaf:
                        findings.append(f"{where}: its bytes do not hash to its leaf: the event was changed")
                        continue
                    differing = _readable_findings(line, json.loads(e_state))
                    if differing:
                        findings.append(f"{where}: {', '.join(differing)} differ from the event's bytes")
            except (ValueError, KeyError, TypeError, struct.error) as error:
                findings.append(f"{where}: unreadable ({error})")
                continue
            if not verify_inclusion(line.get("position", -1), size, leaf, proof, root):
                findings.append(f"{where}: its audit path does not lead to the checkpoint's root")
        if count != header.get("events"):
            findings.append(
                f"the bundle says {header.get('events')} events and holds {count}: lines were removed or added"
            )
    for finding in findings:
        print(f"FAIL {finding}")
    if not findings:
        print(
            f"OK {count} events in the signed checkpoint of {size} events"
            + (f"; {withheld} proven by their leaf hash only (bytes withheld: a sealed contact)" if withheld else "")
            + (f"; {pending} not yet in a signed checkpoint (not proven)" if pending else "")
        )
    return findings


# --- the database ----------------------------------------------------------------------------------------------
BATCH = 10_000  # events a fetch


def read_ahead(batches: Iterator[list[tuple]], depth: int = 4) -> Iterator[list[tuple]]:
    """The batches of `batches`, fetched in a thread of their own while the caller hashes the ones before (the
    database driver lets go of the interpreter while it waits for the server, so the two overlap)."""
    handed: queue.Queue = queue.Queue(depth)
    end = object()

    def fetch() -> None:
        try:
            for batch in batches:
                handed.put(batch)
            handed.put(end)
        except BaseException as error:  # handed on to the caller
            handed.put(error)

    threading.Thread(target=fetch, name="verify-read-ahead", daemon=True).start()
    while (item := handed.get()) is not end:
        if isinstance(item, BaseException):
            raise item
        yield item


# leaf_entry() in PostgreSQL's own functions: the integers in big-endian (int8send, int4send), the UUID's 16 bytes
# (uuid_send), the topic in UTF-8. Reading one column of whole entries costs the verifier a third less than reading
# the five columns and joining them here.
ENTRY_SQL = (
    "int8send(notification_id) || int8send(originator_version) || uuid_send(originator_id)"
    " || int4send(octet_length(convert_to(topic, 'UTF8'))) || convert_to(topic, 'UTF8')"
    " || int4send(octet_length(state)) || state"
)


class Store:
    """The stored bytes, read in one snapshot of the database: on PostgreSQL the checkpoints on the first
    connection, the events and the ledger's leaves each on a connection of its own that shares its snapshot
    (`pg_export_snapshot`, as pg_dump's parallel workers do), read ahead in threads; on SQLite one read
    transaction."""

    def __init__(self, url: str, events_table: str | None):
        self.postgres = url.startswith(("postgres://", "postgresql"))
        if self.postgres:
            self.url = url.replace("postgresql+psycopg://", "postgresql://")
            self.conn = self._connect()
            self.snapshot = self.conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
            self.events = events_table or "ssz_events"
            self.nid = "notification_id"
        else:
            path = url.removeprefix("sqlite:///")
            if not Path(path).exists():
                raise SystemExit(f"no SQLite database at {path}")
            self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
            self.conn.execute("BEGIN")  # one read transaction, from its first read: every query sees the same database
            self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            self.events = events_table or "stored_events"
            self.nid = "rowid"

    def _connect(self, snapshot: str | None = None):  # noqa: ANN202 — a psycopg connection
        import psycopg
        from psycopg import IsolationLevel, sql

        conn = psycopg.connect(self.url)
        conn.isolation_level, conn.read_only = IsolationLevel.REPEATABLE_READ, True
        if snapshot is not None:  # (the first statement of its transaction)
            conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
        conn.execute("SET LOCAL jit = off")  # a plain index scan in order: compiling it costs more than it saves
        return conn

    def close(self) -> None:
        self.conn.close()

    def has_table(self, name: str) -> bool:
        query = (
            "SELECT 1 FROM information_schema.tables WHERE table_name = %s"
            if self.postgres
            else "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        )
        return self.conn.execute(query, (name,)).fetchone() is not None

    def batches(self, query: str, batch: int = BATCH) -> Iterator[list[tuple]]:
        """The rows of `query` in batches; on PostgreSQL read ahead on a connection of its own, in binary."""
        if not self.postgres:
            cursor = self.conn.execute(query)
            while rows := cursor.fetchmany(batch):
                yield rows
            return

        def fetched() -> Iterator[list[tuple]]:
            with self._connect(self.snapshot) as conn, conn.cursor(name="verify", binary=True) as cursor:
                cursor.execute(query)
                while rows := cursor.fetchmany(batch):
                    yield rows

        yield from read_ahead(fetched())

    def events_in_order(self) -> Iterator[list[tuple[int, bytes]]]:
        """Batches of (notification id, leaf entry): each stored event's canonical bytes, in notification order."""
        if self.postgres:  # the entry assembled by the server, byte for byte as leaf_entry() makes it (tested)
            yield from self.batches(f"SELECT notification_id, {ENTRY_SQL} FROM {self.events} ORDER BY notification_id")
            return
        for rows in self.batches(
            f"SELECT rowid, originator_id, originator_version, topic, state FROM {self.events} ORDER BY rowid"
        ):
            # (SQLite keeps whatever it is given: a state rewritten as text is hashed as its UTF-8 bytes)
            yield [
                (
                    nid,
                    leaf_entry(
                        nid, UUID(oid).bytes, version, topic, state.encode() if isinstance(state, str) else state
                    ),
                )
                for nid, oid, version, topic, state in rows
            ]

    def recorded_leaves(self) -> Iterator[list[tuple[int, int, bytes]]]:
        """Batches of the ledger's (position, notification id, leaf hash), by position."""
        query = "SELECT position, notification_id, hash FROM ledger_leaves ORDER BY position"
        if self.postgres:
            yield from self.batches(query)  # (bytea comes as bytes)
            return
        for rows in self.batches(query):
            yield [(position, nid, bytes(digest)) for position, nid, digest in rows]

    def checkpoints(self) -> list[tuple[int, str]]:
        return [
            (size, note)
            for size, note in self.conn.execute("SELECT tree_size, note FROM ledger_checkpoints ORDER BY tree_size")
        ]


class Recorded:
    """The ledger's recorded leaves, taken in step with the events read."""

    def __init__(self, batches: Iterator[list[tuple[int, int, bytes]]]):
        self.batches = batches
        self.held: list[tuple[int, int, bytes]] = []
        self.count = 0

    def before(self, end: int) -> list[tuple[int, int, bytes]]:
        """The recorded leaves at positions below `end` not taken yet."""
        while not self.held or self.held[-1][0] < end:
            more = next(self.batches, None)
            if more is None:
                break
            self.held += more
        cut = bisect.bisect_left(self.held, (end,))
        taken, self.held = self.held[:cut], self.held[cut:]
        self.count += len(taken)
        return taken

    def rest(self) -> int:
        """How many are left: leaves recorded beyond the events read."""
        return len(self.held) + sum(len(batch) for batch in self.batches)


@dataclass
class Report:
    findings: list[str] = field(default_factory=list)

    def bad(self, message: str) -> None:
        self.findings.append(message)
        print(f"FAIL  {message}")


def describe(event: tuple[int, bytes]) -> str:
    """An event named from its leaf entry: notification id, event type, aggregate and version."""
    nid, version, oid, length = struct.unpack_from(">QQ16sI", event[1])
    topic = bytes(event[1][36 : 36 + length]).decode(errors="replace")
    return f"notification {nid} ({topic.rsplit(':', 1)[-1]} of aggregate {UUID(bytes=oid)}, version {version})"


def _difference(position: int, recorded_nid: int, event: tuple[int, bytes]) -> str:
    if recorded_nid != event[0]:
        return (
            f"the ledger recorded notification {recorded_nid} at leaf {position}, the log now has {describe(event)} "
            f"there: " + ("an event is missing (deleted)" if recorded_nid < event[0] else "an event was inserted")
        )
    return f"{describe(event)} at leaf {position} no longer matches its recorded leaf (it was edited)"


def verify(store: Store, key: Key, witness: str | None = None, progress: bool = False) -> Report:
    report = Report()
    if not store.has_table("ledger_leaves") or not store.has_table("ledger_checkpoints"):
        raise SystemExit(
            "this database has no ledger tables (ledger_leaves, ledger_checkpoints): it was not migrated to "
            "0009_ledger, or it is not the zone's database; nothing to verify against"
        )
    recorded = Recorded(store.recorded_leaves())
    stored_checkpoints = store.checkpoints()
    sizes = {size for size, _ in stored_checkpoints}
    witness_checkpoint = None
    if witness is not None:
        try:
            witness_checkpoint = open_checkpoint(witness, key)
            sizes.add(witness_checkpoint[1])
        except ValueError as error:
            report.bad(f"the witness checkpoint: {error}")
    tree, leaves, nids, roots = Tree(), [], [], {0: sha256(b"")}
    first_bad_leaf = None
    bar = _bar(progress)
    for events in store.events_in_order():
        start = tree.size
        hashes = [sha256(b"\x00" + entry) for _, entry in events]
        numbers = [event[0] for event in events]
        leaves += hashes
        nids += numbers
        for leaf in hashes:
            tree.append(leaf)
            if tree.size in sizes:
                roots[tree.size] = tree.root()
        # Every leaf the ledger recorded at these places (it may lag the log) against the event now there: the
        # whole batch at once, and where anything differs (or a place is missing), place by place.
        taken = recorded.before(tree.size)
        if (
            first_bad_leaf is None
            and taken != list(zip(range(start, tree.size), numbers, hashes, strict=True))[: len(taken)]
        ):
            by_place = {position: (nid, digest) for position, nid, digest in taken}
            for position, event, leaf in zip(range(start, tree.size), events, hashes, strict=True):
                if position in by_place and by_place[position] != (event[0], leaf):
                    first_bad_leaf = position
                    report.bad(f"first event that differs: {_difference(position, by_place[position][0], event)}")
                    break
        if bar:
            bar.update(len(events))
    if bar:
        bar.close()
    size = tree.size
    beyond = recorded.rest()
    recorded_count = recorded.count
    if first_bad_leaf is None and beyond:
        report.bad(
            f"the ledger recorded {recorded_count + beyond} events, the log now holds {size}: events after "
            f"notification {nids[-1] if nids else 0} are gone (the log was truncated)"
        )
    print(f"ok    {size} events read, {recorded_count + beyond} recorded in the ledger")

    previous = (0, sha256(b""))
    mismatched = False
    latest = None
    for checkpoint_size, note in stored_checkpoints:
        try:
            origin, claimed, root = open_checkpoint(note, key)
        except ValueError as error:
            report.bad(f"checkpoint of {checkpoint_size} events: {error}")
            continue
        if claimed != checkpoint_size or origin != key.name:
            report.bad(f"checkpoint of {checkpoint_size} events: its signed text says {claimed} events of {origin!r}")
            continue
        if claimed > size:
            report.bad(
                f"checkpoint of {claimed} events was published, the log now holds {size}: it was truncated "
                f"back before a published checkpoint"
            )
            continue
        if roots[claimed] != root:
            if not mismatched:
                report.bad(
                    f"checkpoint of {claimed} events: its root no longer matches the log; the change is among "
                    f"the events at leaves {previous[0]}..{claimed - 1} (notifications {nids[previous[0]]}.."
                    f"{nids[claimed - 1]}), after the checkpoint of {previous[0]} events, which still matches"
                )
            mismatched = True
            continue
        previous = (claimed, root)
        latest = (claimed, root)
    if stored_checkpoints and not mismatched and latest:
        print(
            f"ok    {len(stored_checkpoints)} checkpoints signed by {key.name}; the latest, of {latest[0]} events, "
            f"and every one before it match the log"
        )
    if witness_checkpoint is not None:
        _check_witness(report, witness_checkpoint, roots, leaves, latest, size)
    print("the log verifies" if not report.findings else f"{len(report.findings)} finding(s): the log does not verify")
    return report


def _check_witness(
    report: Report,
    witness: tuple[str, int, bytes],
    roots: dict[int, bytes],
    leaves: list[bytes],
    latest: tuple[int, bytes] | None,
    size: int,
) -> None:
    _, claimed, root = witness
    if claimed > size:
        report.bad(
            f"the witness checkpoint is of {claimed} events, the log holds {size}: truncated since it was published"
        )
    elif roots.get(claimed) != root:
        report.bad(f"the witness checkpoint of {claimed} events does not match the log: events before it were changed")
    elif latest and 0 < claimed < latest[0]:
        proof = consistency_proof(leaves, claimed, latest[0])
        if verify_consistency(claimed, latest[0], root, latest[1], proof):
            print(
                f"ok    the latest checkpoint ({latest[0]} events) extends the witness's ({claimed} events): "
                f"consistency proof of {len(proof)} hashes verified"
            )
        else:
            report.bad("the latest checkpoint is not consistent with the witness checkpoint")
    else:
        print(f"ok    the witness checkpoint of {claimed} events matches the log")


def _bar(progress: bool):  # noqa: ANN202 — a tqdm bar, when tqdm is there
    if not progress:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(unit="ev", desc="verify", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="postgresql://… or sqlite:///path/to/ssz.sqlite3")
    parser.add_argument("--bundle", type=Path, help="verify an exported bundle (JSON Lines) instead of a database")
    parser.add_argument("--key", required=True, help="the ledger's verifier key (ssz ledger key): NAME+ID+BASE64")
    parser.add_argument("--from-checkpoint", type=Path, help="a signed checkpoint kept elsewhere (a witness copy)")
    parser.add_argument("--events-table", help="the event table (ssz_events on PostgreSQL, stored_events on SQLite)")
    args = parser.parse_args(argv)
    try:
        key = Key.parse(args.key)
    except ValueError as error:
        print(f"the key: {error}", file=sys.stderr)
        return 2
    if args.bundle is not None:
        try:
            return 1 if verify_bundle(args.bundle, key) else 0
        except OSError as error:
            print(f"the bundle: {error}", file=sys.stderr)
            return 2
    if not args.database_url:
        print("give --database-url (or --bundle FILE)", file=sys.stderr)
        return 2
    witness = None
    if args.from_checkpoint:
        try:
            witness = args.from_checkpoint.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            print(f"the witness checkpoint {args.from_checkpoint}: cannot be read as text ({error})", file=sys.stderr)
            return 2
    store = Store(args.database_url, args.events_table)
    try:
        report = verify(store, key, witness, progress=sys.stderr.isatty())
    finally:
        store.close()
    return 1 if report.findings else 0


if __name__ == "__main__":
    sys.exit(main())
