"""The auditor's pure pieces: the difference of two states field by field, the instants people type (Buddhist-era
years in Thai), and the RFC 9162 inclusion check of the independent verifier against the domain's tree."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from application.time_travel import Change, diff
from domain import ledger
from entrypoints.ledger_cli import verifier_module
from web import i18n, parse
from web.audit_view import instant_text, parse_instant


def test_a_diff_names_each_changed_nested_field_old_and_new_and_nothing_else() -> None:
    old = {"status": "reported", "priority": "P3", "assignments": {}, "notes": [], "reference": "CR-2569-000001"}
    new = {"status": "dispatched", "priority": "P3", "assignments": {"u1": "dispatched"}, "notes": [["a"]]}
    assert diff(old, new) == [
        Change("status", "reported", "dispatched"),
        Change("assignments", {}, None),
        Change("notes", [], [["a"]]),
        Change("reference", "CR-2569-000001", None),
        Change("assignments.u1", None, "dispatched"),
    ]
    assert diff(new, new) == []


def test_instants_are_read_in_bangkok_time_with_buddhist_era_years_and_shown_back_alike() -> None:
    expected = datetime(2026, 5, 11, 19, 14, tzinfo=UTC)  # 02:14 on 12 May in Bangkok
    assert parse_instant("12/05/2569 02:14") == expected
    assert parse_instant("12/05/2026 02:14") == expected
    assert parse_instant("2026-05-12T02:14") == expected
    assert parse_instant("12/05/2569 02.14 น.") == expected
    assert parse_instant("12/05/2569 02:14:30") == expected.replace(second=30)
    with i18n.use_locale("th"):
        assert instant_text(expected) == "12/05/2569 02:14"
    with i18n.use_locale("en"):
        assert instant_text(expected) == "12/05/2026 02:14"
    for bad in ("31/02/2569 10:00", "12/13/2569 10:00", "yesterday", "12/05/2569 25:00", "01/01/0001 00:00"):
        with pytest.raises(parse.Unreadable):
            parse_instant(bad)


def test_the_independent_verifiers_inclusion_check_agrees_with_the_domains_tree() -> None:
    verifier = verifier_module()
    leaves = [ledger.leaf_hash(bytes([n])) for n in range(13)]
    for size in range(1, 14):
        root = ledger.mth(0, size, lambda level, index: _perfect(leaves, level, index))
        for index in range(size):
            path = ledger.inclusion_path(index, size, lambda level, i: _perfect(leaves, level, i))
            assert verifier.verify_inclusion(index, size, leaves[index], path, root)
            assert not verifier.verify_inclusion(index, size, leaves[(index + 1) % 13], path, root) or size == 1
            assert (
                not verifier.verify_inclusion(index + 1, size, leaves[index], path, root) or index + 1 < size and False
            )


def _perfect(leaves: list[bytes], level: int, index: int) -> bytes:
    if level == 0:
        return leaves[index]
    return ledger.node_hash(_perfect(leaves, level - 1, 2 * index), _perfect(leaves, level - 1, 2 * index + 1))
