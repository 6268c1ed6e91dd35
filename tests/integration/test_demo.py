"""The demo-history generator, on real SQLite stores: the same seed writes the same event stream, another
seed another one, the history is plausible, and a re-run continues the history instead of failing."""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from argon2 import PasswordHasher

from domain.values import is_night
from infrastructure import credentials
from infrastructure.bootstrap import Container, bootstrap
from infrastructure.settings import Settings
from simulation import DEMO_PASSWORD, DemoSummary, generate

# A whole hour, two hours back: every run of this module agrees on it, and it is safely in the past.
UNTIL = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
SEED = 2569


@dataclass
class Recorded:
    originator_id: UUID
    version: int
    topic: str
    state: dict[str, Any]  # the decoded event's attributes, without the recording timestamp

    @property
    def name(self) -> str:
        return self.topic.rsplit(":", 1)[-1]  # e.g. "Incident.Reported"


@dataclass
class History:
    container: Container
    summary: DemoSummary
    events: list[Recorded]


def read_log(container: Container) -> list[Recorded]:
    app = container.app
    out: list[Recorded] = []
    start = 1
    while page := app.recorder.select_notifications(start=start, limit=5000):
        for notification in page:
            state = {k: v for k, v in app.mapper.to_domain_event(notification).__dict__.items() if k != "timestamp"}
            if state.get("contact") is not None:
                # Sealed with a fresh random nonce and key each run; what it seals is what must be equal.
                state["contact"] = app.vault.unseal(state["contact"])
            out.append(Recorded(notification.originator_id, notification.originator_version, notification.topic, state))
        start = page[-1].id + 1
    return out


def open_store(path: Path) -> Container:
    return bootstrap(Settings(environment="test", data_dir=path / "data", database_url=None, log_level="WARNING"))


