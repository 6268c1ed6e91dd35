"""The tables of a report or a dashboard, from an edition: the same cells go into the HTML page, the CSV and the
PDF. For partners (`partner=True`) every cell passes disclosure.py's rules, after every filter."""

from __future__ import annotations

from dataclasses import dataclass

from application.kpi import disclosure as d
from application.kpi.edition import Edition, Figures
from application.kpi.figures import NIGHT_SLOTS, IncidentFigures, Rate, Summary
from domain.values import AlertKind, Channel

INTERVALS = ("call_to_dispatch", "travel", "response", "resolve", "close")


@dataclass(frozen=True, slots=True)
class Shown:
    value: d.Cell  # a number, d.SMALL, d.HIDDEN, or None (not shown)
    unit: str  # count | seconds | rate | ratio


@dataclass(frozen=True, slots=True)
class Row:
    label: str  # a figure's key, or a community / priority / category / channel / alert kind / box / camera
    cells: tuple[Shown, ...]


@dataclass(frozen=True, slots=True)
class Table:
    key: str
    labels: (
        str  # what the row labels are: figure | community | priority | category | channel | alert_kind | box | camera
    )
    columns: tuple[str, ...]
    rows: tuple[Row, ...]


def _count(n: int, partner: bool) -> Shown:
    return Shown(d.count(n, partner), "count")


def _rate(r: Rate, partner: bool) -> Shown:
    return Shown(d.rate(r, partner), "rate")


def _pct(s: Summary, which: str, partner: bool) -> Shown:
    return Shown(d.percentile(s, which, partner), "seconds")


def _change(now: Shown, before: Shown) -> Shown:
    if (
        not isinstance(now.value, int | float)
        or not isinstance(before.value, int | float)
        or isinstance(now.value, bool)
    ):
        return Shown(None, now.unit)
    return Shown(now.value - before.value, now.unit)


def zone_counts(i: IncidentFigures, partner: bool) -> dict[str, Shown]:
    """The zone's incident counts as shown, decided once: every table that repeats one of them shows it the same
    way, so that a count hidden in one table is not given away by another. Reported = cancelled + counted: when
    either of those is small, the total (reported) is the one hidden, so that the counted incidents stay shown."""
    small = partner and any(0 < n < d.MIN_SHOWN for n in (i.cancelled, i.counted))
    reported = Shown(d.HIDDEN, "count") if small else _count(i.reported, partner)
    (day, night), _ = _protected([i.day, i.night], i.counted, partner)
    return {
        "reported": reported,
        "cancelled": _count(i.cancelled, partner),
        "counted": _count(i.counted, partner),
        "day": day,
        "night": night,
    }


def _headline(f: Figures, partner: bool) -> list[tuple[str, Shown]]:
    i, p, a = f.incidents, f.patrol, f.alerts
    ratio = p.visits_per_box_day
    zone = zone_counts(i, partner)
    return [
        ("reported", zone["reported"]),
        ("cancelled", zone["cancelled"]),
        ("counted", zone["counted"]),
        ("night_share", _rate(i.night_share, partner)),
        ("response_median", _pct(i.response, "median", partner)),
        ("response_p90", _pct(i.response, "p90", partner)),
        ("resolution", _rate(i.resolution, partner)),
        ("arrest", _rate(i.arrest, partner)),
        ("reopened", _count(i.reopened, partner)),
        (
            "visits_per_box_day",
            Shown(None if ratio is None or (partner and p.box_days < d.MIN_SHOWN) else ratio, "ratio"),
        ),
        ("night_coverage", _rate(p.night_coverage, partner)),
        ("alerts_detection", _count(a.detection, partner)),
        ("acknowledge_median", _pct(a.acknowledge, "median", partner)),
        ("within_60s", _rate(a.within_60s, partner)),
        ("false_alarm", _rate(a.false_alarm, partner)),
    ]


def summary_table(edition: Edition, partner: bool) -> Table:
    before = dict(_headline(edition.previous, partner))
    rows = tuple(
        Row(name, (now, before[name], _change(now, before[name]))) for name, now in _headline(edition.figures, partner)
    )
    return Table("summary", "figure", ("this_month", "last_month", "change"), rows)


def _protected(values: list[int], total: int, partner: bool) -> tuple[list[Shown], Shown]:
    cells, shown_total = d.protect(values, total, partner)
    return [Shown(c, "count") for c in cells], Shown(shown_total, "count")


def incidents_table(i: IncidentFigures, partner: bool) -> Table:
    zone = zone_counts(i, partner)
    rows = [
        *((name, zone[name]) for name in ("reported", "cancelled", "counted", "day", "night")),
        ("reopened", _count(i.reopened, partner)),
    ]
    return Table("incidents", "figure", ("value",), tuple(Row(name, (cell,)) for name, cell in rows))


def channels_table(i: IncidentFigures, partner: bool) -> Table:
    counts = dict(i.by_channel)
    names = [c.value for c in Channel]
    cells, _ = _protected([counts.get(n, 0) for n in names], i.counted, partner)
    total = zone_counts(i, partner)["counted"]
    return Table(
        "channels",
        "channel",
        ("incidents",),
        (*(Row(n, (c,)) for n, c in zip(names, cells, strict=False)), Row("total", (total,))),
    )


