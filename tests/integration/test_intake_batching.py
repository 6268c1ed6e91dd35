"""Reports made at the same time, on real SQLite and real PostgreSQL: the application commits them together (a group
commit) by threads of one process, by two applications and by two processes on one database. Every report is kept,
references stay gapless and unique, retries with one idempotency key report once, and a report that is refused is
refused alone.

To make a group deterministically, the first report's save is held until the others have queued behind it; the
tests then assert on what was saved, never on how long it took."""

from __future__ import annotations

import multiprocessing
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from application.errors import NotFound
from application.ports import Contact
from application.zone import CommandResult, Reported, ZoneApplication
from domain.errors import NotPermitted
from domain.intake import ReferenceBook
from domain.values import SYSTEM_USER_ID, Category, Channel, Community, Priority, Role
from infrastructure.api_keys import Scope, issue_key
from infrastructure.bootstrap import Container, bootstrap
from infrastructure.settings import Settings
from testkit.loops import run_in_own_loop
from tests.integration.conftest import build_world
from tests.integration.test_api import SOS
from tests.integration.test_api_live import uvicorn_server

SOS_FIELDS = dict(
    channel=Channel.MOBILE_SOS,
    category=Category.SEXUAL_HARASSMENT,
    priority=Priority.P1,
    community=Community.CHET_YOT,
    location="Night market",
    description="SOS button pressed in the app",
)
WAIT = 20.0  # seconds before a held save gives up waiting (a broken test, never a slow machine's pass)


def report(app: ZoneApplication, by: UUID, key: str | None = None) -> CommandResult:
    return app.report_incident(**SOS_FIELDS, by=by, idempotency_key=key)


def race(calls: list[Callable[[], Any]]) -> list[Any]:
    def attempt(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception as error:  # the outcome under test is which one raised what
            return error

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(attempt, calls))


def counting_saves(app: ZoneApplication) -> list[int]:
    """Records how many aggregates each save of `app` holds, in order."""
    saves: list[int] = []
    real_save = app.save

    def save(*objs: Any, **kwargs: Any):  # noqa: ANN202
        saves.append(len(objs))
        return real_save(*objs, **kwargs)

    app.save = save  # type: ignore[method-assign]
    return saves


def until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.005)


def holding_first_save(app: ZoneApplication) -> tuple[threading.Event, threading.Event]:
    """Holds `app`'s next save until the second event is set; the first tells that the save has begun."""
    real_save, entered, release = app.save, threading.Event(), threading.Event()

    def save(*objs: Any, **kwargs: Any):  # noqa: ANN202
        if not entered.is_set():
            entered.set()
            assert release.wait(WAIT)
        return real_save(*objs, **kwargs)

    app.save = save  # type: ignore[method-assign]
    return entered, release


def in_one_group(
    app: ZoneApplication, first: Callable[[], Any], others: list[Callable[[], Any]]
) -> tuple[Any, list[Any]]:
    """`first` runs and its save (alone: nobody else is queued yet) is held until every one of `others` has queued
    behind it; they are then committed together, as under load. Returns the outcomes of `first` and of `others`."""
    entered, release = holding_first_save(app)
    with ThreadPoolExecutor(1) as pool:
        leader = pool.submit(race, [first])
        assert entered.wait(WAIT)
        with ThreadPoolExecutor(len(others)) as crowd:
            rest = crowd.submit(race, others)
            until(lambda: app._intakes.waiting == len(others))
            release.set()
            return leader.result()[0], rest.result()


def numbers(app: ZoneApplication, ids: set[UUID]) -> list[int]:
    return sorted(int(app.state_at(i)["reference"].rsplit("-", 1)[1]) for i in ids)


def recorded(app: ZoneApplication, since: int) -> Counter[str]:
    return Counter(n.topic.rsplit(".", 1)[-1] for n in app.recorder.select_notifications(start=since + 1, limit=10_000))


def head(app: ZoneApplication) -> int:
    return app.recorder.max_notification_id() or 0


# --- one application, threads --------------------------------------------------------------------------------------


