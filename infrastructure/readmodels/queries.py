"""Reads of the read models: what the screens and reports ask. Plain data out, never aggregates, and
never a replay of the log."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal
from uuid import UUID

from sqlalchemy import ColumnElement, Engine, and_, case, func, or_, select

from domain.errors import InvalidInput
from domain.values import OPEN_INCIDENT_STATUSES
from infrastructure.readmodels import tables as t
from infrastructure.readmodels.handover_queries import HandoverQueries
from infrastructure.readmodels.patrol_queries import PatrolQueries
from infrastructure.tables import camera_leases

OPEN = tuple(status.value for status in OPEN_INCIDENT_STATUSES)
SORTS = {
    "reported_at": t.incidents.c.reported_at,
    "priority": t.incidents.c.priority,
    "updated_at": t.incidents.c.updated_at,
    "reference": t.incidents.c.reference,
}
MAX_PAGE_SIZE = 200
_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
_NUMBER = re.compile(r"^(?:CR-?)?(?:(\d{4})-)?(\d{1,6})$", re.IGNORECASE)  # 123, 2569-123, CR-2569-000123


def _word(word: str) -> ColumnElement[bool]:
    """One word of the search box: in the location or the description (ILIKE on PostgreSQL, served by the pg_trgm
    indexes of migration 0017, which work for Thai, whose words are not separated by spaces; LIKE on SQLite), or a
    reference given by its number (`123` is CR-<any year>-000123) or its start (`CR-2569-0001`)."""
    c = t.incidents.c
    if word.lower() == word.upper():  # Thai, digits: no case to fold, and LIKE is cheaper than ILIKE on multibyte text
        found = [c.location.contains(word, autoescape=True), c.description.contains(word, autoescape=True)]
    else:
        found = [c.location.icontains(word, autoescape=True), c.description.icontains(word, autoescape=True)]
    number = _NUMBER.match(word.translate(_THAI_DIGITS))
    if number:
        year, serial = number.groups()
        found.append(c.reference.endswith(f"{year + '-' if year else '-'}{int(serial):06d}", autoescape=True))
    if word.upper().startswith("CR-"):
        found.append(c.reference.startswith(word.upper(), autoescape=True))
    return or_(*found)


@dataclass(frozen=True)
class IncidentFilter:
    status: tuple[str, ...] = ()
    community: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    priority: tuple[str, ...] = ()
    channel: tuple[str, ...] = ()
    reported_from: datetime | None = None
    reported_to: datetime | None = None  # exclusive
    reference: str = ""  # a whole reference, or its start (CR-2569-0001)
    text: tuple[str, ...] = ()  # words, each found in the location, the description or the reference (search box)


@dataclass(frozen=True)
class PageOf:
    items: list[dict[str, Any]]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


@dataclass(frozen=True)
class Board:
    incidents: list[dict[str, Any]]  # open, most urgent first (priority, then oldest)
    units: list[dict[str, Any]]
    alerts: list[dict[str, Any]]  # waiting for a decision, oldest first
    recently_closed: list[dict[str, Any]] = field(default_factory=list)
    awaiting_closure: list[dict[str, Any]] = field(default_factory=list)  # resolved, not closed: oldest first


def _aware(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.replace(tzinfo=UTC) if isinstance(v, datetime) and v.tzinfo is None else v for k, v in row.items()}


def _incident(row: Any) -> dict[str, Any]:
    item = _aware(dict(row))
    item["units"] = json.loads(item["units"])
    return item


def _condition(where: IncidentFilter) -> ColumnElement[bool]:
    c = t.incidents.c
    conditions = [
        column.in_(values)
        for column, values in (
            (c.status, where.status),
            (c.community, where.community),
            (c.category, where.category),
            (c.priority, where.priority),
            (c.channel, where.channel),
        )
        if values
    ]
    # In UTC, as the instants are stored: SQLite compares them as text, and a Bangkok bound would be read 7 h off.
    if where.reported_from is not None:
        conditions.append(c.reported_at >= where.reported_from.astimezone(UTC))
    if where.reported_to is not None:
        conditions.append(c.reported_at < where.reported_to.astimezone(UTC))
    if where.reference.strip():
        conditions.append(c.reference.startswith(where.reference.strip().upper(), autoescape=True))
    conditions.extend(_word(word) for word in where.text)
    return and_(True, *conditions)


class ReadModels(PatrolQueries, HandoverQueries):
    def __init__(self, engine: Engine):
        self.engine = engine

    def search_incidents(
        self,
        where: IncidentFilter = IncidentFilter(),
        *,
        page: int = 1,
        page_size: int = 50,
        sort: str = "reported_at",
        direction: Literal["asc", "desc"] = "desc",
    ) -> PageOf:
        if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
            raise InvalidInput(f"Pages start at 1 and hold 1 to {MAX_PAGE_SIZE} incidents.", field="page")
        if sort not in SORTS:
            raise InvalidInput(f"Incidents can be sorted by {', '.join(SORTS)}.", field="sort")
        c = t.incidents.c
        condition = _condition(where)
        order = SORTS[sort].asc() if direction == "asc" else SORTS[sort].desc()
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(t.incidents).where(condition)).scalar_one()
            rows = (
                conn.execute(
                    select(t.incidents)
                    .where(condition)
                    .order_by(order, c.reference.desc())
                    .limit(page_size)
                    .offset((page - 1) * page_size)
                )
                .mappings()
                .all()
            )
        return PageOf([_incident(r) for r in rows], total, page, page_size)

    def export_incidents(
        self,
        where: IncidentFilter,
        *,
        limit: int,
        sort: str = "reported_at",
        direction: Literal["asc", "desc"] = "desc",
    ) -> list[dict[str, Any]]:
        """Every incident the filter finds, up to `limit` (a supervisor's CSV export of a search)."""
        if sort not in SORTS:
            raise InvalidInput(f"Incidents can be sorted by {', '.join(SORTS)}.", field="sort")
        order = SORTS[sort].asc() if direction == "asc" else SORTS[sort].desc()
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.incidents)
                .where(_condition(where))
                .order_by(order, t.incidents.c.reference.desc())
                .limit(limit)
            ).mappings()
            return [_incident(r) for r in rows]

    def board(self, *, now: datetime | None = None) -> Board:
        c = t.incidents.c
        since = (now or datetime.now(UTC)).timestamp() - 24 * 3600
        with self.engine.connect() as conn:
            incidents = (
                conn.execute(select(t.incidents).where(c.status.in_(OPEN)).order_by(c.priority, c.reported_at))
                .mappings()
                .all()
            )
            closed = (
                conn.execute(
                    select(t.incidents)
                    .where(c.closed_at >= datetime.fromtimestamp(since, UTC))
                    .order_by(c.closed_at.desc())
                    .limit(50)
                )
                .mappings()
                .all()
            )
            tl = t.timeline.c  # when it was resolved (its row's updated_at moves with any later note)
            resolved_at = (
                select(func.max(tl.occurred_at))
                .where(tl.originator_id == c.id, tl.aggregate == "Incident", tl.event == "Resolved")
                .scalar_subquery()
                .label("resolved_at")
            )
            awaiting = conn.execute(
                select(t.incidents, resolved_at).where(c.status == "resolved").order_by(resolved_at).limit(100)
            ).mappings()
            awaiting = [_incident(r) for r in awaiting]
            units = (
                conn.execute(
                    select(t.units)
                    .where(t.units.c.status != "retired")
                    .order_by(case((t.units.c.status == "off_duty", 1), else_=0), t.units.c.call_sign)
                )
                .mappings()
                .all()
            )
            alerts = (
                conn.execute(
                    select(t.camera_alerts)
                    .where(t.camera_alerts.c.status.in_(("raised", "acknowledged")))
                    .order_by(t.camera_alerts.c.raised_at)
                )
                .mappings()
                .all()
            )
        return Board(
            [_incident(r) for r in incidents],
            [_aware(dict(r)) for r in units],
            [_aware(dict(r)) for r in alerts],
            [_incident(r) for r in closed],
            awaiting,
        )

    def incident(self, incident_id: UUID) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.incidents).where(t.incidents.c.id == incident_id)).mappings().first()
        return _incident(row) if row else None

    def camera_alert(self, alert_id: UUID) -> dict[str, Any] | None:
        """One camera alert as the alert page shows it (any status, closed ones too)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(t.camera_alerts).where(t.camera_alerts.c.id == alert_id)).mappings().first()
        return _aware(dict(row)) if row else None

    def timeline(self, aggregate_id: UUID) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    select(t.timeline).where(t.timeline.c.originator_id == aggregate_id).order_by(t.timeline.c.version)
                )
                .mappings()
                .all()
            )
        return [{**_aware(dict(r)), "params": json.loads(r["params"])} for r in rows]

    def visit_slots(self, day_from: date, day_to: date) -> list[dict[str, Any]]:
        """Patrol visits per red box, per local day and 2-hour slot: valid, flagged and voided counts."""
        v = t.kpi_visits.c
        counts = [func.sum(case((v.status == s, 1), else_=0)).label(s) for s in ("valid", "flagged", "voided")]
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    select(v.box_id, v.box_code, v.local_day, v.slot, *counts)
                    .where(v.local_day >= day_from, v.local_day <= day_to)
                    .group_by(v.box_id, v.box_code, v.local_day, v.slot)
                    .order_by(v.box_code, v.local_day, v.slot)
                )
                .mappings()
                .all()
            )
        return [dict(r) for r in rows]

    # --- people and units, for the operations and admin pages ---------------------------------
    def users(self, *, role: str | None = None, enabled_only: bool = False) -> list[dict[str, Any]]:
        u = t.users.c
        query = select(t.users).order_by(u.username)
        if role is not None:
            query = query.where(u.role == role)
        if enabled_only:
            query = query.where(u.disabled.is_(False))
        with self.engine.connect() as conn:
            return [_aware(dict(r)) for r in conn.execute(query).mappings().all()]

    def user_names(self, ids: Iterable[UUID]) -> dict[UUID, str]:
        ids = {i for i in ids if i is not None}
        if not ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.users.c.id, t.users.c.display_name).where(t.users.c.id.in_(ids))).all()
        return dict(rows)

    def units(self, *, include_retired: bool = False) -> list[dict[str, Any]]:
        """Every unit with its crew's names; on duty first."""
        u = t.units.c
        query = select(t.units).order_by(
            case((u.status == "retired", 2), (u.status == "off_duty", 1), else_=0), u.call_sign
        )
        if not include_retired:
            query = query.where(u.status != "retired")
        with self.engine.connect() as conn:
            units = [_aware(dict(r)) for r in conn.execute(query).mappings().all()]
        names = self.user_names(UUID(o) for unit in units for o in json.loads(unit["officer_ids"]))
        for unit in units:
            unit["officers"] = [{"id": UUID(o), "name": names.get(UUID(o), o)} for o in json.loads(unit["officer_ids"])]
        return units

    def units_of_officer(self, officer_id: UUID) -> list[dict[str, Any]]:
        return [u for u in self.units() if any(o["id"] == officer_id for o in u["officers"])]

    # --- cameras: the registry and each camera's health ------------------------------------------
    def cameras(self, *, now: datetime | None = None) -> list[dict[str, Any]]:
        """Every camera with its health; active ones first, by code."""
        return self._cameras(None, now)

    def camera(self, camera_id: UUID, *, now: datetime | None = None) -> dict[str, Any] | None:
        found = self._cameras(camera_id, now)
        return found[0] if found else None

    def camera_alerts_of(self, camera_id: UUID, *, limit: int = 20) -> list[dict[str, Any]]:
        """A camera's latest alerts, newest first, whatever their status."""
        a = t.camera_alerts.c
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    select(t.camera_alerts).where(a.camera_id == camera_id).order_by(a.raised_at.desc()).limit(limit)
                )
                .mappings()
                .all()
            )
        return [_aware(dict(r)) for r in rows]

    def _cameras(self, camera_id: UUID | None, now: datetime | None) -> list[dict[str, Any]]:
        c, lease, a = t.cameras.c, camera_leases.c, t.camera_alerts.c
        query = (
            select(
                t.cameras,
                lease.owner.label("lease_owner"),
                lease.lease_expires_at,
                lease.status.label("stream_status"),
                lease.fps,
                lease.last_frame_at,
                lease.health_at,
            )
            .select_from(t.cameras.outerjoin(camera_leases, lease.camera_id == c.id))
            .order_by(c.retired, c.code)
        )
        problems = (
            select(a.id, a.camera_id, a.kind, a.detail, a.raised_at)
            .where(a.status.in_(WAITING_ALERTS), a.kind.in_(HEALTH_ALERT_KINDS))
            .order_by(a.raised_at)
        )
        if camera_id is not None:
            query, problems = query.where(c.id == camera_id), problems.where(a.camera_id == camera_id)
        with self.engine.connect() as conn:
            # The workers write their leases in the database's clock on PostgreSQL: judge them by the same clock.
            now = now or (
                conn.execute(select(func.now())).scalar_one()
                if conn.dialect.name == "postgresql"
                else datetime.now(UTC)
            )
            rows = conn.execute(query).mappings().all()
            open_alerts: dict[UUID, dict[str, dict[str, Any]]] = {}
            for p in conn.execute(problems).mappings():
                open_alerts.setdefault(p["camera_id"], {}).setdefault(
                    p["kind"], _aware(dict(p))
                )  # the oldest of each kind
        return [_camera(_aware(dict(r)), open_alerts.get(r["id"], {}), now) for r in rows]