@pytest.fixture(scope="module", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """The generator creates its 36 users with argon2; a cheap cost keeps the module fast (hashes stay verifiable)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(credentials, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
        yield


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str, int], History]]:
    """`history(name, seed)`: one month of demo history in a fresh store, made once per module and name."""
    made: dict[str, History] = {}

    def make(name: str, seed: int) -> History:
        if name not in made:
            container = open_store(tmp_path_factory.mktemp(name))
            summary = generate(container.settings, months=1, seed=seed, until=UNTIL, progress=False)
            made[name] = History(container, summary, read_log(container))
        return made[name]

    yield make
    for h in made.values():
        h.container.close()


def comparable(events: list[Recorded]) -> list[tuple[UUID, int, str, dict[str, Any]]]:
    return [(e.originator_id, e.version, e.topic, e.state) for e in events]


def test_the_same_seed_writes_the_same_event_stream(history: Callable[[str, int], History]) -> None:
    a, b = history("a", SEED), history("b", SEED)
    assert len(a.events) > 10_000
    assert len(a.events) == len(b.events)
    for i, (x, y) in enumerate(zip(comparable(a.events), comparable(b.events), strict=False)):
        assert x == y, f"notification {i + 1} differs"
    assert (a.summary.incidents, a.summary.visits, a.summary.alerts, a.summary.events) == (
        b.summary.incidents,
        b.summary.visits,
        b.summary.alerts,
        b.summary.events,
    )
    assert a.summary.events == len(a.events)


def test_another_seed_writes_another_history_over_the_same_reference_data(
    history: Callable[[str, int], History],
) -> None:
    a, c = history("a", SEED), history("c", 7)
    assert comparable(a.events) != comparable(c.events)
    registries = ("UserAccount.Created", "PatrolUnit.Registered", "RedBox.Registered", "Camera.Registered")

    def reference(events: list[Recorded]) -> list[tuple[UUID, str]]:
        return [(e.originator_id, e.name) for e in events if e.name in registries]

    assert reference(a.events) == reference(c.events)
    assert len(reference(a.events)) == 36 + 12 + 30 + 40


def test_the_history_is_plausible(history: Callable[[str, int], History]) -> None:
    h = history("a", SEED)
    events, app = h.events, h.container.app
    by_aggregate: dict[UUID, list[Recorded]] = defaultdict(list)
    for e in events:
        by_aggregate[e.originator_id].append(e)

    # Time: nothing after `until`, nothing out of order within an aggregate.
    start = UNTIL - timedelta(days=30)
    for e in events:
        assert start - timedelta(days=3) <= e.state["occurred_at"] <= UNTIL
    for aggregate_events in by_aggregate.values():
        times = [e.state["occurred_at"] for e in aggregate_events]
        assert times == sorted(times)
        assert [e.version for e in aggregate_events] == list(range(1, len(aggregate_events) + 1))

    # Incidents: a reference each, a plausible volume, mostly at night, mostly resolved and closed.
    reported = [e for e in events if e.name == "Incident.Reported"]
    references = [e.state["reference"] for e in reported]
    assert all(re.fullmatch(r"CR-25\d\d-\d{6}", r) for r in references)
    assert len(set(references)) == len(references) == h.summary.incidents
    assert 15 <= len(reported) / 30 <= 32
    night = sum(is_night(e.state["occurred_at"]) for e in reported) / len(reported)
    assert 0.45 <= night <= 0.8
    assert len({e.state["channel"] for e in reported}) == 7
    assert len({e.state["category"] for e in reported}) >= 12
    assert 10 <= sum(e.state["contact"] is not None for e in reported) <= 0.2 * len(reported)
    names = Counter(e.name for e in events)
    cancelled = names["Incident.Cancelled"]
    assert 0 < cancelled < 0.15 * len(reported)
    assert names["Incident.DuplicateLinked"] > 0 and names["Incident.Reopened"] > 0 and names["Incident.Triaged"] > 0
    resolved_ids = {e.originator_id for e in events if e.name == "Incident.Resolved"}
    closed_ids = {e.originator_id for e in events if e.name == "Incident.Closed"}
    assert len(resolved_ids) >= 0.85 * (len(reported) - cancelled)
    assert 0.7 <= len(closed_ids) / len(resolved_ids) <= 0.97
    arrests = sum(e.state["outcome"].value == "arrest" for e in events if e.name == "Incident.Resolved")
    assert 0.03 <= arrests / names["Incident.Resolved"] <= 0.25

    # Dispatch: a P1 call gets a unit within minutes, a P4 call waits longer.
    to_dispatch: dict[str, list[float]] = defaultdict(list)
    for report in reported:
        timeline = by_aggregate[report.originator_id]
        dispatched = [e for e in timeline if e.name == "Incident.UnitDispatched"]
        if dispatched and not any(e.name == "Incident.Triaged" for e in timeline):
            waited = dispatched[0].state["occurred_at"] - report.state["occurred_at"]
            to_dispatch[report.state["priority"].value].append(waited.total_seconds())
    assert 60 <= statistics.median(to_dispatch["P1"]) <= 4 * 60
    assert 8 * 60 <= statistics.median(to_dispatch["P4"]) <= 40 * 60
    assert names["Incident.UnitDispatched"] == names["PatrolUnit.Assigned"] + names["PatrolUnit.Reassigned"]
    assert names["PatrolUnit.WentOnDuty"] >= 30 * 3 * 5

    # Camera alerts: mostly false alarms, acknowledged within about a minute, some escalated.
    decided = names["CameraAlert.Dismissed"] + names["CameraAlert.Escalated"]
    assert 0.55 <= names["CameraAlert.Dismissed"] / decided <= 0.85
    acks = []
    for alert in (e for e in events if e.name == "CameraAlert.Raised"):
        acknowledged = [e for e in by_aggregate[alert.originator_id] if e.name == "CameraAlert.Acknowledged"]
        if acknowledged:
            acks.append((acknowledged[0].state["occurred_at"] - alert.state["occurred_at"]).total_seconds())
    assert 25 <= statistics.median(acks) <= 75
    escalated_from = {e.state["source_alert_id"] for e in reported if e.state["source_alert_id"]}
    assert len(escalated_from) == names["CameraAlert.Escalated"]

    # Patrol visits: about one per box per night slot; some flagged (some by the domain, far from the box), some voided.
    assert names["PatrolVisit.Logged"] == h.summary.visits
    assert 6 <= names["PatrolVisit.Logged"] / 30 / 30 <= 14
    flags = [e.state["reason"] for e in events if e.name == "PatrolVisit.Flagged"]
    assert any(re.match(r"scanned \d+ m from red box RB-\d\d", reason) for reason in flags)
    assert len(flags) < 0.05 * names["PatrolVisit.Logged"]
    assert 0 < names["PatrolVisit.Voided"] < 0.03 * names["PatrolVisit.Logged"]
    assert names["RedBox.TokenRotated"] > 0

    # The demo users can sign in.
    assert app.authenticate("dispatcher01", DEMO_PASSWORD) is not None
    assert app.authenticate("supervisor01", DEMO_PASSWORD) is not None


def test_a_rerun_continues_the_history(tmp_path: Path) -> None:
    container = open_store(tmp_path)
    try:
        first = generate(container.settings, months=1, seed=SEED, until=UNTIL, progress=False)
        again = generate(container.settings, months=1, seed=SEED, until=UNTIL + timedelta(hours=1), progress=False)
        events = read_log(container)
    finally:
        container.close()
    assert first.events > 10_000
    assert 0 < again.events < 500
    assert len(events) == first.events + again.events
    names = Counter(e.name for e in events)
    assert names["UserAccount.Created"] == 36 and names["RedBox.Registered"] == 30
    last: dict[UUID, datetime] = {}
    for e in events:
        assert e.state["occurred_at"] >= last.get(e.originator_id, e.state["occurred_at"])
        last[e.originator_id] = e.state["occurred_at"]
