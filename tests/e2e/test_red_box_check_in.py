"""Red-box check-in end to end, in Chromium: a supervisor registers a box and prints its A4 sheet; the QR code is
read off the rendered sheet with OpenCV (as a phone's camera would read it); an officer on a phone-sized screen,
with the phone's position allowed, opens that address, signs in, and checks in with one tap; the supervisor
then prints a new code, and the old one is refused plainly on the phone; the officer reports it with one tap, and
it shows up on the supervisor's page.

Selectors lean on the pages' structure (form actions, data attributes), not on words: the pages are in Thai."""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from infrastructure.vision import read_qr

pytestmark = pytest.mark.e2e

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
BOX = (19.90760, 99.83250)  # the clock tower
BESIDE_THE_BOX = {"latitude": 19.90768, "longitude": 99.83258, "accuracy": 12}


def print_sheet(page: Page, code: str, screenshot) -> str:  # noqa: ANN001
    """Opens the box's sheet and reads its QR code from the rendered page: the address printed in it."""
    page.goto(f"/red-boxes/{code}/sheet")
    expect(page.locator(".sheet-code")).to_have_text(code)
    path = screenshot(page, f"sheet-{code}")
    return read_qr(path.read_bytes())


def test_an_officer_checks_in_by_the_printed_qr_code_and_a_rotated_code_is_refused(
    new_context, live_server, create_user, login, screenshot
) -> None:
    supervisor, officer = create_user("supervisor"), create_user("officer")
    code = f"RB-{secrets.token_hex(2).upper()}"

    # The supervisor registers the box and prints its sheet.
    desk = new_context().new_page()
    login(desk, supervisor.username, supervisor.password)
    desk.goto("/red-boxes")
    desk.locator("details.register-box").evaluate("d => { d.open = true; }")  # folded away once boxes exist
    form = desk.locator("form[action='/red-boxes']")
    form.locator("input[name=code]").fill(code)
    form.locator("input[name=name_th]").fill("หอนาฬิกาเวียงชัย")
    form.locator("input[name=name_en]").fill("Clock Tower")
    form.locator("select[name=community]").select_option("ko_loi")
    form.locator("input[name=lat]").fill(str(BOX[0]))
    form.locator("input[name=lon]").fill(str(BOX[1]))
    form.locator("button[type=submit]").click()
    expect(desk.locator(f"tr[data-box='{code}']")).to_be_visible()
    printed = print_sheet(desk, code, screenshot)
    assert urlsplit(printed).path == f"/checkin/{code}" and printed.startswith(live_server.base_url)
    expect(desk.locator(".sheet-name").first).to_have_text("หอนาฬิกาเวียงชัย")

    # The officer's phone opens the address in the code: sign in first, then straight to the box's check-in.
    phone_context = new_context(**PHONE, geolocation=BESIDE_THE_BOX, permissions=["geolocation"])
    phone = phone_context.new_page()
    phone.goto(printed)
    phone.wait_for_url(re.compile(r"/login\?next="))
    phone.locator("input[name=username]").fill(officer.username)
    phone.locator("input[name=password]").fill(officer.password)
    phone.locator("form[action='/login'] button[type=submit]").click()
    phone.wait_for_url(re.compile(rf"/checkin/{code}\?t="))
    check_in = phone.locator(f"form[action='/checkin/{code}']")
    expect(phone.locator(".box-code").first).to_have_text(code)
    expect(check_in.locator("input[name=lat]")).to_have_value(re.compile(r"^19\.9076"))  # the phone's position arrived
    button = check_in.locator("button[type=submit].huge")
    box = button.bounding_box()
    assert box and box["width"] >= 300 and box["height"] >= 48  # one thumb-sized tap
    screenshot(phone, "phone-1-check-in")
    button.click()
    phone.wait_for_url(re.compile(r"/visits/[0-9a-f-]{36}\?checked_in=1$"))
    expect(phone.locator(".notice.ok")).to_contain_text(code)
    expect(phone.locator(".status")).to_have_class(re.compile(r"\bvisit-valid\b"))
    expect(phone.locator("dl.facts")).to_contain_text("19.90768")
    screenshot(phone, "phone-2-checked-in")

    # A new code is printed (the old sheet was photographed and shared): the old code no longer checks anyone in.
    desk.goto("/red-boxes")
    row = desk.locator(f"tr[data-box='{code}']")
    row.locator("details summary", has_text="รหัสใหม่").click()  # "new code" (beside it: "move")
    row.locator(f"form[action='/red-boxes/{code}/rotate'] input[name=reason]").fill("ป้ายเดิมถูกถ่ายรูปเผยแพร่")
    row.locator(f"form[action='/red-boxes/{code}/rotate'] button").click()
    desk.wait_for_url(re.compile(rf"/red-boxes/{code}/sheet$"))
    reprinted = read_qr(screenshot(desk, f"sheet-{code}-v2").read_bytes())
    assert reprinted != printed and "t=2-" in reprinted

    response = phone.goto(printed)
    assert response is not None and response.status == 422
    expect(phone.locator(".alert.refused")).to_be_visible()
    expect(phone.locator(".alert.refused")).to_contain_text(code)
    report = phone.locator(f"form[action='/checkin/{code}'][data-report]")
    expect(report.locator("button[type=submit]")).to_have_count(1)  # no check-in: one button, to report the code
    expect(report.locator("input[name=lat]")).to_have_value(re.compile(r"^19\.9076"))  # the position goes with it
    screenshot(phone, "phone-3-old-code-refused")

    # The supervisor sees the visit; opening a link records nothing (prefetchers and crawlers open links too), so
    # the refused code seen on the phone is not yet an attempt on the supervisor's page.
    desk.goto("/red-boxes")
    expect(desk.locator("ol.visits")).to_contain_text(code)
    expect(desk.locator("ol.refused")).not_to_contain_text(code)

    # The officer taps the button: the refused code is reported, and the supervisor sees who tried it.
    button = report.locator("button[type=submit].huge")
    box = button.bounding_box()
    assert box and box["width"] >= 300 and box["height"] >= 48
    with phone.expect_response(lambda r: r.request.method == "POST" and f"/checkin/{code}" in r.url) as posted:
        button.click()
    assert posted.value.status == 422
    expect(phone.locator(".alert.refused")).to_contain_text(code)
    expect(phone.locator(".alert.refused .reported")).to_be_visible()
    expect(phone.locator("form[data-report]")).to_have_count(0)
    screenshot(phone, "phone-4-old-code-reported")
    desk.goto("/red-boxes")
    expect(desk.locator("ol.refused")).to_contain_text(code)
    expect(desk.locator("ol.refused")).to_contain_text(officer.display_name)
    screenshot(desk, "supervisor-red-boxes")

    # And the new code works.
    phone.goto(reprinted)
    phone.locator(f"form[action='/checkin/{code}'] button[type=submit].huge").click()
    phone.wait_for_url(re.compile(r"/visits/[0-9a-f-]{36}\?checked_in=1$"))
