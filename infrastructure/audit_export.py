"""Exports for auditors: events as a JSON Lines bundle that anyone can verify offline (`ssz ledger verify --bundle
FILE`, tools/verify_ledger.py), and as CSV for spreadsheets; and the server's own check of events' inclusion proofs
(the history page's answer when the browser runs no script).

A bundle's first line describes it and holds the latest signed checkpoint (the note exactly as signed); every
other line is one event: its readable fields (as the timeline holds them), its canonical ledger bytes (README,
"Tamper-evident log") in base64, its leaf hash, and its RFC 9162 audit path in the checkpoint's tree.

Personal data is never exported. The log holds no reporter's name or phone in clear: a reporter's contact is
stored sealed (encrypted, its key outside the log). The readable fields show it only as the id of its key (never
the ciphertext), and the canonical bytes of an event that holds a sealed contact are withheld: such a line has
its leaf hash and proof (its place in the signed log is proven) but not its bytes (`"withheld"` says why), so
neither the ciphertext nor, once erased, any trace of it leaves the system. Free text that officers wrote
(descriptions, locations, notes, reasons) is exported as recorded: it is the record under audit."""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, text

from domain import ledger as merkle
from infrastructure.checkpoints import NoteError, configured_signer, open_note

MAX_EXPORT = 100_000
FORMAT = "ssz-audit-bundle/1"
WITHHELD = "holds a reporter's sealed contact: only its leaf hash is given"
_SEALED = b'"sealed_contact"'
_CSV_COLUMNS = (
    "notification_id",
    "aggregate",
    "originator_id",
    "version",
    "event",
    "actor_id",
    "actor_role",
    "occurred_at",
    "recorded_at",
    "reason",
    "params",
)


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def stored_events(container: Any, ids: list[int]) -> dict[int, tuple[int, Any, int, str, bytes]]:
    """The stored events with these notification ids: (notification id, originator id, version, topic, state)."""
    table = container.app.recorder.events_table_name
    found: dict[int, tuple[int, Any, int, str, bytes]] = {}
    with container.engine.connect() as conn:
        notification = "notification_id" if conn.dialect.name == "postgresql" else "rowid"
        query = text(
            f"SELECT {notification}, originator_id, originator_version, topic, state FROM {table} "
            f"WHERE {notification} IN :ids"
        ).bindparams(bindparam("ids", expanding=True))
        for start in range(0, len(ids), 1000):
            for nid, oid, version, topic, state in conn.execute(query, {"ids": ids[start : start + 1000]}):
                found[nid] = (nid, oid, version, topic, bytes(state))
    return found


def _leaf_entry(event: tuple[int, Any, int, str, bytes]) -> bytes:
    nid, oid, version, topic, state = event
    from uuid import UUID

    return merkle.leaf_entry(nid, oid if isinstance(oid, UUID) else UUID(str(oid)), version, topic, state)


def bundle_lines(container: Any, reads: Any, rows: list[dict[str, Any]], subject: dict[str, Any]) -> Iterator[str]:
    latest = container.ledger.latest_checkpoint()
    size = latest["tree_size"] if latest else 0
    yield (
        json.dumps(
            {
                "format": FORMAT,
                "exported_at": _iso(datetime.now(UTC)),
                "subject": subject,
                "events": len(rows),
                "checkpoint": None
                if latest is None
                else {"tree_size": size, "root": _b64(latest["root"]), "note": latest["note"]},
                "personal_data": "none: a reporter's contact appears only as the id of its key; the bytes of an "
                "event that holds a sealed contact are withheld (its leaf hash and proof are given)",
            },
            ensure_ascii=False,
        )
        + "\n"
    )
    for start in range(0, len(rows), 500):
        chunk = rows[start : start + 500]
        ids = [r["notification_id"] for r in chunk]
        proofs = reads.proofs(ids, size)
        stored = stored_events(container, ids)
        for row in chunk:
            nid = row["notification_id"]
            proof = proofs.get(nid)
            event = stored.get(nid)
            withheld = event is not None and _SEALED in event[4]
            entry = _leaf_entry(event) if event is not None else None
            line = {
                "notification_id": nid,
                "originator_id": str(row["originator_id"]),
                "version": row["version"],
                "topic": event[3] if event else None,
                "aggregate": row["aggregate"],
                "event": row["event"],
                "actor_id": str(row["actor_id"]),
                "actor_role": row["actor_role"],
                "occurred_at": _iso(row["occurred_at"]),
                "recorded_at": _iso(row["recorded_at"]),
                "reason": row["reason"],
                "params": row["params"],
                "leaf_entry": None if withheld or entry is None else _b64(entry),
                "withheld": WITHHELD if withheld else None,
                "position": proof["position"] if proof else None,
                "leaf_hash": _b64(proof["leaf_hash"] if proof else merkle.leaf_hash(entry or b"")),
                "path": [_b64(h) for h in proof["path"]] if proof else None,
            }
            if proof is None:
                line["proof"] = "not yet in a signed checkpoint"
            yield json.dumps(line, ensure_ascii=False) + "\n"


def csv_lines(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """UTF-8 with a byte-order mark (spreadsheets then read Thai right); parameters as their JSON text, a reporter's
    contact as the id of its key only."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(_CSV_COLUMNS)
    yield "\ufeff" + buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        values = {
            **row,
            "occurred_at": _iso(row["occurred_at"]),
            "recorded_at": _iso(row["recorded_at"]),
            "params": json.dumps(row["params"], ensure_ascii=False),
        }
        writer.writerow([values[c] if values[c] is not None else "" for c in _CSV_COLUMNS])
        yield buffer.getvalue()


def server_checks(container: Any, notification_ids: list[int]) -> dict[str, Any]:
    """What the history page shows without script: the latest checkpoint's signature checked with this
    installation's key, and for each event its leaf recomputed from the stored bytes and its audit path checked
    against the checkpoint's root ("ok", "bad", or "pending": not yet in a signed checkpoint)."""
    latest = container.ledger.latest_checkpoint()
    if latest is None:
        return {"checkpoint": None, "events": dict.fromkeys(notification_ids, "pending")}
    try:
        open_note(latest["note"], configured_signer(container.settings).verifier)
        signed = True
    except NoteError:
        signed = False
    reads = container.audit
    size, root = latest["tree_size"], bytes(latest["root"])
    proofs = reads.proofs(notification_ids, size)
    stored = stored_events(container, notification_ids)
    verdicts: dict[int, str] = {}
    for nid in notification_ids:
        proof, event = proofs.get(nid), stored.get(nid)
        if proof is None:
            verdicts[nid] = "pending"
            continue
        leaf = merkle.leaf_hash(_leaf_entry(event)) if event else b""
        good = leaf == proof["leaf_hash"] and merkle.verify_inclusion(
            proof["position"], size, leaf, proof["path"], root
        )
        verdicts[nid] = "ok" if good and signed else "bad"
    return {"checkpoint": {"tree_size": size, "signed": signed, "signed_at": latest["signed_at"]}, "events": verdicts}
