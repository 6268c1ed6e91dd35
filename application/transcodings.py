"""How every value type of the domain is written into, and read back from, the event store."""

from datetime import date, time
from enum import Enum
from typing import Any

from eventsourcing.persistence import Transcoder, Transcoding

from domain import personal_data as pd
from domain import values as v


class EnumAsValue(Transcoding):
    def __init__(self, enum_cls: type[Enum]):
        self.type = enum_cls
        self.name = f"enum:{enum_cls.__name__}"

    def encode(self, obj: Enum) -> str:
        return obj.value

    def decode(self, data: str) -> Enum:
        return self.type(data)


class DataclassAsDict(Transcoding):
    """A frozen dataclass whose fields are themselves transcoded; `shape` rebuilds tuples."""

    def __init__(self, cls: type, name: str, shape: dict[str, Any] | None = None):
        self.type = cls
        self.name = name
        self.shape = shape or {}

    def encode(self, obj: Any) -> dict[str, Any]:
        return dict(obj.__dict__)

    def decode(self, data: dict[str, Any]) -> Any:
        return self.type(**{k: self.shape.get(k, lambda x: x)(val) for k, val in data.items()})


class TimeAsISO(Transcoding):
    type = time
    name = "time_iso"

    def encode(self, obj: time) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> time:
        return time.fromisoformat(data)


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


def _points(data: list[list[float]]) -> tuple[tuple[float, float], ...]:
    return tuple((float(x), float(y)) for x, y in data)


ENUMS = [
    v.Priority,
    v.Category,
    v.Channel,
    v.Community,
    v.Outcome,
    v.CancelReason,
    v.IncidentStatus,
    v.Assignment,
    v.UnitKind,
    v.UnitStatus,
    v.Role,
    v.AlertKind,
    v.AlertStatus,
    v.FalseAlarmReason,
    v.PartnerSector,
    v.VisitStatus,
    v.CheckInRefusal,
    pd.ContactReadPurpose,
    pd.ContactReadKind,
    pd.ContactReadOutcome,
    pd.ErasureRequester,
    pd.ErasureChannel,
    pd.LegalBasis,
    pd.ErasureStatus,
]


def register_all(transcoder: Transcoder) -> None:
    for enum_cls in ENUMS:
        transcoder.register(EnumAsValue(enum_cls))
    transcoder.register(TimeAsISO())
    transcoder.register(DateAsISO())
    transcoder.register(DataclassAsDict(v.Actor, "actor"))
    transcoder.register(DataclassAsDict(v.GeoPoint, "geo_point"))
    transcoder.register(DataclassAsDict(v.SealedContact, "sealed_contact"))
    transcoder.register(DataclassAsDict(v.Zone, "zone", {"points": _points}))
    transcoder.register(DataclassAsDict(v.DetectionRule, "detection_rule"))
