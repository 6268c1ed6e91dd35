"""A partner, end to end in Chromium: signs in, lands on the monthly reports, opens this month's report in Thai,
switches to English with one click, and downloads its CSV and PDF; neither holds the incident's description. And a
published edition: the partner downloads exactly the bytes the ReportPublished event names (its SHA-256 digests)."""

from __future__ import annotations

import hashlib
import re
import secrets
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from domain.reports import MonthlyReport
from tests.e2e.conftest import (
    LiveServer,
    _free_port,
    _server_env,
    do_login,
    serving,
    ssz_command,
)
from tests.e2e.test_dispatch_ui import report_incident

pytestmark = pytest.mark.e2e


def test_a_partner_signs_in_opens_this_months_report_and_downloads_its_csv_and_pdf(
    new_context, live_server, create_user, login, screenshot
) -> None:
    dispatcher, partner = create_user("dispatcher"), create_user("partner")
    secret_words = f"กระเป๋าสีแดงลายจุด {secrets.token_hex(4)}"
    desk = new_context().new_page()
    login(desk, dispatcher.username, dispatcher.password)
    report_incident(desk, description=secret_words)

    month = datetime.now(ZoneInfo("Asia/Bangkok")).strftime("%Y-%m")
    page = new_context(accept_downloads=True).new_page()
    login(page, partner.username, partner.password)
    expect(page).to_have_url(f"{live_server.base_url}/reports")
    page.locator(f"a[href='/reports/{month}']").click()
    page.wait_for_url(f"**/reports/{month}")
    expect(page.locator("html")).to_have_attribute("lang", "th")
    expect(page.locator("table[data-table='summary']")).to_be_visible()
    screenshot(page, "thai")

    page.locator("a[href^='?lang=en']").click()
    page.wait_for_url(f"**/reports/{month}?lang=en*")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_contain_text("Monthly safety report")

    with page.expect_download() as csv_download:
        page.locator("a[data-download='csv']").click()
    csv = open(csv_download.value.path(), "rb").read()
    with page.expect_download() as pdf_download:
        page.locator("a[data-download='pdf']").click()
    pdf = open(pdf_download.value.path(), "rb").read()
    assert csv.startswith("\ufeff".encode()) and f"month,{month}" in csv.decode("utf-8-sig")
    assert pdf.startswith(b"%PDF") and csv_download.value.suggested_filename == f"ssz-report-{month}-en.csv"
    assert secret_words.encode() not in csv and secret_words not in csv.decode("utf-8-sig")
    assert page.goto("/board").status == 403


@pytest.fixture(scope="module")
def last_month(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    """A store whose history (`ssz demo`, about a day) ends when this month began in Bangkok, so that last month is
    over and has figures; `ssz serve` on it."""
    data_dir = tmp_path_factory.mktemp("published-zone")
    port = _free_port()
    env = _server_env(data_dir, port, "admin", "admin-published-password")
    first = datetime.now(ZoneInfo("Asia/Bangkok")).replace(day=1)
    month = (first - timedelta(days=1)).strftime("%Y-%m")
    until = first.strftime("%Y-%m-%dT00:00")
    demo = [*ssz_command(), "demo", "--months", "0.03", "--until", until]
    subprocess.run(demo, env=env, cwd=data_dir, check=True, capture_output=True, timeout=600)
    with serving(data_dir, port, env, ("admin", "admin-published-password")) as server:
        yield server, month


def test_a_partner_downloads_a_published_edition_exactly_as_the_report_published_event_names_it(
    new_context, last_month: tuple[LiveServer, str], screenshot
) -> None:
    server, month = last_month
    server.ssz("report", "publish", "--month", month)
    history = server.ssz("history", str(MonthlyReport.id_for(month))).stdout  # the log's own events
    published = dict(re.findall(r"'((?:th|en)\.(?:csv|pdf))': '([0-9a-f]{64})'", history))
    assert sorted(published) == ["en.csv", "en.pdf", "th.csv", "th.pdf"], history

    partner = server.create_user("partner")
    page = new_context(accept_downloads=True, base_url=server.base_url).new_page()
    page.set_default_timeout(60_000)
    do_login(page, partner.username, partner.password, base_url=server.base_url)
    expect(page).to_have_url(f"{server.base_url}/reports")
    page.goto(f"/reports/{month}")
    edition = page.locator("li[data-edition='1']")
    expect(edition).to_be_visible()
    screenshot(page, "published")
    for name, digest in published.items():
        with page.expect_download() as download:
            edition.locator(f"a[data-edition-file='{name}']").click()
        body = open(download.value.path(), "rb").read()
        assert hashlib.sha256(body).hexdigest() == digest, f"{name}: not the published bytes"
        assert download.value.suggested_filename == f"ssz-report-{month}-edition-1-{name}"
