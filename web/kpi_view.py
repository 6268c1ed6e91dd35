"""How the KPI tables read on a page, in the CSV and in the PDF: names of figures and columns, and cells
formatted in the request's language (KPIS.md: intervals as m:ss or h:mm:ss)."""

from __future__ import annotations

from application.kpi import disclosure
from application.kpi.tables import Shown, Table
from web import i18n
from web.i18n import N_
from web.pages import label

FIGURES = {
    "reported": N_("Incidents reported", "kpi"),
    "cancelled": N_("Cancelled (duplicate, false report, withdrawn)", "kpi"),
    "counted": N_("Incidents counted (not cancelled)", "kpi"),
    "day": N_("Reported by day (06:00–18:00)", "kpi"),
    "night": N_("Reported at night (18:00–06:00)", "kpi"),
    "night_share": N_("Night share", "kpi"),
    "reopened": N_("Reopened", "kpi"),
    "response_median": N_("Response time, median", "kpi"),
    "response_p90": N_("Response time, 90th percentile", "kpi"),
    "resolution": N_("Resolution rate", "kpi"),
    "arrest": N_("Arrest share", "kpi"),
    "call_to_dispatch": N_("Call to dispatch", "kpi"),
    "travel": N_("Travel (dispatch to on scene)", "kpi"),
    "response": N_("Response (call to on scene)", "kpi"),
    "resolve": N_("Time to resolve", "kpi"),
    "close": N_("Time to close", "kpi"),
    "counting": N_("Patrol visits counted", "kpi"),
    "flagged": N_("Visits flagged", "kpi"),
    "voided": N_("Visits voided", "kpi"),
    "box_days": N_("Red-box days", "kpi"),
    "visits_per_box_day": N_("Visits per red box per day", "kpi"),
    "night_coverage": N_("Night coverage (box × 2-hour slot)", "kpi"),
    "alerts_detection": N_("Detection alerts", "kpi"),
    "acknowledge_median": N_("Time to acknowledge, median", "kpi"),
    "acknowledge_p90": N_("Time to acknowledge, 90th percentile", "kpi"),
    "within_60s": N_("Acknowledged within 60 s", "kpi"),
    "false_alarm": N_("False-alarm rate", "kpi"),
    "escalation": N_("Escalation rate", "kpi"),
    "total": N_("Zone total", "kpi"),
}
COLUMNS = {
    "this_month": N_("This month", "kpi"),
    "last_month": N_("Last month", "kpi"),
    "change": N_("Change", "kpi"),
    "value": N_("Value", "kpi"),
    "incidents": N_("Incidents", "kpi"),
    "count": N_("Count", "kpi"),
    "median": N_("Median", "kpi"),
    "p90": N_("90th percentile", "kpi"),
    "counted": N_("Incidents", "kpi"),
    "day": N_("By day", "kpi"),
    "night": N_("At night", "kpi"),
    "response_median": N_("Response, median", "kpi"),
    "response_p90": N_("Response, p90", "kpi"),
    "resolution": N_("Resolved", "kpi"),
    "arrest": N_("Arrests", "kpi"),
    "nights": N_("Nights", "kpi"),
    "longest_gap": N_("Longest night gap", "kpi"),
    "alerts": N_("Alerts", "kpi"),
    "offline": N_("Offline", "kpi"),
    "tampered": N_("Tampered", "kpi"),
    "slot_9": "18–20",
    "slot_10": "20–22",
    "slot_11": "22–24",
    "slot_0": "00–02",
    "slot_1": "02–04",
    "slot_2": "04–06",
}
TITLES = {
    "summary": N_("Summary", "kpi"),
    "incidents": N_("Incidents", "kpi"),
    "channels": N_("Incidents by channel", "kpi"),
    "intervals": N_("Response times", "kpi"),
    "communities": N_("By community", "kpi"),
    "priorities": N_("By priority", "kpi"),
    "categories": N_("By category", "kpi"),
    "patrol": N_("Patrol coverage", "kpi"),
    "night_gaps": N_("Longest night gap per red box", "kpi"),
    "night_heat": N_("Night coverage per red box and slot", "kpi"),
    "alert_kinds": N_("Camera alerts by kind", "kpi"),
    "alert_handling": N_("Handling of detection alerts", "kpi"),
    "cameras": N_("Offline and tamper alerts per camera", "kpi"),
}
_NOT_SHOWN = N_("not shown", "kpi")
_LABEL_KINDS = {
    "community": "community",
    "priority": "priority",
    "category": "category",
    "channel": "channel",
    "alert_kind": "alert_kind",
}


def _kpi(message: str) -> str:
    return i18n.current().pgettext("kpi", message) if message else message


def title(table: Table) -> str:
    return _kpi(TITLES[table.key])


def column(name: str) -> str:
    return COLUMNS[name] if name.startswith("slot_") else _kpi(COLUMNS.get(name, name))


def row_label(table: Table, name: str) -> str:
    if name in FIGURES and (table.labels == "figure" or name == "total"):
        return _kpi(FIGURES[name])
    if table.labels in _LABEL_KINDS:
        return label(_LABEL_KINDS[table.labels], name)
    return name


def clock(seconds: int | float) -> str:
    negative, total = seconds < 0, abs(int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    return f"−{text}" if negative else text


def cell(shown: Shown, *, change: bool = False) -> str:
    value = shown.value
    if value is None:
        return "—"
    if value == disclosure.SMALL:
        return "< 5"
    if value == disclosure.HIDDEN:
        return "x"
    t = i18n.current()
    sign = "+" if change and value > 0 else ""
    if shown.unit == "seconds":
        return sign + clock(value)
    if shown.unit == "rate":
        return sign + t.number(value * 100, 1) + ("" if change else " %") + (" pp" if change else "")
    if shown.unit == "ratio":
        return sign + t.number(value, 2)
    return sign + t.number(value)


def legend() -> str:
    return i18n.current().pgettext(
        "kpi",
        N_(
            "“< 5”: from 1 to 4. “x”: hidden so that a small figure cannot be worked out "
            "from its total. “—”: not shown (fewer than 5, or nothing to measure). "
            "Times are m:ss or h:mm:ss.",
            "kpi",
        ),
    )
