"""Read models of reporters' personal data, and their queries: which reporter's key seals each incident's contact
(the PDPA matching by phone and the retention period), every recorded reading of contacts (the auditors'
/audit/personal-data), and the erasure requests. None holds a name or a phone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic
from sqlalchemy import Engine, and_, func, or_, select

from application.ports import SealedIncident
from domain.incident import Incident
from domain.personal_data import ContactRead, ErasureRequest, ErasureStatus
from infrastructure.readmodels.base import JsonProjection, changing
from infrastructure.readmodels.rows import RowSet, aware
from infrastructure.readmodels.stored import Record, instant, plain, uuid_of
from infrastructure.tables import pd_contact_index, pd_contact_reads, pd_erasure_requests


def _actor(s: dict[str, Any]) -> tuple[UUID, str]:
    actor = plain(s["actor"])
    return uuid_of(actor["user_id"]), plain(actor["role"])


class ContactIndexProjection(JsonProjection):
    name = "pd_contact_index"
    table = pd_contact_index

    def __init__(self) -> None:
        def reported(r: Record, s: dict[str, Any], rows: RowSet) -> None:
            contact = s.get("contact")
            if contact is None:
                return
            rows.put(
                {
                    "incident_id": r.originator_id,
                    "reference": s["reference"],
                    "key_id": plain(contact)["key_id"],
                    "reported_at": instant(s["occurred_at"]),
                    "closed_at": None,
                }
            )

        def closing(closed: bool):  # noqa: ANN202
            def handle(r: Record, s: dict[str, Any], rows: RowSet) -> None:
                row = rows.get(r.originator_id)
                if row is not None:  # an incident whose report left no contact has no row
                    row["closed_at"] = instant(s["occurred_at"]) if closed else None
                    rows.put(row)

            return handle

        on = get_topic
        self.handlers = {
            on(Incident.Reported): reported,
            on(Incident.Closed): closing(True),
            on(Incident.Cancelled): closing(True),
            on(Incident.Reopened): closing(False),
        }
        super().__init__()


class ContactReadsProjection(JsonProjection):
    name = "pd_contact_reads"
    table = pd_contact_reads

    def __init__(self) -> None:
        def recorded(r: Record, s: dict[str, Any], rows: RowSet) -> None:
            reader, role = _actor(s)
            rows.put(
                {
                    "id": r.originator_id,
                    "kind": plain(s["kind"]),
                    "purpose": plain(s["purpose"]),
                    "reason": s["reason"],
                    "incident_refs": " ".join(s["references"]),
                    "source": s["source"],
                    "outcome": plain(s["outcome"]),
                    "reader_id": reader,
                    "reader_role": role,
                    "occurred_at": instant(s["occurred_at"]),
                    "recorded_at": instant(s["timestamp"]),
                }
            )

        self.handlers = {get_topic(ContactRead.Recorded): recorded}
        super().__init__()


class ErasureRequestsProjection(JsonProjection):
    name = "pd_erasures"
    table = pd_erasure_requests

    def __init__(self) -> None:
        def received(r: Record, s: dict[str, Any], rows: RowSet) -> None:
            by, _ = _actor(s)
            rows.put(
                {
                    "id": r.originator_id,
                    "request_reference": s["request_reference"],
                    "requester": plain(s["requester"]),
                    "channel": plain(s["channel"]),
                    "legal_basis": plain(s["legal_basis"]),
                    "basis_text": s["basis_text"],
                    "incident_refs": " ".join(s["references"]),
                    "key_count": len(s["key_ids"]),
                    "status": ErasureStatus.RECEIVED.value,
                    "received_at": instant(s["occurred_at"]),
                    "received_by": by,
                    "decided_at": None,
                    "decided_by": None,
                    "decision_reason": None,
                    "erased_at": None,
                    "keys_destroyed": None,
                    "version": r.originator_version,
                }
            )

        def decided(status: ErasureStatus):  # noqa: ANN202
            def change(s: dict[str, Any], row: dict[str, Any]) -> None:
                row.update(
                    status=status.value,
                    decided_at=instant(s["occurred_at"]),
                    decided_by=_actor(s)[0],
                    decision_reason=s.get("reason") or None,
                )

            return changing(change)

        def erased(s: dict[str, Any], row: dict[str, Any]) -> None:
            refs = set(row["incident_refs"].split()) | set(s["references"])
            row.update(
                status=ErasureStatus.ERASED.value,
                erased_at=instant(s["occurred_at"]),
                keys_destroyed=s["keys_destroyed"],
                incident_refs=" ".join(sorted(refs)),
            )

        on = get_topic
        self.handlers = {
            on(ErasureRequest.Received): received,
            on(ErasureRequest.Refused): decided(ErasureStatus.REFUSED),
            on(ErasureRequest.Approved): decided(ErasureStatus.APPROVED),
            on(ErasureRequest.Erased): changing(erased),
        }
        super().__init__()


def personal_data_projections() -> list[JsonProjection]:
    return [ContactIndexProjection(), ContactReadsProjection(), ErasureRequestsProjection()]


# --- queries ---------------------------------------------------------------------------------------------------
class SqlContactIndex:
    """The application's `ContactIndex` port, over pd_contact_index."""

    def __init__(self, engine: Engine):
        self.engine = engine

    @staticmethod
    def _sealed(row: Any) -> SealedIncident:
        return SealedIncident(row.incident_id, row.reference, row.key_id, aware(row.reported_at), aware(row.closed_at))

    def incidents_for_keys(self, key_ids: list[str]) -> list[SealedIncident]:
        if not key_ids:
            return []
        t = pd_contact_index
        with self.engine.connect() as conn:
            rows = conn.execute(select(t).where(t.c.key_id.in_(sorted(set(key_ids)))).order_by(t.c.reported_at)).all()
        return [self._sealed(r) for r in rows]

    def incident(self, reference: str) -> SealedIncident | None:
        t = pd_contact_index
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.reference == reference)).first()
        return self._sealed(row) if row is not None else None

    def keys_closed_before(self, cutoff: datetime) -> list[str]:
        t = pd_contact_index
        query = (
            select(t.c.key_id)
            .group_by(t.c.key_id)
            .having(and_(func.count(t.c.closed_at) == func.count(), func.max(t.c.closed_at) < cutoff))
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())


