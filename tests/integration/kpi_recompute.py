"""An independent recomputation of the KPI figures from the raw log, written from /work/shared/KPIS.md and
its settled choices, without importing application/kpi or infrastructure/readmodels: the engine is checked
against this. It yields {figure name: value} with the names of application.kpi.edition.headline.

The one choice of this branch's own: "the cut-off" (when a slot or a day has ended) is the latest
recording time of the KPI events up to the position cited."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from domain.cameras import CameraAlert
from domain.incident import Incident
from domain.patrol import PatrolVisit, RedBox
from domain.values import Category, Community, Priority

LOCAL = ZoneInfo("Asia/Bangkok")
KPI_EVENTS = (
    Incident.Reported,
    Incident.Triaged,
    Incident.UnitDispatched,
    Incident.UnitOnScene,
    Incident.Resolved,
    Incident.Closed,
    Incident.Reopened,
    Incident.Cancelled,
    PatrolVisit.Logged,
    PatrolVisit.Flagged,
    PatrolVisit.Voided,
    RedBox.Registered,
    RedBox.Retired,
    CameraAlert.Raised,
    CameraAlert.Acknowledged,
    CameraAlert.Dismissed,
    CameraAlert.Escalated,
)


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(0), LOCAL) + timedelta(hours=hour)


def percentile(values: list[int], p: int) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(Fraction(p, 100) * len(ordered)) - 1]


def whole_seconds(a: datetime, b: datetime) -> int:
    return math.floor((b - a).total_seconds())


def night(instant: datetime) -> bool:
    return not 6 <= instant.astimezone(LOCAL).hour < 18


def rate(n: int, d: int, prefix: str) -> dict[str, Any]:
    return {f"{prefix}.numerator": n, f"{prefix}.denominator": d, f"{prefix}.rate": (n / d) if d else None}


def spread(values: list[int], prefix: str) -> dict[str, Any]:
    return {
        f"{prefix}.count": len(values),
        f"{prefix}.median": percentile(values, 50),
        f"{prefix}.p90": percentile(values, 90),
    }


def incident_block(items: list[dict], prefix: str) -> dict[str, Any]:
    live = [i for i in items if not i["cancelled"]]
    nights = sum(1 for i in live if night(i["reported"]))
    out: dict[str, Any] = {
        f"{prefix}.reported": len(items),
        f"{prefix}.cancelled": len(items) - len(live),
        f"{prefix}.counted": len(live),
    }
    channels: dict[str, int] = defaultdict(int)
    for i in live:
        channels[i["channel"]] += 1
    out.update({f"{prefix}.channel.{c}": n for c, n in channels.items()})
    out.update({f"{prefix}.day": len(live) - nights, f"{prefix}.night": nights})
    pairs = {
        "call_to_dispatch": ("reported", "dispatched"),
        "travel": ("dispatched", "on_scene"),
        "response": ("reported", "on_scene"),
        "resolve": ("reported", "resolved"),
        "close": ("reported", "closed"),
    }
    for name, (a, b) in pairs.items():
        out.update(spread([whole_seconds(i[a], i[b]) for i in live if i[a] and i[b]], f"{prefix}.{name}"))
    out.update(rate(sum(1 for i in live if i["resolved"]), len(live), f"{prefix}.resolution"))
    decided = [i for i in live if i["outcome"]]
    out.update(rate(sum(1 for i in decided if i["outcome"] == "arrest"), len(decided), f"{prefix}.arrest"))
    out.update(rate(nights, len(live), f"{prefix}.night_share"))
    out[f"{prefix}.reopened"] = sum(1 for i in live if i["reopened"])
    return out


def expected_figures(
    log: list[tuple[int, Any]], first: date, last: date, *, community: str | None = None
) -> dict[str, Any]:
    """Every figure for the local dates first..last (inclusive) from the given log (already cut at the position)."""
    kpi = [(n, e) for n, e in log if isinstance(e, KPI_EVENTS)]
    cut_off = max(e.timestamp for _, e in kpi)
    start, end = at(first, 0), at(last, 24)
    incidents: dict[Any, dict] = {}
    visits: dict[Any, dict] = {}
    boxes: dict[Any, dict] = {}
    alerts: dict[Any, dict] = {}

    def earliest(row: dict, key: str, instant: datetime) -> None:
        if row[key] is None or instant < row[key]:
            row[key] = instant

    for _, e in kpi:
        t = e.occurred_at
        if isinstance(e, Incident.Reported):
            incidents[e.originator_id] = dict(
                reported=t,
                community=e.community.value,
                category=e.category.value,
                priority=e.priority.value,
                channel=e.channel.value,
                dispatched=None,
                on_scene=None,
                resolved=None,
                closed=None,
                outcome=None,
                cancelled=False,
                reopened=False,
            )
        elif isinstance(e, Incident.Triaged):
            incidents[e.originator_id].update(category=e.category.value, priority=e.priority.value)
        elif isinstance(e, Incident.UnitDispatched):
            earliest(incidents[e.originator_id], "dispatched", t)
        elif isinstance(e, Incident.UnitOnScene):
            earliest(incidents[e.originator_id], "on_scene", t)
        elif isinstance(e, Incident.Resolved):
            earliest(incidents[e.originator_id], "resolved", t)
            incidents[e.originator_id]["outcome"] = e.outcome.value
        elif isinstance(e, Incident.Closed):
            earliest(incidents[e.originator_id], "closed", t)
        elif isinstance(e, Incident.Reopened):
            incidents[e.originator_id].update(reopened=True, outcome=None)
        elif isinstance(e, Incident.Cancelled):
            incidents[e.originator_id]["cancelled"] = True
        elif isinstance(e, PatrolVisit.Logged):
            visits[e.originator_id] = dict(
                box=e.box_id, code=e.box_code, community=e.community.value, at=t, status="valid"
            )
        elif isinstance(e, PatrolVisit.Flagged | PatrolVisit.Voided):
            v = visits[e.originator_id]
            if v["status"] != "voided":
                v["status"] = "voided" if isinstance(e, PatrolVisit.Voided) else "flagged"
        elif isinstance(e, RedBox.Registered):
            boxes[e.originator_id] = dict(code=e.code, community=e.community.value, since=t, until=None)
        elif isinstance(e, RedBox.Retired):
            boxes[e.originator_id]["until"] = t
        elif isinstance(e, CameraAlert.Raised):
            alerts[e.originator_id] = dict(
                camera=e.camera_code, community=e.community.value, kind=e.kind.value, raised=t, ack=None, decision=None
            )
        elif isinstance(e, CameraAlert.Acknowledged):
            earliest(alerts[e.originator_id], "ack", t)
        elif isinstance(e, CameraAlert.Dismissed | CameraAlert.Escalated):
            a = alerts[e.originator_id]
            a["decision"] = a["decision"] or ("false_alarm" if isinstance(e, CameraAlert.Dismissed) else "escalated")

    mine = [
        i
        for i in incidents.values()
        if start <= i["reported"] < end and (community is None or i["community"] == community)
    ]
    out = incident_block(mine, "incidents")
    for c in Community:
        out.update(incident_block([i for i in mine if i["community"] == c.value], f"community.{c.value}"))
    for p in Priority:
        out.update(incident_block([i for i in mine if i["priority"] == p.value], f"priority.{p.value}"))
    for c in Category:
        out.update(incident_block([i for i in mine if i["category"] == c.value], f"category.{c.value}"))

    # patrol coverage
    boxes = {k: b for k, b in boxes.items() if community is None or b["community"] == community}
    vs = [v for v in visits.values() if community is None or v["community"] == community]

    def active(b: dict, a: datetime, z: datetime) -> bool:
        return b["since"] < z and (b["until"] is None or b["until"] > a)

    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    in_days = [v for v in vs if start <= v["at"] < end]
    out["patrol.counting"] = sum(1 for v in in_days if v["status"] == "valid")
    out["patrol.flagged"] = sum(1 for v in in_days if v["status"] == "flagged")
    out["patrol.voided"] = sum(1 for v in in_days if v["status"] == "voided")
    box_days = 0
    for d in days:
        if at(d, 0) <= cut_off:
            box_days += sum(1 for b in boxes.values() if active(b, at(d, 0), min(at(d, 24), cut_off)))
    out["patrol.box_days"] = box_days
    out["patrol.visits_per_box_day"] = out["patrol.counting"] / box_days if box_days else None
    covered = possible = 0
    for box_id, b in boxes.items():
        times = sorted(v["at"] for v in vs if v["box"] == box_id and v["status"] == "valid")
        longest = None
        for d in days:
            for h in range(18, 30, 2):
                a, z = at(d, h), at(d, h + 2)
                if z <= cut_off and active(b, a, z):
                    possible += 1
                    covered += any(a <= x < z for x in times)
            dusk, dawn = at(d, 18), at(d, 30)
            if dawn <= cut_off and b["since"] <= dusk and (b["until"] is None or b["until"] >= dawn):
                stops = [dusk] + [x for x in times if dusk <= x < dawn] + [dawn]
                gap = max(whole_seconds(x, y) for x, y in zip(stops, stops[1:], strict=False))
                longest = gap if longest is None else max(longest, gap)
        if longest is not None:
            out[f"patrol.longest_night_gap.{b['code']}"] = longest
    out.update(rate(covered, possible, "patrol.night_coverage"))

    # camera alerts
    mine_alerts = [
        a for a in alerts.values() if start <= a["raised"] < end and (community is None or a["community"] == community)
    ]
    kinds: dict[str, int] = defaultdict(int)
    for a in mine_alerts:
        kinds[a["kind"]] += 1
    out.update({f"alerts.kind.{k}": n for k, n in kinds.items()})
    detection = [a for a in mine_alerts if a["kind"] not in ("offline", "tampered")]
    out["alerts.detection"] = len(detection)
    acked = [whole_seconds(a["raised"], a["ack"]) for a in detection if a["ack"]]
    out.update(spread(acked, "alerts.acknowledge"))
    out.update(rate(sum(1 for s in acked if s <= 60), len(detection), "alerts.within_60s"))
    decided = [a for a in detection if a["decision"]]
    out.update(rate(sum(1 for a in decided if a["decision"] == "false_alarm"), len(decided), "alerts.false_alarm"))
    out.update(rate(sum(1 for a in decided if a["decision"] == "escalated"), len(decided), "alerts.escalation"))
    for a in mine_alerts:
        if a["kind"] in ("offline", "tampered"):
            for kind in ("offline", "tampered"):
                out.setdefault(f"alerts.camera.{a['camera']}.{kind}", 0)
            out[f"alerts.camera.{a['camera']}.{a['kind']}"] += 1
    return out
