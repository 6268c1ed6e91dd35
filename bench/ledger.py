"""The tamper-evident log on PostgreSQL over a synthetic log of SSZ_BENCH_LEDGER_EVENTS events (1,000,000; states of
400-600 bytes, as the zone's are, written straight into the event table): the ledger's rebuild from the whole log,
the independent verifier (tools/verify_ledger.py) reading and recomputing it all, and an inclusion proof for a random
event against the whole tree, in-process; then, on a second log of the same size, the proof over HTTP and the intake's
cost with the ledger following live (bench/ledger_http.py)."""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("SSZ_LOG_LEVEL", "WARNING")

import psycopg  # noqa: E402

from bench import http, ledger_http  # noqa: E402
from bench._common import fresh_dir, fresh_postgres, metric  # noqa: E402
from domain import ledger  # noqa: E402
from entrypoints.ledger_cli import verifier_module  # noqa: E402
from infrastructure.bootstrap import migrate  # noqa: E402
from infrastructure.checkpoints import Signer  # noqa: E402
from infrastructure.db import make_engine  # noqa: E402
from infrastructure.readmodels.ledger import LedgerProjection, take_checkpoint  # noqa: E402
from infrastructure.readmodels.ledger_reads import LedgerReads  # noqa: E402
from infrastructure.settings import Settings  # noqa: E402

EVENTS = int(os.environ.get("SSZ_BENCH_LEDGER_EVENTS", "1000000"))
PROOFS = 2000


def fill(url: str) -> None:
    rng = random.Random(2569)
    aggregates = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(EVENTS // 8)]
    versions: dict[uuid.UUID, int] = {}
    filler = bytes(rng.getrandbits(8) for _ in range(1024)).hex().encode()
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        with cursor.copy("COPY ssz_events (originator_id, originator_version, topic, state) FROM STDIN") as copy:
            for n in range(EVENTS):
                oid = aggregates[rng.randrange(len(aggregates))]
                versions[oid] = versions.get(oid, 0) + 1
                size = rng.randrange(400, 600)
                copy.write_row(
                    (
                        oid,
                        versions[oid],
                        "domain.incident:Incident.Triaged",
                        b'{"n":' + str(n).encode() + b',"pad":"' + filler[:size] + b'"}',
                    )
                )
        conn.commit()


def load_average() -> None:
    print(f"# load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)


def main() -> None:
    with fresh_postgres() as url, fresh_dir() as data:
        settings = Settings(environment="test", data_dir=data, database_url=url)
        migrate(settings)
        fill(url)
        engine = make_engine(settings)
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO projection_positions (name, position, updated_at) VALUES ('ledger', 0, now())"
            )
        projection = LedgerProjection("ssz_events", Signer.generate())
        started = time.perf_counter()
        projection.rebuild(engine, EVENTS)
        metric("ledger.rebuild_events_per_s.postgres", EVENTS / (time.perf_counter() - started))
        take_checkpoint(engine, projection)

        reads = LedgerReads(engine, "ssz_events")
        rng = random.Random(7)
        times = []
        for _ in range(PROOFS):
            position = rng.randrange(EVENTS)
            started = time.perf_counter()
            proof = reads.inclusion(position, EVENTS)
            times.append(time.perf_counter() - started)
        root = reads.root(EVENTS)
        assert ledger.verify_inclusion(position, EVENTS, proof["leaf_hash"], proof["path"], root)
        times.sort()
        metric("ledger.inclusion_proof_inprocess_p50_ms", statistics.median(times) * 1000)
        metric("ledger.inclusion_proof_inprocess_p95_ms", times[int(len(times) * 0.95)] * 1000)

        verify = verifier_module()
        load_average()
        started = time.perf_counter()
        report = verify.verify(verify.Store(url, None), verify.Key.parse(str(projection.signer.verifier)))
        elapsed = time.perf_counter() - started
        assert not report.findings, report.findings
        metric("ledger.verify_events_per_s.postgres", EVENTS / elapsed)
        load_average()
        engine.dispose()

    with fresh_postgres() as url, fresh_dir() as data:  # the keys made first: the synthetic events are not the app's
        settings = Settings(environment="test", data_dir=data, database_url=url)
        migrate(settings)
        keys = (http.prepare_intake(url, data), ledger_http.read_key(url, data))
        fill(url)
        ledger_http.measure_over_http(url, data, EVENTS, keys)


if __name__ == "__main__":
    main()
