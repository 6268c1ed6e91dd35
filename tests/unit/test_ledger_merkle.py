"""The ledger's tree against RFC 9162's own definitions: a literal transcription of the RFC's recursive MTH,
PATH and PROOF (below, on lists), published test vectors, pymerkle 7.0.0's roots and audit paths, and
properties over every size up to 64 and random ones beyond."""

from __future__ import annotations

import hashlib

import pymerkle
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import ledger


def H(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# --- RFC 9162 §2.1.1, §2.1.3.1, §2.1.4.1, as written -----------------------------------------------------
def k_of(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def MTH(D: list[bytes]) -> bytes:
    if len(D) == 0:
        return H(b"")
    if len(D) == 1:
        return H(b"\x00" + D[0])
    k = k_of(len(D))
    return H(b"\x01" + MTH(D[:k]) + MTH(D[k:]))


def PATH(m: int, D: list[bytes]) -> list[bytes]:
    if len(D) == 1:
        return []
    k = k_of(len(D))
    if m < k:
        return PATH(m, D[:k]) + [MTH(D[k:])]
    return PATH(m - k, D[k:]) + [MTH(D[:k])]


def SUBPROOF(m: int, D: list[bytes], b: bool) -> list[bytes]:
    if m == len(D):
        return [] if b else [MTH(D)]
    k = k_of(len(D))
    if m <= k:
        return SUBPROOF(m, D[:k], b) + [MTH(D[k:])]
    return SUBPROOF(m - k, D[k:], False) + [MTH(D[:k])]


def PROOF(m: int, D: list[bytes]) -> list[bytes]:
    return SUBPROOF(m, D, True)


# --- the store-side view: perfect subtrees over the entries' leaf hashes ----------------------------------
def entries(n: int) -> list[bytes]:
    return [f"event {i}".encode() * (i % 3 + 1) for i in range(n)]


def perfect_of(D: list[bytes]):
    levels = ledger.build([ledger.leaf_hash(e) for e in D])
    return lambda level, index: levels[level][index]


# Published RFC 6962/9162 test vectors (the Certificate Transparency reference tests): these entries and the
# roots of their first 1..8.
VECTOR_ENTRIES = [
    bytes.fromhex(h)
    for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
]
VECTOR_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def test_the_empty_tree_has_the_hash_of_nothing_as_its_root() -> None:
    assert ledger.EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert ledger.root_of([]) == ledger.EMPTY_ROOT == ledger.mth(0, 0, perfect_of([]))


@pytest.mark.parametrize("n", range(1, 9))
def test_roots_of_one_to_eight_leaves_are_the_published_vectors(n: int) -> None:
    D = VECTOR_ENTRIES[:n]
    assert MTH(D).hex() == VECTOR_ROOTS[n - 1]
    assert ledger.root_of(ledger.leaf_hash(e) for e in D).hex() == VECTOR_ROOTS[n - 1]
    assert ledger.mth(0, n, perfect_of(D)).hex() == VECTOR_ROOTS[n - 1]


def test_hashes_by_hand_for_three_leaves() -> None:
    a, b, c = (ledger.leaf_hash(e) for e in (b"a", b"b", b"c"))
    assert a == H(b"\x00a")
    assert ledger.root_of([a, b, c]) == H(b"\x01" + H(b"\x01" + a + b) + c)
    assert ledger.inclusion_path(2, 3, perfect_of([b"a", b"b", b"c"])) == [H(b"\x01" + a + b)]
    assert ledger.consistency_proof(2, 3, perfect_of([b"a", b"b", b"c"])) == [c]


@pytest.mark.parametrize("n", range(0, 65))
def test_roots_and_audit_paths_equal_pymerkle_and_the_rfc(n: int) -> None:
    D = entries(n)
    tree = pymerkle.InmemoryTree(algorithm="sha256")
    for entry in D:
        tree.append_entry(entry)
    perfect = perfect_of(D)
    assert ledger.mth(0, n, perfect) == MTH(D) == tree.get_root(n)
    for m in range(n):
        path = ledger.inclusion_path(m, n, perfect)
        assert path == PATH(m, D) == tree.prove_inclusion(m + 1, n).path[1:]


@pytest.mark.parametrize("n", range(1, 65))
def test_every_inclusion_proof_verifies_and_a_flipped_bit_fails(n: int) -> None:
    D = entries(n)
    perfect, root = perfect_of(D), MTH(D)
    for m in range(n):
        leaf, path = ledger.leaf_hash(D[m]), ledger.inclusion_path(m, n, perfect)
        assert ledger.verify_inclusion(m, n, leaf, path, root)
        assert not ledger.verify_inclusion(m, n, flip(leaf), path, root)
        assert not ledger.verify_inclusion(m, n, leaf, path, flip(root))
        for i in range(len(path)):
            assert not ledger.verify_inclusion(m, n, leaf, path[:i] + [flip(path[i])] + path[i + 1 :], root)
        assert not ledger.verify_inclusion(m, n, leaf, path[:-1], root) or not path
        assert not ledger.verify_inclusion(m, n, leaf, path + [root], root)
        if n > 1:
            assert not ledger.verify_inclusion((m + 1) % n, n, leaf, path, root)


@pytest.mark.parametrize("n", range(0, 65))
def test_every_consistency_proof_is_the_rfcs_and_verifies_and_a_flipped_bit_fails(n: int) -> None:
    D = entries(n)
    perfect, new_root = perfect_of(D), MTH(D)
    for m in range(0, n + 1):
        proof = ledger.consistency_proof(m, n, perfect)
        if m > 0:
            assert proof == PROOF(m, D)
        old_root = MTH(D[:m])
        assert ledger.verify_consistency(m, n, old_root, new_root, proof)
        assert not ledger.verify_consistency(m, n, flip(old_root), new_root, proof)
        if m:
            assert not ledger.verify_consistency(m, n, old_root, flip(new_root), proof)
        for i in range(len(proof)):
            assert not ledger.verify_consistency(
                m, n, old_root, new_root, proof[:i] + [flip(proof[i])] + proof[i + 1 :]
            )
        if 0 < m < n:
            assert not ledger.verify_consistency(m, n, old_root, new_root, proof[:-1])
            assert not ledger.verify_consistency(m, n, MTH(D[: m - 1] + [b"other"]), new_root, proof)


def flip(value: bytes, bit: int = 0) -> bytes:
    return bytes([value[0] ^ (1 << bit)]) + value[1:]


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=3000), st.data())
def test_proofs_verify_for_random_sizes(n: int, data: st.DataObject) -> None:
    D = entries(n)
    perfect = perfect_of(D)
    root = ledger.mth(0, n, perfect)
    m = data.draw(st.integers(min_value=0, max_value=n - 1))
    assert ledger.verify_inclusion(m, n, ledger.leaf_hash(D[m]), ledger.inclusion_path(m, n, perfect), root)
    first = data.draw(st.integers(min_value=0, max_value=n))
    old = ledger.mth(0, first, perfect)
    assert ledger.verify_consistency(first, n, old, root, ledger.consistency_proof(first, n, perfect))
    bit = data.draw(st.integers(min_value=0, max_value=7))
    assert not ledger.verify_inclusion(
        m, n, flip(ledger.leaf_hash(D[m]), bit), ledger.inclusion_path(m, n, perfect), root
    )


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=2000))
def test_the_frontier_grows_the_same_tree_and_hands_over_every_perfect_subtree(n: int) -> None:
    leaves = [ledger.leaf_hash(e) for e in entries(n)]
    levels = ledger.build(leaves)
    frontier, made = ledger.Frontier(), {}
    for leaf in leaves:
        for level, index, value in frontier.append(leaf):
            made[(level, index)] = value
    assert frontier.root() == ledger.mth(0, n, lambda level, index: levels[level][index])
    assert made == {
        (level, index): value for level in range(1, len(levels)) for index, value in enumerate(levels[level])
    }
    # a frontier reloaded from the stored perfect subtrees of its edge goes on as the one that never stopped
    edge = [levels[level][index] for level, index in ledger.frontier_nodes(n)]
    reloaded = ledger.Frontier(n, edge)
    assert reloaded.root() == frontier.root()
    more = ledger.leaf_hash(b"one more")
    reloaded.append(more)
    frontier.append(more)
    assert reloaded.root() == frontier.root() == ledger.root_of([*leaves, more])


