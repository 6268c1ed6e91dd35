"""The format's definitions, as the verifier reads them: an event's leaf entry, the RFC 9162 tree and its proofs,
and C2SP signed notes and checkpoints. Standard library and `cryptography` only."""

from __future__ import annotations

import base64
import bisect
import hashlib
import struct
from dataclasses import dataclass

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

    def append(self, leaf: bytes, height: int = 0) -> None:
        """Adds a leaf, or (`height` > 0) the root of the perfect subtree of the next 2^height leaves (the tree's
        size then a multiple of 2^height)."""
        self.size += 1 << height
        value = leaf
        while self.edge and self.edge[-1][0] == height:
            value = sha256(b"\x01" + self.edge.pop()[1] + value)
            height += 1
        self.edge.append((height, value))

    def extend(self, leaves: list[bytes], sizes: list[int]) -> dict[int, bytes]:
        """Appends `leaves`; returns the tree's roots at the sizes of `sizes` (sorted) that it reaches on the way. A
        batch of 2^k leaves at a multiple of 2^k with none of those sizes inside it is one perfect subtree: hashed
        level by level, then added as one node (the same hashes, without a step of Python for each leaf)."""
        n, start, roots = len(leaves), self.size, {}
        inside = sizes[bisect.bisect_right(sizes, start) : bisect.bisect_left(sizes, start + n)]
        if n > 1 and n & (n - 1) == 0 and start % n == 0 and not inside:
            level, new = leaves, hashlib.sha256
            while len(level) > 1:
                level = [
                    new(b"\x01" + left + right).digest() for left, right in zip(level[::2], level[1::2], strict=True)
                ]
            self.append(level[0], n.bit_length() - 1)
        else:
            for leaf in leaves:
                self.append(leaf)
                if inside and self.size == inside[0]:
                    roots[inside.pop(0)] = self.root()
        i = bisect.bisect_left(sizes, self.size)
        if i < len(sizes) and sizes[i] == self.size:
            roots[self.size] = self.root()
        return roots

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
