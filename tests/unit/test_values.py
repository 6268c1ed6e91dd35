from datetime import UTC, datetime, time, timedelta, timezone

import pytest

from domain.errors import DomainError, InvalidInput
from domain.values import (
    AlertKind,
    CancelReason,
    Category,
    DetectionRule,
    GeoPoint,
    Priority,
    Zone,
    be_year,
    check_occurred_at,
    clean_text,
    is_night,
    parse_enum,
)

BANGKOK_NOON = datetime(2026, 3, 14, 5, 0, tzinfo=UTC)


# --- parse_enum ---------------------------------------------------------------


def test_an_unknown_category_is_invalid_input_naming_the_field_and_the_choices():
    with pytest.raises(InvalidInput) as info:
        parse_enum(Category, "jaywalking", "category")

    assert info.value.field == "category"
    assert str(info.value).startswith("Unknown category 'jaywalking'; expected one of: assault, sexual_harassment,")
    assert str(info.value).endswith(", other.")


def test_a_multi_word_field_is_named_in_words():
    with pytest.raises(InvalidInput, match=r"^Unknown cancel reason 'bored'") as info:
        parse_enum(CancelReason, "bored", "cancel_reason")
    assert info.value.field == "cancel_reason"


@pytest.mark.parametrize("value", ["P1", Priority.P1])
def test_a_known_value_or_member_parses_to_the_member(value):
    assert parse_enum(Priority, value, "priority") is Priority.P1


def test_enum_values_are_case_sensitive():
    with pytest.raises(InvalidInput):
        parse_enum(Priority, "p1", "priority")


# --- text ---------------------------------------------------------------------


def test_text_is_trimmed():
    assert clean_text("  hello \n", "note", required=True) == "hello"


@pytest.mark.parametrize("value", [None, "", "   \t\n"])
def test_optional_text_may_be_missing(value):
    assert clean_text(value, "note", required=False) == ""


@pytest.mark.parametrize("value", [None, "", "   "])
def test_required_text_must_not_be_empty(value):
    with pytest.raises(InvalidInput, match=r"^The display name must not be empty\.$") as info:
        clean_text(value, "display_name", required=True)
    assert info.value.field == "display_name"


def test_a_20_kb_text_is_too_long():
    with pytest.raises(InvalidInput, match=r"^The description is too long \(20000 characters; at most 4000\)\.$"):
        clean_text("x" * 20_000, "description", required=True)


def test_text_of_exactly_the_maximum_length_is_accepted():
    assert len(clean_text("x" * 300, "location", required=True, max_len=300)) == 300


def test_the_length_limit_applies_after_trimming():
    assert clean_text("  " + "x" * 300 + "  ", "location", required=True, max_len=300) == "x" * 300


# --- times --------------------------------------------------------------------


def test_a_naive_time_is_refused():
    with pytest.raises(InvalidInput, match=r"^The time must say its time zone\.$") as info:
        check_occurred_at(datetime(2026, 3, 14, 9, 0), BANGKOK_NOON)
    assert info.value.field == "occurred_at"


@pytest.mark.parametrize("ahead", [timedelta(0), -timedelta(days=3), timedelta(minutes=2)])
def test_a_time_in_the_past_or_within_two_minutes_of_clock_skew_is_accepted(ahead):
    check_occurred_at(BANGKOK_NOON + ahead, BANGKOK_NOON)


def test_a_time_more_than_two_minutes_in_the_future_is_refused():
    with pytest.raises(InvalidInput, match=r"^The time it happened cannot be in the future\.$"):
        check_occurred_at(BANGKOK_NOON + timedelta(minutes=2, seconds=1), BANGKOK_NOON)


@pytest.mark.parametrize(
    "instant, year_be",
    [
        (datetime(2026, 12, 31, 18, 0, tzinfo=UTC), 2570),
        (datetime(2026, 12, 31, 16, 59, tzinfo=UTC), 2569),
        (datetime(2027, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=7))), 2570),
    ],
)
def test_the_buddhist_era_year_is_counted_in_bangkok(instant, year_be):
    assert be_year(instant) == year_be


@pytest.mark.parametrize("utc_hour, night", [(10, False), (11, True), (22, True), (23, False), (5, False)])
def test_night_is_from_six_in_the_evening_to_six_in_the_morning_in_bangkok(utc_hour, night):
    assert is_night(datetime(2026, 3, 14, utc_hour, tzinfo=UTC)) is night


# --- positions, zones, rules ---------------------------------------------------


@pytest.mark.parametrize("lat, lon", [(91, 0), (-90.5, 0), (0, 180.1), (0, -181), (float("nan"), 0)])
def test_a_position_off_the_globe_is_refused(lat, lon):
    with pytest.raises(InvalidInput, match=r"^A position needs a latitude") as info:
        GeoPoint(lat, lon)
    assert info.value.field == "position"


def test_one_degree_of_latitude_is_about_111_km():
    assert GeoPoint(19.0, 99.8).metres_to(GeoPoint(20.0, 99.8)) == pytest.approx(111_195, rel=1e-3)
    assert GeoPoint(19.9, 99.8).metres_to(GeoPoint(19.9, 99.8)) == 0


@pytest.mark.parametrize(
    "name, points, mentions",
    [
        ("  ", ((0, 0), (1, 0), (1, 1)), "A zone needs a name."),
        ("gate", ((0, 0), (1, 1)), "Zone 'gate' needs at least three corners."),
        ("gate", ((0, 0), (1.2, 0), (1, 1)), "Zone 'gate' has a corner outside the picture."),
        ("gate", ((0, 0), (1, -0.1), (1, 1)), "Zone 'gate' has a corner outside the picture."),
    ],
)
def test_a_malformed_zone_is_refused(name, points, mentions):
    with pytest.raises(InvalidInput) as info:
        Zone(name, points)
    assert str(info.value) == mentions and info.value.field == "zones"


@pytest.mark.parametrize("kind", [AlertKind.OFFLINE, AlertKind.TAMPERED])
def test_rules_are_only_for_detections(kind):
    with pytest.raises(InvalidInput, match=r"^Rules are for detections") as info:
        DetectionRule(kind)
    assert info.value.field == "rules"


@pytest.mark.parametrize("score, area", [(-0.1, 0.0), (1.1, 0.0), (0.5, -0.01), (0.5, 1.5)])
def test_a_rule_threshold_outside_zero_to_one_is_refused(score, area):
    with pytest.raises(InvalidInput, match=r"^Minimum score and area are fractions between 0 and 1\.$"):
        DetectionRule(AlertKind.MOTION_IN_ZONE, min_score=score, min_area=area)


@pytest.mark.parametrize(
    "start, end, local_hour, active",
    [
        (time(0), time(0), 3, True),  # start == end: all day
        (time(8), time(17), 8, True),
        (time(8), time(17), 17, False),
        (time(8), time(17), 20, False),
        (time(18), time(6), 23, True),  # past midnight
        (time(18), time(6), 2, True),
        (time(18), time(6), 6, False),
        (time(18), time(6), 12, False),
    ],
)
def test_a_rule_is_active_in_its_local_window(start, end, local_hour, active):
    rule = DetectionRule(AlertKind.PERSON_AT_NIGHT, start=start, end=end)
    instant = datetime(2026, 3, 14, local_hour, tzinfo=timezone(timedelta(hours=7))).astimezone(UTC)
    assert rule.active_at(instant) is active


def test_every_domain_error_names_its_field_when_there_is_one():
    error = InvalidInput("The reason must not be empty.", field="reason")
    assert isinstance(error, DomainError) and error.field == "reason" and error.message == str(error)
