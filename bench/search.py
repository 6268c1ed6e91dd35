"""The search box on a year of incidents (SSZ_BENCH_INCIDENTS, 20,000 by default: ~55 a day), on PostgreSQL and SQLite:

* search.<store>.<query>_ms — one page of results (25, with the total), median of 7 runs after a warm-up, for a Thai
  word inside a phrase (`กระชาก`), a partial reference (`123`), two Thai words and a month, and a rare word;
* search.postgres.<query>.vs_no_index — the same query on the same rows without the pg_trgm indexes of migration 0017
  (dropped, the table analysed again): its time ÷ the indexed time.

The rows are written straight into the read model (rm_incidents), as the projection writes them: what is measured is
the query, not the intake."""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]
os.environ.setdefault("SSZ_LOG_LEVEL", "WARNING")

from sqlalchemy import insert, text  # noqa: E402

from bench._common import fresh_dir, fresh_postgres, metric  # noqa: E402
from infrastructure.bootstrap import bootstrap  # noqa: E402
from infrastructure.readmodels import tables as t  # noqa: E402
from infrastructure.readmodels.queries import IncidentFilter  # noqa: E402
from infrastructure.settings import Settings  # noqa: E402

COUNT = int(os.environ.get("SSZ_BENCH_INCIDENTS", "20000"))
PLACES = ["ซอยพหลโยธิน", "ถนนบรรพปราการ", "ตลาดสดเทศบาล", "หอนาฬิกา", "ริมแม่น้ำกก", "หน้าวัดพระแก้ว", "ชุมชนเกาะลอย"]
WHAT = ["ทะเลาะวิวาทหน้าร้าน", "ขโมยรถจักรยานยนต์", "เสียงดังรบกวนยามวิกาล", "คนเมาสุราก่อความวุ่นวาย", "ลักทรัพย์ในบ้าน"]
RARE = "กระชากกระเป๋า"
END = datetime(2026, 12, 1, tzinfo=UTC)


def rows() -> list[dict]:
    rng = random.Random(2569)
    made = []
    for n in range(1, COUNT + 1):
        at = END - timedelta(seconds=rng.randrange(365 * 86400))
        made.append(
            {
                "id": uuid.uuid4(),
                "reference": f"CR-{2568 + (n > COUNT // 2)}-{n:06d}",
                "status": "closed",
                "priority": f"P{rng.randint(1, 4)}",
                "category": "theft",
                "community": "ko_loi",
                "channel": "phone_191",
                "location": f"{rng.choice(PLACES)} ซอย {rng.randint(1, 40)}",
                "description": rng.choice(WHAT) + (" " + RARE if rng.random() < 0.002 else ""),
                "has_contact": False,
                "units": "[]",
                "reopen_count": 0,
                "notes_count": 0,
                "reported_at": at,
                "recorded_at": at,
                "updated_at": at,
                "version": 1,
            }
        )
    return made


QUERIES = {
    "thai_word": IncidentFilter(text=("ขโมย",)),
    "reference": IncidentFilter(text=("123",)),
    "two_words_month": IncidentFilter(
        text=("ตลาด", "เมาสุรา"),
        reported_from=datetime(2026, 6, 1, tzinfo=UTC),
        reported_to=datetime(2026, 7, 1, tzinfo=UTC),
    ),
    "rare_word": IncidentFilter(text=(RARE,)),
}


def median_ms(reads, where: IncidentFilter) -> float:
    reads.search_incidents(where, page_size=25)
    times = []
    for _ in range(7):
        start = time.perf_counter()
        reads.search_incidents(where, page_size=25)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(store: str, settings: Settings) -> dict[str, float]:
    container = bootstrap(settings)
    try:
        with container.engine.begin() as conn:
            conn.execute(insert(t.incidents), rows())
            if store == "postgres":
                conn.execute(text("ANALYZE rm_incidents"))
        found = {name: median_ms(container.reads, where) for name, where in QUERIES.items()}
        for name, ms in found.items():
            metric(f"search.{store}.{name}_ms", ms)
        if store == "postgres":
            with container.engine.begin() as conn:
                conn.execute(text("DROP INDEX ix_rm_incidents_location_trgm, ix_rm_incidents_description_trgm"))
                conn.execute(text("ANALYZE rm_incidents"))
            for name, where in QUERIES.items():
                metric(f"search.postgres.{name}.vs_no_index", median_ms(container.reads, where) / found[name])
        return found
    finally:
        container.close()


def main() -> None:
    metric("search.incidents", COUNT)
    metric("search.load_1min", os.getloadavg()[0])
    with fresh_postgres() as url, fresh_dir() as d:
        measure("postgres", Settings(environment="test", data_dir=d, database_url=url, log_level="WARNING"))
    with fresh_dir() as d:
        measure("sqlite", Settings(environment="test", data_dir=d, log_level="WARNING"))


if __name__ == "__main__":
    main()