def test_reports_made_at_the_same_time_are_saved_together_with_gapless_unique_references(container: Container) -> None:
    world, app = build_world(container.app), container.app
    before = head(app)
    saves = counting_saves(app)
    first, others = in_one_group(
        app, lambda: report(app, world.dispatcher), [lambda: report(app, world.dispatcher) for _ in range(11)]
    )
    outcomes = [first, *others]
    assert all(isinstance(o, CommandResult) for o in outcomes), outcomes
    assert len(saves) == 2  # the first alone, then the eleven that queued behind it in one atomic save
    ids = {o.id for o in outcomes}
    assert len(ids) == 12 and numbers(app, ids) == list(range(1, 13))
    assert len({o.notification_id for o in outcomes}) == 12  # each is told where its own report is in the log
    assert all(o.notification_id > before for o in outcomes)
    assert recorded(app, before)["Reported"] == 12
    assert recorded(app, before)["ReferenceIssued"] == 12


def test_retries_with_one_idempotency_key_in_one_group_report_once(container: Container) -> None:
    world, app = build_world(container.app), container.app
    before = head(app)
    keys = ["sos/a"] * 4 + ["sos/b"] * 3 + [None] * 3
    first, others = in_one_group(
        app,
        lambda: report(app, world.dispatcher, "sos/first"),
        [lambda k=k: report(app, world.dispatcher, k) for k in keys],
    )
    assert all(isinstance(o, CommandResult) for o in [first, *others]), others
    by_key: dict[str | None, list[CommandResult]] = {}
    for key, outcome in zip(keys, others, strict=True):
        by_key.setdefault(key, []).append(outcome)
    for key in ("sos/a", "sos/b"):
        assert len({o.id for o in by_key[key]}) == 1  # every retry gets the incident the key reported
        assert sum(o.notification_id is not None for o in by_key[key]) == 1  # and only one of them reported it
    ids = {first.id, *(o.id for o in others)}
    assert len(ids) == 1 + 2 + 3 and numbers(app, ids) == list(range(1, 7))
    new = recorded(app, before)
    assert (new["Reported"], new["Claimed"]) == (6, 3)
    # A retry once the group is saved is answered from what was saved, and stores nothing.
    after = head(app)
    again = report(app, world.dispatcher, "sos/a")
    assert again.id == by_key["sos/a"][0].id and again.notification_id is None
    assert head(app) == after


def test_a_report_refused_in_a_group_is_refused_alone_and_takes_no_number(container: Container) -> None:
    world, app = build_world(container.app), container.app
    auditor = app.create_user(
        username="auditor",
        display_name="Auditor",
        role=Role.AUDITOR,
        password="a-long-enough-password",
        by=SYSTEM_USER_ID,
    ).id
    before = head(app)
    calls = [lambda: report(app, world.dispatcher) for _ in range(4)]
    calls += [lambda: report(app, auditor), lambda: report(app, uuid.uuid4(), "sos/nobody")]
    calls += [lambda: report(app, world.officer, "sos/officer") for _ in range(2)]
    first, others = in_one_group(app, lambda: report(app, world.dispatcher), calls)
    assert isinstance(others[4], NotPermitted)  # an auditor may not report
    assert isinstance(others[5], NotFound)  # nor an account that does not exist
    good = [first, *others[:4], *others[6:]]
    assert all(isinstance(o, CommandResult) for o in good), good
    ids = {o.id for o in good}
    assert len(ids) == 6 and numbers(app, ids) == list(range(1, 7))
    assert recorded(app, before)["Reported"] == 6


# --- one application, an event loop (the JSON API) ------------------------------------------------------------------


