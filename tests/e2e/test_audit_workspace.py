"""An auditor, end to end in Chromium: finds an incident by its reference, sees every event's inclusion proof checked
in the page (by the browser's own SHA-256), steps back through the incident's versions, sees what one version
changed, field by field, and exports the history as a bundle that verifies offline with the ledger's public key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from entrypoints.ledger_cli import verifier_module
from tests.e2e.test_dispatch_ui import open_section, report_incident

pytestmark = pytest.mark.e2e


def test_an_auditor_finds_an_incident_steps_back_through_its_versions_sees_a_diff_and_exports_the_bundle(
    new_context, live_server, create_user, login, screenshot, tmp_path: Path
) -> None:
    dispatcher, auditor = create_user("dispatcher"), create_user("auditor")
    desk = new_context().new_page()
    login(desk, dispatcher.username, dispatcher.password)
    reference, _ = report_incident(desk, priority="P3")
    open_section(desk, "triage")
    triage = desk.locator("form[action$='/triage']")
    triage.locator("select[name=priority]").select_option("P1")
    triage.locator("input[name=reason]").fill("ผู้แจ้งโทรมาอีกครั้ง")
    triage.locator("button[type=submit]").click()
    expect(desk.locator(".incident-head")).to_contain_text("P1")
    live_server.ssz("ledger", "checkpoint")  # a signed checkpoint that holds the incident's events

    page = new_context(accept_downloads=True).new_page()
    login(page, auditor.username, auditor.password)
    page.goto("/audit")
    page.locator("#audit-q").fill(reference)
    page.locator("#audit-q").press("Enter")
    page.wait_for_url("**/audit/history/*")
    history_url = page.url
    expect(page.locator("h1")).to_contain_text(reference)
    events = page.locator("table.audit-events")
    expect(events.locator("tr[data-notification]")).to_have_count(2)
    expect(events).to_have_attribute("data-verified", "yes", timeout=10_000)  # every audit path checked in the page
    expect(events.locator("[data-proof][data-verified=yes]")).to_have_count(2)
    screenshot(page, "history")

    page.locator(f"a[href='/audit/history/{history_url.rsplit('/', 1)[1]}/state']").first.click()
    page.wait_for_url("**/state")
    expect(page.locator("h2")).to_contain_text("2")
    expect(page.locator("table.fields")).to_contain_text("P1")
    page.locator("#step-back").click()
    page.wait_for_url("**/state?version=1")
    expect(page.locator("table.fields")).to_contain_text("P3")
    expect(page.locator("#step-back")).to_have_count(0)  # the first version: nothing before it
    page.locator("#step-forward").click()
    page.wait_for_url("**/state?version=2")
    page.locator("#diff-previous").click()
    page.wait_for_url("**/diff?a=1&b=2")
    changed = page.locator("table.diff tr:has(th:text-is('priority'))")
    expect(changed.locator("del")).to_contain_text("(P3)")
    expect(changed.locator("ins")).to_contain_text("(P1)")
    screenshot(page, "diff")

    page.goto(history_url)
    with page.expect_download() as download:
        page.locator("a[href$='/export.jsonl']").first.click()
    bundle = tmp_path / "bundle.jsonl"
    bundle.write_bytes(Path(download.value.path()).read_bytes())
    lines = bundle.read_text().splitlines()
    assert json.loads(lines[0])["format"] == "ssz-audit-bundle/1" and len(lines) == 3
    verifier = verifier_module()
    key = verifier.Key.parse(live_server.ssz("ledger", "key").stdout.strip())
    assert verifier.verify_bundle(bundle, key) == []
