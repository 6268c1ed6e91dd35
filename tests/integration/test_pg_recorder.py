"""The one-round-trip PostgreSQL recorder keeps the library's guarantee: commit order is notification
order, so a reader tailing the log never passes over an id that is committed later."""

import threading
import uuid

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from infrastructure.bootstrap import bootstrap
from infrastructure.pg_recorder import OneTripPostgresRecorder

pytestmark = pytest.mark.postgres


def test_a_reader_tailing_the_log_never_skips_an_event_that_commits_later(pg_settings) -> None:
    container = bootstrap(pg_settings)
    recorder = container.app.recorder
    assert isinstance(recorder, OneTripPostgresRecorder)
    writers, saves_each = 4, 150
    done = threading.Event()
    seen: list[int] = []

    def write() -> None:
        for _ in range(saves_each):
            oid = uuid.uuid4()
            recorder.insert_events([StoredEvent(oid, v, "bench:Event", b"{}") for v in (1, 2)])

    def tail() -> None:
        last = 0
        while not done.is_set() or last < writers * saves_each * 2:
            for n in recorder.select_notifications(start=last + 1, limit=500):
                seen.append(n.id)
                last = n.id

    reader = threading.Thread(target=tail)
    reader.start()
    threads = [threading.Thread(target=write) for _ in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    reader.join(timeout=60)
    assert seen == list(range(1, writers * saves_each * 2 + 1))
    container.close()


def test_a_conflicting_append_stores_nothing_of_its_batch(pg_settings) -> None:
    container = bootstrap(pg_settings)
    recorder = container.app.recorder
    taken = uuid.uuid4()
    recorder.insert_events([StoredEvent(taken, 1, "t", b"{}")])
    fresh = uuid.uuid4()
    with pytest.raises(IntegrityError):
        recorder.insert_events([StoredEvent(fresh, 1, "t", b"{}"), StoredEvent(taken, 1, "t", b"{}")])
    assert recorder.select_events(fresh) == []
    recorder.insert_events([StoredEvent(fresh, 1, "t", b"{}")])
    assert [n.originator_id for n in recorder.select_notifications(start=1, limit=10)][-1] == fresh
    container.close()