def test_reports_from_an_event_loop_are_committed_together_and_the_loop_keeps_running(container: Container) -> None:
    """Coroutines hand their reports in without a thread each: while a group's save is held, the loop keeps serving
    (a ticker keeps ticking), the reports queued behind it are saved in one more atomic save, each with its own
    reference and answer; a refused one is refused alone; threads and coroutines share the same groups."""
    world, app = build_world(container.app), container.app
    auditor = app.create_user(
        username="auditor",
        display_name="Auditor",
        role=Role.AUDITOR,
        password="a-long-enough-password",
        by=SYSTEM_USER_ID,
    ).id
    before = head(app)
    saves = counting_saves(app)
    entered, release = holding_first_save(app)

    async def scenario() -> tuple[list[Any], Any, int]:
        import asyncio

        async def report_async(by: UUID) -> Any:
            try:
                return await app.report_incident_async(**SOS_FIELDS, by=by)
            except Exception as error:  # the outcome under test is which one raised what
                return error

        first = asyncio.ensure_future(report_async(world.dispatcher))
        await asyncio.to_thread(entered.wait, WAIT)  # its save is held: the group commit is busy
        crowd = [asyncio.ensure_future(report_async(by)) for by in [world.dispatcher] * 8 + [auditor]]
        thread = asyncio.ensure_future(asyncio.to_thread(report, app, world.officer))  # a thread joins the queue too
        ticks = 0
        while app._intakes.waiting < 10:
            ticks += 1  # the loop runs while the save is held and the others wait
            await asyncio.sleep(0.001)
        release.set()
        return [await first, *[await c for c in crowd]], await thread, ticks

    outcomes, threaded, ticks = run_in_own_loop(scenario())
    assert ticks > 0
    assert isinstance(outcomes[-1], NotPermitted)  # an auditor may not report; the others go ahead
    good = [*outcomes[:-1], threaded]
    assert all(isinstance(o, Reported) for o in good), good
    assert len(saves) == 2  # the first alone, then the nine reports that queued behind it in one atomic save
    ids = {o.id for o in good}
    assert len(ids) == 10 and numbers(app, ids) == list(range(1, 11))
    assert [o.reference for o in good] == [app.state_at(o.id)["reference"] for o in good]
    assert all(o.notification_id > before for o in good)
    assert recorded(app, before)["Reported"] == 10


def test_contacts_reported_together_are_sealed_in_one_go_each_reporter_under_one_key(container: Container) -> None:
    world, app = build_world(container.app), container.app
    seals: list[int] = []
    real_seal_many = app.vault.seal_many

    def seal_many(contacts: list[Contact]) -> list[Any]:
        seals.append(len(contacts))
        return real_seal_many(contacts)

    app.vault.seal_many = seal_many  # type: ignore[method-assign]
    malee, somchai = Contact("Malee", "081 234 5678"), Contact("Somchai", "+66 89 999 0000")
    contacts = [malee, somchai, Contact("Malee S.", "+66 81 234 5678"), Contact("A passer-by", ""), None]
    first, others = in_one_group(
        app,
        lambda: app.report_incident(**SOS_FIELDS, by=world.dispatcher, contact=malee),
        [lambda c=c: app.report_incident(**SOS_FIELDS, by=world.dispatcher, contact=c) for c in contacts],
    )
    assert seals == [1, 4]  # the first alone; the group's four contacts in one transaction (the fifth has none)
    sealed = [app.load(o.id, fresh=True).contact for o in [first, *others]]
    assert sealed[-1] is None
    assert [app.vault.unseal(s) for s in sealed[:-1]] == [malee, *contacts[:4]]
    key_ids = [s.key_id for s in sealed[:-1]]
    assert key_ids[0] == key_ids[1] == key_ids[3]  # one reporter (one phone, however written): one key
    assert len({key_ids[0], key_ids[2], key_ids[4]}) == 3
    assert app.erase_reporter_contact(phone="0812345678", reason="PDPA request", by=world.admin) == 1
    assert [app.vault.unseal(s) for s in sealed[:-1]] == [None, None, somchai, None, contacts[3]]
    # Reported again after the erasure, the reporter starts afresh under a new key.
    again = app.load(report_with(app, world.dispatcher, malee).id, fresh=True).contact
    assert again.key_id not in key_ids and app.vault.unseal(again) == malee


def report_with(app: ZoneApplication, by: UUID, contact: Contact) -> CommandResult:
    return app.report_incident(**SOS_FIELDS, by=by, contact=contact)


