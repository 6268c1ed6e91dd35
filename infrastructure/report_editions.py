"""What the published editions of the partner reports need from infrastructure: their files kept byte for byte and
content-addressed (as camera snapshots are: `root/ab/cdef…`, written atomically, never changed), the ledger's
checkpoint an edition cites, and the record of every download (`report_downloads`, an audit table)."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from application.kpi.edition import Citation
from domain import ledger
from infrastructure.files import write_once
from infrastructure.readmodels.ledger import LedgerProjection, checkpoints, computed, leaves, tree_size
from infrastructure.tables import report_downloads

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class DamagedFile(Exception):
    """A stored file whose bytes no longer hash to its name."""


class ReportFileStore:
    def __init__(self, root: Path | str):
        self.root = Path(root)

    def path(self, digest: str) -> Path:
        if not _DIGEST.match(digest):
            raise ValueError("A file's digest is the 64 lower-case hex digits of its SHA-256.")
        return self.root / digest[:2] / digest[2:]

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if not target.exists():
            write_once(target, data)
        return digest

    def open(self, digest: str) -> bytes:
        """The bytes published under `digest`: FileNotFoundError if missing, DamagedFile if they changed."""
        data = self.path(digest).read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            raise DamagedFile(digest)
        return data


def key_id_of(note: str) -> str:
    """The 8 hex digits of the key id in a signed note's (first) signature."""
    signature_line = note.rpartition("\n\n")[2].split("\n")[0]
    return base64.b64decode(signature_line.split(" ")[2])[:4].hex()


def _citation(row: Any) -> Citation:
    return Citation(int(row.tree_size), base64.b64encode(row.root).decode(), key_id_of(row.note))


def covering_checkpoint(engine: Engine, position: int) -> Citation | None:
    """The first signed checkpoint whose tree holds the event at `position` (and all before it): the same answer
    today and later, so a rebuilt edition cites the same checkpoint. None when none covers it yet."""
    with engine.connect() as conn:
        leaf = conn.execute(
            select(leaves.c.position)
            .where(leaves.c.notification_id <= position)
            .order_by(leaves.c.notification_id.desc())
            .limit(1)
        ).scalar()
        if leaf is None:
            return None
        row = conn.execute(
            select(checkpoints.c.tree_size, checkpoints.c.root, checkpoints.c.note)
            .where(checkpoints.c.tree_size > leaf)
            .order_by(checkpoints.c.tree_size)
            .limit(1)
        ).first()
    return _citation(row) if row else None


def cite(engine: Engine, projection: LedgerProjection, position: int) -> Citation | None:
    """The checkpoint to cite for `position`: the first covering it, or one signed now over the whole ledger when
    the ledger holds the position but no checkpoint covers it yet. None if the ledger has not reached it."""
    found = covering_checkpoint(engine, position)
    if found is not None:
        return found
    try:
        with engine.begin() as conn:
            size, last = tree_size(conn)
            if last < position:
                return None
            root = computed(conn, lambda perfect: ledger.mth(0, size, perfect))
            projection.sign(conn, size, root)
    except IntegrityError:  # another server signed the same tree at the same moment: its checkpoint is as good
        pass
    return covering_checkpoint(engine, position)


def record_download(
    engine: Engine,
    *,
    at: datetime,
    user_id: UUID,
    role: str,
    month: str,
    edition: int | None,
    position: int,
    file: str,
    digest: str,
    sector: str | None = None,
) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(report_downloads).values(
                at=at,
                user_id=user_id,
                role=role,
                month=month,
                edition=edition,
                position=position,
                file=file,
                digest=digest,
                sector=sector,
            )
        )


def downloads(engine: Engine, month: str | None = None) -> list[dict[str, Any]]:
    query = select(report_downloads).order_by(report_downloads.c.id)
    if month is not None:
        query = query.where(report_downloads.c.month == month)
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]
