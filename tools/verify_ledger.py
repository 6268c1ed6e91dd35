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
import bisect
import hashlib
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:  # its own modules (tools/ledger_verifier), however it is started (a script, or loaded by path)
    sys.path.insert(0, HERE)

from ledger_verifier.bundle import verify_bundle  # noqa: E402
from ledger_verifier.store import ENTRY_SQL, Store  # noqa: E402
from ledger_verifier.tree import (  # noqa: E402
    Key,
    Tree,
    consistency_proof,
    leaf_entry,
    open_checkpoint,
    sha256,
    verify_consistency,
    verify_inclusion,
)

__all__ = ["ENTRY_SQL", "Key", "Store", "Tree", "leaf_entry", "main", "verify", "verify_bundle", "verify_inclusion"]


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
    new_hash = hashlib.sha256
    first_bad_leaf = None
    bar = _bar(progress)
    wanted = sorted(sizes)
    for numbers, inputs in store.events_in_order():
        start = tree.size
        hashes = [new_hash(data).digest() for data in inputs]  # (each input: 0x00 || the event's leaf entry)
        leaves += hashes
        nids += numbers
        roots.update(tree.extend(hashes, wanted))
        # Every leaf the ledger recorded at these places (it may lag the log) against the event now there: the
        # whole batch at once, and where anything differs (or a place is missing), place by place.
        taken = recorded.before(tree.size)
        if (
            first_bad_leaf is None
            and taken != list(zip(range(start, tree.size), numbers, hashes, strict=True))[: len(taken)]
        ):
            by_place = {position: (nid, digest) for position, nid, digest in taken}
            for position, nid, data, leaf in zip(range(start, tree.size), numbers, inputs, hashes, strict=True):
                if position in by_place and by_place[position] != (nid, leaf):
                    first_bad_leaf = position
                    event = (nid, bytes(data[1:]))
                    report.bad(f"first event that differs: {_difference(position, by_place[position][0], event)}")
                    break
        if bar:
            bar.update(len(inputs))
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
