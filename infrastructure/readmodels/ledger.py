"""The ledger read model: the RFC 9162 tree over every stored event, in notification order (domain/ledger.py),
kept in tables of its own, and its signed checkpoints.

`ledger_leaves` holds each event's leaf hash by its place in the tree (places have no gaps; notification ids
may), `ledger_nodes` every perfect subtree above them (about one per leaf): any root and any proof is then
O(log n) rows. The projection appends a page's leaves through a frontier of the tree's right edge, exactly once
like the other projections (the rows commit with its position), and signs a checkpoint when enough events or
time have passed. A rebuild replays the whole log in order itself (the runner replays halves of the aggregates
in two processes, which a tree cannot be built from). Checkpoints are never deleted, by a rebuild either: they
are the record of what the log was. What the ledger answers from these tables: ledger_reads.py."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Engine,
    Index,
    LargeBinary,
    SmallInteger,
    Table,
    Text,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from domain import ledger
from infrastructure.checkpoints import (
    Checkpoint,
    LedgerSettings,
    Signer,
    configured_signer,
)
from infrastructure.readmodels.base import Projection
from infrastructure.readmodels.rows import aware, column_types, driver, insert_values
from infrastructure.readmodels.stored import Page
from infrastructure.readmodels.tables import projection_positions
from infrastructure.settings import Settings
from infrastructure.tables import metadata

TS = DateTime(timezone=True)

leaves = Table(
    "ledger_leaves",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),  # the leaf's index in the tree, from 0
    Column("notification_id", BigInteger, nullable=False),
    Column("hash", LargeBinary, nullable=False),  # SHA-256(0x00 || leaf entry)
    Index("ix_ledger_leaves_notification", "notification_id", unique=True),
)

nodes = Table(
    "ledger_nodes",
    metadata,
    Column("level", SmallInteger, primary_key=True, autoincrement=False),  # ≥ 1: the subtree of 2^level leaves
    Column("position", BigInteger, primary_key=True, autoincrement=False),  # starting at leaf position * 2^level
    Column("hash", LargeBinary, nullable=False),
)

checkpoints = Table(
    "ledger_checkpoints",
    metadata,
    Column("tree_size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", LargeBinary, nullable=False),
    Column("note", Text, nullable=False),  # the signed note, exactly as signed
    Column("signed_at", TS, nullable=False),
)


def event_rows(
    conn: Connection, events_table: str, after: int, stop: int, limit: int
) -> list[tuple[int, UUID, int, str, bytes]]:
    """Stored events after notification id `after` up to `stop`, in order, as (notification id, originator id,
    originator version, topic, state as stored)."""
    notification = "notification_id" if conn.dialect.name == "postgresql" else "rowid"
    rows = conn.exec_driver_sql(
        f"SELECT {notification}, originator_id, originator_version, topic, state FROM {events_table} "
        f"WHERE {notification} > %(after)s AND {notification} <= %(stop)s ORDER BY {notification} LIMIT %(limit)s"
        if conn.dialect.name == "postgresql"
        else f"SELECT {notification}, originator_id, originator_version, topic, state FROM {events_table} "
        f"WHERE {notification} > :after AND {notification} <= :stop ORDER BY {notification} LIMIT :limit",
        {"after": after, "stop": stop, "limit": limit},
    ).all()
    return [
        (nid, oid if isinstance(oid, UUID) else UUID(oid), version, topic, bytes(state))
        for nid, oid, version, topic, state in rows
    ]


def whole_log(conn: Connection, events_table: str, stop: int, batch: int) -> Iterator[list[tuple]]:
    """The log up to `stop` in order, in batches of (notification id, originator id's 16 bytes, version, topic, state):
    on PostgreSQL through a server-side cursor in binary on the connection (rows made in C; the id as its bytes)."""
    if conn.dialect.name != "postgresql":
        after = 0
        while rows := event_rows(conn, events_table, after, stop, batch):
            yield rows
            after = rows[-1][0]
        return
    with driver(conn).cursor(name="ledger_rebuild", binary=True) as cursor:
        cursor.execute(
            f"SELECT notification_id, uuid_send(originator_id), originator_version, topic, state FROM {events_table} "
            f"WHERE notification_id <= %s ORDER BY notification_id",
            (stop,),
        )
        while rows := cursor.fetchmany(batch):
            yield rows


def stored_nodes(conn: Connection, wanted: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """The stored perfect subtrees asked for (level 0: leaves), by (level, index)."""
    wanted = list(dict.fromkeys(wanted))
    found: dict[tuple[int, int], bytes] = {}
    leaf_places = [index for level, index in wanted if level == 0]
    inner = [(level, index) for level, index in wanted if level > 0]
    if leaf_places:
        found.update(
            ((0, p), h)
            for p, h in conn.execute(
                select(leaves.c.position, leaves.c.hash).where(leaves.c.position.in_(leaf_places))
            ).all()
        )
    if inner:
        found.update(
            ((lv, p), h)
            for lv, p, h in conn.execute(
                select(nodes.c.level, nodes.c.position, nodes.c.hash).where(
                    tuple_(nodes.c.level, nodes.c.position).in_(inner)
                )
            ).all()
        )
    return found


def computed(conn: Connection, compute: Callable[[ledger.Perfect], Any]) -> Any:
    """Runs a computation over the tree's perfect subtrees (a root, a proof) with the rows it needs, read in one go."""
    found = stored_nodes(conn, ledger.nodes_needed(compute))
    return compute(lambda level, index: found[(level, index)])


def tree_size(conn: Connection) -> tuple[int, int]:
    """How many leaves the ledger holds, and the notification id of the last (0 when none)."""
    last = conn.execute(
        select(leaves.c.position, leaves.c.notification_id).order_by(leaves.c.position.desc()).limit(1)
    ).first()
    return (0, 0) if last is None else (last[0] + 1, last[1])


class LedgerProjection(Projection):
    name = "ledger"
    table = leaves
    handlers: dict[Any, Any] = {}

    def __init__(
        self,
        events_table: str = "stored_events",
        signer: Signer | None = None,
        *,
        checkpoint_every_events: int = 1000,
        checkpoint_every_seconds: float = 60.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        super().__init__()
        self.events_table = events_table
        self.signer = signer
        self.every_events = checkpoint_every_events
        self.every_seconds = checkpoint_every_seconds
        self.clock = clock
        self.frontier: ledger.Frontier | None = None
        self._types: dict[str, dict[str, int]] = {}
        self.latest: tuple[int, datetime] | None = None  # the latest checkpoint's size and signing time, as last seen

    @property
    def tables(self) -> list[Table]:
        return [leaves, nodes]

    @property
    def topics(self) -> list[str]:
        return []  # every event

    def _frontier(self, conn: Connection, size: int) -> ledger.Frontier:
        if self.frontier is None or self.frontier.size != size:  # first page, or a page that did not commit
            edge = ledger.frontier_nodes(size)
            found = stored_nodes(conn, edge)
            self.frontier = ledger.Frontier(size, [found[node] for node in edge])
        return self.frontier

    def apply_page(self, conn: Connection, page: Page) -> None:
        size, last = tree_size(conn)
        records = [r for r in page if r.id > last]
        if not records:
            return
        frontier = self._frontier(conn, size)
        leaf_rows, node_rows = self._append(
            frontier, ((r.id, r.originator_id, r.originator_version, r.topic, r.stored) for r in records)
        )
        self._write_page(conn, leaf_rows, node_rows)
        if self.signer is not None and self._checkpoint_due(conn, frontier.size):
            self.sign(conn, frontier.size, frontier.root())

    def _write_page(self, conn: Connection, leaf_rows: list[tuple], node_rows: list[tuple]) -> None:
        """A page's leaves and new nodes. On PostgreSQL in one statement (each column as an array): following the log
        live, a page is a few events, and two COPYs would cost four round trips to the server for a few rows."""
        if conn.dialect.name != "postgresql":
            self._insert(conn, leaves, leaf_rows)
            self._insert(conn, nodes, node_rows)
            return
        conn.exec_driver_sql(
            "WITH written AS (INSERT INTO ledger_leaves (position, notification_id, hash) "
            "SELECT * FROM unnest(%(positions)s::bigint[], %(nids)s::bigint[], %(leaves)s::bytea[])) "
            "INSERT INTO ledger_nodes (level, position, hash) "
            "SELECT * FROM unnest(%(levels)s::smallint[], %(indices)s::bigint[], %(nodes)s::bytea[])",
            {
                "positions": [row[0] for row in leaf_rows],
                "nids": [row[1] for row in leaf_rows],
                "leaves": [row[2] for row in leaf_rows],
                "levels": [row[0] for row in node_rows],
                "indices": [row[1] for row in node_rows],
                "nodes": [row[2] for row in node_rows],
            },
        )

    def _insert(self, conn: Connection, table: Table, rows: list[tuple]) -> None:
        if conn.dialect.name == "postgresql" and table.name not in self._types:  # looked up once, not per page
            self._types[table.name] = column_types(conn, table.name)
        insert_values(conn, table, rows, types=self._types.get(table.name))

    @staticmethod
    def _append(
        frontier: ledger.Frontier, events: Iterable[tuple[int, UUID, int, str, bytes | str]]
    ) -> tuple[list, list]:
        leaf_rows, node_rows = [], []
        entry, leaf_hash, append = ledger.leaf_entry, ledger.leaf_hash, frontier.append
        for nid, oid, version, topic, state in events:
            leaf = leaf_hash(entry(nid, oid, version, topic, state if isinstance(state, bytes) else bytes(state)))
            leaf_rows.append((frontier.size, nid, leaf))
            node_rows.extend(append(leaf))
        return leaf_rows, node_rows

    def _latest(self, conn: Connection, *, fresh: bool = False) -> tuple[int, datetime] | None:
        """The size and signing time of the latest checkpoint: read from the database (whichever process signed it)
        on the first page and on every tick, otherwise as this process last saw or signed it (not a query a page)."""
        if fresh or self.latest is None:
            row = conn.execute(
                select(checkpoints.c.tree_size, checkpoints.c.signed_at)
                .order_by(checkpoints.c.tree_size.desc())
                .limit(1)
            ).first()
            self.latest = None if row is None else (row[0], aware(row[1]))
        return self.latest

    def _checkpoint_due(self, conn: Connection, size: int, *, fresh: bool = False) -> bool:
        latest = self._latest(conn, fresh=fresh)
        if latest is None:
            return size > 0
        last_size, signed_at = latest
        return size - last_size >= self.every_events or (
            size > last_size and (self.clock() - signed_at).total_seconds() >= self.every_seconds
        )

    def tick(self, engine: Engine) -> float | None:
        """What the ledger does on time rather than on events (the worker that owns the projections calls it after
        a catch-up when it is due, and whenever it wakes): signs the tree as it stands when anything was added
        since the latest checkpoint and `every_seconds` have passed since it was signed, so that the last events
        before a quiet spell are covered within that time. Returns how long until one could next be due."""
        if self.signer is None:
            return None
        with engine.begin() as conn:
            size, _ = tree_size(conn)
            if not self._checkpoint_due(conn, size, fresh=True):
                latest = self.latest
                waited = (self.clock() - latest[1]).total_seconds() if latest else 0.0
                return self.every_seconds - waited if self.every_seconds > waited else self.every_seconds
            self.sign(conn, size, computed(conn, lambda perfect: ledger.mth(0, size, perfect)))
            return self.every_seconds

    def sign(self, conn: Connection, size: int, root: bytes) -> str:
        """Signs and stores the checkpoint of the tree at `size` (in the caller's transaction); returns the note stored
        for that size. Several processes may sign the same size at once (two servers, a cron's `ssz ledger
        checkpoint`): the first stored is kept (the tree size is the key), the others store nothing."""
        assert self.signer is not None
        note = self.signer.sign(Checkpoint(self.signer.name, size, root).text())
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        conn.execute(
            dialect.insert(checkpoints)
            .values(tree_size=size, root=root, note=note, signed_at=self.clock())
            .on_conflict_do_nothing(index_elements=["tree_size"])
        )
        self.latest = (size, self.clock())
        return conn.execute(select(checkpoints.c.note).where(checkpoints.c.tree_size == size)).scalar_one()

    def routes(self) -> dict[str | None, Callable[[Any], None]]:
        return {}  # (a rebuild goes through `rebuild`)

    def write_all(self, conn: Connection) -> None:
        pass

    def reset(self, conn: Connection) -> None:
        super().reset(conn)
        self.frontier = None

    def rebuild(
        self, engine: Engine, head: int, progress: Callable[[int], None] | None = None, *, batch: int = 20_000
    ) -> None:
        """The tree made anew from the whole log up to `head`, in one transaction with the ledger's position."""
        with engine.begin() as conn:
            self.reset(conn)
            frontier = ledger.Frontier()
            for rows in whole_log(conn, self.events_table, head, batch):
                leaf_rows, node_rows = self._append(frontier, rows)
                self._insert(conn, leaves, leaf_rows)
                self._insert(conn, nodes, node_rows)
                if progress:
                    progress(len(rows))
            conn.execute(
                update(projection_positions)
                .where(projection_positions.c.name == self.name)
                .values(position=head, updated_at=datetime.now(UTC))
            )
            self.frontier = None


def take_checkpoint(engine: Engine, projection: LedgerProjection) -> str:
    """On demand: signs the tree as the ledger holds it now."""
    with engine.begin() as conn:
        size, _ = tree_size(conn)
        root = computed(conn, lambda perfect: ledger.mth(0, size, perfect))
        return projection.sign(conn, size, root)


def ledger_projection(settings: Settings, events_table: str) -> LedgerProjection:
    """The projection as the composition root makes it, with the signing key and intervals of the settings."""
    options = LedgerSettings()
    return LedgerProjection(
        events_table,
        configured_signer(settings, options),
        checkpoint_every_events=options.checkpoint_every_events,
        checkpoint_every_seconds=options.checkpoint_every_seconds,
    )
