"""The rough edges a newcomer hit, seen in Chromium (issue 18, item 6), on a server of its own over a short demo
history (30 red boxes, a day of patrol visits): the coverage and red-box pages fit a 1366×768 screen and a printed A4
page, the report form's errors leave its fields where they were, checkboxes sit beside their words, the crew is
chosen with checkboxes, and the API's documentation renders from vendored files under the pages' CSP."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from infrastructure.api_keys import Scope
from simulation import DEMO_PASSWORD
from simulation.run import default_until
from tests.e2e.conftest import (
    LiveServer,
    _free_port,
    _server_env,
    do_login,
    serving,
    ssz_command,
)

pytestmark = pytest.mark.e2e
DESK = {"width": 1366, "height": 768}
A4_LANDSCAPE_PX = 1047  # 297 mm less 2 × 10 mm margins, at 96 px per inch
A4_PORTRAIT_PX = 718  # 210 mm less 2 × 10 mm


@pytest.fixture(scope="module")
def zone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`ssz demo` (3 days up to today's 00:00 in Bangkok), then `ssz serve` on the same store."""
    data_dir = tmp_path_factory.mktemp("edges-zone")
    port = _free_port()
    env = _server_env(data_dir, port, "admin", "admin-edges-password")
    subprocess.run(
        [*ssz_command(), "demo", "--months", "0.1", "--seed", "2569"],
        env=env,
        cwd=data_dir,
        check=True,
        capture_output=True,
        timeout=600,
    )
    with serving(data_dir, port, env, ("admin", "admin-edges-password")) as server:  # once the demo is read
        yield server


def signed_in(new_context, zone: LiveServer, username: str, password: str, **kwargs):  # noqa: ANN001, ANN003, ANN201
    page = new_context(viewport=DESK, base_url=zone.base_url, locale="en-US", **kwargs).new_page()
    page.set_default_timeout(60_000)  # a loaded machine: the pages answer, slowly
    do_login(page, username, password, base_url=zone.base_url)
    page.context.add_cookies([{"name": "ssz_lang", "value": "en", "url": zone.base_url}])
    return page


def extent(page) -> dict[str, int]:  # noqa: ANN001
    return page.evaluate(
        "() => ({width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight})"
    )


def yesterday() -> str:
    return (default_until(datetime.now(UTC)) - timedelta(days=1)).date().isoformat()


def test_night_coverage_of_31_nights_fits_a_desk_screen_and_a_printed_a4_page(new_context, zone, screenshot) -> None:
    page = signed_in(new_context, zone, "admin", "admin-edges-password")
    page.goto(f"/coverage?nights=31&until={yesterday()}")
    assert page.locator("table.coverage-nights tbody tr").count() >= 20  # the demo's boxes
    assert page.locator("table.coverage-nights thead th.night-head").count() == 31
    on_screen = extent(page)
    screenshot(page, "screen")
    assert on_screen["width"] <= DESK["width"], on_screen  # was 7,100 px
    page.emulate_media(media="print")
    page.set_viewport_size({"width": A4_LANDSCAPE_PX, "height": 740})
    table = page.locator("table.coverage-nights").bounding_box()
    assert table["x"] + table["width"] <= A4_LANDSCAPE_PX, table
    screenshot(page, "print")


def test_the_red_boxes_day_fits_a_desk_screen_and_prints_on_a4(new_context, zone, screenshot) -> None:
    page = signed_in(new_context, zone, "admin", "admin-edges-password")
    page.goto(f"/red-boxes?day={yesterday()}")
    visits = page.locator("ol.visits li").count()
    assert visits >= 50 and page.locator("table.coverage-day tbody tr").count() >= 20
    on_screen = extent(page)
    screenshot(page, "screen")
    assert on_screen["width"] <= DESK["width"], on_screen
    # One line per box and the day's visits scrolled within their card: not 5,000 px (the zone map's card, of a
    # fixed height, comes on top of that).
    zone_map = page.locator("section.card:has(.zone-map)").bounding_box()
    assert on_screen["height"] - zone_map["height"] <= 2_000, (on_screen, zone_map)
    row = page.locator("table.coverage-day tbody tr").first.bounding_box()
    assert row["height"] <= 36, row
    page.emulate_media(media="print")
    page.set_viewport_size({"width": A4_PORTRAIT_PX, "height": 1000})
    table = page.locator("table.coverage-day").bounding_box()
    assert table["x"] + table["width"] <= A4_PORTRAIT_PX + 1, table
    screenshot(page, "print")


