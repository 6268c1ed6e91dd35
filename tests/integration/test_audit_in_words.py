"""The auditor's log read in the reader's language, found by using the product as an auditor would: every event told
in words (not "บันทึกเหตุการณ์ UserAccount Created"), and every link on the log leading somewhere."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from domain.values import SYSTEM_USER_ID, Role
from infrastructure.bootstrap import bootstrap
from infrastructure.settings import Settings
from tests.integration.conftest import build_world
from tests.integration.web_support import head, signed_in
from web.app import create_app
from web.middleware import LANG_COOKIE


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    data = Path(tmp_path_factory.mktemp("audit-words")) / "data"
    container = bootstrap(Settings(environment="test", data_dir=data, database_url=None))
    world = build_world(container.app)
    auditor = container.app.create_user(
        username="auditor", display_name="ผู้ตรวจสอบ", role=Role.AUDITOR, password="a-long-enough-password",
        by=SYSTEM_USER_ID,
    ).id  # fmt: skip
    world.report()
    app = create_app(container, run_projections=True)
    with TestClient(app):
        assert container.projections.wait(head(container), timeout=30)
        yield app, container, world, auditor
    container.close()


def _log(site: tuple, lang: str) -> str:
    app, container, _, auditor = site
    reader = signed_in(app, container, auditor)
    reader.client.cookies.set(LANG_COOKIE, lang)
    page = reader.get("/audit")
    assert page.status_code == 200
    return page.text


def _what_column(html: str) -> list[str]:
    """The first line of each row's "What" cell (the kind as recorded follows in a muted line)."""
    return re.findall(r"</td>\s*<td>([^<]*)<br><span class=\"muted\">[A-Za-z]+\.[A-Za-z]+</span>", html)


def test_the_log_tells_accounts_units_and_books_in_thai_words(site: tuple) -> None:
    texts = _what_column(_log(site, "th"))
    assert texts, "the log shows no events"
    untold = [t for t in texts if re.search(r"[A-Z][a-z]+[A-Z]?[a-z]* [A-Z][a-z]+", t)]
    assert not untold, f"events left as class names in the Thai log: {untold[:5]}"
    assert any("สร้างบัญชีผู้ใช้ dispatcher" in t for t in texts)
    assert any(t.startswith("ลงทะเบียนหน่วย") for t in texts)
    assert any(t.startswith("เข้าเวร") for t in texts)


def test_the_log_tells_them_in_english_words_too(site: tuple) -> None:
    texts = _what_column(_log(site, "en"))
    assert any(t.startswith("Account dispatcher created for") for t in texts)
    assert not [t for t in texts if t.endswith(" recorded")]


def test_every_person_named_on_the_log_opens_a_history(site: tuple) -> None:
    """The system (which created the first accounts) is named on the log; its name was a link to a 404."""
    app, container, _, auditor = site
    html = _log(site, "th")
    reader = signed_in(app, container, auditor)
    assert f"/audit/history/{SYSTEM_USER_ID}" not in html
    actors = set(re.findall(r'<td><a href="(/audit/history/[0-9a-f-]{36})">[^<]*</a><br><span class="muted">', html))
    assert actors, "no person is linked on the log"
    for link in actors:
        assert reader.get(link).status_code == 200, link
