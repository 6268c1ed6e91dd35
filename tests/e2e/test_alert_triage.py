"""Camera-alert triage end to end, in Chromium: two alerts reach an open board by themselves (raised the way a camera
worker raises them, through the application, with their snapshots in the server's snapshot store); the dispatcher
dismisses one as a false alarm from the board, escalates the other into an incident from a prefilled form, and
follows the links both ways between the incident and the alert.

Selectors lean on the pages' structure (form actions, data attributes), not on words: the board is in Thai.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import cv2
import numpy as np
import pytest
from playwright.sync_api import Page, expect

from domain.values import SYSTEM_USER_ID, AlertKind, Community, PartnerSector
from infrastructure.bootstrap import bootstrap
from infrastructure.settings import Settings
from infrastructure.vision.snapshots import SnapshotStore

pytestmark = pytest.mark.e2e

REFERENCE = re.compile(r"/incidents/(CR-\d{4}-\d{6})$")


@pytest.fixture
def raise_alert(live_server) -> Iterator[Callable[..., UUID]]:  # noqa: ANN001
    """raise_alert(kind, zone=..., detail=...) -> alert id: a new camera of this test raises it as the system does,
    on the live server's own store, with a snapshot written to the server's snapshot store."""
    settings = Settings(
        environment="test",
        data_dir=live_server.data_dir,
        database_url=live_server.env["DATABASE_URL"],
        secret_key=live_server.env["SSZ_SECRET_KEY"],
        log_level="WARNING",
    )
    container = bootstrap(settings, run_migrations=False)
    code = f"CAM-{secrets.token_hex(3).upper()}"
    camera = container.app.register_camera(
        code=code,
        name="ซอยหลังตลาด",
        community=Community.KO_LOI,
        owner=PartnerSector.BUSINESS,
        owner_name="โรงแรมหอนาฬิกา",
        consent_reference="MOU 2569/4",
        source="rtsp://e2e/stream",
        by=SYSTEM_USER_ID,
    ).id
    store = SnapshotStore(settings.snapshot_dir)

    def raise_one(kind: AlertKind, *, zone: str = "back gate", detail: str = "") -> UUID:
        frame = np.zeros((360, 640, 3), np.uint8)
        frame[:] = (60, 45, 30)
        cv2.rectangle(frame, (260, 120), (340, 330), (200, 200, 200), -1)  # someone by the wall
        cv2.putText(frame, f"{code} {kind.value}", (20, 40), cv2.FONT_HERSHEY_SIMPLEX, 1, (255, 255, 255), 2)
        digest = store.put(frame)
        return container.app.raise_camera_alert(
            camera_id=camera,
            kind=kind,
            score=0.87,
            snapshot_digest=digest,
            frame_at=datetime.now(UTC) - timedelta(seconds=3),
            zone=zone,
            detail=detail,
            by=SYSTEM_USER_ID,
        ).id

    raise_one.camera_code = code  # type: ignore[attr-defined]
    yield raise_one
    container.close()


def board_page(new_context, login, user) -> Page:  # noqa: ANN001
    page = new_context().new_page()
    login(page, user.username, user.password)
    if not page.url.endswith("/board"):
        page.goto("/board")
    expect(page.locator("#live")).to_have_class(re.compile(r"\bok\b"))  # the live stream is open
    return page


def alert_row(board: Page, alert_id: UUID):  # noqa: ANN201
    return board.locator(f"#panel-alerts li[data-alert='{alert_id}']")


def loaded(page: Page, selector: str) -> bool:
    return page.eval_on_selector(selector, "img => img.complete && img.naturalWidth > 0")


def test_an_alert_dismissed_and_another_escalated_from_the_board(
    new_context, live_server, create_user, login, raise_alert, screenshot
) -> None:
    dispatcher = create_user("dispatcher")
    board = board_page(new_context, login, dispatcher)

    # Two alerts from a camera reach the open board by themselves, each with its thumbnail.
    headlights = raise_alert(AlertKind.MOTION_IN_ZONE, zone="driveway")
    person = raise_alert(AlertKind.PERSON_AT_NIGHT, detail="one person climbing the back wall")
    first, second = alert_row(board, headlights), alert_row(board, person)
    expect(first).to_be_visible(timeout=10_000)
    expect(second).to_be_visible(timeout=10_000)
    expect(second).to_contain_text(raise_alert.camera_code)
    expect(second).to_contain_text("เกาะลอย")  # the community, in Thai
    thumb = f"#panel-alerts li[data-alert='{person}'] img.snapshot.thumb"
    board.wait_for_function(
        "s => { const i = document.querySelector(s); return i && i.complete && i.naturalWidth > 0; }", arg=thumb
    )
    assert loaded(board, thumb)
    screenshot(board, "board-1-two-alerts")

    # One click acknowledges the first; then it is dismissed as headlights, with a note.
    first.locator("form[action$='/acknowledge'] button").click()
    expect(first).to_have_class(re.compile(r"\balert-acknowledged\b"))
    expect(first.locator("form[action$='/acknowledge']")).to_have_count(0)
    first.locator("details.dismiss > summary").click()
    dismiss = first.locator("form[action$='/dismiss']")
    dismiss.locator("select[name=reason]").select_option("headlights")
    dismiss.locator("input[name=note]").fill("รถเลี้ยวเข้าซอย ไฟหน้าส่องกล้อง")
    screenshot(board, "board-2-dismissing")
    dismiss.locator("button[type=submit]").click()
    expect(first).to_have_count(0, timeout=10_000)
    expect(second).to_be_visible()

    # Its page tells the outcome and the story.
    review = board.context.new_page()
    review.goto(f"/alerts/{headlights}")
    expect(review.locator(".incident-head .status")).to_have_class(re.compile(r"\balert-status-dismissed\b"))
    expect(review.locator(".timeline li")).to_have_count(3)  # raised, acknowledged, dismissed
    expect(review.locator(".timeline")).to_contain_text("รถเลี้ยวเข้าซอย")
    assert loaded(review, ".snapshot-full img")
    screenshot(review, "alert-1-dismissed")
    review.close()

    # The second is escalated: a prefilled incident form, then the new incident's page.
    second.locator("a.escalate").click()
    board.wait_for_url(re.compile(rf"/alerts/{person}/escalate$"))
    form = board.locator(f"form[action='/alerts/{person}/escalate']")
    expect(form.locator("select[name=category]")).to_have_value("suspicious_person")
    expect(form.locator("select[name=priority]")).to_have_value("P2")
    expect(form.locator("input[name=location]")).to_have_value(re.compile(re.escape(raise_alert.camera_code)))
    expect(form.locator("textarea[name=description]")).to_have_value(re.compile("climbing the back wall"))
    form.locator("select[name=priority]").select_option("P1")
    screenshot(board, "escalate-1-prefilled")
    form.locator("button[type=submit]").click()
    board.wait_for_url(REFERENCE)
    reference = REFERENCE.search(board.url).group(1)  # type: ignore[union-attr]
    expect(board.locator(".incident-head .ref")).to_have_text(reference)
    source = board.locator(f"dd.source-alert a[href='/alerts/{person}']")
    expect(source).to_contain_text(raise_alert.camera_code)
    screenshot(board, "incident-1-from-alert")

    # Both ways: the incident links to the alert, the alert to the incident.
    source.click()
    board.wait_for_url(re.compile(rf"/alerts/{person}$"))
    expect(board.locator(f"a.incident-link[href='/incidents/{reference}']")).to_be_visible()
    expect(board.locator(".incident-head .status")).to_have_class(re.compile(r"\balert-status-escalated\b"))
    screenshot(board, "alert-2-escalated")

    # Back on the board: neither alert waits any more, and the new P1 incident waits for a unit.
    board.goto("/board")
    expect(alert_row(board, headlights)).to_have_count(0)
    expect(alert_row(board, person)).to_have_count(0)
    expect(board.locator(f"#panel-pending tr[data-reference='{reference}']")).to_be_visible()
    screenshot(board, "board-3-after-triage")
