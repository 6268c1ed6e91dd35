"""The ledger's Merkle tree, exactly as RFC 9162 (Certificate Transparency 2.0) §2.1 defines it, and the leaf
entry of a stored event. Pure functions, no I/O.

Hashes are SHA-256: a leaf is H(0x00 || entry), an inner node H(0x01 || left || right), and the tree over n
leaves splits at the largest power of two smaller than n. Every subtree the RFC's definitions ever ask for is
made of *perfect* subtrees (2^level leaves starting at a multiple of 2^level), so a store keeps those (`Node`
keys: level and index) and any root or proof is computed from O(log n) of them (`mth`)."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterable, Sequence
from uuid import UUID

_sha256 = hashlib.sha256
EMPTY_ROOT = _sha256(b"").digest()  # MTH({}), the root of the empty tree

# (level, index): the perfect subtree of leaves [index * 2^level, (index + 1) * 2^level)
Node = tuple[int, int]
Perfect = Callable[[int, int], bytes]


def leaf_hash(entry: bytes) -> bytes:
    return _sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


def leaf_entry(
    notification_id: int, originator_id: UUID | bytes, originator_version: int, topic: str, state: bytes
) -> bytes:
    """A stored event's canonical bytes (README, "Tamper-evident log"): the notification id and the originator
    version as 8-byte big-endian unsigned integers, the originator id as its 16 bytes, then the topic (UTF-8)
    and the state as stored, each after its length as a 4-byte big-endian unsigned integer. The recorded time
    is the `timestamp` inside the state (the event store has no column of its own for it)."""
    topic_bytes = topic.encode()
    oid = originator_id.bytes if isinstance(originator_id, UUID) else originator_id  # (or its 16 bytes already)
    return b"".join(
        (
            struct.pack(">QQ", notification_id, originator_version),
            oid,
            struct.pack(">I", len(topic_bytes)),
            topic_bytes,
            struct.pack(">I", len(state)),
            state,
        )
    )


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def mth(start: int, end: int, perfect: Perfect) -> bytes:
    """MTH(D[start:end]) of a subtree the RFC's recursion reaches, from the perfect subtrees it is made of."""
    size = end - start
    if size == 0:
        return EMPTY_ROOT
    if size & (size - 1) == 0 and start % size == 0:
        level = size.bit_length() - 1
        return perfect(level, start >> level)
    k = _split(size)
    return node_hash(mth(start, start + k, perfect), mth(start + k, end, perfect))


def inclusion_path(index: int, size: int, perfect: Perfect) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 §2.1.3.1: the audit path, nearest the leaf first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append(mth(start + k, end, perfect))
            end = start + k
        else:
            path.append(mth(start, start + k, perfect))
            start += k
    path.reverse()
    return path


def consistency_proof(first: int, second: int, perfect: Perfect) -> list[bytes]:
    """PROOF(first, D[second]) of RFC 9162 §2.1.4.1 (empty when first is 0 or equals second)."""
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from {first} to {second} leaves")
    if first == 0:
        return []
    proof: list[bytes] = []
    start, end, whole = 0, second, True
    while True:
        m = first - start
        if m == end - start:
            if not whole:
                proof.append(mth(start, end, perfect))
            break
        k = _split(end - start)
        if m <= k:
            proof.append(mth(start + k, end, perfect))
            end = start + k
        else:
            proof.append(mth(start, start + k, perfect))
            start, whole = start + k, False
    proof.reverse()
    return proof


def verify_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: `leaf` (a leaf hash) is leaf `index` of the tree of `size` leaves whose root is `root`."""
    if index >= size or index < 0:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: the tree of `second` leaves with root `second_root` extends the tree of `first` leaves with
    root `first_root`. Outside the RFC's 0 < first < second: the empty tree is extended by any tree (empty proof), and
    a tree of the same size only by itself (empty proof, equal roots)."""
    if first < 0 or second < first:
        return False
    if first == 0:
        return not proof and first_root == EMPTY_ROOT
    if first == second:
        return not proof and first_root == second_root
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


def nodes_needed(compute: Callable[[Perfect], object]) -> list[Node]:
    """Which perfect subtrees a computation over them reads (so that a store can fetch them in one go)."""
    wanted: list[Node] = []

    def record(level: int, index: int) -> bytes:
        wanted.append((level, index))
        return EMPTY_ROOT

    compute(record)
    return wanted


def frontier_nodes(size: int) -> list[Node]:
    """The perfect subtrees a tree of `size` leaves is made of, largest (leftmost) first: one per bit of size."""
    nodes, start = [], 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            nodes.append((level, start >> level))
            start += 1 << level
    return nodes


class Frontier:
    """The right edge of a growing tree (a compact range): the roots of its perfect subtrees, largest first.
    Appending a leaf costs O(1) amortised hashing and O(log n) at worst; it hands back the perfect subtrees
    it completes, which are all a store needs to keep for any later root or proof."""

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()):
        levels = [level for level, _ in frontier_nodes(size)]
        if len(levels) != len(hashes):
            raise ValueError(
                f"a tree of {size} leaves has {len(levels)} perfect subtrees on its edge, not {len(hashes)}"
            )
        self.size = size
        self.levels = levels
        self.hashes = list(hashes)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Adds a leaf hash; returns the perfect subtrees completed (level ≥ 1, index, hash)."""
        made = []
        levels, hashes = self.levels, self.hashes
        level, value = 0, leaf
        position = self.size
        while levels and levels[-1] == level:
            levels.pop()
            value = node_hash(hashes.pop(), value)
            level += 1
            position >>= 1
            made.append((level, position, value))
        levels.append(level)
        hashes.append(value)
        self.size += 1
        return made

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        value = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            value = node_hash(left, value)
        return value


def build(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """Every perfect subtree over the given leaf hashes, level by level (level 0: the leaves themselves)."""
    levels = [list(leaves)]
    hash_, sha = b"\x01", _sha256
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([sha(hash_ + below[i] + below[i + 1]).digest() for i in range(0, len(below) - 1, 2)])
    return levels


def root_of(leaves: Iterable[bytes]) -> bytes:
    """MTH over leaf hashes, streaming."""
    frontier = Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    return frontier.root()
