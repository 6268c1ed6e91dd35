"""The zone map and the officer's live phone, in Chromium: an incident reported by a click on the map is shown
there on its page and on the board (on a 1920×1080 wall screen and a 1366×768 desk screen); a dispatch reaches
an open phone page by itself, the officer confirms "received" and the board shows who has; "Clear" asks first;
the phone's header keeps to one line; the phone's position, shared with consent, puts the unit on the map."""

from __future__ import annotations

import re
import secrets
import time

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_dispatch_ui import (
    assert_same_document,
    create_users,
    main_frame_navigations,
    signed_in,
)

pytestmark = pytest.mark.e2e

WALL = {"width": 1920, "height": 1080}
DESK = {"width": 1366, "height": 768}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
LIVE_WITHIN_SECONDS = 2.0  # as the board's own test: the issue asks for a second; the loaded machine gets slack
REFERENCE = re.compile(r"/incidents/(CR-\d{4}-\d{6})$")
SCENE = (19.910050, 99.832650)  # Rua Lek Tai, the middle of the zone

MARKER_AT = """([el, title]) => {
  const found = [];
  el._zone.map.eachLayer(l => { if (l.getLatLng && l.options && l.options.title === title) found.push(l.getLatLng()); });
  return found.map(p => [p.lat, p.lng]);
}"""


def register_unit(page: Page, call_sign: str) -> None:
    page.goto("/units")
    form = page.locator("form[action='/units']")
    form.locator("input[name=call_sign]").fill(call_sign)
    form.locator("select[name=kind]").select_option("motorcycle")
    form.locator("button[type=submit]").click()
    expect(page.locator(f"tr[data-call-sign='{call_sign}']")).to_be_visible()


def drawn(page: Page, selector: str = ".zone-map") -> None:
    expect(page.locator(selector).first).to_have_attribute("data-drawn", "1", timeout=15_000)


def report_on_the_map(page: Page) -> tuple[str, tuple[float, float]]:
    """Reports an incident whose point is a click on the form's map; returns its reference and the point."""
    page.goto("/incidents/new")
    form = page.locator("form[action='/incidents']")
    for name, value in (("priority", "P1"), ("category", "assault"), ("channel", "phone_191")):
        form.locator(f"select[name={name}]").select_option(value)
    form.locator("input[name=location]").fill(f"หน้าร้าน {secrets.token_hex(3)}")
    form.locator("textarea[name=description]").fill("ชายทำร้ายร่างกายหน้าร้าน")
    drawn(page)
    picker = form.locator(".zone-map")
    picker.scroll_into_view_if_needed()
    point = page.evaluate(
        """([lat, lon]) => { const el = document.querySelector("form .zone-map");
           const p = el._zone.map.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }""",
        list(SCENE),
    )
    picker.click(position={"x": point[0], "y": point[1]})
    lat, lon = (
        float(form.locator("input[name=lat]").input_value()),
        float(form.locator("input[name=lon]").input_value()),
    )
    assert abs(lat - SCENE[0]) < 0.0003 and abs(lon - SCENE[1]) < 0.0003  # within a few pixels of the click
    expect(form.locator("[data-map-status]")).to_contain_text("รั้วเหล็กใต้")  # the community the point lies in
    expect(form.locator("select[name=community]")).to_have_value("rua_lek_tai")  # filled from the point
    form.locator("button[type=submit]").click()
    page.wait_for_url(REFERENCE)
    return REFERENCE.search(page.url).group(1), (lat, lon)  # type: ignore[union-attr]


@pytest.mark.parametrize("screen", ["wall", "desk"])
def test_the_map_shows_an_incident_where_it_was_reported(new_context, create_user, login, screenshot, screen) -> None:
    [dispatcher] = create_users(create_user, "dispatcher")
    viewport = WALL if screen == "wall" else DESK
    desk = signed_in(new_context, login, dispatcher, viewport=viewport)
    reference, (lat, lon) = report_on_the_map(desk)

    drawn(desk)
    on_page = desk.evaluate(MARKER_AT, [desk.locator(".zone-map").element_handle(), reference])
    assert on_page and all(p == [lat, lon] for p in on_page)  # its pin, and its priority marker
    expect(desk.locator("a[href^='geo:']").first).to_have_attribute("href", re.compile(rf"^geo:{lat:.6f},{lon:.6f}"))
    screenshot(desk, f"incident-{screen}")

    desk.goto("/board")
    drawn(desk, "#panel-map .zone-map")
    on_board = desk.evaluate(MARKER_AT, [desk.locator("#panel-map .zone-map").element_handle(), reference])
    assert on_board == [[lat, lon]]  # the board's priority marker
    expect(desk.locator(f"#panel-map .incident-icon.prio-P1[title='{reference}']")).to_be_visible()
    screenshot(desk, f"board-{screen}", full_page=False)


