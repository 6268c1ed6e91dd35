"""Every value type the events carry comes back from the store's JSON as the same type and value."""

from datetime import UTC, date, datetime, time
from uuid import UUID

import pytest
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex

from application.transcodings import ENUMS, register_all
from domain.values import (
    Actor,
    AlertKind,
    DetectionRule,
    GeoPoint,
    Role,
    SealedContact,
    Zone,
)


@pytest.fixture
def transcoder() -> JSONTranscoder:
    t = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        t.register(transcoding)
    register_all(t)
    return t


VALUES = [
    Actor(UUID("6c1d6c2e-8a5f-4f43-9d1c-3b1f2f5b7a10"), Role.SUPERVISOR),
    GeoPoint(19.9094, 99.8322),
    SealedContact("k1", "bm9uY2U="),
    Zone("alley", ((0.1, 0.2), (0.5, 0.2), (0.5, 0.9))),
    DetectionRule(AlertKind.PERSON_AT_NIGHT, time(18, 0), time(6, 0), 0.6, 0.01),
    time(22, 30),
    date(2026, 11, 25),
    datetime(2026, 11, 25, 3, 4, 5, tzinfo=UTC),
    *[member for enum_cls in ENUMS for member in enum_cls],
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_a_value_comes_back_with_its_own_type(transcoder: JSONTranscoder, value) -> None:
    decoded = transcoder.decode(transcoder.encode({"v": value, "in_a_list": [value]}))
    assert type(decoded["v"]) is type(value) and decoded["v"] == value
    assert decoded["in_a_list"] == [value]


def test_a_zone_keeps_its_corners_as_tuples_not_lists(transcoder: JSONTranscoder) -> None:
    zone = Zone("gate", ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0)))
    decoded = transcoder.decode(transcoder.encode(zone))
    assert isinstance(decoded.points, tuple) and all(isinstance(p, tuple) for p in decoded.points)
