"""The search box's reads (partial reference, Thai free text, Buddhist-era dates) and the shift handover, on real
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from application.errors import ConflictError
from domain.errors import DomainError, NotPermitted, TransitionRefused
from domain.values import BANGKOK, Community, Priority, Role
from infrastructure.bootstrap import Container
from infrastructure.readmodels.queries import IncidentFilter
from tests.integration.conftest import World
from web import i18n, parse

THAI = [
    ("ซอยพหลโยธิน 3 หน้าร้านสะดวกซื้อ", "ชายสองคนทะเลาะกันหน้าร้าน"),
    ("ตลาดสดเทศบาล ถนนบรรพปราการ", "กระเป๋าถูกกระชากขณะเดินกลับบ้าน"),
    ("Soi 5 near the clock tower", "A motorbike was stolen outside the 7-Eleven."),
]


@pytest.fixture
def searched(container: Container, world: World):
    now = datetime.now(UTC)
    for hours, (location, description) in zip((50, 30, 2), THAI, strict=True):
        world.report(occurred_at=now - timedelta(hours=hours), location=location, description=description)
    container.projections.catch_up()
    return container, now


def found(container: Container, **where) -> list[str]:
    return [i["reference"][-6:] for i in container.reads.search_incidents(IncidentFilter(**where)).items]


def test_a_partial_reference_finds_the_incident_by_its_number(searched) -> None:
    container, now = searched
    year = now.astimezone(BANGKOK).year + 543
    assert found(container, text=("2",)) == ["000002"]
    assert found(container, text=(f"{year}-3",)) == ["000003"]
    assert found(container, text=(f"CR-{year}-00000",)) == ["000003", "000002", "000001"]
    assert found(container, text=("999",)) == []


def test_thai_words_inside_a_phrase_are_found_in_the_location_and_the_description(searched) -> None:
    container, _ = searched
    assert found(container, text=("ร้านสะดวกซื้อ",)) == ["000001"]  # inside the location, no space around it
    assert found(container, text=("กระชาก",)) == ["000002"]  # inside the description
    assert found(container, text=("หน้าร้าน",)) == ["000001"]
    assert found(container, text=("ถนน", "กระเป๋า")) == ["000002"]  # every word must be found
    assert found(container, text=("clock", "STOLEN")) == ["000003"]
    assert found(container, text=("100%",)) == []  # % and _ are letters here, not wildcards
    assert found(container, text=("ทะเลาะ", "ตลาด")) == []


def test_buddhist_era_dates_select_the_days_they_name(searched) -> None:
    container, now = searched
    today = now.astimezone(BANGKOK).date()
    with i18n.use_locale("th"):
        first, last = parse.day_range(f"{today.day}/{today.month}/{today.year + 543}")
        year_first, year_last = parse.day_range(str(today.year + 543))
    assert first == last == today
    assert (year_first.year, year_last.year) == (today.year, today.year)
    start = datetime.combine(first, datetime.min.time(), BANGKOK)
    assert "000003" in found(container, reported_from=start, reported_to=start + timedelta(days=1))
    assert "000001" not in found(container, reported_from=start, reported_to=start + timedelta(days=1))


def test_the_search_box_refuses_what_it_cannot_search_with_a_message() -> None:
    with i18n.use_locale("th"):
        for text in ("x" * 10_000, "!!! ... ???"):
            with pytest.raises(parse.Unreadable) as refused:
                parse.search_words(text)
            assert refused.value.message
        assert parse.search_words("  ซอย   3 - ") == ("ซอย", "3")
        for text in ("31/02/2569", "hello", "2569-13-01"):
            with pytest.raises(parse.Unreadable):
                parse.day_range(text)


def test_a_supervisor_hands_over_the_shift_and_the_next_one_acknowledges_it(container: Container, world: World) -> None:
    app, reads = container.app, container.reads
    now = datetime.now(UTC)
    world.report(occurred_at=now - timedelta(hours=1), priority=Priority.P1, community=Community.SI_KOET)
    container.projections.catch_up()
    start = reads.shift_start(now)
    assert start == now - timedelta(hours=12)
    report = reads.shift_report(start, now)
    assert report.reported["P1"] == 1 and not report.empty
    assert [u["call_sign"] for u in report.units_on_duty] == ["M-01", "M-02"]
    with pytest.raises(DomainError):
        app.hand_over_shift(shift_from=start, shift_to=now, briefing="  ", summary={}, by=world.supervisor)
    with pytest.raises(NotPermitted):
        app.hand_over_shift(shift_from=start, shift_to=now, briefing="x", summary={}, by=world.dispatcher)
    handed = app.hand_over_shift(
        shift_from=start, shift_to=now, briefing="ฝนตกหนัก ระวังถนนลื่น", summary=report.summary(), by=world.supervisor
    )
    incoming = app.create_user(
        username="night-sup", display_name="Night", role=Role.SUPERVISOR, password="x" * 20, by=world.admin
    ).id
    with pytest.raises(TransitionRefused):
        app.acknowledge_handover(handed.id, by=world.supervisor)
    app.acknowledge_handover(handed.id, note="รับทราบ", by=incoming)
    with pytest.raises((TransitionRefused, ConflictError)):
        app.acknowledge_handover(handed.id, by=incoming)
    container.projections.catch_up()
    row = reads.handover(handed.id)
    assert row["briefing"] == "ฝนตกหนัก ระวังถนนลื่น" and row["summary"]["reported"]["P1"] == 1
    assert (row["handed_by_name"], row["acknowledged_by_name"], row["acknowledgement"]) == (
        "Supervisor",
        "Night",
        "รับทราบ",
    )
    assert reads.shift_start(now + timedelta(hours=1)) == now  # the next shift begins where this one was handed over