def intervals_table(i: IncidentFigures, partner: bool) -> Table:
    rows = tuple(
        Row(name, (_count(s.count, partner), _pct(s, "median", partner), _pct(s, "p90", partner)))
        for name in INTERVALS
        for s in [getattr(i, name)]
    )
    return Table("intervals", "figure", ("count", "median", "p90"), rows)


def breakdown_table(
    key: str, labels: str, groups: tuple[tuple[str, IncidentFigures], ...], zone: IncidentFigures, partner: bool
) -> Table:
    shown = zone_counts(zone, partner)
    counted_total, day_total, night_total = shown["counted"], shown["day"], shown["night"]
    cells, totals = d.protect_crosstab(
        [[g.day, g.night] for _, g in groups], [day_total.value, night_total.value], counted_total.value, partner
    )
    rows = [
        Row(
            name,
            (
                Shown(totals[n], "count"),
                Shown(cells[n][0], "count"),
                Shown(cells[n][1], "count"),
                _pct(g.response, "median", partner),
                _pct(g.response, "p90", partner),
                _rate(g.resolution, partner),
                _rate(g.arrest, partner),
            ),
        )
        for n, (name, g) in enumerate(groups)
    ]
    rows.append(
        Row(
            "total",
            (
                counted_total,
                day_total,
                night_total,
                _pct(zone.response, "median", partner),
                _pct(zone.response, "p90", partner),
                _rate(zone.resolution, partner),
                _rate(zone.arrest, partner),
            ),
        )
    )
    return Table(
        key, labels, ("counted", "day", "night", "response_median", "response_p90", "resolution", "arrest"), tuple(rows)
    )


def patrol_tables(f: Figures, partner: bool) -> list[Table]:
    p = f.patrol
    ratio = p.visits_per_box_day
    visits = Table(
        "patrol",
        "figure",
        ("value",),
        (
            Row("counting", (_count(p.counting, partner),)),
            Row("flagged", (_count(p.flagged, partner),)),
            Row("voided", (_count(p.voided, partner),)),
            Row("box_days", (_count(p.box_days, partner),)),
            Row(
                "visits_per_box_day",
                (Shown(None if ratio is None or (partner and p.box_days < d.MIN_SHOWN) else ratio, "ratio"),),
            ),
            Row("night_coverage", (_rate(p.night_coverage, partner),)),
        ),
    )
    gaps = Table(
        "night_gaps",
        "box",
        ("nights", "longest_gap"),
        tuple(
            Row(
                g.box_code,
                (
                    _count(g.nights, partner),
                    Shown(
                        None if g.longest_gap is None or (partner and g.nights < d.MIN_SHOWN) else g.longest_gap,
                        "seconds",
                    ),
                ),
            )
            for g in p.gaps
        ),
    )
    cells = {(c.box_code, c.slot): c for c in p.heat}
    boxes = sorted({c.box_code for c in p.heat})
    heat = Table(
        "night_heat",
        "box",
        tuple(f"slot_{s}" for s in NIGHT_SLOTS),
        tuple(
            Row(
                box,
                tuple(
                    _rate(Rate(cells[(box, s)].covered, cells[(box, s)].possible), partner)
                    if (box, s) in cells
                    else Shown(None, "rate")
                    for s in NIGHT_SLOTS
                ),
            )
            for box in boxes
        ),
    )
    return [visits, gaps, heat]


def alert_tables(f: Figures, partner: bool) -> list[Table]:
    a = f.alerts
    counts = dict(a.by_kind)
    names = [k.value for k in AlertKind]
    cells, total = _protected([counts.get(n, 0) for n in names], sum(counts.values()), partner)
    kinds = Table(
        "alert_kinds",
        "alert_kind",
        ("alerts",),
        (*(Row(n, (c,)) for n, c in zip(names, cells, strict=False)), Row("total", (total,))),
    )
    handling = Table(
        "alert_handling",
        "figure",
        ("value",),
        (
            Row("alerts_detection", (_count(a.detection, partner),)),
            Row("acknowledge_median", (_pct(a.acknowledge, "median", partner),)),
            Row("acknowledge_p90", (_pct(a.acknowledge, "p90", partner),)),
            Row("within_60s", (_rate(a.within_60s, partner),)),
            Row("false_alarm", (_rate(a.false_alarm, partner),)),
            Row("escalation", (_rate(a.escalation, partner),)),
        ),
    )
    # Each column adds up to a kind's count of the table above: protected against it like any other group.
    offline, _ = _protected([c.offline for c in a.by_camera], counts.get("offline", 0), partner)
    tampered, _ = _protected([c.tampered for c in a.by_camera], counts.get("tampered", 0), partner)
    cameras = Table(
        "cameras",
        "camera",
        ("offline", "tampered"),
        tuple(Row(c.camera_code, (offline[n], tampered[n])) for n, c in enumerate(a.by_camera)),
    )
    return [kinds, handling, cameras]


def tables(edition: Edition, *, partner: bool) -> list[Table]:
    f = edition.figures
    i = f.incidents
    return [
        summary_table(edition, partner),
        incidents_table(i, partner),
        channels_table(i, partner),
        intervals_table(i, partner),
        breakdown_table("communities", "community", f.by_community, i, partner),
        breakdown_table("priorities", "priority", f.by_priority, i, partner),
        breakdown_table("categories", "category", f.by_category, i, partner),
        *patrol_tables(f, partner),
        *alert_tables(f, partner),
    ]
