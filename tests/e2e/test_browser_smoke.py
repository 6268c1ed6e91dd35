"""The end-to-end harness works: the real server answers in Chromium, and the vendored Sarabun font draws
Thai glyphs (this machine has no Thai system font, so without it Thai renders as empty boxes)."""

from __future__ import annotations

import json
import mimetypes
import urllib.error
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

pytestmark = pytest.mark.e2e

VENDOR = Path(__file__).resolve().parents[2] / "web" / "static" / "vendor"
THAI = "ศูนย์ปฏิบัติการ สภ.เมืองเชียงราย"
# Two Thai letters: drawn by a font they differ; with no font both are the same empty box.
LETTER_A, LETTER_B = "ก", "ษ"


def test_healthz_opens_in_chromium(page, live_server, screenshot) -> None:
    response = page.goto("/healthz")
    assert response is not None and response.status == 200
    assert json.loads(page.locator("body").inner_text()) == {"status": "ok"}
    assert page.url == live_server.url("/healthz")


def _served_by_app(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _serve_vendor_from_disk(context, base_url: str) -> None:  # noqa: ANN001
    """While the app does not mount web/static at /static yet, answer /static/vendor/** from the files."""

    def handle(route) -> None:  # noqa: ANN001
        relative = route.request.url.split("/static/vendor/", 1)[1].split("?", 1)[0]
        path = (VENDOR / relative).resolve()
        if VENDOR not in path.parents or not path.is_file():
            route.fulfill(status=404, body="not vendored")
            return
        kind = (
            "font/woff2"
            if path.suffix == ".woff2"
            else (mimetypes.guess_type(path.name)[0] or "application/octet-stream")
        )
        route.fulfill(status=200, body=path.read_bytes(), headers={"content-type": kind})

    context.route(f"{base_url}/static/vendor/**", handle)


def _page_html() -> str:
    return f"""<!doctype html><html lang="th"><head><meta charset="utf-8">
<link rel="stylesheet" href="/static/vendor/sarabun/sarabun.css">
<style>
  body {{ margin: 0; padding: 16px; background: #fff; color: #000; }}
  p {{ margin: 0 0 12px; font-size: 40px; line-height: 1.4; white-space: nowrap; }}
  span {{ display: inline-block; padding: 4px; }}
  .sarabun {{ font-family: 'Sarabun', 'NoSuchFont-e2e'; }}
  .fallback {{ font-family: 'NoSuchFont-e2e'; }}
</style></head><body>
<p><span id="sarabun" class="sarabun">{THAI}</span></p>
<p><span id="fallback" class="fallback">{THAI}</span></p>
<p><span id="sa" class="sarabun">{LETTER_A}</span> <span id="sb" class="sarabun">{LETTER_B}</span>
   <span id="fa" class="fallback">{LETTER_A}</span> <span id="fb" class="fallback">{LETTER_B}</span></p>
<p><span id="bold" class="sarabun" style="font-weight:700">{THAI}</span></p>
</body></html>"""


def _ink(png: bytes) -> np.ndarray:
    """A boolean mask of the dark ("inked") pixels of a screenshot."""
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert image is not None
    return image < 128


def test_vendored_sarabun_draws_thai_glyphs(new_context, live_server, screenshot) -> None:
    context = new_context()
    if not _served_by_app(live_server.url("/static/vendor/sarabun/sarabun-thai-400-normal.woff2")):
        _serve_vendor_from_disk(context, live_server.base_url)
    test_page_url = live_server.url("/__e2e__/sarabun")  # same origin as the fonts: no CORS question
    context.route(
        test_page_url,
        lambda route: route.fulfill(
            status=200, body=_page_html(), headers={"content-type": "text/html; charset=utf-8"}
        ),
    )
    page = context.new_page()
    page.goto(test_page_url)
    loaded = page.evaluate("""async () => {
        try {
            const regular = await document.fonts.load("400 40px Sarabun", "ก");
            const bold = await document.fonts.load("700 40px Sarabun", "ก");
            return regular.length && bold.length ? "ok" : "no face matched";
        } catch (error) { return String(error); } }""")
    assert loaded == "ok", f"the Sarabun Thai faces did not load from /static/vendor/sarabun/: {loaded}"
    assert page.evaluate("document.fonts.check('400 40px Sarabun', 'ก')")
    screenshot(page, "page")

    def width(selector: str) -> float:
        return page.locator(selector).bounding_box()["width"]

    assert width("#sarabun") != pytest.approx(width("#fallback"), abs=1.0), "Sarabun and the fallback draw the same"

    sarabun, fallback = page.locator("#sarabun").screenshot(), page.locator("#fallback").screenshot()
    ink = _ink(sarabun)
    assert ink.mean() > 0.02, "the Sarabun text is blank"
    assert sarabun != fallback

    # The decisive check: a real font draws two different letters differently; missing glyphs are identical boxes.
    sa, sb = _ink(page.locator("#sa").screenshot()), _ink(page.locator("#sb").screenshot())
    assert sa.any() and sb.any()
    differing = 1.0 if sa.shape != sb.shape else float((sa != sb).mean())
    assert differing > 0.02, f"Sarabun drew ก and ษ alike (empty boxes?): {differing:.1%} of pixels differ"

    # The bold face is a different file (sarabun-thai-700-normal.woff2) and draws heavier strokes.
    assert _ink(page.locator("#bold").screenshot()).mean() > ink.mean()