def test_the_reference_book_is_snapshotted_as_saved_and_another_application_reads_it_back(
    container: Container, settings: Settings
) -> None:
    """Every 200th reference the book is snapshotted, of the book as the group saved it (here a group takes the book
    from version 199 past 200, so the snapshot is of its last version, not of version 200); another application that
    never saw the book rebuilds it from that snapshot and the events after it, and goes on with the next number."""
    from domain.values import be_year

    world, app = build_world(container.app), container.app
    with app.batch(flush_every=20):  # the book's version 1 opens it, then each report takes one: versions 2..181
        for _ in range(180):
            report(app, world.dispatcher)
    for _ in range(17):  # versions 182..198, one save each
        report(app, world.dispatcher)
    first, others = in_one_group(
        app, lambda: report(app, world.dispatcher), [lambda: report(app, world.dispatcher)] * 5
    )
    book_id = ReferenceBook.id_for(be_year(app.clock()))
    snapshots = list(app.snapshots.get(book_id))
    # The first of the group alone took version 199; the five behind it, 200..204 in one save.
    assert [s.originator_version for s in snapshots] == [204]
    assert (
        snapshots[0].state
        == app.snapshots.mapper.to_domain_event(
            app.snapshots.mapper.to_stored_event(type(snapshots[0]).take(app.repository.get(book_id)))
        ).state
    )
    second = bootstrap(settings, run_migrations=False)  # another web worker: an empty cache
    try:
        book = second.app.repository.get(book_id)
        assert book.version == 204 and book.next_reference == app.repository.get(book_id).next_reference
        again = report(second.app, world.dispatcher)
        assert numbers(app, {again.id}) == [204]
    finally:
        second.close()


# --- two applications (two web workers) on one database -------------------------------------------------------------


def test_two_applications_racing_on_one_database_keep_every_report_with_gapless_references(
    container: Container, settings: Settings
) -> None:
    world, a = build_world(container.app), container.app
    second = bootstrap(settings, run_migrations=False)  # its own pool and cache, as another web worker
    try:
        b = second.app
        before = head(a)
        # The first save of each application waits for the other's, so both groups are built on the same book.
        barrier = threading.Barrier(2)
        for app in (a, b):
            hold_first_save(app, barrier)
        keys = [None] * 5 + ["shared/1", "shared/2", "shared/3"]
        calls = [(lambda app=app, k=k: (k, report(app, world.dispatcher, k))) for k in keys for app in (a, b)]
        outcomes = race(calls)
        assert all(isinstance(o, tuple) for o in outcomes), outcomes
        ids = {r.id for _, r in outcomes}
        assert len(ids) == 10 + 3 and numbers(a, ids) == list(range(1, 14))
        for key in ("shared/1", "shared/2", "shared/3"):
            same = [r for k, r in outcomes if k == key]
            assert len({r.id for r in same}) == 1 and sum(r.notification_id is not None for r in same) == 1
        new = recorded(a, before)
        assert (new["Reported"], new["Claimed"], new["ReferenceIssued"]) == (13, 3, 13)
    finally:
        second.close()


def test_a_retry_reaching_another_application_returns_the_incident_its_key_reported(
    container: Container, settings: Settings
) -> None:
    world, a = build_world(container.app), container.app
    second = bootstrap(settings, run_migrations=False)  # never saw the key: not in its cache
    try:
        b = second.app
        first = report(a, world.dispatcher, "sos/device-7/1")
        after = head(a)
        saves = counting_saves(b)
        retry, other = race(
            [lambda: report(b, world.dispatcher, "sos/device-7/1"), lambda: report(b, world.dispatcher)]
        )
        assert retry.id == first.id and retry.notification_id is None
        assert isinstance(other, CommandResult) and other.id != first.id
        new = recorded(a, after)
        assert (new["Reported"], new["Claimed"]) == (1, 0)
        assert numbers(a, {first.id, other.id}) == [1, 2]
        assert len(saves) == 2  # the key was taken as new, that save conflicted, and the next attempt found it
    finally:
        second.close()


def hold_first_save(app: ZoneApplication, barrier: threading.Barrier) -> None:
    real_save, held = app.save, threading.Event()

    def save(*objs: Any, **kwargs: Any):  # noqa: ANN202
        if not held.is_set():
            held.set()
            barrier.wait(timeout=WAIT)
        return real_save(*objs, **kwargs)

    app.save = save  # type: ignore[method-assign]


# --- two processes on one database ---------------------------------------------------------------------------------


def _report_in_process(
    database_url: str | None, data_dir: str, by: UUID, keys: list[str | None], start: Any, results: Any
) -> None:
    """A second web process: its own application on the same store, reporting from many threads at once."""
    container = bootstrap(
        Settings(environment="test", data_dir=Path(data_dir), database_url=database_url), run_migrations=False
    )
    try:
        start.wait(timeout=60)
        outcomes = race([(lambda k=k: report(container.app, by, k)) for k in keys])
        results.put(
            [
                (k, (o.id, o.notification_id) if isinstance(o, CommandResult) else repr(o))
                for k, o in zip(keys, outcomes, strict=True)
            ]
        )
    finally:
        container.close()


