"""The order in which the dispatch form and the board's quick dispatch offer units for an incident: by straight-line
distance from the scene, from the units' last positions (read-model rows, as plain data in and out)."""

from __future__ import annotations

from typing import Any

from domain.patrol import IMPRECISE_ACCURACY_M
from domain.values import GeoPoint

AVAILABLE, ASSIGNED = "available", "assigned"


def point_of(row: dict[str, Any]) -> GeoPoint | None:
    if row.get("lat") is None or row.get("lon") is None:
        return None
    return GeoPoint(row["lat"], row["lon"])


def usable_position(unit: dict[str, Any]) -> GeoPoint | None:
    """A unit's last position if it may be used for a suggestion: reported, and no worse than a kilometre."""
    accuracy = unit.get("accuracy_m")
    if accuracy is None or accuracy > IMPRECISE_ACCURACY_M:
        return None
    return point_of(unit)


def nearest_first(units: list[dict[str, Any]], point: GeoPoint | tuple[float, float] | None) -> list[dict[str, Any]]:
    """The units for a dispatch to `point`, each with `distance_m` (straight line; None when unknown or imprecise):
    available ones first, nearest first, then available ones of unknown position; then busy ones (reassignment),
    nearest first; then the rest. Without a point, the order is by call sign within each group."""
    if isinstance(point, tuple):
        point = GeoPoint(*point)
    group = {AVAILABLE: 0, ASSIGNED: 2}
    ordered = []
    for unit in units:
        where = usable_position(unit)
        distance = round(where.metres_to(point)) if where is not None and point is not None else None
        rank = group.get(unit["status"], 4) + (1 if distance is None else 0)
        ordered.append(({**unit, "distance_m": distance}, (rank, distance or 0, unit["call_sign"])))
    return [unit for unit, _ in sorted(ordered, key=lambda pair: pair[1])]


def suggestions(incidents: list[dict[str, Any]], units: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Per incident waiting for a unit (status reported), the available units nearest first: the quick dispatch's
    order, by reference."""
    available = [u for u in units if u["status"] == AVAILABLE]
    return {
        i["reference"]: nearest_first(available, (i["lat"], i["lon"]) if i.get("lat") is not None else None)
        for i in incidents
        if i["status"] == "reported"
    }
