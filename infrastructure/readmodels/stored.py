"""Events of the log as the projections read them: the record the runner hands over, and the stored JSON (values
tagged with their type, {"_type_": ..., "_data_": ...}), upcast to the event class's current version and decoded
field by field, which is several times cheaper than making a domain event of it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple
from uuid import UUID

from eventsourcing.utils import resolve_topic

if TYPE_CHECKING:
    from infrastructure.readmodels.rows import RowSet


class Record(NamedTuple):
    """One event of the log, as the runner hands it to the projections."""

    id: int  # notification id
    originator_id: UUID
    originator_version: int
    topic: str
    stored: bytes | str  # the state as stored (JSON)
    state: dict[str, Any] | None  # decoded JSON, upcast; when some JsonProjection handles the topic
    event: Any  # the domain event; when some Projection over domain events handles the topic


# A page of the log, in log order.
Page = list[Record]
Handler = Callable[[Any, "RowSet"], None]  # (domain event, rows)
JsonHandler = Callable[[Record, dict[str, Any], "RowSet"], None]  # (record, state, rows)


@cache
def _event_class(topic: str) -> tuple[type, int]:
    cls = resolve_topic(topic)
    return cls, getattr(cls, "class_version", 1)


def class_version(topic: str) -> int:
    return _event_class(topic)[1]


def upcast(topic: str, state: dict[str, Any], from_version: int | None = None) -> dict[str, Any]:
    """Brings a decoded stored state to its event class's current version with the class's own upcast
    functions, as the library's mapper does for domain events (`from_version`: the stored class_version,
    when already taken out of the state)."""
    cls, version = _event_class(topic)
    if from_version is None:
        from_version = state.pop("class_version", 1)
    while from_version < version:
        getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
        from_version += 1
    return state


_scan = json.JSONDecoder().scan_once  # the C scanner, without json.loads's layers around it


def loads(stored: bytes | str) -> dict[str, Any]:
    """Stored JSON (as the library writes it: UTF-8, no whitespace around) decoded."""
    text = stored.decode() if isinstance(stored, (bytes, bytearray)) else stored
    try:
        value, end = _scan(text, 0)
    except StopIteration:
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


def plain(value: Any) -> Any:
    """A stored value without its type tag; an enum (an upcast may have put one) as its value."""
    try:
        return value["_data_"]
    except (TypeError, KeyError):
        return value.value if isinstance(value, Enum) else value


_UUIDS: dict[str, UUID] = {}


def uuid_of(value: Any) -> UUID | None:
    """A stored UUID (tagged hex; or a UUID an upcast put). Ids repeat a lot (actors, boxes, units):
    each is made once."""
    try:
        value = value["_data_"]
    except TypeError:
        if value is None or isinstance(value, UUID):
            return value
    found = _UUIDS.get(value)
    if found is None:
        if len(_UUIDS) >= 100_000:
            _UUIDS.clear()
        found = _UUIDS[value] = UUID(value)
    return found


_from_iso = datetime.fromisoformat


def instant(value: Any) -> datetime | None:
    """A stored instant (tagged ISO text; or a datetime an upcast put)."""
    try:
        return _from_iso(value["_data_"])
    except TypeError:
        return value if value is None or isinstance(value, datetime) else _from_iso(value)


def actor_id(state: dict[str, Any]) -> UUID:
    return uuid_of(plain(state["actor"])["user_id"])