@contextmanager
def processes(n: int, settings: Settings, by: UUID, keys: list[str | None]) -> Iterator[list[list[tuple]]]:
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(n), context.Queue()
    workers = [
        context.Process(
            target=_report_in_process, args=(settings.database_url, str(settings.data_dir), by, keys, start, results)
        )
        for _ in range(n)
    ]
    for worker in workers:
        worker.start()
    try:
        yield [results.get(timeout=120) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()


def test_two_processes_on_one_database_keep_every_report_with_gapless_references(
    container: Container, settings: Settings
) -> None:
    world, app = build_world(container.app), container.app
    before = head(app)
    keys = [None] * 8 + ["sos/device-1", "sos/device-2", "sos/device-3", "sos/device-4"]
    with processes(2, settings, world.dispatcher, keys) as answers:
        outcomes = [o for answer in answers for o in answer]
    assert all(isinstance(o[1], tuple) for o in outcomes), outcomes
    ids = {o[1][0] for o in outcomes}
    assert len(ids) == 16 + 4 and numbers(app, ids) == list(range(1, 21))
    for key in keys[8:]:
        same = [o[1] for o in outcomes if o[0] == key]
        assert len(same) == 2 and len({i for i, _ in same}) == 1  # both processes answer with the one incident
        assert sum(n is not None for _, n in same) == 1
    new = recorded(app, before)
    assert (new["Reported"], new["Claimed"], new["ReferenceIssued"]) == (20, 4, 20)


# --- over HTTP ------------------------------------------------------------------------------------------------------


def test_concurrent_intakes_over_http_each_get_their_own_answer(container: Container) -> None:
    """Good intakes, retries and bad requests at once: each bad one gets its 422, the others their incident."""
    world, app = build_world(container.app), container.app
    container.projections.catch_up()  # the key's account in the accounts read model (no projection runs here)
    key = issue_key(
        app,
        container.api_keys,
        name="Police app SOS",
        scopes={Scope.INTAKE},
        role=Role.DISPATCHER,
        by=world.admin,
        wait=lambda _: container.projections.catch_up(),
    )
    before = head(app)
    future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    bad = [
        ({**SOS, "reporter": {"name": "Malee", "phone": "call me"}}, "reporter.phone"),
        ({**SOS, "occurred_at": future}, "occurred_at"),
        ({**SOS, "description": " "}, "description"),
    ]
    good = [(SOS, None)] * 6 + [(SOS, "sos/device-9/1")] * 4 + [(SOS, "sos/device-9/2")] * 2
    requests = [(body, idem, None) for body, idem in good] + [(body, None, field) for body, field in bad]

    with uvicorn_server(container, run_projections=False) as base:

        def post(request: tuple) -> tuple[httpx.Response, tuple]:
            body, idem, _ = request
            headers = {"authorization": f"Bearer {key.key}", **({"idempotency-key": idem} if idem else {})}
            return httpx.post(f"{base}/api/v1/incidents", json=body, headers=headers, timeout=60), request

        with ThreadPoolExecutor(len(requests)) as pool:
            answers = list(pool.map(post, requests))

    for response, (_, _, field) in answers:
        if field is not None:
            assert response.status_code == 422, response.text
            assert field in [e["field"] for e in response.json()["errors"]]
        else:
            assert response.status_code in (200, 201), response.text
    created = [r.json()["reference"] for r, (_, idem, field) in answers if field is None]
    by_idem: dict[str, set[str]] = {}
    for response, (_, idem, _field) in answers:
        if idem:
            by_idem.setdefault(idem, set()).add(response.json()["reference"])
    assert all(len(refs) == 1 for refs in by_idem.values())
    assert sorted(r.status_code for r, (_, idem, _) in answers if idem == "sos/device-9/1") == [200, 200, 200, 201]
    distinct = sorted(set(created))
    assert len(distinct) == 6 + 2 and [int(r.rsplit("-", 1)[1]) for r in distinct] == list(range(1, 9))
    assert recorded(app, before)["Reported"] == 8
