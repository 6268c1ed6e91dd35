"""Suppression of small figures for partners (KPIS.md): counts at exactly 4 and 5, percentiles and rates from
4 and 5 values, and no suppressed cell recoverable by subtraction from its total."""

from datetime import UTC
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
        assert [c for c, v in zip(shown, values, strict=False) if isinstance(c, int)] == [
            v for c, v in zip(shown, values, strict=False) if isinstance(c, int)
        ]
        for i, cell in enumerate(shown):
            if cell == SMALL:
                assert len({combo[i] for combo in possible_values(shown, total)}) > 1, (values, shown, total)


def test_a_group_with_no_small_cell_is_shown_whole_and_supervisors_see_every_figure() -> None:
    assert protect([5, 0, 12], 17, partner=True) == ([5, 0, 12], 17)
    assert protect([3, 40, 12], 55, partner=False) == ([3, 40, 12], 55)


def test_a_zone_count_hidden_in_one_table_is_hidden_in_every_table_that_repeats_it() -> None:
    from datetime import datetime
    from uuid import uuid4

    from application.kpi.edition import Edition, Figures
    from application.kpi.figures import alert_figures, incident_figures, patrol_figures
    from application.kpi.marks import IncidentFact
    from application.kpi.period import Filters, Period
    from application.kpi.tables import tables

    def incident(hour: int, cancelled: bool = False) -> IncidentFact:
        at = datetime(2025, 2, 3, hour, tzinfo=UTC)  # 03:00 UTC is 10:00 in Bangkok: day; 13:00 UTC is night
        return IncidentFact(
            uuid4(),
            "CR",
            at,
            "ko_loi",
            "theft",
            "P2",
            "phone_191",
            None,
            None,
            None,
            None,
            None,
            "withdrawn" if cancelled else None,
            0,
        )

    facts = [incident(3) for _ in range(40)] + [incident(13) for _ in range(2)] + [incident(3, True) for _ in range(3)]
    figures = incident_figures(facts)
    whole = Figures(
        figures,
        (("ko_loi", figures),),
        (("P2", figures),),
        (("theft", figures),),
        patrol_figures([], [], [], datetime(2025, 3, 1, tzinfo=UTC)),
        alert_figures([]),
    )
    edition = Edition(Period.month("2025-02"), Filters(), 1, datetime(2025, 3, 1, tzinfo=UTC), whole, whole)
    shown = {t.key: {r.label: r.cells for r in t.rows} for t in tables(edition, partner=True)}
    night = shown["incidents"]["night"][0].value
    assert night == SMALL and shown["incidents"]["day"][0].value == HIDDEN  # 2 at night: the day's 40 hidden too
    assert shown["communities"]["total"][2].value == SMALL  # the zone's night count: not given away here either
    # 3 cancelled: with 42 counted shown everywhere (also as the breakdowns' total), the 45 reported are hidden.
    for table, row in (
        ("summary", "counted"),
        ("incidents", "counted"),
        ("channels", "total"),
        ("communities", "total"),
    ):
        assert shown[table][row][0].value == 42, (table, row)
    assert shown["summary"]["cancelled"][0].value == SMALL and shown["incidents"]["cancelled"][0].value == SMALL
    assert shown["summary"]["reported"][0].value == HIDDEN and shown["incidents"]["reported"][0].value == HIDDEN


def crosstab_assignments(cells: list[list], totals: list, column_totals: list, grand) -> list[list[list[int]]]:
    """Every table of counts a reader who knows the rule could not rule out, from what a cross-tab shows."""
    top = grand if isinstance(grand, int) else 60

    def options(shown) -> range | list[int]:
        return range(1, 5) if shown == SMALL else range(5, top + 1) if shown == HIDDEN else [shown]

    row_choices = []
    for row, total in zip(cells, totals, strict=True):
        combos = [c for c in product(*(options(s) for s in row)) if not isinstance(total, int) or sum(c) == total]
        if total == SMALL:
            combos = [c for c in combos if 1 <= sum(c) <= 4]
        elif total == HIDDEN:
            combos = [c for c in combos if sum(c) >= 5]
        row_choices.append(combos)
    found = []
    for table in product(*row_choices):
        if all(not isinstance(t, int) or sum(r[j] for r in table) == t for j, t in enumerate(column_totals)) and (
            not isinstance(grand, int) or sum(map(sum, table)) == grand
        ):
            found.append([list(r) for r in table])
    return found


def test_no_small_cell_of_a_cross_tab_can_be_recovered_from_its_row_or_column_total_at_exactly_4_and_5() -> None:
    from application.kpi.disclosure import protect_crosstab

    tables = [
        [[10, 4], [12, 6], [9, 7]],  # a night count of exactly 4: its row and its column
        [[10, 5], [12, 6], [9, 7]],  # exactly 5: nothing to hide
        [[4, 0], [12, 6], [9, 7]],  # a row of 4 (all by day): the row total is small too
        [[14, 4], [12, 4], [9, 7]],  # two small cells in one column
        [[5, 4], [6, 5], [0, 7]],
        [[1, 1], [0, 0], [8, 9]],
    ]
    for values in tables:
        columns = [sum(r[j] for r in values) for j in range(2)]
        grand = sum(columns)
        shown, totals = protect_crosstab(values, columns, grand, partner=True)
        possible = crosstab_assignments(shown, totals, columns, grand)
        assert values in possible, (values, shown, totals)
        for i, row in enumerate(shown):
            for j, cell in enumerate(row):
                if cell in (SMALL, HIDDEN):
                    assert len({t[i][j] for t in possible}) > 1, (values, shown, totals, (i, j))
            if totals[i] == SMALL:
                assert len({sum(t[i]) for t in possible}) > 1, (values, shown, totals, i)
        for i, row in enumerate(values):  # shown cells are the true counts; a count of 5 is shown as 5
            for j, v in enumerate(row):
                assert shown[i][j] in (v, SMALL, HIDDEN) and (v != 5 or shown[i][j] in (5, HIDDEN))
                assert v != 4 or shown[i][j] == SMALL
    assert protect_crosstab([[10, 5], [12, 6], [9, 7]], [31, 18], 49, partner=True) == (
        [[10, 5], [12, 6], [9, 7]],
        [15, 18, 16],
    )
