"""The control room's board on a 1920×1080 wall screen and a 1366×768 desk screen, the search box, the shift
handover from one supervisor to the next, and an accessibility check (axe-core, vendored from the npm registry) of
those pages by day and in night mode, in Chromium. Screenshots are kept in tests/e2e/artifacts/.

The zone is seeded through the application on the live server's own store (as a camera worker or an intake would
write it); every step a person takes goes through the pages."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from uuid import UUID

import cv2
import numpy as np
import pytest
from playwright.sync_api import Page, expect

from domain.values import (
    SYSTEM_USER_ID,
    AlertKind,
    Category,
    Channel,
    Community,
    Outcome,
    PartnerSector,
    Priority,
    Role,
    UnitKind,
)
from infrastructure.bootstrap import Container, bootstrap
from infrastructure.settings import Settings
from infrastructure.vision.snapshots import SnapshotStore
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, REPO

pytestmark = pytest.mark.e2e

WALL = {"width": 1920, "height": 1080}
DESK = {"width": 1366, "height": 768}
AXE = REPO / "web" / "static" / "vendor" / "axe-core" / "axe.min.js"
PASSWORD = "a-long-enough-password-e2e"
LOCATIONS = [  # long Thai addresses, as dispatchers type them: the queue must wrap them, not scroll sideways
    "ซอยพหลโยธิน 3 หน้าร้านสะดวกซื้อตรงข้ามตลาดไนท์บาซาร์ ถนนพหลโยธิน ตำบลเวียง",
    "ถนนบรรพปราการ ใกล้หอนาฬิกาเฉลิมพระเกียรติ ฝั่งโรงแรม",
    "ชุมชนเกาะลอย ริมแม่น้ำกก หลังวัด",
    "ตลาดสดเทศบาล 1 ประตูด้านทิศเหนือ",
    "ซอยศรีเกิด 7 บ้านเลขที่ 123/45",
]


@dataclass
class Zone:
    container: Container
    dispatcher: str
    supervisor: str
    incoming: str
    references: list[str]
    token: str  # a word only this run's incidents have
    dispatcher_id: UUID

    def report(self, priority: Priority, location: str) -> str:
        result = self.container.app.report_incident(
            channel=Channel.PHONE_191,
            category=Category.DISTURBANCE,
            priority=priority,
            community=Community.SI_KOET,
            location=location,
            description=f"เสียงดังทะเลาะวิวาท {self.token}",
            by=self.dispatcher_id,
        )
        shown(self.container)
        return self.container.reads.incident(result.id)["reference"]


def shown(container: Container) -> None:
    """Waits until the live server's projections (the only owner of the read models) show what was written."""
    read_side = container.read_side
    assert read_side.wait(read_side.head(), timeout=30), "the server's read models did not catch up"


def _user(container: Container, role: Role, name: str) -> tuple[str, UUID]:
    username = f"{role.value}-{secrets.token_hex(3)}"
    user_id = container.app.create_user(
        username=username, display_name=name, role=role, password=PASSWORD, by=SYSTEM_USER_ID
    ).id
    return username, user_id


@pytest.fixture(scope="module")
def zone(live_server) -> Iterator[Zone]:  # noqa: ANN001
    settings = Settings(
        environment="test",
        data_dir=live_server.data_dir,
        database_url=live_server.env["DATABASE_URL"],
        secret_key=live_server.env["SSZ_SECRET_KEY"],
        log_level="WARNING",
    )
    container = bootstrap(settings, run_migrations=False)
    app = container.app
    dispatcher, dispatcher_id = _user(container, Role.DISPATCHER, "ผู้สั่งการ ทดสอบ")
    supervisor, supervisor_id = _user(container, Role.SUPERVISOR, "ร.ต.อ. ส่งเวร")
    incoming, _ = _user(container, Role.SUPERVISOR, "ร.ต.ท. รับเวร")
    _, officer_id = _user(container, Role.OFFICER, "ส.ต.อ. สายตรวจ")
    units = []
    for n in range(3):
        unit = app.register_unit(
            call_sign=f"B{secrets.token_hex(2).upper()}-{n}", kind=UnitKind.MOTORCYCLE, by=supervisor_id
        ).id
        app.unit_on_duty(unit, officer_ids=[officer_id], by=supervisor_id)
        units.append(unit)
    token = f"e2e{secrets.token_hex(3)}"
    now = datetime.now(UTC)
    ids = []
    for n, (priority, community) in enumerate(
        [
            (Priority.P1, Community.KO_LOI),
            (Priority.P2, Community.SI_KOET),
            (Priority.P3, Community.CHET_YOT),
            (Priority.P4, Community.KLONG_YAO),
            (Priority.P2, Community.WAT_PHRA_KAEO),
            (Priority.P3, Community.KO_LOI),
        ]
    ):
        ids.append(
            app.report_incident(
                channel=Channel.PHONE_191,
                category=Category.THEFT if n % 2 else Category.DISTURBANCE,
                priority=priority,
                community=community,
                location=LOCATIONS[n % len(LOCATIONS)],
                description=f"กระเป๋าถูกกระชากขณะเดินกลับบ้าน {token}",
                by=dispatcher_id,
                occurred_at=now - timedelta(minutes=3 + 7 * n),
            ).id
        )
    app.dispatch_unit(ids[5], units[2], by=dispatcher_id)
    app.dispatch_unit(ids[4], units[1], by=dispatcher_id)
    app.mark_on_scene(ids[4], units[1], by=dispatcher_id)
    app.resolve_incident(ids[4], outcome=Outcome.REPORT_FILED, summary="", by=dispatcher_id)
    _alerts(container, settings)
    shown(container)
    references = [container.reads.incident(i)["reference"] for i in ids]
    yield Zone(container, dispatcher, supervisor, incoming, references, token, dispatcher_id)
    container.close()


