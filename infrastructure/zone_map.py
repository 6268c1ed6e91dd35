"""The zone's reference geometry (infrastructure/zone.geojson): the nine communities' outlines, landmarks for the
report form, and the reference positions of the red boxes and cameras (as the demo registers them; where a box or
camera stands now is in the log, moved by administrators). Plain data, read once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from domain.values import Community, GeoPoint

GEOJSON = Path(__file__).resolve().parent / "zone.geojson"


def _inside(lon: float, lat: float, ring: list[list[float]]) -> bool:
    """Ray casting; the ring is closed ([lon, lat] pairs, first == last)."""
    found = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:], strict=False):
        if (y1 > lat) != (y2 > lat) and lon < (x2 - x1) * (lat - y1) / (y2 - y1) + x1:
            found = not found
    return found


@dataclass(frozen=True)
class Landmark:
    key: str
    community: str
    name_th: str
    name_en: str
    point: GeoPoint


@dataclass(frozen=True)
class ZoneMap:
    document: dict[str, Any]

    def features(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.document["features"] if f["properties"]["kind"] == kind]

    def community_at(self, point: GeoPoint) -> Community | None:
        for feature in self.features("community"):
            if _inside(point.lon, point.lat, feature["geometry"]["coordinates"][0]):
                return Community(feature["properties"]["community"])
        return None

    def contains(self, point: GeoPoint) -> bool:
        return self.community_at(point) is not None

    def landmarks(self) -> list[Landmark]:
        return [
            Landmark(
                f["id"],
                f["properties"]["community"],
                f["properties"]["name_th"],
                f["properties"]["name_en"],
                GeoPoint(f["geometry"]["coordinates"][1], f["geometry"]["coordinates"][0]),
            )
            for f in self.features("landmark")
        ]

    def landmark(self, key: str) -> Landmark | None:
        return next((m for m in self.landmarks() if m.key == key), None)

    def reference_position(self, kind: str, code: str) -> GeoPoint | None:
        """The reference position of a red box (`red_box`) or camera (`camera`) by its code."""
        for f in self.features(kind):
            if f["properties"]["code"] == code:
                lon, lat = f["geometry"]["coordinates"]
                return GeoPoint(lat, lon)
        return None

    def bounds(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """((south, west), (north, east)) of the communities' outlines."""
        points = [p for f in self.features("community") for p in f["geometry"]["coordinates"][0]]
        lons, lats = [p[0] for p in points], [p[1] for p in points]
        return (min(lats), min(lons)), (max(lats), max(lons))


@cache
def zone_map() -> ZoneMap:
    return ZoneMap(json.loads(GEOJSON.read_text(encoding="utf-8")))
