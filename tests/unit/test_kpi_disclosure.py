"""Suppression of small figures for partners (KPIS.md): counts at exactly 4 and 5, percentiles and rates from
4 and 5 values, and no suppressed cell recoverable by subtraction from its total."""

from itertools import product

from application.kpi.disclosure import HIDDEN, NOT_SHOWN, SMALL, count, percentile, protect, rate
from application.kpi.figures import Rate, summary


def test_a_count_of_4_is_shown_as_under_5_and_a_count_of_5_or_0_as_itself() -> None:
    assert [count(n, partner=True) for n in (0, 1, 4, 5, 6)] == [0, SMALL, SMALL, 5, 6]
    assert count(4, partner=False) == 4


def test_a_percentile_of_4_values_is_not_shown_and_of_5_values_is() -> None:
    assert percentile(summary([10, 20, 30, 40]), "median", partner=True) is NOT_SHOWN
    assert percentile(summary([10, 20, 30, 40, 50]), "median", partner=True) == 30
    assert percentile(summary([10, 20, 30, 40, 50]), "p90", partner=True) == 50
    assert percentile(summary([10, 20, 30, 40]), "p90", partner=False) == 40


def test_a_rate_from_4_incidents_or_with_a_numerator_of_1_to_4_is_not_shown() -> None:
    assert rate(Rate(2, 4), partner=True) is NOT_SHOWN
    assert rate(Rate(5, 5), partner=True) == 1.0
    assert rate(Rate(4, 50), partner=True) is NOT_SHOWN
    assert rate(Rate(0, 5), partner=True) == 0.0
    assert rate(Rate(4, 50), partner=False) == 0.08


def possible_values(shown: list, total_shown) -> list[tuple[int, ...]]:
    """Every assignment of the hidden cells a reader who knows the rule could not rule out."""
    most = total_shown if isinstance(total_shown, int) else 200
    options = [range(1, 5) if c == SMALL else range(5, most + 1) if c == HIDDEN else [c] for c in shown]
    return [combo for combo in product(*options) if total_shown == HIDDEN or sum(combo) == total_shown]


def test_no_small_cell_of_a_group_can_be_recovered_by_subtraction_from_the_total_shown() -> None:
    groups = [[3, 40, 12], [1, 1, 30, 8], [4, 5], [2, 0, 0], [1, 9, 9, 30], [4, 4, 4, 100], [0, 7, 12], [5, 6, 4, 4]]
    for values in groups:
        shown, total = protect(values, sum(values), partner=True)
        assert [c for c, v in zip(shown, values) if isinstance(c, int)] == [v for c, v in zip(shown, values) if isinstance(c, int)]
        for i, cell in enumerate(shown):
            if cell == SMALL:
                assert len({combo[i] for combo in possible_values(shown, total)}) > 1, (values, shown, total)


def test_a_group_with_no_small_cell_is_shown_whole_and_supervisors_see_every_figure() -> None:
    assert protect([5, 0, 12], 17, partner=True) == ([5, 0, 12], 17)
    assert protect([3, 40, 12], 55, partner=False) == ([3, 40, 12], 55)
