"""Red boxes over HTTP on both stores: the printed sheet's QR code leads an officer to a check-in that is recorded
as a visit; a far or too-quick check-in is recorded but flagged; a wrong, rotated or forged code is refused,
recorded as a refused attempt, and checks nothing in; a supervisor voids a visit; the supervisors' pages show
what is missing today and over recent nights."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from domain.values import Community, GeoPoint
from infrastructure.bootstrap import Container, bootstrap
from infrastructure.settings import Settings
from tests.integration.conftest import build_world
from tests.integration.web_support import Browser, head, signed_in
from web.app import create_app

BANGKOK = ZoneInfo("Asia/Bangkok")
CLOCK_TOWER = GeoPoint(19.90760, 99.83250)
NEAR_CLOCK_TOWER = ("19.90770", "99.83260")  # about 15 m away
WAT_JED_YOD = GeoPoint(19.90330, 99.82940)  # about 580 m from the clock tower


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def site(settings: Settings) -> Iterator[tuple]:
    """The app at 21:30 in Bangkok, two registered boxes, a supervisor's and an officer's browser."""
    clock = Clock(datetime(2026, 11, 24, 21, 30, tzinfo=BANGKOK).astimezone(UTC))
    container = bootstrap(settings, clock=clock)
    world = build_world(container.app)
    clock.now -= timedelta(days=2)  # the boxes have served for two days
    for code, th, en, where in (
        ("RB-01", "หอนาฬิกา", "Clock Tower", CLOCK_TOWER),
        ("RB-02", "วัดเจ็ดยอด", "Wat Jed Yod", WAT_JED_YOD),
    ):
        container.app.register_red_box(
            code=code, name_th=th, name_en=en, community=Community.KO_LOI, position=where, by=world.admin
        )
    clock.now += timedelta(days=2)
    app = create_app(container, run_projections=True)
    with TestClient(app):  # runs the lifespan: projections follow the log in this process, as in `make run`
        assert container.projections.wait(head(container), timeout=30)
        yield (
            container,
            world,
            clock,
            signed_in(app, container, world.supervisor),
            signed_in(app, container, world.officer),
        )
    container.close()


def printed_url(supervisor: Browser, code: str) -> str:
    page = supervisor.get(f"/red-boxes/{code}/sheet")
    assert page.status_code == 200 and "<svg" in page.text
    match = re.search(rf"http://testserver(/checkin/{code}\?t=[A-Za-z0-9_-]+-[A-Za-z0-9_-]+)", page.text)
    assert match, "the sheet carries the check-in address of its box"
    return match.group(1)


def visits(container: Container) -> list[dict]:
    assert container.projections.wait(head(container), timeout=30)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    return container.reads.visits_between(start, start + timedelta(days=60))


def refused(container: Container) -> list[dict]:
    assert container.projections.wait(head(container), timeout=30)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    return container.reads.refused_check_ins(start, start + timedelta(days=60))


def test_the_sheet_shows_the_box_in_thai_and_english_with_a_qr_code_only_to_those_who_manage_boxes(site: tuple) -> None:
    container, world, _, supervisor, officer = site
    page = supervisor.get("/red-boxes/RB-01/sheet")
    assert "หอนาฬิกา" in page.text and "Clock Tower" in page.text and "RB-01" in page.text
    assert officer.get("/red-boxes/RB-01/sheet").status_code == 403
    assert supervisor.get("/red-boxes/RB-77/sheet").status_code == 404


def test_a_check_in_through_the_printed_code_is_a_visit_with_the_phones_position(site: tuple) -> None:
    container, world, _, supervisor, officer = site
    url = printed_url(supervisor, "RB-01")
    page = officer.get(url)
    assert page.status_code == 200 and "Clock Tower" in page.text or "หอนาฬิกา" in page.text
    token = re.search(r'name="t" value="([^"]+)"', page.text).group(1)

    done = officer.post(
        "/checkin/RB-01",
        {
            "t": token,
            "lat": NEAR_CLOCK_TOWER[0],
            "lon": NEAR_CLOCK_TOWER[1],
            "observation": "Quiet; the lamp by the gate is out.",
        },
    )

    assert done.status_code == 303 and done.headers["location"].startswith("/visits/")
    [visit] = visits(container)
    assert (visit["box_code"], visit["status"], visit["officer_id"]) == ("RB-01", "valid", world.officer)
    assert visit["flags"] == []
    shown = officer.get(done.headers["location"])
    assert shown.status_code == 200 and "19.90770" in shown.text and "the lamp by the gate is out" in shown.text
    assert "RB-01" in supervisor.get("/red-boxes").text
    mine = officer.get("/my").text  # the officer's phone page lists the shift's own check-ins
    assert f'href="{done.headers["location"].split("?")[0]}"' in mine


def test_a_check_in_far_from_the_box_or_too_soon_after_a_distant_one_is_recorded_but_flagged(site: tuple) -> None:
    container, world, clock, supervisor, officer = site
    token_1 = printed_url(supervisor, "RB-01").split("t=")[1]
    token_2 = printed_url(supervisor, "RB-02").split("t=")[1]

    officer.post("/checkin/RB-01", {"t": token_1, "lat": "19.95000", "lon": "99.83250"})  # 4.7 km north
    clock.now += timedelta(minutes=10)
    near_jed_yod = {"lat": f"{WAT_JED_YOD.lat:.5f}", "lon": f"{WAT_JED_YOD.lon:.5f}"}
    officer.post("/checkin/RB-02", {"t": token_2, **near_jed_yod})  # at the box
    clock.now += timedelta(seconds=20)
    officer.post(
        "/checkin/RB-01", {"t": token_1, "lat": NEAR_CLOCK_TOWER[0], "lon": NEAR_CLOCK_TOWER[1]}
    )  # 580 m in 20 s

    newest_first = visits(container)
    assert [(v["box_code"], v["status"]) for v in newest_first] == [
        ("RB-01", "flagged"),
        ("RB-02", "valid"),
        ("RB-01", "flagged"),
    ]
    [too_fast], [far] = newest_first[0]["flags"], newest_first[2]["flags"]
    assert too_fast["finding"] == {
        "kind": "too_fast",
        "metres": too_fast["finding"]["metres"],
        "from_box": "RB-02",
        "seconds": 20,
    }
    assert 500 < too_fast["finding"]["metres"] < 700
    assert far["finding"] == {"kind": "far_from_box", "metres": far["finding"]["metres"], "box": "RB-01"}
    assert 4_500 < far["finding"]["metres"] < 5_000
    metres = f"{too_fast['finding']['metres']:,}"
    # Each reader sees the system's findings in their own language: the day's page and the visit's page.
    page = supervisor.get("/red-boxes").text  # Thai, the default
    assert f"ห่างจากตู้แดง RB-02 {metres} เมตร ภายใน 20 วินาที" in page and "faster than" not in page
    assert f"สแกนห่างจากตู้แดง RB-01 {far['finding']['metres']:,} เมตร" in page
    english = supervisor.get("/red-boxes", headers={"accept-language": "en"}).text
    assert f"{metres} m from red box RB-02 in 20 s: faster than a patrol can travel" in english
    visit_page = supervisor.get(f"/visits/{newest_first[2]['visit_id']}").text
    assert f"สแกนห่างจากตู้แดง RB-01 {far['finding']['metres']:,} เมตร" in visit_page and "scanned" not in visit_page


@pytest.mark.parametrize("how", ["rotated", "forged", "other box", "unknown box", "garbage"])
def test_a_wrong_or_old_code_is_refused_plainly_recorded_and_checks_nothing_in(site: tuple, how: str) -> None:
    container, world, _, supervisor, officer = site
    url = printed_url(supervisor, "RB-01")
    if how == "rotated":
        rotated = supervisor.post("/red-boxes/RB-01/rotate", {"reason": "The sheet was photographed and shared"})
        assert rotated.status_code == 303
    elif how == "forged":
        url = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    elif how == "other box":
        url = url.replace("RB-01", "RB-02")  # RB-01's token does not open RB-02
    elif how == "unknown box":
        url = url.replace("RB-01", "RB-77")
    else:
        url = "/checkin/RB-01?t=%00%3Cscript%3E"
    before = head(container)

    page = officer.get(url)

    assert page.status_code == 422  # a refused code is bad input, not a role's refusal (403)
    assert "Check-in refused" in page.text or "ไม่รับการลงชื่อ" in page.text
    assert page.text.count('name="t"') == 1 and "data-report" in page.text  # no check-in: a button to report it
    assert head(container) == before  # a GET records nothing: link prefetchers and crawlers open these links too
    report = re.search(r'<form method="post" action="([^"]+)"[^>]*data-report.*?</form>', page.text, re.S)
    posted = officer.post(report.group(1), dict(re.findall(r'name="(\w+)" value="([^"]*)"', report.group(0))))
    assert posted.status_code == 422
    assert visits(container) == []
    attempts = refused(container)
    assert len(attempts) == 1 and {a["officer_id"] for a in attempts} == {world.officer}  # the posted attempt
    expected = {
        "rotated": "outdated",
        "forged": "invalid",
        "other box": "invalid",
        "unknown box": "unknown_box",
        "garbage": "invalid",
    }[how]
    assert {a["refusal"] for a in attempts} == {expected}
    assert supervisor.get("/red-boxes").text.count("<li><time") >= 1


def test_a_refused_code_opened_records_nothing_and_its_report_button_records_who_tried_it_and_why(site: tuple) -> None:
    container, world, _, supervisor, officer = site
    url = printed_url(supervisor, "RB-01")
    rotated = supervisor.post("/red-boxes/RB-01/rotate", {"reason": "The sheet was photographed and shared"})
    assert rotated.status_code == 303
    before = head(container)

    page = officer.get(url, headers={"accept-language": "en"})

    assert page.status_code == 422 and "is out of date" in page.text
    assert head(container) == before  # opening the link records nothing
    report = re.search(r'<form method="post" action="([^"]+)"[^>]*data-report.*?</form>', page.text, re.S)
    assert report, "the refused page offers a button that reports the code"
    assert report.group(0).count("<button") == 1 and "Check in here" not in page.text
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', report.group(0)))
    assert fields["t"] == url.split("t=")[1] and fields["csrf_token"]
    fields.update(lat=NEAR_CLOCK_TOWER[0], lon=NEAR_CLOCK_TOWER[1])  # the phone's position, as on a check-in

    reported = officer.post(report.group(1), fields, headers={"accept-language": "en"})

    assert reported.status_code == 422
    assert "is out of date" in reported.text and "Reported." in reported.text
    assert "data-report" not in reported.text  # reported: nothing more to tap
    assert visits(container) == []
    [attempt] = refused(container)
    assert (attempt["box_code"], attempt["officer_id"], attempt["refusal"], attempt["token_version"]) == (
        "RB-01",
        world.officer,
        "outdated",
        1,
    )
    assert (attempt["lat"], attempt["lon"]) == (float(NEAR_CLOCK_TOWER[0]), float(NEAR_CLOCK_TOWER[1]))
    listed = re.search(r'<ol class="refused">.*?</ol>', supervisor.get("/red-boxes").text, re.S).group(0)
    assert "RB-01" in listed and attempt["officer"] in listed

    again = officer.post(report.group(1), fields)  # a second tap is one more report, not an error
    assert again.status_code == 422 and "ไม่รับการลงชื่อ" in again.text
    assert len(refused(container)) == 2 and visits(container) == []


def test_after_a_rotation_the_new_sheet_works(site: tuple) -> None:
    container, world, _, supervisor, officer = site
    old = printed_url(supervisor, "RB-01")
    supervisor.post("/red-boxes/RB-01/rotate", {"reason": "Sticker damaged by rain"})
    new = printed_url(supervisor, "RB-01")
    assert new != old and "t=2-" in new
    at_the_box = {"lat": NEAR_CLOCK_TOWER[0], "lon": NEAR_CLOCK_TOWER[1]}
    assert officer.post("/checkin/RB-01", {"t": new.split("t=")[1], **at_the_box}).status_code == 303
    assert [v["status"] for v in visits(container)] == ["valid"]


@pytest.mark.parametrize(
    "form",
    [
        {"lat": "north", "lon": "99.8"},
        {"lat": "91", "lon": "99.8"},
        {"lat": "nan", "lon": "inf"},
        {"observation": "x" * 20_000},
        {"observation": "bad\x00byte"},
    ],
)
def test_bad_check_in_input_gets_a_4xx_and_changes_nothing(site: tuple, form: dict) -> None:
    container, world, _, supervisor, officer = site
    token = printed_url(supervisor, "RB-01").split("t=")[1]
    before = head(container)
    response = officer.post("/checkin/RB-01", {"t": token, **form})
    assert 400 <= response.status_code < 500
    assert head(container) == before


def test_a_supervisor_voids_a_visit_with_a_reason_and_an_officer_cannot(site: tuple) -> None:
    container, world, _, supervisor, officer = site
    token = printed_url(supervisor, "RB-01").split("t=")[1]
    location = officer.post("/checkin/RB-01", {"t": token}).headers["location"]
    visit_path = location.split("?")[0]

    assert officer.post(f"{visit_path}/void", {"reason": "mine"}).status_code == 403
    assert supervisor.post(f"{visit_path}/void", {"reason": ""}).status_code == 422
    assert supervisor.post(f"{visit_path}/void", {"reason": "Checked in for a colleague"}).status_code == 303

    [visit] = visits(container)
    assert visit["status"] == "voided" and visit["void_reason"] == "Checked in for a colleague"
    assert "Checked in for a colleague" in supervisor.get(visit_path).text
    assert supervisor.get(f"/visits/{UUID(int=5)}").status_code == 404


def test_the_day_page_shows_missed_night_slots_and_late_boxes_and_coverage_counts_only_ended_slots(site: tuple) -> None:
    container, world, clock, supervisor, officer = site
    app = world.app
    box_1 = container.reads.red_box_by_code("RB-01")["id"]
    # Today (24 Nov, now 21:30): RB-01 visited at 01:00 and 03:00 and 20:45; nothing at 04–06 or 18–20.
    for hour, minute in ((1, 0), (3, 0), (20, 45)):
        app.log_patrol_visit(
            box_id=box_1,
            token_version=1,
            by=world.officer,
            occurred_at=datetime(2026, 11, 24, hour, minute, tzinfo=BANGKOK),
            position=CLOCK_TOWER,
        )
    assert container.projections.wait(head(container), timeout=30)

    days = {c.box["code"]: c for c in container.reads.coverage_of_day(clock.now.astimezone(BANGKOK).date(), clock.now)}
    assert days["RB-01"].missed == [2, 9]  # 04–06 and 18–20; 20–22 has not ended; 22–24 has not begun
    assert days["RB-01"].late is False  # visited 45 minutes ago
    assert days["RB-02"].missed == [0, 1, 2, 9] and days["RB-02"].late is True

    nights = {
        r.box["code"]: r
        for r in container.reads.night_coverage(datetime(2026, 11, 23).date(), datetime(2026, 11, 24).date(), clock.now)
    }
    # The night of the 23rd: six ended slots, RB-01 visited in two (00–02, 02–04 of the 24th); tonight: one ended slot (18–20).
    assert (nights["RB-01"].covered, nights["RB-01"].slots) == (2, 7)
    assert (nights["RB-02"].covered, nights["RB-02"].slots) == (0, 7)

    page = supervisor.get("/red-boxes")
    assert page.status_code == 200 and page.text.count('class="slot night missed') + page.text.count('missed"') >= 1
    coverage = supervisor.get("/coverage?nights=2&until=2026-11-24")
    assert coverage.status_code == 200 and "14.3 %" in coverage.text  # 2 of 14


@pytest.mark.parametrize(
    "path",
    [
        "/red-boxes?day=yesterday",
        "/coverage?until=soon",
        "/coverage?nights=abc",
        "/visits/not-a-uuid",
        "/red-boxes/" + "X" * 300 + "/sheet",
    ],
)
def test_bad_addresses_are_4xx_not_5xx(site: tuple, path: str) -> None:
    response = site[3].get(path)
    assert 400 <= response.status_code < 500


def test_a_supervisor_registers_a_box_and_bad_registrations_are_refused_at_their_field(site: tuple) -> None:
    container, world, _, supervisor, officer = site
    form = {
        "code": "RB-03",
        "name_th": "ตลาดสด",
        "name_en": "Fresh market",
        "community": Community.KO_LOI.value,
        "lat": "19.9100",
        "lon": "99.8300",
    }
    before = head(container)
    assert supervisor.post("/red-boxes", {**form, "lat": "95"}).status_code == 422
    assert supervisor.post("/red-boxes", {**form, "code": "!!"}).status_code == 422
    assert supervisor.post("/red-boxes", {**form, "code": "RB-01"}).status_code == 422  # exists already
    assert head(container) == before
    assert supervisor.post("/red-boxes", form).status_code == 303
    assert container.reads.red_box_by_code("rb-03")["name_en"] == "Fresh market"
    assert officer.post("/red-boxes", {**form, "code": "RB-04"}).status_code == 403


def test_a_check_in_just_after_midnight_in_bangkok_is_on_that_days_page(site: tuple) -> None:
    """00:30 in Bangkok is 17:30 UTC of the day before: the day's page and slots go by Bangkok's date."""
    container, world, clock, supervisor, officer = site
    token = printed_url(supervisor, "RB-01").split("t=")[1]
    clock.now = datetime(2026, 11, 25, 0, 30, tzinfo=BANGKOK).astimezone(UTC)
    at_the_box = {"t": token, "lat": NEAR_CLOCK_TOWER[0], "lon": NEAR_CLOCK_TOWER[1]}
    visit_path = officer.post("/checkin/RB-01", at_the_box).headers["location"].split("?")[0]

    page = supervisor.get("/red-boxes").text
    assert f'href="{visit_path}"' in page
    days = {c.box["code"]: c for c in container.reads.coverage_of_day(clock.now.astimezone(BANGKOK).date(), clock.now)}
    assert days["RB-01"].slots[0]["valid"] == 1 and days["RB-01"].late is False
    assert f'href="{visit_path}"' not in supervisor.get("/red-boxes?day=2026-11-24").text
