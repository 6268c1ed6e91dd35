"""The independent verifier's tree (tools/ledger_verifier/tree.py) grown in batches, as it reads a log: whatever
the batches (whole perfect subtrees, hashed level by level, or not), it has the roots that RFC 9162 gives, at the
end and at every checkpoint's size inside a batch."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from domain import ledger
from entrypoints.ledger_cli import verifier_module

LEAVES = [ledger.leaf_hash(n.to_bytes(4, "big")) for n in range(300)]


def rfc_root(size: int) -> bytes:
    return ledger.mth(0, size, lambda level, index: _perfect(level, index))


def _perfect(level: int, index: int) -> bytes:
    return _mth(index << level, (index + 1) << level)


def _mth(start: int, end: int) -> bytes:
    if end - start == 1:
        return LEAVES[start]
    k = 1 << ((end - start - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + _mth(start, start + k) + _mth(start + k, end)).digest()


@settings(max_examples=60, deadline=None)
@given(
    batch=st.sampled_from([1, 2, 3, 4, 8, 16, 32, 5, 64]),
    total=st.integers(min_value=0, max_value=300),
    sizes=st.lists(st.integers(min_value=1, max_value=300), max_size=6),
)
def test_a_tree_grown_in_batches_has_the_rfcs_roots_at_the_end_and_at_every_checkpoint(
    batch: int, total: int, sizes: list[int]
) -> None:
    tree = verifier_module().Tree()
    wanted = sorted({size for size in sizes if size <= total})
    roots = {}
    for start in range(0, total, batch):
        roots.update(tree.extend(LEAVES[start : min(start + batch, total)], wanted))
    assert tree.size == total
    assert tree.root() == (rfc_root(total) if total else hashlib.sha256(b"").digest())
    assert roots == {size: rfc_root(size) for size in wanted}