def _alerts(container: Container, settings: Settings) -> None:
    code = f"CAM-{secrets.token_hex(3).upper()}"
    camera = container.app.register_camera(
        code=code,
        name="หน้าตลาด",
        community=Community.SI_KOET,
        owner=PartnerSector.BUSINESS,
        owner_name="ร้านค้า",
        consent_reference="MOU 2569/9",
        source="rtsp://e2e/board",
        by=SYSTEM_USER_ID,
    ).id
    store = SnapshotStore(settings.snapshot_dir)
    for kind in (AlertKind.PERSON_AT_NIGHT, AlertKind.MOTION_IN_ZONE):
        frame = np.full((360, 640, 3), (40, 50, 60), np.uint8)
        cv2.rectangle(frame, (260, 120), (340, 330), (200, 200, 200), -1)
        container.app.raise_camera_alert(
            camera_id=camera,
            kind=kind,
            score=0.9,
            snapshot_digest=store.put(frame),
            frame_at=datetime.now(UTC) - timedelta(seconds=20),
            zone="ทางเข้า",
            by=SYSTEM_USER_ID,
        )


def signed_in(new_context, login, username: str, viewport: dict[str, int] | None = None, **options) -> Page:  # noqa: ANN001, ANN003
    page = new_context(viewport=viewport, **options).new_page()
    login(page, username, PASSWORD)
    return page


def open_board(page: Page) -> None:
    page.goto("/board")
    expect(page.locator("#live")).to_have_class(re.compile(r"\bok\b"))


def no_horizontal_scroll(page: Page) -> list[str]:
    """What is wider than its box: the page itself, or a panel."""
    return page.evaluate(
        """() => {
        const wide = [];
        const root = document.documentElement;
        if (root.scrollWidth > root.clientWidth) wide.push(`page ${root.scrollWidth} > ${root.clientWidth}`);
        document.querySelectorAll('.panel').forEach(p => {
            if (p.scrollWidth > p.clientWidth + 1) wide.push(`${p.id} ${p.scrollWidth} > ${p.clientWidth}`);
        });
        return wide;
    }"""
    )


# ------------------------------------------------------------------------------------------------ the board


