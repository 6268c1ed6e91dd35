"""An exported bundle (JSON Lines, README "For auditors") checked from its own bytes: its checkpoint's signature,
each event's bytes against its readable fields and its leaf hash, each audit path against the checkpoint's root."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path
from uuid import UUID

from .tree import Key, open_checkpoint, sha256, verify_inclusion


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
