from typing import Any

from eventsourcing.domain import Aggregate


class ZoneAggregate(Aggregate):
    """Base of the zone's aggregates. Their state holds only immutable values (UUIDs, datetimes, enums,
    strings, frozen dataclasses) and one level of lists and dicts of them, so a copy needs to copy only
    those containers: much cheaper than a generic deep copy, which the cache makes for every command."""

    def __deepcopy__(self, memo: dict[int, Any]) -> "ZoneAggregate":
        clone = object.__new__(type(self))
        clone.__dict__.update(
            {k: v.copy() if isinstance(v, (list, dict, set)) else v for k, v in self.__dict__.items()}
        )
        return clone
