"""Read-your-writes, on real SQLite and real PostgreSQL: a page waits until the read models show what it did, woken
by this process's projection runner rather than asking the database over and over; where the projections run
elsewhere, the wait still sees them arrive (from the database)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from infrastructure.bootstrap import Container, bootstrap
from infrastructure.readmodels.read_side import ReadSide
from tests.integration.conftest import build_world
from tests.integration.test_web_incidents import REPORT
from tests.integration.web_support import head, signed_in
from web.app import create_app

SLOW_PAGE_SECONDS = 0.4


def slowed(apply_page: Callable[..., Any], released: threading.Event) -> Callable[..., Any]:
    """The projection's own apply_page, after a pause: the read side lags like a busy worker's."""

    def apply(*args: Any, **kwargs: Any) -> Any:
        released.wait(SLOW_PAGE_SECONDS)
        return apply_page(*args, **kwargs)

    return apply


def test_a_page_waiting_for_its_write_is_woken_by_the_runner_not_by_polling_the_database(container: Container) -> None:
    world = build_world(container.app)
    app = create_app(container, run_projections=True)
    with TestClient(app):
        assert container.read_side.wait(head(container), timeout=30)
        dispatcher = signed_in(app, container, world.dispatcher)
        token = dispatcher.csrf("/incidents/new")
        never = threading.Event()
        incidents = container.projections.by_name["incidents"]
        incidents.apply_page = slowed(incidents.apply_page, never)
        asked: list[str] = []

        def count(conn, cursor, statement, *args) -> None:  # noqa: ANN001, ANN002
            runner = threading.current_thread().name == "projections"  # the runner reads them before each catch-up
            if not runner and "projection_positions" in statement and statement.lstrip().upper().startswith("SELECT"):
                asked.append(statement)

        event.listen(container.engine, "before_cursor_execute", count)
        try:
            response = dispatcher.post("/incidents", {**REPORT, "csrf_token": token})
        finally:
            event.remove(container.engine, "before_cursor_execute", count)
        assert response.status_code == 303 and response.headers["location"].startswith("/incidents/CR-")
        # Read-your-writes held: the redirect names the new incident, which only the read model knows.
        assert len(asked) <= 4, f"{len(asked)} reads of the positions while the page waited {SLOW_PAGE_SECONDS} s"


def test_where_the_projections_run_in_another_process_the_wait_sees_them_arrive(container: Container) -> None:
    world = build_world(container.app)
    incident = world.report()
    elsewhere = bootstrap(container.settings, run_migrations=False)  # the projection worker's own process
    try:
        read_side = ReadSide(container.projections)  # nothing runs the projections here
        worker = threading.Thread(target=elsewhere.projections.catch_up)
        worker.start()
        assert read_side.wait(head(container), timeout=30)
        worker.join()
        assert container.reads.incident(incident) is not None
    finally:
        elsewhere.close()
