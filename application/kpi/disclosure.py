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
  shown count of 5 or more in the group is HIDDEN too; if none is left, the total is HIDDEN. Groups are
  protected one by one (each column of a cross-tab is a group of its own)."""

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