def test_a_dispatch_reaches_the_phone_by_itself_and_the_board_sees_it_confirmed(
    new_context, live_server, create_user, login, screenshot
) -> None:
    officer, dispatcher = create_users(create_user, "officer", "dispatcher")
    call_sign = f"MAP-{secrets.token_hex(2).upper()}"
    admin = new_context().new_page()
    login(admin, live_server.admin_username, live_server.admin_password)
    register_unit(admin, call_sign)

    # The officer's phone shares its position (with consent) and takes the unit on duty.
    phone = signed_in(
        new_context,
        login,
        officer,
        **PHONE,
        permissions=["geolocation", "notifications"],
        geolocation={"latitude": 19.9112, "longitude": 99.8318, "accuracy": 20},
    )
    phone.locator("form[action$='/on-duty'] button", has_text=call_sign).tap()
    expect(phone.locator("section.assignment", has_text=call_sign)).to_be_visible()
    screenshot(phone, "phone-header", full_page=False)
    lines = phone.evaluate(
        """() => [...document.querySelectorAll("header.topbar a, header.topbar button")]
             .filter(e => e.offsetParent !== null).map(e => { const r = e.getBoundingClientRect(); return (r.top + r.bottom) / 2; })"""
    )
    assert max(lines) - min(lines) < 12, f"the phone's header takes more than one line: middles {lines}"
    right = phone.evaluate("() => document.querySelector('header.topbar').scrollWidth")
    assert right <= 390, f"the phone's header is wider than the screen: {right}px"
    phone.locator("#share-position").tap()
    expect(phone.locator("[data-position-status]")).to_contain_text("20")  # "shared (± 20 m)"
    expect(phone.locator("#share-position")).to_have_attribute("aria-pressed", "true")
    phone.evaluate("window.__e2eMarker = 'phone'")
    navigations = main_frame_navigations(phone)
    expect(phone.locator("#my-live")).to_be_attached()

    board = signed_in(new_context, login, dispatcher, viewport=WALL)
    board.goto("/board")
    drawn(board, "#panel-map .zone-map")
    expect(board.locator(f"#panel-map .unit-icon[title='{call_sign}']")).to_be_visible(timeout=10_000)

    # A dispatcher sends the unit: the open phone page shows the assignment without a reload.
    desk = new_context(viewport=DESK).new_page()
    login(desk, dispatcher.username, dispatcher.password)
    reference, _ = report_on_the_map(desk)
    details = desk.locator("details:has(form[action$='/dispatch'])")
    details.locator("> summary").click()
    choice = desk.locator("label.unit-choice", has_text=call_sign)
    expect(choice.locator(".distance")).to_contain_text(re.compile(r"\d+ ม\."))  # the phone's position: its distance
    expect(desk.locator("label.unit-choice").first).to_contain_text(call_sign)  # the nearest: the only one placed
    choice.locator("input[name=unit_id]").check()
    sent = time.monotonic()
    desk.locator("form[action$='/dispatch'] button[type=submit]").click()
    card = phone.locator("section.assignment", has_text=reference)
    expect(card).to_be_visible(timeout=10_000)
    waited = time.monotonic() - sent
    print(f"metric phone.dispatch_to_phone_seconds {waited:.3f}")
    assert waited <= LIVE_WITHIN_SECONDS, f"the dispatch reached the phone after {waited:.1f} s"
    assert_same_document(phone, "phone", navigations)
    expect(card.locator("a[href^='geo:']")).to_be_visible()
    drawn(phone, "section.assignment .zone-map")
    screenshot(phone, "phone-assignment")

    # Waiting for the crew: the board says so; the officer taps "Received"; the board shows it confirmed.
    confirmations = board.locator("#panel-map [data-confirmations]")
    expect(confirmations.locator("li.waiting", has_text=call_sign)).to_be_visible(timeout=10_000)
    card.locator("form[action$='/acknowledge'] button").tap()
    expect(phone.locator("section.assignment", has_text=reference).locator(".seen")).to_be_visible()
    expect(confirmations.locator(f"li.confirmed[data-confirmed='{call_sign}']")).to_be_visible(timeout=10_000)
    screenshot(board, "board-confirmed", full_page=False)
    desk.reload()
    expect(desk.locator("ul.assignments li", has_text=call_sign).locator(".seen")).to_be_visible()

    # "Clear" asks first: the tap opens a confirmation, and nothing changes until it is confirmed.
    card = phone.locator("section.assignment", has_text=reference)
    clear = card.locator("details.confirm:has(form[action$='/clear'])")
    expect(clear.locator("form button")).to_be_hidden()
    clear.locator("> summary").tap()
    expect(clear.locator("form button")).to_be_visible()
    screenshot(phone, "phone-clear-confirm")
    clear.locator("form button").tap()
    expect(phone.locator("section.assignment", has_text=reference)).to_have_count(0)