def test_the_report_forms_errors_leave_every_field_where_it_was(new_context, zone, screenshot) -> None:
    page = signed_in(new_context, zone, "dispatcher01", DEMO_PASSWORD)
    page.goto("/incidents/new")
    fields = ["priority", "category", "community", "channel", "location", "description", "lat", "lon"]

    def places() -> dict[str, float]:
        return {name: page.locator(f"[name={name}]").bounding_box()["x"] for name in fields}

    def rows() -> list[list[str]]:
        tops: dict[float, list[str]] = {}
        for name in fields:
            tops.setdefault(round(page.locator(f"[name={name}]").bounding_box()["y"]), []).append(name)
        return [sorted(v) for _, v in sorted(tops.items())]

    before, before_rows = places(), rows()
    page.locator("input[name=lat]").fill("north")
    page.locator("form[action='/incidents'] button[type=submit]").click()
    page.wait_for_selector(".field-error")
    assert page.locator(".field-error").count() >= 5
    screenshot(page)
    assert places() == before  # each field keeps its column
    assert rows() == before_rows  # and its row: no message takes a field's place in the grid


def test_checkboxes_sit_beside_their_words_and_the_crew_is_chosen_with_checkboxes(
    new_context, zone, screenshot
) -> None:
    admin = signed_in(new_context, zone, "admin", "admin-edges-password")
    admin.goto("/admin/api-keys")
    scopes = admin.locator("input[name=scope]")
    assert scopes.count() == len(Scope)  # every scope a key can be given
    for i in range(scopes.count()):
        box = scopes.nth(i).bounding_box()
        words = scopes.nth(i).locator("xpath=following-sibling::*[1]").bounding_box()
        assert 0 <= words["x"] - (box["x"] + box["width"]) <= 16, (box, words)
        # beside the words' first line (a long description may run on to a second)
        assert words["y"] - 4 <= box["y"] + box["height"] / 2 <= words["y"] + min(words["height"], 30), (box, words)
    screenshot(admin, "api-keys")
    supervisor = signed_in(new_context, zone, "supervisor01", DEMO_PASSWORD)
    supervisor.goto("/units")
    assert supervisor.locator("select[multiple]").count() == 0
    off_duty = supervisor.locator("details.crew-picker")
    if off_duty.count():
        off_duty.first.locator("summary").click()
        crew = off_duty.first.locator("input[type=checkbox][name=officer_id]")
        assert crew.count() >= 5
        box, words = crew.first.bounding_box(), off_duty.first.locator("label.check").first.bounding_box()
        assert box["x"] - words["x"] <= 8  # the box starts its line, the name right after it
        screenshot(supervisor, "crew")
    dispatcher = signed_in(new_context, zone, "dispatcher01", DEMO_PASSWORD)
    dispatcher.goto("/incidents/new")
    for name, value in (("priority", "P3"), ("category", "theft"), ("community", "ko_loi"), ("channel", "phone_191")):
        dispatcher.select_option(f"select[name={name}]", value)
    dispatcher.fill("input[name=location]", "Soi 3")
    dispatcher.fill("textarea[name=description]", "A bag was snatched.")
    dispatcher.locator("form[action='/incidents'] button[type=submit]").click()
    dispatcher.wait_for_url("**/incidents/CR-*")
    dispatcher.locator("details:has(form[action$='/dispatch']) > summary").click()
    choice = dispatcher.locator(".unit-picker label.unit-choice").first
    box, words = choice.locator("input").bounding_box(), choice.locator("span").bounding_box()
    assert 0 <= words["x"] - (box["x"] + box["width"]) <= 16, (box, words)
    screenshot(dispatcher, "unit-picker")


def test_the_api_docs_render_from_vendored_files_under_the_csp(new_context, zone, screenshot) -> None:
    page = new_context(viewport=DESK, base_url=zone.base_url).new_page()
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(zone.base_url) else None)
    page.goto("/api/v1/docs")
    page.wait_for_selector(".opblock", timeout=30_000)
    assert page.locator(".opblock").count() >= 10
    assert page.get_by_text("/api/v1/incidents").first.is_visible()
    screenshot(page)
    assert not refused, refused
    assert not [u for u in outside if not u.startswith("data:")], outside
