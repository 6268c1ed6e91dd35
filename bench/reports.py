"""The KPI engine and the partner report on PostgreSQL over a demo history (SSZ_BENCH_EVENTS, 1M by default):

* report.month_ms — one month's edition (the last whole month of the history): every figure of KPIS.md for the month and the month before (month over
  month), for the zone, each community, priority and category, patrol coverage and camera alerts, read from the
  KPI marks as of the log's head (median of 7 runs after one warm-up);
* report.vs_replay — the same edition computed by replaying the log from its start instead: every notification
  up to the same position read and decoded into domain events, turned into the same marks in memory, and handed
  to the same engine code (so only the source differs: log replay vs read model; the read model's reader folds a
  month's incident and alert marks in PostgreSQL, the replay folds them in Python, as on SQLite); its time ÷ the
  engine's;
* report.pdf_ms — the month's whole partner report as a PDF (Thai, WeasyPrint), its trend of 12 months included
  (median of 3 runs after one warm-up).

The history is kept in the database `ssz_bench_reports` between runs; SSZ_BENCH_FRESH=1 writes it anew."""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/http.py would shadow the standard library's http (which the web layer's PDF rendering imports).
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]
os.environ.setdefault("SSZ_LOG_LEVEL", "WARNING")

import psycopg  # noqa: E402

from application.kpi.engine import KpiEngine  # noqa: E402
from application.kpi.marks import Mark, fold_visits  # noqa: E402
from application.kpi.period import Period  # noqa: E402
from bench._common import fresh_dir, history_url, metric  # noqa: E402
from domain.values import BANGKOK  # noqa: E402
from infrastructure.bootstrap import bootstrap  # noqa: E402
from infrastructure.readmodels.kpi_marks import MARKS  # noqa: E402
from infrastructure.readmodels.kpi_queries import SqlKpiMarks  # noqa: E402
from infrastructure.settings import Settings  # noqa: E402
from simulation import generate  # noqa: E402
from web import i18n  # noqa: E402
from web.report_files import Report, pdf_bytes  # noqa: E402

DB = "ssz_bench_reports"
TARGET_EVENTS = int(os.environ.get("SSZ_BENCH_EVENTS", "1000000"))


def ensure_history(settings: Settings) -> None:
    container = bootstrap(settings)
    try:
        if container.projections.head() < TARGET_EVENTS:
            months = TARGET_EVENTS // 20_000 + 1
            print(f"# writing a demo history of {months} months", flush=True)
            print(f"# {generate(container.settings, months=months, seed=2569, progress=False)}", flush=True)
        container.projections.catch_up()
    finally:
        container.close()
    # What autovacuum does after a bulk load (an insert-only table is vacuumed too), done now: without statistics,
    # the planner took a month's visits for one row and looked each one's flags up by a bitmap of every flag (20 s
    # instead of 0.2 s); without the visibility map, the covering indexes' index-only scans read the heap anyway.
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE kpi_marks")


