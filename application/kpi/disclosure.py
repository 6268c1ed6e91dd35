"""What partners may see of the figures (KPIS.md, "What partners see"), and the rule that keeps a suppressed
cell from being recovered by subtraction.

- A count from 1 to 4 is shown as SMALL ("< 5"); 0 and counts from 5 are shown.
- A percentile from fewer than 5 values, and a rate whose denominator is under 5 or whose numerator is 1 to 4,
  is not shown (NOT_SHOWN); the numerator of a rate is a count, and a rate beside its denominator gives it back.
- Complementary suppression: in a group of counts that add up to a total shown beside them (the channels of
  the counted incidents, the communities, priorities and categories, day and night, cancelled and counted,
  the alert kinds), the total minus the shown cells is the sum of the hidden ones. A reader knows a SMALL cell
  is 1 to 4 and a HIDDEN one is at least 5, so a SMALL cell is pinned when that sum leaves it one value (a lone
  SMALL cell always is; two that add up to 2 are both 1). While some SMALL cell is pinned, the smallest
  shown count of 5 or more in the group is HIDDEN too; if none is left, the total is HIDDEN.
- Cross-tabs (a breakdown by community, priority or category with its day and night columns): every row
  (day + night = the row's incidents) and every column (the groups' counts = the zone's) is such a group, and
  they are protected together, again and again, until no row and no column has a pinned SMALL cell: a cell
  hidden to protect a row is then protected within its column too, and the other way round. A row whose
  total must go is hidden in the table's total column, which is a group against the zone's count itself."""

from __future__ import annotations

from collections.abc import Sequence

from application.kpi.figures import Rate, Summary

SMALL = "< 5"
HIDDEN = "x"
NOT_SHOWN = None
MIN_SHOWN = 5

Cell = int | float | str | None


def count(value: int, partner: bool) -> Cell:
    return SMALL if partner and 0 < value < MIN_SHOWN else value


def rate(value: Rate, partner: bool) -> Cell:
    if value.value is None or (partner and (value.denominator < MIN_SHOWN or 0 < value.numerator < MIN_SHOWN)):
        return NOT_SHOWN
    return value.value


def percentile(summary: Summary, which: str, partner: bool) -> Cell:
    if partner and summary.count < MIN_SHOWN:
        return NOT_SHOWN
    return getattr(summary, which)


def _pinned(values: Sequence[int], hidden: set[int], total: int) -> bool:
    """Whether some SMALL cell among `hidden` has only one value consistent with what a reader sees."""
    smalls = [i for i in hidden if 0 < values[i] < MIN_SHOWN]
    if not smalls:
        return False
    rest = total - sum(values[i] for i in range(len(values)) if i not in hidden)  # what the reader can work out
    for i in smalls:
        others = [j for j in hidden if j != i]
        least = sum(1 if 0 < values[j] < MIN_SHOWN else MIN_SHOWN for j in others)
        most = None if any(values[j] >= MIN_SHOWN for j in others) else 4 * len(others)
        low = 1 if most is None else max(1, rest - most)
        high = min(4, rest - least)
        if low >= high:
            return True
    return False


def protect(values: Sequence[int], total: int, partner: bool) -> tuple[list[Cell], Cell]:
    """A group of counts adding up to `total`, as shown: the cells and the total."""
    if not partner:
        return list(values), total
    hidden = {i for i, v in enumerate(values) if 0 < v < MIN_SHOWN}
    while _pinned(values, hidden, total):
        candidates = sorted((v, i) for i, v in enumerate(values) if i not in hidden and v >= MIN_SHOWN)
        if not candidates:
            return [SMALL if i in hidden and values[i] < MIN_SHOWN else v for i, v in enumerate(values)], HIDDEN
        hidden.add(candidates[0][1])
    cells: list[Cell] = [(SMALL if v < MIN_SHOWN else HIDDEN) if i in hidden else v for i, v in enumerate(values)]
    return cells, count(total, partner)


def _protect_line(values: Sequence[int], hidden: set[int], total: int) -> set[int] | None:
    """The cells of one line of a cross-tab to hide, given those hidden already; None when only hiding its total
    would do. Besides a pinned SMALL cell, a line with a single hidden cell gives it back exactly (a HIDDEN one
    too, which the crossing line would then use): a line hides none or at least two."""
    hidden = set(hidden)
    while _pinned(values, hidden, total) or len(hidden) == 1:
        candidates = sorted((v, i) for i, v in enumerate(values) if i not in hidden and v >= MIN_SHOWN)
        if not candidates:
            return None
        hidden.add(candidates[0][1])
    return hidden


def protect_crosstab(
    cells: Sequence[Sequence[int]], column_totals: Sequence[Cell], grand_total: Cell, partner: bool
) -> tuple[list[list[Cell]], list[Cell]]:
    """A table of counts whose rows add up to their row totals and whose columns add up to `column_totals` (as the
    zone shows them: a column whose total is not shown as a number gives a reader no equation), the row totals
    adding up to `grand_total` (likewise). Returns the cells and the row totals as shown."""
    rows = [list(r) for r in cells]
    row_totals = [sum(r) for r in rows]
    if not partner:
        return [list(r) for r in rows], list(row_totals)
    width = len(column_totals)
    hidden = {(i, j) for i, r in enumerate(rows) for j, v in enumerate(r) if 0 < v < MIN_SHOWN}
    hidden_totals = {i for i, v in enumerate(row_totals) if 0 < v < MIN_SHOWN}
    changed = True
    while changed:
        changed = False
        for i, r in enumerate(rows):  # each row against its total, while that total is shown
            if i in hidden_totals:
                continue
            line = _protect_line(r, {j for j in range(width) if (i, j) in hidden}, row_totals[i])
            if line is None:
                hidden_totals.add(i)
                changed = True
            elif any((i, j) not in hidden for j in line):
                hidden |= {(i, j) for j in line}
                changed = True
        for j in range(width):  # each column against the zone's figure
            if not isinstance(column_totals[j], int) or isinstance(column_totals[j], bool):
                continue
            column = [r[j] for r in rows]
            line = _protect_line(column, {i for i in range(len(rows)) if (i, j) in hidden}, int(column_totals[j]))
            if line is not None and any((i, j) not in hidden for i in line):
                hidden |= {(i, j) for i in line}
                changed = True
        if isinstance(grand_total, int) and not isinstance(grand_total, bool):  # the row totals against the zone's
            line = _protect_line(row_totals, hidden_totals, grand_total)
            if line is not None and line != hidden_totals:
                hidden_totals |= line
                changed = True

    def shown(value: int, is_hidden: bool) -> Cell:
        return (SMALL if value < MIN_SHOWN else HIDDEN) if is_hidden else value

    return (
        [[shown(v, (i, j) in hidden) for j, v in enumerate(r)] for i, r in enumerate(rows)],
        [shown(v, i in hidden_totals) for i, v in enumerate(row_totals)],
    )
