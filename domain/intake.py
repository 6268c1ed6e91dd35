"""What an incident's intake needs beside the incident: the book of references and the claimed idempotency keys.

The classes moved here from domain.incident; their events keep the topics under which the log stores them."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import event

from domain.base import ZoneAggregate
from domain.incident import NAMESPACE
from domain.values import Actor, be_year


class ReferenceBook(ZoneAggregate):
    """Issues the zone's incident references of one Buddhist-era year, in order, without gaps."""

    TOPIC = "domain.incident:ReferenceBook"

    class Created(ZoneAggregate.Created):
        TOPIC = "domain.incident:ReferenceBook.Created"

    id: UUID

    @staticmethod
    def id_for(year_be: int) -> UUID:
        return uuid5(NAMESPACE, f"incident-references/{year_be}")

    @classmethod
    def open(cls, year_be: int, actor: Actor, occurred_at: datetime) -> ReferenceBook:
        return cls(id=cls.id_for(year_be), year_be=year_be, actor=actor, occurred_at=occurred_at)

    @event("Opened", topic="domain.incident:ReferenceBook.Opened")
    def __init__(self, year_be: int, actor: Actor, occurred_at: datetime):
        self.year_be = year_be
        self.last_number = 0

    @property
    def next_reference(self) -> str:
        """The reference `issue` gives next."""
        return self.format(self.year_be, self.last_number + 1)

    def issue(self, actor: Actor, occurred_at: datetime) -> str:
        self._issued(number=self.last_number + 1, actor=actor, occurred_at=occurred_at)
        return self.format(self.year_be, self.last_number)

    @event("ReferenceIssued", topic="domain.incident:ReferenceBook.ReferenceIssued")
    def _issued(self, number: int, actor: Actor, occurred_at: datetime) -> None:
        self.last_number = number

    @staticmethod
    def format(year_be: int, number: int) -> str:
        return f"CR-{year_be}-{number:06d}"

    @staticmethod
    def year_for(instant: datetime) -> int:
        return be_year(instant)


class IntakeKey(ZoneAggregate):
    """Remembers which incident an idempotency key created, so a retried intake returns it."""

    TOPIC = "domain.incident:IntakeKey"

    class Created(ZoneAggregate.Created):
        TOPIC = "domain.incident:IntakeKey.Created"

    id: UUID

    @staticmethod
    def id_for(key: str) -> UUID:
        return uuid5(NAMESPACE, f"intake-key/{key}")

    @classmethod
    def claim(
        cls, key: str, incident_id: UUID, actor: Actor, occurred_at: datetime, fingerprint: str = ""
    ) -> IntakeKey:
        return cls(
            id=cls.id_for(key), incident_id=incident_id, actor=actor, occurred_at=occurred_at, fingerprint=fingerprint
        )

    @event("Claimed", topic="domain.incident:IntakeKey.Claimed")
    def __init__(self, incident_id: UUID, actor: Actor, occurred_at: datetime, fingerprint: str):
        self.incident_id = incident_id
        # A digest of the report the key first came with (not of the reporter's contact): a retry must match it.
        self.fingerprint = fingerprint

    def same_report(self, fingerprint: str) -> bool:
        """A key claimed before fingerprints were recorded matches any report, as it always did."""
        return not self.fingerprint or self.fingerprint == fingerprint


# Schema history of IntakeKey.Claimed: version 1 had no fingerprint of the report.
def _claimed_v1_to_v2(state: dict) -> None:
    state["fingerprint"] = ""


IntakeKey.Claimed.class_version = 2
IntakeKey.Claimed.upcast_v1_v2 = staticmethod(_claimed_v1_to_v2)
