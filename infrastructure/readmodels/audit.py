"""The auditor's reads: find any aggregate, browse the log with filters (keyset-paged in notification order), one
aggregate's events, its version at an instant, the zone's board at an instant (both in audit_instants.py), and
inclusion proofs of events against the latest signed checkpoint.

The log browser and the histories read the timeline read model (`rm_timeline`, one row per event, with the
indexes of migration 0013_audit)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic
from sqlalchemy import Engine, func, select

from domain import ledger as merkle
from domain.accounts import UserAccount
from domain.base import ZoneAggregate
from domain.cameras import Camera, CameraAlert
from domain.incident import Incident
from domain.intake import IntakeKey, ReferenceBook
from domain.patrol import PatrolUnit, PatrolVisit
from domain.red_box import RedBox, RefusedCheckIn
from domain.rounds import OfficerRound
from infrastructure.readmodels import tables as t
from infrastructure.readmodels.audit_instants import RECORDED, board_at, time_column, version_at
from infrastructure.readmodels.ledger import leaves, stored_nodes
from infrastructure.readmodels.rows import aware
from infrastructure.readmodels.timeline import _aggregate_and_event

AGGREGATES = (
    Incident,
    PatrolUnit,
    RedBox,
    PatrolVisit,
    Camera,
    CameraAlert,
    UserAccount,
    RefusedCheckIn,
    OfficerRound,
    ReferenceBook,
    IntakeKey,
)
_CREATED = (ReferenceBook, IntakeKey)  # the aggregates whose creation event is named Created
PAGE = 100
tl = t.timeline.c


def _aggregate_classes() -> list[type]:
    """The aggregates named above and every other subclass of the zone's aggregate that is loaded (a kind added
    later shows in the log's filters without a change here)."""
    found: list[type] = list(AGGREGATES)
    todo = list(ZoneAggregate.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls not in found:
            found.append(cls)
    return found


def event_kinds() -> list[tuple[str, str]]:
    """Every (aggregate, event) the domain can record, as the timeline names them (from the events' topics)."""
    kinds: set[tuple[str, str]] = set()
    for cls in _aggregate_classes():
        for value in vars(cls).values():
            if isinstance(value, type) and issubclass(value, Aggregate.Event):
                aggregate, event = _aggregate_and_event(get_topic(value))
                if event != "Event" and (event != "Created" or "Created" in cls.__dict__ and cls in _CREATED):
                    kinds.add((aggregate, event))
    return sorted(kinds)


def aggregate_names() -> list[str]:
    return sorted({aggregate for aggregate, _ in event_kinds()})


@dataclass(frozen=True)
class LogFilter:
    aggregate: str | None = None
    event: str | None = None  # with aggregate: one kind of event
    actor_id: UUID | None = None
    role: str | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    recorded_from: datetime | None = None
    recorded_to: datetime | None = None

    def clauses(self) -> list[Any]:
        found = []
        if self.aggregate:
            found.append(tl.aggregate == self.aggregate)
        if self.event:
            found.append(tl.event == self.event)
        if self.actor_id:
            found.append(tl.actor_id == self.actor_id)
        if self.role:
            found.append(tl.actor_role == self.role)
        for column, low, high in (
            (tl.occurred_at, self.occurred_from, self.occurred_to),
            (tl.recorded_at, self.recorded_from, self.recorded_to),
        ):
            if low is not None:
                found.append(column >= low.astimezone(UTC))
            if high is not None:
                found.append(column < high.astimezone(UTC))
        return found


def row_of(row: Any) -> dict[str, Any]:
    values = {k: aware(v) for k, v in dict(row).items()}
    values["params"] = json.loads(values["params"])
    return values


def touched(params: Any, own: UUID | None = None) -> list[UUID]:
    """The other aggregates an event names (a unit dispatched, the incident an alert was escalated to, …): every
    id among its parameters, as stored (`uuid_hex`), its own excepted."""
    found: list[UUID] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("_type_") == "uuid_hex":
                try:
                    found.append(UUID(value["_data_"]))
                except (ValueError, TypeError):
                    pass
                return
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(params)
    return [u for u in dict.fromkeys(found) if u != own]


class AuditReads:
    def __init__(self, engine: Engine, app: Application):
        self.engine = engine
        self.app = app

    # --- finding ------------------------------------------------------------
    def find(self, text: str, limit: int = 20) -> list[dict[str, Any]]:
        """Aggregates whose reference, call sign, red-box or camera code, username or id is `text` (any case);
        an incident reference may be given by its last digits."""
        text = text.strip()
        if not text:
            return []
        hits: list[dict[str, Any]] = []
        with self.engine.connect() as conn:
            try:
                wanted = UUID(text)
            except ValueError:
                wanted = None
            if wanted is not None:
                row = conn.execute(
                    select(tl.aggregate).where(tl.originator_id == wanted).order_by(tl.version).limit(1)
                ).first()
                if row:
                    hits.append({"id": wanted, "aggregate": row[0], "label": str(wanted)})
                return hits
            lower = text.lower()
            for table, column, aggregate in (
                (t.incidents, t.incidents.c.reference, "Incident"),
                (t.units, t.units.c.call_sign, "PatrolUnit"),
                (t.red_boxes, t.red_boxes.c.code, "RedBox"),
                (t.cameras, t.cameras.c.code, "Camera"),
                (t.users, t.users.c.username, "UserAccount"),
            ):
                for row in conn.execute(select(table.c.id, column).where(func.lower(column) == lower).limit(limit)):
                    hits.append({"id": row[0], "aggregate": aggregate, "label": row[1]})
            if not hits and text.isdigit() and len(text) <= 6:
                ref = t.incidents.c.reference
                for row in conn.execute(
                    select(t.incidents.c.id, ref)
                    .where(ref.like(f"%-{text.zfill(6)}"))
                    .order_by(ref.desc())
                    .limit(limit)
                ):
                    hits.append({"id": row[0], "aggregate": "Incident", "label": row[1]})
        return hits

    # --- the log --------------------------------------------------------------
    def log(self, wanted: LogFilter, *, after: int = 0, limit: int = PAGE) -> list[dict[str, Any]]:
        """Events after notification `after`, in notification order, that the filter admits."""
        limit = max(1, limit)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.timeline)
                .where(tl.notification_id > after, *wanted.clauses())
                .order_by(tl.notification_id)
                .limit(limit)
            ).mappings()
            return [row_of(r) for r in rows]

    def log_before(self, wanted: LogFilter, *, before: int, limit: int = PAGE) -> int:
        """Where the page before the one starting at `before` starts (its `after`), for a "previous" link."""
        with self.engine.connect() as conn:
            ids = conn.execute(
                select(tl.notification_id)
                .where(tl.notification_id < before, *wanted.clauses())
                .order_by(tl.notification_id.desc())
                .limit(limit + 1)
            ).scalars()
            ids = list(ids)
        return ids[limit] if len(ids) > limit else 0

    def events(self, notification_ids: Iterable[int]) -> list[dict[str, Any]]:
        ids = sorted(set(notification_ids))
        found: list[dict[str, Any]] = []
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 1000):
                chunk = ids[start : start + 1000]
                rows = conn.execute(
                    select(t.timeline).where(tl.notification_id.in_(chunk)).order_by(tl.notification_id)
                ).mappings()
                found.extend(row_of(r) for r in rows)
        return found

    # --- one aggregate ----------------------------------------------------------
    def history(self, aggregate_id: UUID, *, from_version: int = 1, limit: int | None = None) -> list[dict[str, Any]]:
        query = (
            select(t.timeline).where(tl.originator_id == aggregate_id, tl.version >= from_version).order_by(tl.version)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query if limit is None else query.limit(limit)).mappings()
            return [row_of(r) for r in rows]

    def summary(self, aggregate_id: UUID) -> dict[str, Any] | None:
        """The aggregate's kind, its number of events, when it began and what names it (its first event's
        reference, call sign, code or username)."""
        with self.engine.connect() as conn:
            first = (
                conn.execute(select(t.timeline).where(tl.originator_id == aggregate_id).order_by(tl.version).limit(1))
                .mappings()
                .first()
            )
            if first is None:
                return None
            last = conn.execute(
                select(tl.version, tl.recorded_at)
                .where(tl.originator_id == aggregate_id)
                .order_by(tl.version.desc())
                .limit(1)
            ).first()
        first = row_of(first)
        params = first["params"]
        label = next(
            (
                params[k]
                for k in ("reference", "call_sign", "code", "username", "camera_code", "box_code")
                if k in params
            ),
            None,
        )
        if isinstance(label, dict):
            label = label.get("_data_")
        return {
            "id": aggregate_id,
            "aggregate": first["aggregate"],
            "label": label or str(aggregate_id),
            "versions": last[0],
            "began": first["recorded_at"],
            "last_recorded": aware(last[1]),
        }

    def version_at(self, aggregate_id: UUID, instant: datetime, basis: str = RECORDED) -> int | None:
        """The aggregate's version at `instant` (None: it did not exist yet), by recorded or occurred time."""
        with self.engine.connect() as conn:
            return version_at(conn, aggregate_id, instant, basis)

    def span(self, basis: str = RECORDED) -> tuple[datetime | None, datetime | None]:
        """When the zone's first and latest events were recorded (or occurred)."""
        column = time_column(basis)
        with self.engine.connect() as conn:
            first = conn.execute(select(func.min(column))).scalar()
            last = conn.execute(select(func.max(column))).scalar()
        return aware(first), aware(last)

    def board_at(self, instant: datetime, basis: str = RECORDED) -> dict[str, list[dict[str, Any]]]:
        """The zone's board as the system knew it at `instant` (infrastructure/readmodels/audit_instants.py)."""
        return board_at(self.engine, self.app, instant, basis)

    # --- proofs ---------------------------------------------------------------
    def proofs(self, notification_ids: Iterable[int], size: int) -> dict[int, dict[str, Any]]:
        """Each event's RFC 9162 audit path in the tree of `size` leaves (events not yet in it are left out), all
        the subtrees read in one query."""
        ids = sorted(set(notification_ids))
        if not ids or size <= 0:
            return {}
        with self.engine.connect() as conn:
            placed = conn.execute(
                select(leaves.c.notification_id, leaves.c.position, leaves.c.hash).where(
                    leaves.c.notification_id.in_(ids), leaves.c.position < size
                )
            ).all()
            wanted: list[merkle.Node] = []
            for _, position, _ in placed:
                wanted.extend(merkle.nodes_needed(lambda p, at=position: merkle.inclusion_path(at, size, p)))
            found = stored_nodes(conn, wanted)
        return {
            nid: {
                "notification_id": nid,
                "position": position,
                "leaf_hash": bytes(leaf),
                "path": merkle.inclusion_path(position, size, lambda level, index: found[(level, index)]),
            }
            for nid, position, leaf in placed
        }