WAITING_ALERTS = ("raised", "acknowledged")
HEALTH_ALERT_KINDS = ("offline", "tampered")  # the self-clearing kinds: open while the trouble lasts


def _camera(row: dict[str, Any], problems: dict[str, dict[str, Any]], now: datetime) -> dict[str, Any]:
    """A registry row with its health: `state` is retired, offline or tampered (an open alert of that kind,
    `since` its time), no_worker (no live lease), or as the camera's worker last wrote it: healthy (streaming),
    starting, offline (before its alert is in the read model) or ended (a recording played to its end).
    `heartbeat_at` is when a worker last wrote the camera's health."""
    expires = row.pop("lease_expires_at")
    watched = row.pop("lease_owner") is not None and expires is not None and expires > now
    stream, fps = row.pop("stream_status"), row.pop("fps")
    alert = problems.get("offline") or problems.get("tampered")
    if row["retired"]:
        state = "retired"
    elif alert is not None:
        state = alert["kind"]
    elif not watched and stream == "ended":
        state = "ended"  # a recording played to its end: its lease was given back on purpose
    elif not watched:
        state = "no_worker"
    else:
        state = {"streaming": "healthy", "offline": "offline", "ended": "ended"}.get(stream, "starting")
    row["health"] = {
        "state": state,
        "watched": watched and not row["retired"],
        "since": alert["raised_at"] if alert else None,
        "alert_id": alert["id"] if alert else None,
        "detail": alert["detail"] if alert else "",
        "heartbeat_at": row.pop("health_at"),
        "last_frame_at": row.pop("last_frame_at"),
        "fps": fps if watched else 0.0,
    }
    row["zones"], row["rules"] = json.loads(row["zones"]), json.loads(row["rules"])
    return row
