"""What the zone map shows, as plain data for the browser (web/static/js/map.js draws it with Leaflet), and what
the templates of the map, the phone and the dispatch form use (units nearest first: application/dispatch_order.py)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import quote

from application.dispatch_order import nearest_first, point_of
from domain.errors import DomainError
from domain.patrol import IMPRECISE_ACCURACY_M
from domain.values import OPEN_INCIDENT_STATUSES, GeoPoint
from infrastructure.bootstrap import Container
from infrastructure.zone_map import zone_map
from web import i18n
from web.i18n_labels import N_
from web.pages import label

OPEN = {s.value for s in OPEN_INCIDENT_STATUSES}


def distance_text(metres: int | None) -> str:
    if metres is None:
        return ""
    t = i18n.current()
    if metres < 1000:
        return i18n.gettext("%(metres)s m") % {"metres": t.number(metres)}
    return i18n.gettext("%(km)s km") % {"km": f"{metres / 1000:.1f}"}


def outside_zone(row: dict[str, Any]) -> bool:
    """The incident (or anything with lat/lon) has a position, and it lies outside every community of the zone."""
    point = point_of(row)
    return point is not None and not zone_map().contains(point)


def geo_uri(row: dict[str, Any]) -> str:
    """A `geo:` URI (RFC 5870) that a phone's map application opens, with the reference as the label."""
    point = point_of(row)
    if point is None:
        return ""
    here = f"{point.lat:.6f},{point.lon:.6f}"
    return f"geo:{here}?q={here}({quote(row.get('reference', ''))})"


def position_from(form: Any) -> tuple[GeoPoint, float] | None:
    """A phone's position sent with a form (`pos_lat`, `pos_lon`, `pos_accuracy`, filled by phone.js when the
    officer shares it), or None: a missing or unreadable position never stops the action it came with."""
    try:
        lat, lon, accuracy = (float(form.raw(f"pos_{k}")) for k in ("lat", "lon", "accuracy"))
        return GeoPoint(lat, lon), accuracy
    except (ValueError, DomainError):
        return None


def _iso(instant: datetime | None) -> str | None:
    return instant.isoformat() if instant else None


def map_data(container: Container, *, live: bool, now: datetime) -> dict[str, Any]:
    """The layers of the zone map in the reader's language: the communities' outlines and landmarks (the
    reference geometry), red boxes and cameras where the log says they stand, and — for `live` readers — the
    open incidents and the units at their last known position."""
    t = i18n.current()
    thai = t.locale == "th"
    geometry = zone_map()
    reads = container.reads
    communities = [
        {
            "id": f["properties"]["community"],
            "name": label("community", f["properties"]["community"]),
            "ring": [[lat, lon] for lon, lat in f["geometry"]["coordinates"][0]],
        }
        for f in geometry.features("community")
    ]
    landmarks = [
        {
            "key": m.key,
            "community": m.community,
            "name": m.name_th if thai else m.name_en,
            "lat": m.point.lat,
            "lon": m.point.lon,
        }
        for m in geometry.landmarks()
    ]
    boxes = [
        {
            "code": b["code"],
            "name": b["name_th"] if thai else b["name_en"],
            "community": label("community", b["community"]),
            "lat": b["lat"],
            "lon": b["lon"],
        }
        for b in reads.red_boxes()
    ]
    cameras = [
        {
            "id": str(c["id"]),
            "code": c["code"],
            "name": c["name"],
            "health": c["health"]["state"],
            "health_text": i18n.gettext(HEALTH_WORDS.get(c["health"]["state"], "Unknown")),
            "lat": c["lat"],
            "lon": c["lon"],
        }
        for c in reads.cameras(now=now)
        if c["lat"] is not None and not c["retired"]
    ]
    data: dict[str, Any] = {
        "communities": communities,
        "landmarks": landmarks,
        "boxes": boxes,
        "cameras": cameras,
        "bounds": geometry.bounds(),
        "tiles": container.settings.tile_url,
        "words": _words(),
    }
    if live:
        board = reads.board(now=now)
        data["incidents"] = [
            {
                "reference": i["reference"],
                "priority": i["priority"],
                "status": label("status", i["status"]),
                "category": label("category", i["category"]),
                "location": i["location"],
                "lat": i["lat"],
                "lon": i["lon"],
            }
            for i in board.incidents
            if i.get("lat") is not None and i["status"] in OPEN
        ]
        data["units"] = [
            {
                "call_sign": u["call_sign"],
                "status": u["status"],
                "status_text": label("unit_status", u["status"]),
                "incident": u["incident_reference"],
                "lat": u["lat"],
                "lon": u["lon"],
                "accuracy_m": u["accuracy_m"],
                "imprecise": u["accuracy_m"] is not None and u["accuracy_m"] > IMPRECISE_ACCURACY_M,
                "at": _iso(u["position_at"]),
                "at_text": t.time(u["position_at"]) if u["position_at"] else "",
            }
            for u in board.units
            if u.get("lat") is not None and u["status"] != "off_duty"
        ]
    return data


# The camera health states of the registry (infrastructure/readmodels/queries.py `_camera`), in words.
HEALTH_WORDS = {
    "healthy": N_("Healthy"),
    "starting": N_("Starting"),
    "offline": N_("Camera offline"),
    "tampered": N_("Camera tampered with"),
    "no_worker": N_("No worker"),
    "ended": N_("Recording ended"),
    "retired": N_("Retired"),
}


def _words() -> dict[str, str]:
    return {
        "red_box": i18n.gettext("Red box"),
        "camera": i18n.gettext("Camera"),
        "incident": i18n.gettext("Incident"),
        "unit": i18n.gettext("Unit"),
        "imprecise": i18n.gettext("imprecise position (± %(metres)s m)"),
        "seen": i18n.gettext("last seen %(time)s"),
        "outside": i18n.gettext(
            "This point lies outside the zone's communities. The report is kept; check the location."
        ),
        "inside": i18n.gettext("Inside the zone: %(community)s"),
        "picked": i18n.gettext("Position set from the map"),
    }


def map_json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def install(env: Any) -> None:
    """What the templates of the map and the phone use (web/templates/map/, my.html, the incident page)."""
    env.globals.update(
        geo_uri=geo_uri, nearest_first=nearest_first, distance_text=distance_text, outside_zone=outside_zone
    )
    env.globals["landmarks"] = lambda: zone_map().landmarks()
    env.filters["instant"] = lambda text: datetime.fromisoformat(text) if text else None


def landmark_position(form: Any, lat: float | None, lon: float | None) -> tuple[float | None, float | None]:
    """The report form's point: the one given, else the picked landmark's (an unknown landmark is refused)."""
    key = form.raw("landmark").strip()
    if not key or (lat is not None and lon is not None):
        return lat, lon
    landmark = zone_map().landmark(key)
    if landmark is None:
        form.fail("landmark", i18n.gettext("Please choose one of the options."))
        return lat, lon
    return landmark.point.lat, landmark.point.lon
