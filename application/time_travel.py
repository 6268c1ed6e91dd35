"""Time travel for auditors: an aggregate as it stood at a version or at an instant, as plain data, and the
difference of two of its versions, field by field. Read-only; a reporter's contact is never unsealed here (it
shows as sealed: reading it is a recorded act of its own).

"At an instant" means as the system knew it then: the events *recorded* at or before the instant (their store
timestamp), not those that had occurred by then. An event entered late with an earlier `occurred_at` is not
part of the state before it was recorded; that is what a dispatcher could see at that moment."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application

from application.errors import NotFound
from domain.incident import Incident
from domain.values import SealedContact

SEALED = "sealed"  # a reporter's contact, not unsealed by time travel
_HIDDEN = {"_pending_events"}


def plain(value: Any) -> Any:
    """A value of an aggregate's state as plain data: enums by value, ids as text, value objects as dicts."""
    if isinstance(value, SealedContact):
        return SEALED
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(plain(k)): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    return value


def state_of(aggregate: Any) -> dict[str, Any]:
    """The aggregate's fields as plain data, in a stable order (version and times first)."""
    state = {name.lstrip("_"): plain(value) for name, value in aggregate.__dict__.items() if name not in _HIDDEN}
    if isinstance(aggregate, Incident):
        state["status"] = aggregate.status.value
    state["aggregate"] = type(aggregate).__name__
    head = ["aggregate", "id", "version", "created_on", "modified_on"]
    return {k: state[k] for k in head if k in state} | {k: state[k] for k in sorted(state) if k not in head}


def state_at_version(app: Application, aggregate_id: UUID, version: int) -> dict[str, Any]:
    """The aggregate after its event number `version` (1 is its creation), replayed from the log (from a snapshot
    where the aggregate keeps them)."""
    try:
        aggregate = app.repository.get(aggregate_id, version=version)
    except AggregateNotFoundError:
        raise NotFound("Nothing with id {aggregate_id} was ever recorded.", aggregate_id=aggregate_id) from None
    if aggregate.version != version:
        raise NotFound(
            "{aggregate_id} has no version {version}.", aggregate_id=aggregate_id, version=version
        )  # pragma: no cover — the callers check the range first
    return state_of(aggregate)


@dataclasses.dataclass(frozen=True)
class Change:
    field: str
    old: Any
    new: Any


_MISSING = object()


def flatten(state: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested fields as dotted paths, so a diff names the exact field (`assignments.<unit id>`)."""
    flat: dict[str, Any] = {}
    for key, value in state.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, path + "."))
        else:
            flat[path] = value
    return flat


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Every field that differs between two states, old → new (None where a field did not exist)."""
    a, b = flatten(old), flatten(new)
    changes = []
    for key in list(a) + [k for k in b if k not in a]:
        before, after = a.get(key, _MISSING), b.get(key, _MISSING)
        if before != after:
            changes.append(Change(key, None if before is _MISSING else before, None if after is _MISSING else after))
    return changes