class ReplayedMarks:
    """The engine's port answered from a replay of the log up to a position (no read model)."""

    def __init__(self, app, position: int):  # noqa: ANN001
        self.head = position
        self.marks: list[Mark] = []
        names = {cls: name for cls, (name, _) in MARKS.items()}
        start = 1
        while start <= position:
            page = app.recorder.select_notifications(start=start, limit=5000, stop=position)
            if not page:
                break
            for n in page:
                event = app.mapper.to_domain_event(n)
                name = names.get(type(event))
                if name is not None:
                    self.marks.append(self._mark(n.id, event, name))
            start = page[-1].id + 1

    @staticmethod
    def _mark(position: int, e, name: str) -> Mark:  # noqa: ANN001
        value = getattr(e, "outcome", None) or getattr(e, "cancel_reason", None) or getattr(e, "kind", None)
        parent = getattr(e, "box_id", None) or getattr(e, "camera_id", None)
        label = (
            getattr(e, "reference", None)
            or getattr(e, "box_code", None)
            or getattr(e, "camera_code", None)
            or getattr(e, "code", None)
        )
        plain = lambda v: getattr(v, "value", v)  # noqa: E731
        return Mark(
            position,
            e.originator_id,
            name,
            e.occurred_at,
            e.timestamp,
            plain(getattr(e, "community", None)),
            plain(getattr(e, "category", None)),
            plain(getattr(e, "priority", None)),
            plain(getattr(e, "channel", None)),
            plain(value),
            label if name != "alert_escalated" else None,
            parent if name in ("visit", "alert_raised") else None,
        )

    def position(self) -> int:
        return self.head

    def cut_off(self, position: int):  # noqa: ANN201
        return max(m.recorded_at for m in self.marks if m.position <= position)

    def first_occurred(self, position: int):  # noqa: ANN201
        return min(m.occurred_at for m in self.marks if m.position <= position)

    def _of(self, first: str, start, end, position: int) -> list[Mark]:  # noqa: ANN001
        subjects = {
            m.subject_id
            for m in self.marks
            if m.mark == first and start <= m.occurred_at < end and m.position <= position
        }
        return [m for m in self.marks if m.subject_id in subjects and m.position <= position]

    def incident_marks(self, start, end, position):  # noqa: ANN001, ANN201
        return self._of("reported", start, end, position)

    def visit_marks(self, start, end, position):  # noqa: ANN001, ANN201
        return self._of("visit", start, end, position)

    def alert_marks(self, start, end, position):  # noqa: ANN001, ANN201
        return self._of("alert_raised", start, end, position)

    def visits(self, start, end, position):  # noqa: ANN001, ANN201
        return fold_visits(self.visit_marks(start, end, position))

    def box_marks(self, position):  # noqa: ANN001, ANN201
        return [m for m in self.marks if m.mark in ("box_registered", "box_retired") and m.position <= position]


def timed(fn, runs: int) -> list[float]:  # noqa: ANN001
    fn()
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def main() -> None:
    url = history_url(DB)
    with fresh_dir() as tmp:
        settings = Settings(environment="test", data_dir=tmp, database_url=url)
        ensure_history(settings)
        container = bootstrap(settings)
        try:
            engine = KpiEngine(SqlKpiMarks(container.engine))
            position = engine.position()
            last = engine.marks.cut_off(position).astimezone(BANGKOK)
            month = Period.month(
                datetime(last.year, last.month, 1).strftime("%Y-%m")
            ).previous()  # the last whole month
            print(
                f"# history: {position:,} events; month {month.label}; load average {os.getloadavg()[0]:.1f} "
                f"on {os.cpu_count()} cores",
                flush=True,
            )
            edition = engine.edition(month, position=position)
            print(
                f"# the month: {edition.figures.incidents.reported:,} incidents, {edition.figures.patrol.counting:,} "
                f"counting visits, {sum(n for _, n in edition.figures.alerts.by_kind):,} alerts",
                flush=True,
            )
            engine_s = statistics.median(timed(lambda: engine.edition(month, position=position), 7))
            metric("report.month_ms", round(engine_s * 1000, 1))

            def replay() -> object:
                return KpiEngine(ReplayedMarks(container.app, position)).edition(month, position=position)

            replayed = replay()
            assert replayed.figures == edition.figures and replayed.previous == edition.previous, (
                "the replay gave other figures than the read models"
            )
            started = time.perf_counter()
            replay()
            replay_s = time.perf_counter() - started
            print(f"# replay from the start, same figures: {replay_s:.1f} s", flush=True)
            metric("report.vs_replay", round(replay_s / engine_s, 1))

            with i18n.use_locale("th"):
                report = Report(edition, engine.trend(month, position=position))
                pdf_s = statistics.median(timed(lambda: pdf_bytes(report), 3))
            print(f"# PDF: {len(pdf_bytes(report)):,} bytes (figures and trend computed beforehand)", flush=True)
            metric("report.pdf_ms", round(pdf_s * 1000, 1))
        finally:
            container.close()


if __name__ == "__main__":
    main()
