"""The camera set-up page in Chromium (issue 17): an administrator uploads a still of the camera's view, draws a
zone on it with the mouse (four clicks, a name in English and Thai, Finish zone), moves a corner by dragging it,
saves, and sees the change in the camera's history. The screenshot of the editor is the README's
(docs/camera-zone-editor.png)."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import cv2
import pytest
from playwright.sync_api import expect

from testkit.footage import HOLD_FRAME, worker_clip

pytestmark = pytest.mark.e2e


def _corners(line: str) -> list[float]:
    """The corners' coordinates, flat: x1, y1, x2, y2, ..."""
    return [float(v) for corner in line.split("|")[2].split() for v in corner.split(",")]


DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_an_administrator_draws_a_zone_on_the_picture_saves_it_and_sees_it_in_the_history(
    live_server, page, login, tmp_path
) -> None:  # noqa: ANN001
    code = f"CAM-{secrets.token_hex(2).upper()}"
    live_server.ssz(
        "cameras", "add", code, "--name", "Warehouse floor", "--community", "ko_loi", "--owner", "business",
        "--owner-name", "Warehouse Co.", "--consent", "MOU 7/2569", "--source", "rtsp://e2e/floor",
    )  # fmt: skip
    still = tmp_path / "floor.png"
    frames, _ = worker_clip()
    cv2.imwrite(str(still), frames[HOLD_FRAME])
    login(page, live_server.admin_username, live_server.admin_password)

    page.goto(f"/cameras/{code}/setup")
    page.set_input_files("input[name=still]", str(still))
    page.locator("form[action$='/still'] button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator("[data-zone-picture]")).to_be_visible()
    picture = page.locator("[data-zone-picture]")
    for _ in range(50):  # the uploaded still, loaded (the page's CSP allows no string evaluation to wait on)
        if picture.evaluate("image => image.complete && image.naturalWidth") == 480:
            break
        page.wait_for_timeout(100)
    assert picture.evaluate("image => image.naturalWidth") == 480

    svg = page.locator("[data-zone-svg]")
    box = svg.bounding_box()
    assert box is not None and box["width"] > 300
    for x, y in ((0.1, 0.4), (0.6, 0.4), (0.6, 0.95), (0.1, 0.95)):
        page.mouse.click(box["x"] + x * box["width"], box["y"] + y * box["height"])
    page.fill("[data-zone-name]", "floor")
    page.fill("[data-zone-name-th]", "พื้นโกดัง")
    page.click("[data-zone-finish]")
    text = page.locator("[data-zone-text]")
    expect(text).to_have_value(re.compile(r"^floor \| พื้นโกดัง \| "))
    assert _corners(text.input_value()) == pytest.approx([0.1, 0.4, 0.6, 0.4, 0.6, 0.95, 0.1, 0.95], abs=0.01)

    # Drag the top right corner to the right.
    page.mouse.move(box["x"] + 0.6 * box["width"], box["y"] + 0.4 * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + 0.8 * box["width"], box["y"] + 0.3 * box["height"], steps=5)
    page.mouse.up()
    moved = [0.1, 0.4, 0.8, 0.3, 0.6, 0.95, 0.1, 0.95]
    assert _corners(text.input_value()) == pytest.approx(moved, abs=0.01)
    expect(page.locator("[data-zone-list] li")).to_have_count(1)
    DOCS.mkdir(exist_ok=True)
    page.locator("#zones").screenshot(path=str(DOCS / "camera-zone-editor.png"))

    with page.expect_response(lambda r: r.url.endswith("/zones") and r.request.method == "POST") as sent:
        page.locator("form[action$='/zones'] button[type=submit]").click()
    assert sent.value.status in (200, 303)
    page.wait_for_load_state()
    saved = page.locator("[data-zone-text]").input_value()
    assert saved.startswith("floor | พื้นโกดัง | ") and _corners(saved) == pytest.approx(moved, abs=0.01)
    page.goto(f"/cameras/{code}")
    expect(page.locator("body")).to_contain_text("floor")
    shown = live_server.ssz("cameras", "show", code).stdout
    assert "floor / พื้นโกดัง: " in shown
    assert "ZonesSet" in shown