def test_nodes_needed_names_the_perfect_subtrees_a_proof_reads() -> None:
    needed = ledger.nodes_needed(lambda perfect: ledger.inclusion_path(5, 13, perfect))
    # [8:13] = [8:12] + [12], then [0:4], [6:8], [4] (outermost first, as the RFC's recursion reaches them)
    assert needed == [(2, 2), (0, 12), (2, 0), (1, 3), (0, 4)]


def test_bad_requests_are_refused() -> None:
    perfect = perfect_of(entries(4))
    with pytest.raises(ValueError):
        ledger.inclusion_path(4, 4, perfect)
    with pytest.raises(ValueError):
        ledger.consistency_proof(5, 4, perfect)
    assert not ledger.verify_consistency(3, 2, ledger.EMPTY_ROOT, ledger.EMPTY_ROOT, [])
    assert not ledger.verify_inclusion(-1, 4, ledger.EMPTY_ROOT, [], ledger.EMPTY_ROOT)


def test_a_stored_events_leaf_entry_is_its_fields_in_fixed_order_with_lengths() -> None:
    from uuid import UUID

    entry = ledger.leaf_entry(
        7, UUID("00112233-4455-6677-8899-aabbccddeeff"), 3, "domain.incident:Incident.Triaged", b'{"a":1}'
    )
    assert entry == (
        bytes.fromhex("0000000000000007000000000000000300112233445566778899aabbccddeeff")
        + bytes.fromhex("00000020")
        + b"domain.incident:Incident.Triaged"
        + bytes.fromhex("00000007")
        + b'{"a":1}'
    )
    assert ledger.leaf_hash(entry) == H(b"\x00" + entry)
