"""A partner, end to end in Chromium: signs in, lands on the monthly reports, opens this month's report in Thai,
switches to English with one click, and downloads its CSV and PDF; neither holds the incident's description."""

from __future__ import annotations

import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

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
