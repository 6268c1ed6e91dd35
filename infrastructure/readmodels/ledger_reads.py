"""What the ledger answers (LedgerReads): its checkpoints, roots, inclusion and consistency proofs, leaves, and a
witness's checkpoint checked against it; plain data, read from the tables the ledger projection writes
(infrastructure/readmodels/ledger.py)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import (
    Connection,
    Engine,
    SmallInteger,
    and_,
    bindparam,
    column,
    func,
    literal,
    null,
    select,
    table,
    tuple_,
)

from domain import ledger
from infrastructure.checkpoints import Checkpoint, NoteError, Verifier, open_note
from infrastructure.readmodels.ledger import checkpoints, computed, event_rows, leaves, nodes, tree_size
from infrastructure.readmodels.rows import aware


class LedgerReads:
    """What the ledger answers: checkpoints, roots, proofs, leaves; plain data."""

    def __init__(self, engine: Engine, events_table: str):
        self.engine = engine
        self.events_table = events_table
        self._nid = "notification_id" if engine.dialect.name == "postgresql" else "rowid"
        self._events = table(
            events_table,
            *(column(name) for name in (self._nid, "originator_id", "originator_version", "topic", "state")),
        )
        stored = self._events
        # A proof's one read, made once (not built and keyed anew for every request): the leaf at `position` with
        # its event joined to it (the others' event columns null), the path's leaves, and the path's subtrees.
        self._path_and_event = (
            select(
                literal(0, SmallInteger),
                leaves.c.position,
                leaves.c.hash,
                leaves.c.notification_id,
                stored.c.originator_id,
                stored.c.originator_version,
                stored.c.topic,
                stored.c.state,
            )
            .select_from(
                leaves.outerjoin(
                    stored,
                    and_(leaves.c.position == bindparam("position"), stored.c[self._nid] == leaves.c.notification_id),
                )
            )
            .where(leaves.c.position.in_(bindparam("positions", expanding=True)))
            .union_all(
                select(nodes.c.level, nodes.c.position, nodes.c.hash, *[null()] * 5).where(
                    tuple_(nodes.c.level, nodes.c.position).in_(bindparam("subtrees", expanding=True))
                )
            )
        )

    def size(self) -> int:
        with self.engine.connect() as conn:
            return tree_size(conn)[0]

    def latest_checkpoint(self) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(checkpoints).order_by(checkpoints.c.tree_size.desc()).limit(1)).mappings().first()
        return _aware(row) if row else None

    def checkpoints(self, since: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    select(checkpoints)
                    .where(checkpoints.c.tree_size >= since)
                    .order_by(checkpoints.c.tree_size)
                    .limit(limit)
                )
                .mappings()
                .all()
            )
        return [_aware(row) for row in rows]

    def root(self, size: int) -> bytes:
        with self.engine.connect() as conn:
            self._check_size(conn, size)
            return computed(conn, lambda perfect: ledger.mth(0, size, perfect))

    def inclusion(self, position: int, size: int) -> dict[str, Any]:
        """The audit path of leaf `position` in the tree of `size` leaves (see `proof`)."""
        return self.proof(position=position, size=size)

    def proof(
        self, *, position: int | None = None, notification_id: int | None = None, size: int | None = None
    ) -> dict[str, Any]:
        """An event's inclusion proof and what an answer shows with it (its leaf hash, notification id and canonical
        bytes), against the tree of `size` leaves or, by default, the latest checkpoint's; the event by its place in
        the tree or by its notification id. Read on one connection without a transaction (every row it reads is
        immutable once written), in two statements at most: the latest checkpoint's size and the event's place
        when they are not given; the leaf, the audit path's subtrees and the event (joined to its own leaf).
        Raises NotInLedger (no checkpoint yet, an event the ledger does not hold) or ValueError (a place or a size
        outside the tree), saying which."""
        with self._reading() as conn:
            if size is None or position is None:
                asked = []
                if size is None:
                    asked.append(select(func.max(checkpoints.c.tree_size)).scalar_subquery())
                if position is None:
                    asked.append(
                        select(leaves.c.position).where(leaves.c.notification_id == notification_id).scalar_subquery()
                    )
                answers = list(conn.execute(select(*asked)).one())
                if size is None:
                    size = answers.pop(0)
                    if size is None:
                        raise NotInLedger("The ledger has not signed a checkpoint yet.")
                if position is None:
                    position = answers.pop(0)
                    if position is None:
                        raise NotInLedger(f"Notification {notification_id} is not in the ledger (yet).")
            if not 0 <= position < size:
                raise ValueError(f"position {position} is not in a tree of {size} leaves")
            wanted = ledger.nodes_needed(lambda perfect: ledger.inclusion_path(position, size, perfect))
            found, leaf, event = {}, None, None
            for level, index, digest, nid, oid, version, topic, state in conn.execute(
                self._path_and_event,
                {
                    "position": position,
                    "positions": [position, *(index for level, index in wanted if level == 0)],
                    "subtrees": [n for n in wanted if n[0] > 0] or [(-1, -1)],
                },
            ):
                found[(level, index)] = digest
                if level == 0 and index == position:
                    leaf = (nid, digest)
                    if oid is not None:
                        event = (nid, oid if isinstance(oid, UUID) else UUID(oid), version, topic, bytes(state))
            if leaf is None or any(node not in found for node in wanted):  # (a tree larger than the ledger's)
                raise ValueError(f"tree size {size} is not between 0 and the ledger's {tree_size(conn)[0]}")
            path = ledger.inclusion_path(position, size, lambda level, index: found[(level, index)])
        return {
            "position": position,
            "tree_size": size,
            "notification_id": leaf[0],
            "leaf_hash": leaf[1],
            "path": path,
            "leaf_entry": ledger.leaf_entry(*event) if event else None,
        }

    def witness(self, note: str, verifier: Verifier) -> dict[str, Any]:
        """A checkpoint kept elsewhere (a witness's copy, e.g. from a partner report) checked against the ledger: its
        signature by `verifier` and its form (NoteError saying which, when either is wrong: nothing to compare then),
        then whether the ledger's tree of its size has its root, and a consistency proof from its size to the latest
        checkpoint's, so that the witness can check that the log it saw was only added to."""
        checkpoint = Checkpoint.parse(open_note(note, verifier))
        if checkpoint.origin != verifier.name:
            raise NoteError(f"the checkpoint is of the log {checkpoint.origin!r}, not {verifier.name!r}")
        latest = self.latest_checkpoint()
        answer: dict[str, Any] = {"tree_size": checkpoint.size, "latest": latest, "proof": []}
        with self._reading() as conn:
            held = tree_size(conn)[0]
            if checkpoint.size > held:
                return answer | {
                    "consistent": False,
                    "detail": f"It was signed for {checkpoint.size} events; the ledger holds {held}: the log lost events.",
                }
            root = computed(conn, lambda perfect: ledger.mth(0, checkpoint.size, perfect))
            if root != checkpoint.root:
                return answer | {
                    "consistent": False,
                    "detail": f"The ledger's tree of {checkpoint.size} events has another root: events before it changed.",
                }
            if latest is not None and latest["tree_size"] >= checkpoint.size:
                answer["proof"] = computed(
                    conn, lambda perfect: ledger.consistency_proof(checkpoint.size, latest["tree_size"], perfect)
                )
        return answer | {"consistent": True, "detail": f"The ledger's tree of {checkpoint.size} events has its root."}

    def _reading(self) -> Connection:
        """A connection for reads of rows that never change: no transaction (none begun, none rolled back)."""
        return self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def position_of(self, notification_id: int) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(select(leaves.c.position).where(leaves.c.notification_id == notification_id)).scalar()

    def consistency(self, first: int, second: int) -> list[bytes]:
        with self.engine.connect() as conn:
            self._check_size(conn, second)
            if not 0 <= first <= second:
                raise ValueError(f"first ({first}) must be between 0 and second ({second})")
            return computed(conn, lambda perfect: ledger.consistency_proof(first, second, perfect))

    def leaf_entry(self, position: int) -> bytes | None:
        """The canonical bytes of the event at a leaf position, made from the event table."""
        with self.engine.connect() as conn:
            nid = conn.execute(select(leaves.c.notification_id).where(leaves.c.position == position)).scalar()
            if nid is None:
                return None
            rows = event_rows(conn, self.events_table, nid - 1, nid, 1)
        return ledger.leaf_entry(*rows[0]) if rows else None

    @staticmethod
    def _check_size(conn: Connection, size: int) -> None:
        held = tree_size(conn)[0]
        if not 0 <= size <= held:
            raise ValueError(f"tree size {size} is not between 0 and the ledger's {held}")


class NotInLedger(LookupError):
    """Nothing to answer with: no checkpoint yet, or an event the ledger does not hold."""


def _aware(row: Any) -> dict[str, Any]:
    return {key: aware(value) for key, value in row.items()}
