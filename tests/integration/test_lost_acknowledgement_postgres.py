"""The connection drops after PostgreSQL committed a write and before the acknowledgement arrived: the recorder's
retry must find its own commit instead of making another. The fault is real: the backend that just committed is
terminated from another connection (pg_terminate_backend), and the next use of the connection fails as it would."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from application.zone import ZoneApplication
from domain.values import Category, Channel, Community, Priority
from infrastructure.bootstrap import Container, bootstrap
from infrastructure.pg_recorder import OneTripPostgresRecorder
from infrastructure.settings import Settings
from tests.integration.conftest import World, build_world

pytestmark = pytest.mark.postgres

REPORT = dict(
    channel=Channel.MOBILE_SOS,
    category=Category.ASSAULT,
    priority=Priority.P1,
    community=Community.KO_LOI,
    location="Night market",
    description="SOS button pressed",
)


class AcknowledgementLost:
    """Wraps the recorder's connections: after the next append has committed, its backend is terminated, so the
    caller learns nothing of the outcome."""

    def __init__(self, recorder: OneTripPostgresRecorder, admin_url: str):
        self.recorder, self.admin_url, self.armed, self.faults = recorder, admin_url, False, 0
        real = recorder.datastore.get_connection

        @contextmanager
        def get_connection(*args: Any, **kwargs: Any) -> Iterator[Any]:
            with real(*args, **kwargs) as conn:
                yield _Connection(conn, self)

        recorder.datastore.get_connection = get_connection  # type: ignore[method-assign]

    def after_execute(self, conn: psycopg.Connection, query: Any) -> None:
        if self.armed and query is self.recorder.sql_append:
            self.armed = False
            self.faults += 1
            with psycopg.connect(self.admin_url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", [conn.info.backend_pid])
            conn.execute("SELECT 1")  # the dead connection fails as a lost acknowledgement does


class _Connection:
    def __init__(self, conn: psycopg.Connection, fault: AcknowledgementLost):
        self._conn, self._fault = conn, fault

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    @contextmanager
    def cursor(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        with self._conn.cursor(*args, **kwargs) as curs:
            yield _Cursor(curs, self._conn, self._fault)


class _Cursor:
    def __init__(self, curs: psycopg.Cursor, conn: psycopg.Connection, fault: AcknowledgementLost):
        self._curs, self._conn, self._fault = curs, conn, fault

    def __getattr__(self, name: str) -> Any:
        return getattr(self._curs, name)

    def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        result = self._curs.execute(query, *args, **kwargs)
        self._fault.after_execute(self._conn, query)
        return result


@pytest.fixture
def server(pg_settings: Settings) -> Iterator[tuple[Container, World, AcknowledgementLost]]:
    container = bootstrap(pg_settings)
    world = build_world(container.app)
    fault = AcknowledgementLost(container.app.recorder, pg_settings.database_url)
    yield container, world, fault
    container.close()


def recorded(app: ZoneApplication, since: int, topic: str) -> int:
    return sum(n.topic.endswith(topic) for n in app.recorder.select_notifications(start=since + 1, limit=1000))


def test_a_keyless_report_whose_acknowledgement_was_lost_is_stored_once(server) -> None:
    container, world, fault = server
    app, head = container.app, container.app.recorder.max_notification_id()
    fault.armed = True
    result = app.report_incident(**REPORT, by=world.dispatcher)
    assert fault.faults == 1
    assert recorded(app, head, "Incident.Reported") == 1
    assert result.notification_id is not None and result.reference.endswith("000001")


def test_a_keyed_report_whose_acknowledgement_was_lost_is_answered_as_new_on_its_first_attempt(server) -> None:
    container, world, fault = server
    app, head = container.app, container.app.recorder.max_notification_id()
    fault.armed = True
    result = app.report_incident(**REPORT, by=world.dispatcher, idempotency_key="sos-app-1")
    assert fault.faults == 1
    assert result.notification_id is not None  # its own first commit, not "already done"
    assert recorded(app, head, "Incident.Reported") == 1
    again = app.report_incident(**REPORT, by=world.dispatcher, idempotency_key="sos-app-1")
    assert (again.id, again.notification_id) == (result.id, None)


def test_a_dispatch_whose_acknowledgement_was_lost_succeeds_once(server) -> None:
    container, world, fault = server
    app = container.app
    incident = world.report()
    head = app.recorder.max_notification_id()
    fault.armed = True
    result = app.dispatch_unit(incident, world.units[0], by=world.dispatcher)
    assert fault.faults == 1
    assert result.notification_id is not None
    assert recorded(app, head, "Incident.UnitDispatched") == 1
    assert recorded(app, head, "PatrolUnit.Assigned") == 1
