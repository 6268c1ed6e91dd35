"""Numbers and dates that the pages read from forms and query strings: a value Python would choke on
(`'²'.isdigit()` is true, `int('²')` fails; year 1 or 9999 overflows once moved to UTC or a day later) is
refused with a 4xx and a message in the reader's language, and stores nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from domain.incident import Incident
from domain.values import BANGKOK
from infrastructure.bootstrap import Container
from tests.integration.conftest import build_world
from tests.integration.test_web_incidents import REPORT, report, version_on
from tests.integration.web_support import Browser, head, signed_in
from web.app import create_app

RELOAD_TH = "โหลดหน้านี้ใหม่"
RELOAD_EN = "reload it and try again"


@pytest.fixture
def site(container: Container) -> Iterator[tuple]:
    world = build_world(container.app)
    app = create_app(container, run_projections=True)
    with TestClient(app):
        assert container.projections.wait(head(container), timeout=30)
        yield app, container, world


def english(b: Browser) -> Browser:
    b.client.cookies.set("ssz_lang", "en")
    return b


def test_a_report_dated_in_year_one_or_9999_is_refused_at_its_field(site: tuple) -> None:
    app, container, world = site
    dispatcher = signed_in(app, container, world.dispatcher)
    for when in ("0001-01-01T00:00", "9999-12-31T23:59", "1899-12-31T23:59", "２０２６-01-01T00:00"):
        before = head(container)
        response = dispatcher.post("/incidents", {**REPORT, "occurred_at": when})
        assert response.status_code == 422, (when, response.status_code)
        assert "โปรดระบุวันที่" in response.text  # at the field, in Thai (the default)
        assert head(container) == before
    english(dispatcher)
    response = dispatcher.post("/incidents", {**REPORT, "occurred_at": "0001-01-01T00:00"})
    assert response.status_code == 422 and "between the years 1900 and 2200" in response.text


def test_the_incident_list_refuses_out_of_range_days_and_pages_that_are_not_plain_numbers(site: tuple) -> None:
    app, container, world = site
    dispatcher = english(signed_in(app, container, world.dispatcher))
    report(dispatcher)
    for query, message in [
        ("to=9999-12-31", "between the years"),
        ("from=0001-01-01", "between the years"),
        ("to=2026-02-30", "Please give a date as day/month/year"),
        ("page=²", "Please give a whole number."),
        ("page=٣", "Please give a whole number."),
        ("page=0", "from 1 to 100,000"),
        ("page=99999999999999999999", "Please give a whole number."),
    ]:
        response = dispatcher.get(f"/incidents?{query}")
        assert response.status_code == 422, (query, response.status_code)
        assert message in response.text, query
    assert dispatcher.get("/incidents?to=2200-12-31&page=1").status_code == 200


@pytest.mark.parametrize("junk", ["²", "-1", "99999999999999999999", "1.5", "0", "x"])
def test_a_tampered_hidden_version_is_refused_with_a_message_to_reload(site: tuple, junk: str) -> None:
    app, container, world = site
    supervisor = signed_in(app, container, world.supervisor)
    page = report(supervisor)
    assert version_on(supervisor.get(page).text)
    before = head(container)
    response = supervisor.post(
        f"{page}/triage", {"category": "robbery", "priority": "P1", "reason": "weapon seen", "expected_version": junk}
    )
    assert response.status_code == 422
    assert RELOAD_TH in response.text
    response = english(supervisor).post(
        f"{page}/resolve", {"outcome": "arrest", "summary": "done", "expected_version": junk}
    )
    assert response.status_code == 422 and RELOAD_EN in response.text
    assert head(container) == before


def test_red_box_days_and_coverage_nights_out_of_range_are_refused_not_crashed(site: tuple) -> None:
    app, container, world = site
    supervisor = signed_in(app, container, world.supervisor)
    for path in (
        "/red-boxes?day=0001-01-01",
        "/red-boxes?day=9999-12-31",
        "/coverage?until=0001-01-01",
        "/coverage?until=9999-12-31",
        "/coverage?nights=²",
        "/coverage?nights=-3",
        "/coverage?nights=100",
    ):
        response = supervisor.get(path)
        assert 400 <= response.status_code < 500, (path, response.status_code)
    assert supervisor.get("/coverage?nights=14").status_code == 200
    assert supervisor.get("/red-boxes?day=2026-01-05").status_code == 200


def test_a_year_typed_in_the_buddhist_era_is_read_as_that_year_not_refused(site: tuple) -> None:
    """A Thai dispatcher types 2569 into the year box of the time it happened (Chromium's datetime-local takes any
    four digits): the report was refused with "please give a date between the years 2443 and 2743" — a range that
    holds 2569. The coverage page answered 404 "There is no such day" for the same year in its date box."""
    app, container, world = site
    dispatcher = signed_in(app, container, world.dispatcher)
    yesterday = datetime.now(BANGKOK).date() - timedelta(days=1)
    typed = f"{yesterday.year + 543}-{yesterday:%m-%d}T03:00"
    page = report(dispatcher, occurred_at=typed)
    stored = container.app.repository.get(Incident.id_for(page.rsplit("/", 1)[1]))
    assert stored.reported_at.astimezone(BANGKOK).replace(tzinfo=None) == datetime(
        yesterday.year, yesterday.month, yesterday.day, 3, 0
    )
    supervisor = signed_in(app, container, world.supervisor)
    in_be = supervisor.get(f"/coverage?until={yesterday.year + 543}-{yesterday:%m-%d}")
    assert in_be.status_code == 200
    assert in_be.text.count("<tr") == supervisor.get(f"/coverage?until={yesterday:%Y-%m-%d}").text.count("<tr")