@pytest.mark.parametrize("screen", ["wall", "desk", "desk-en"])
def test_the_board_reads_on_a_wall_and_a_desk_screen_without_sideways_scrolling(
    zone: Zone, new_context, login, screenshot, screen: str
) -> None:
    viewport = WALL if screen == "wall" else DESK
    page = signed_in(
        new_context, login, zone.dispatcher, viewport, locale="en-US" if screen.endswith("en") else "th-TH"
    )
    open_board(page)
    queue = page.locator("#panel-pending")
    row = queue.locator(f"tr[data-reference='{zone.references[0]}']")
    expect(row).to_be_visible()
    for column in ("P1", "Ko Loi" if screen.endswith("en") else "เกาะลอย"):  # priority and community
        expect(row).to_contain_text(column)
    expect(row.locator("time.age")).to_be_visible()
    # One-click dispatch: the suggested (first) unit is preselected, the button is on the row, in view.
    select = row.locator("select[name=unit_id]")
    assert select.evaluate("s => s.selectedIndex === 0 && s.options[0].selected && s.options.length >= 1")
    assert select.evaluate("s => s.options[0].hasAttribute('selected')")
    expect(row.locator("button[type=submit]")).to_be_in_viewport()
    assert no_horizontal_scroll(page) == []
    if screen == "wall":  # the camera alerts, without scrolling
        expect(page.locator("#panel-alerts li.alert-row").first).to_be_in_viewport()
        assert page.evaluate("() => document.documentElement.scrollHeight <= window.innerHeight + 1")
    expect(page.locator("#panel-closure")).to_contain_text(zone.references[4])
    screenshot(page, f"{screen}-day", full_page=False)
    page.locator("#theme-toggle").click()
    expect(page.locator("html")).to_have_class(re.compile(r"\bnight\b"))
    assert no_horizontal_scroll(page) == []
    screenshot(page, f"{screen}-night", full_page=False)
    page.locator("#theme-toggle").click()


def test_filters_sort_and_the_shortcuts_help_on_the_board(zone: Zone, new_context, login, screenshot) -> None:
    page = signed_in(new_context, login, zone.supervisor, DESK)
    open_board(page)
    # ? opens the help, Esc closes it; the button says the same.
    page.keyboard.press("?")
    help_dialog = page.locator("dialog#shortcuts")
    expect(help_dialog).to_be_visible()
    expect(help_dialog.locator("kbd", has_text="?")).to_be_visible()
    screenshot(page, "help", full_page=False)
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()
    # Only P1: the other pending rows are hidden, and the URL says so (a reload keeps the filter).
    page.locator("#board-filters input[value=P1]").check()
    mine = [page.locator(f"#panel-pending tr[data-reference='{r}']") for r in zone.references[:4]]
    expect(mine[0]).to_be_visible()
    for other in mine[1:]:
        expect(other).to_be_hidden()
    assert "priority=P1" in page.url
    page.reload()  # the page comes filtered; its live updates are filtered in the page
    expect(page.locator(f"#panel-pending tr[data-reference='{zone.references[1]}']")).to_be_hidden()
    expect(page.locator("#filter-note")).to_be_visible()
    page.locator("#board-filters input[value=P1]").uncheck()
    # Sorted by age: the oldest first.
    page.locator("#board-filters select[name=sort]").select_option("age")
    order = page.eval_on_selector_all(
        "#panel-pending tbody tr:not([hidden])", "rows => rows.map(r => r.dataset.reported)"
    )
    assert order == sorted(order)
    # "a" goes to the first unit picker.
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("a")
    assert page.evaluate("() => document.activeElement.name") == "unit_id"


def test_the_first_p1_beeps_when_sound_is_on(zone: Zone, playwright_instance, live_server, login) -> None:  # noqa: ANN001
    browser = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"], headless=True
    )
    try:
        context = browser.new_context(viewport=DESK, locale="th-TH", base_url=live_server.base_url)
        context.add_init_script("localStorage.setItem('ssz-sound', '1')")
        page = context.new_page()
        login(page, zone.dispatcher, PASSWORD)  # lands on the board: its P1 sounds once for this tab
        if not page.url.endswith("/board"):
            open_board(page)
        expect(page.locator("#live")).to_have_class(re.compile(r"\bok\b"))
        page.wait_for_function("() => parseInt(document.documentElement.dataset.beeps || '0') >= 1")
        before = int(page.evaluate("() => document.documentElement.dataset.beeps"))
        reference = zone.report(Priority.P1, "หน้าโรงเรียน ทดสอบเสียง")
        expect(page.locator(f"#panel-pending tr[data-reference='{reference}']")).to_be_visible(timeout=10_000)
        page.wait_for_function(f"() => parseInt(document.documentElement.dataset.beeps || '0') > {before}")
    finally:
        browser.close()


# ------------------------------------------------------------------------------------------------ search