@dataclass(frozen=True)
class ReadFilter:
    reader_id: UUID | None = None
    reference: str = ""
    purpose: str = ""
    since: datetime | None = None
    until: datetime | None = None


class PersonalDataReads:
    """What the auditors' and administrators' pages read: the recorded readings and the erasure requests."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def contact_reads(self, where: ReadFilter, *, limit: int = 200, offset: int = 0) -> tuple[list[dict], int]:
        t = pd_contact_reads
        conditions = []
        if where.reader_id is not None:
            conditions.append(t.c.reader_id == where.reader_id)
        if where.reference:
            ref = where.reference.upper()
            conditions.append(
                or_(
                    t.c.incident_refs == ref,
                    t.c.incident_refs.like(f"{ref} %"),
                    t.c.incident_refs.like(f"% {ref}"),
                    t.c.incident_refs.like(f"% {ref} %"),
                )
            )
        if where.purpose:
            conditions.append(t.c.purpose == where.purpose)
        if where.since is not None:
            conditions.append(t.c.occurred_at >= where.since)
        if where.until is not None:
            conditions.append(t.c.occurred_at < where.until)
        query = select(t).where(*conditions)
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
            rows = conn.execute(query.order_by(t.c.occurred_at.desc(), t.c.id).limit(limit).offset(offset)).mappings()
            return [self._read(r) for r in rows], total

    @staticmethod
    def _read(row: Any) -> dict[str, Any]:
        found = {k: aware(v) for k, v in row.items()}
        found["references"] = found.pop("incident_refs").split()
        return found

    def erasure_requests(self, *, limit: int = 200) -> list[dict[str, Any]]:
        t = pd_erasure_requests
        with self.engine.connect() as conn:
            rows = conn.execute(select(t).order_by(t.c.received_at.desc()).limit(limit)).mappings()
            return [self._request(r) for r in rows]

    def erasure_request(self, request_id: UUID) -> dict[str, Any] | None:
        t = pd_erasure_requests
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.id == request_id)).mappings().first()
        return self._request(row) if row is not None else None

    @staticmethod
    def _request(row: Any) -> dict[str, Any]:
        found = {k: aware(v) for k, v in row.items()}
        found["references"] = found.pop("incident_refs").split()
        return found
