"""Every event of every aggregate as a timeline row, for the auditors."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic
from sqlalchemy import Connection

from domain.cameras import Camera
from infrastructure.camera_secrets import masked_source
from infrastructure.readmodels import tables as t
from infrastructure.readmodels.base import Projection
from infrastructure.readmodels.rows import column_types, insert_values
from infrastructure.readmodels.stored import Handler, Page, Record, loads, uuid_of

_from_iso = datetime.fromisoformat

# A timeline row keeps the event's own attributes as they were stored (values tagged with their type,
# {"_type_": ..., "_data_": ...}), so an auditor reads what was recorded; the UI words them at read time.
# A reporter's contact keeps only the id of the key that sealed it, never the ciphertext.
_NOT_PARAMS = frozenset(("actor", "occurred_at", "timestamp", "reason", "originator_topic", "class_version"))
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_string = json.encoder.encode_basestring  # a str as JSON, as json.dumps(ensure_ascii=False) writes it
_CAMERA_REGISTERED = get_topic(Camera.Registered)


@cache
def _aggregate_and_event(topic: str) -> tuple[str, str]:
    aggregate, _, event = topic.rpartition(":")[2].partition(".")
    return aggregate, event


def recorded(stored: bytes | str) -> tuple[dict[str, Any], str]:
    """An event's state as stored, decoded, and the text of its timeline parameters: when the stored text
    is laid out as the library and the domain write it, the stored JSON of the event's own attributes, cut
    out of it (not encoded again: the same text, as the library writes JSON compact and json.loads gives
    back what json.dumps wrote); otherwise encoded from the state."""
    text = stored.decode() if isinstance(stored, (bytes, bytearray)) else stored
    state = loads(text)
    try:
        params = _params_text(text, state)
    except (KeyError, TypeError):
        params = None
    return state, _dumps(timeline_params(state)) if params is None else params


_HEAD = '{"timestamp":{"_type_":"datetime_iso","_data_":"'


def _params_text(text: str, state: dict[str, Any]) -> str | None:
    """The attributes' text between the members that every stored event has at its start (`timestamp`, and
    `originator_topic` for a creation) and at its end (`reason` when it has one, `actor`, `occurred_at`, and
    `class_version` after an upgrade), each checked to be the member that the decoded state holds, written
    in full; None when the text is laid out otherwise, or the contact must be cut."""
    start = len(_HEAD) + len(state["timestamp"]["_data_"]) + 2
    if not text.startswith(_HEAD) or text[len(_HEAD) : start] != f'{state["timestamp"]["_data_"]}"}}':
        return None
    topic = state.get("originator_topic")
    if topic is not None:
        member = f',"originator_topic":"{topic}"'
        if not text.startswith(member, start):
            return None
        start += len(member)
    actor = state["actor"]["_data_"]
    tail = (
        f',"actor":{{"_type_":"actor","_data_":{{"user_id":{{"_type_":"uuid_hex","_data_":"{actor["user_id"]["_data_"]}"}},'
        f'"role":{{"_type_":"enum:Role","_data_":"{actor["role"]["_data_"]}"}}}}}},'
        f'"occurred_at":{{"_type_":"datetime_iso","_data_":"{state["occurred_at"]["_data_"]}"}}'
    )
    if "class_version" in state:
        if type(state["class_version"]) is not int:
            return None
        tail += f',"class_version":{state["class_version"]}'
    if "reason" in state:
        reason = state["reason"]
        if reason is not None and type(reason) is not str:
            return None
        tail = ',"reason":' + ("null" if reason is None else _string(reason)) + tail
    tail += "}"
    if not text.endswith(tail) or (state.get("contact") and _sealed(state["contact"]) is not state["contact"]):
        return None
    end = len(text) - len(tail)
    return "{" + text[start + 1 : end] + "}" if end > start else "{}"


def _sealed(contact: Any) -> Any:
    """A reporter's contact without its ciphertext (the key id that sealed it stays)."""
    if contact and "ciphertext" in contact["_data_"]:
        return {**contact, "_data_": {k: v for k, v in contact["_data_"].items() if k != "ciphertext"}}
    return contact


def timeline_params(state: dict[str, Any]) -> dict[str, Any]:
    params = {k: v for k, v in state.items() if k not in _NOT_PARAMS}
    if "contact" in params:
        params["contact"] = _sealed(params["contact"])
    return params


def timeline_values(
    position: int, originator_id: UUID, version: int, topic: str, state: dict[str, Any], params: str | None = None
) -> tuple:
    """A timeline row, in the table's column order, from an event's state as stored (decoded, not upcast)
    and the text of its parameters (`recorded`; encoded from the state when not given); the state is left
    as it is (the other projections read it next)."""
    actor = state["actor"]["_data_"]
    if topic == _CAMERA_REGISTERED:  # a camera registered before its secrets were kept apart recorded its password
        params = _dumps({**timeline_params(state), "source": masked_source(state["source"])})
    return (
        originator_id,
        version,
        position,
        *_aggregate_and_event(topic),
        uuid_of(actor["user_id"]),
        actor["role"]["_data_"],
        _from_iso(state["occurred_at"]["_data_"]),
        _from_iso(state["timestamp"]["_data_"]),
        state.get("reason") or None,
        _dumps(timeline_params(state)) if params is None else params,
    )


class TimelineProjection(Projection):
    """Every event of every aggregate as a row, made from the event's state as stored (`timeline_values`).
    Insert-only; needs no decoded events. In a rebuild the runner makes its rows from the state it decodes
    for the other projections (before any upcast of it) and sends them on as they are made: to a staging
    table on PostgreSQL, to `pending` on SQLite."""

    name = "timeline"
    table = t.timeline
    handlers: dict[type, Handler] = {}

    def __init__(self, events_table: str = "stored_events") -> None:
        super().__init__()
        self.events_table = events_table
        self.pending: list[tuple] = []
        self.decode: Callable[[bytes | str], tuple[dict[str, Any], str]] = recorded  # the runner's, with its cipher
        self._types: dict[str, int] | None = None  # PostgreSQL: its table's column types, looked up once

    @property
    def topics(self) -> list[str]:
        return []

    def apply_page(self, conn: Connection, page: Page) -> None:
        if page:
            decode = self.decode
            if self._types is None and conn.dialect.name == "postgresql":
                self._types = column_types(conn, self.table.name)
            insert_values(
                conn,
                self.table,
                [
                    timeline_values(r.id, r.originator_id, r.originator_version, r.topic, *decode(r.stored))
                    for r in page
                ],
                types=self._types,
            )

    def routes(self) -> dict[str | None, Callable[[Record], None]]:
        return {}

    def write_all(self, conn: Connection) -> None:
        """(SQLite: on PostgreSQL the runner stages the rows as the replay makes them.)"""
        insert_values(conn, self.table, self.pending)
        self.pending = []

    def reset(self, conn: Connection) -> None:
        super().reset(conn)
        self.pending = []