def test_search_by_partial_reference_thai_words_and_a_buddhist_era_date(
    zone: Zone, new_context, login, screenshot
) -> None:
    page = signed_in(new_context, login, zone.supervisor, DESK)
    page.goto("/board")
    page.keyboard.press("/")
    board_box = page.locator("#board-q")
    expect(board_box).to_be_focused()  # the shortcut puts the cursor in the board's search box
    number = str(int(zone.references[2][-6:]))  # e.g. "3" for CR-2569-000003
    board_box.fill(number)  # at once: typed key by key, the search once missed its input in a parallel run
    board_box.press("Enter")
    page.wait_for_url(re.compile(r"/incidents\?q="))
    expect(page.locator("table.list")).to_contain_text(zone.references[2])
    # Thai words inside a phrase, with this run's token
    box = page.locator("#q")
    box.fill(f"กระชาก {zone.token}")
    page.locator("form[role=search] button[type=submit]").click()
    expect(page.locator("table.list tbody tr")).to_have_count(6)
    # A Buddhist-era year, typed
    year = zone.references[0][3:7]
    page.locator("input[name=from]").fill(year)
    page.locator("input[name=to]").fill(f"31/12/{year}")
    page.locator("form[role=search] button[type=submit]").click()
    expect(page.locator("table.list tbody tr")).to_have_count(6)
    expect(page.locator(".result-line")).to_contain_text(f"1 ม.ค. {year}")
    expect(page.locator(".result-line a[href^='/incidents/export.csv']")).to_be_visible()
    screenshot(page, "search")
    # Bad input: only punctuation, and 10,000 characters: a message, not an error page
    box.fill("!!! ???")
    page.locator("form[role=search] button[type=submit]").click()
    expect(page.locator("#q-error")).to_be_visible()
    response = page.goto("/incidents?q=" + "x" * 10_000)
    assert response is not None and response.status == 422
    expect(page.locator("#q-error")).to_contain_text("200")


# ------------------------------------------------------------------------------------------------ handover


def test_a_shift_handed_over_from_one_supervisor_to_the_next(zone: Zone, new_context, login, screenshot) -> None:
    outgoing = signed_in(new_context, login, zone.supervisor, DESK)
    outgoing.goto("/handover")
    expect(outgoing.locator("#h-open")).to_be_visible()
    expect(outgoing.locator("main")).to_contain_text(zone.references[0])
    expect(outgoing.locator("main")).to_contain_text(zone.references[4])  # resolved, awaiting closure: still open
    outgoing.locator("form.handover-form button[type=submit]").click()  # nothing written: told, nothing recorded
    expect(outgoing.locator("#briefing-error")).to_be_visible()
    outgoing.locator("#briefing").fill("ฝนตกหนักช่วงค่ำ ถนนหน้าตลาดลื่น\nเหตุ P1 ที่เกาะลอยยังรอหน่วย")
    outgoing.locator("form.handover-form button[type=submit]").click()
    outgoing.wait_for_url(re.compile(r"/handover/[0-9a-f-]{36}$"))
    record = outgoing.url
    expect(outgoing.locator(".briefing")).to_contain_text("ฝนตกหนักช่วงค่ำ")
    outgoing.emulate_media(media="print")
    screenshot(outgoing, "handover-print")
    outgoing.emulate_media(media="screen")
    incoming = signed_in(new_context, login, zone.incoming, DESK)
    incoming.goto("/handover")
    incoming.locator(f"a[href='{urlsplit(record).path}']").first.click()
    incoming.locator("input[name=note]").fill("รับทราบ จะตามเหตุ P1")
    incoming.locator("form[action$='/acknowledge'] button").click()
    expect(incoming.locator("dd.ack")).to_contain_text("ร.ต.ท. รับเวร")
    screenshot(incoming, "handover-acknowledged")
    outgoing.reload()
    expect(outgoing.locator("dd.ack")).to_contain_text("รับทราบ จะตามเหตุ P1")


# ------------------------------------------------------------------------------------------------ accessibility


def serious_violations(page: Page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(n["target"][0] for n in v["nodes"][:4])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("mode", ["day", "night"])
def test_the_main_pages_have_no_serious_accessibility_violations(zone: Zone, new_context, login, mode: str) -> None:
    page = signed_in(new_context, login, zone.supervisor, DESK, bypass_csp=True)  # axe is injected as a script
    if mode == "night":
        page.evaluate("() => localStorage.setItem('ssz-night', '1')")
    handovers = zone.container.reads.handovers(limit=1)
    paths = ["/board", f"/incidents?q={zone.token}", "/incidents/new", f"/incidents/{zone.references[0]}", "/handover"]
    paths += [f"/handover/{handovers[0]['id']}"] if handovers else []
    problems = {}
    for path in paths:
        page.goto(path)
        page.wait_for_load_state("networkidle") if path != "/board" else page.wait_for_timeout(300)
        found = serious_violations(page)
        if found:
            problems[path] = found
    assert not problems, "\n".join(f"{p}:\n  " + "\n  ".join(v) for p, v in problems.items())
