"""Free text a dispatcher pastes (a map link in the location, a long note) on an officer's phone: found by using the
product on a 390 px wide phone, where one unbroken link made the incident page 514 px wide, to be panned sideways."""

from __future__ import annotations

import pytest

from tests.e2e.test_dispatch_ui import PHONE, report_incident, signed_in

pytestmark = pytest.mark.e2e

LINK = "https://maps.example/place/" + "19.9132452,99.8280171,17z-data-" * 4


def test_a_long_link_in_the_location_and_a_note_wraps_on_a_phone(new_context, login, create_user) -> None:  # noqa: ANN001
    dispatcher = create_user("dispatcher")
    desk = signed_in(new_context, login, dispatcher)
    reference, _ = report_incident(desk, location=("ตลาด " + LINK)[:300], description="ชายถูกกระชากกระเป๋า " + LINK)
    desk.locator("form[action$='/notes'] textarea[name=text]").fill("ผู้แจ้งส่งพิกัดมา " + LINK)
    desk.locator("form[action$='/notes'] button").click()
    desk.wait_for_load_state("networkidle")
    phone = signed_in(new_context, login, create_user("officer"), **PHONE)
    phone.goto(f"/incidents/{reference}")
    assert phone.locator(".incident-head .ref").inner_text() == reference
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the incident page is {width}px wide on a 390px phone"
