"""An alert per arrival, on labelled footage spliced from real frames (testkit.footage): six people enter an
empty room one at a time, 2-5 s apart, the third stands still for 20 s. Alerts follow people: each arrival
is an alert of its own, however soon after the previous visitor left; the still visitor is one alert for as
long as they stand there."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from vision_footage import CAR_CLIP, NIGHT, clip, play, started

from domain.values import AlertKind, DetectionRule, Zone
from infrastructure.vision import CameraMonitor, EpisodeEnded, EpisodeEvent, EpisodeLoitered
from infrastructure.vision.debounce import BBox
from infrastructure.vision.tracking import Sighting, Tracker
from testkit.footage import Spliced, arrivals

ROOM = Zone("room", ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)))
PERSON = DetectionRule(AlertKind.PERSON_AT_NIGHT, min_score=0.5, min_area=0.005)  # all day
SLACK = timedelta(seconds=1)


@pytest.fixture(scope="module")
def sequence() -> Spliced:
    return arrivals(NIGHT)


@pytest.fixture(scope="module")
def events(sequence: Spliced) -> list[EpisodeEvent]:
    monitor = CameraMonitor([ROOM], [PERSON])
    found: list[EpisodeEvent] = []
    for image, at in sequence.timed():
        found += monitor.process(image, at)
    return found + monitor.close()


def _during(alert_at: datetime, start: datetime, end: datetime) -> bool:
    return start - SLACK <= alert_at <= end + SLACK


def test_the_spliced_footage_is_labelled_as_the_issue_asks(sequence):
    visits = sequence.visits
    assert len(visits) == 6
    assert visits[0].start - sequence.start >= timedelta(seconds=5)
    gaps = [later.start - earlier.end for earlier, later in zip(visits, visits[1:], strict=False)]
    assert all(timedelta(seconds=2) <= gap <= timedelta(seconds=5.2) for gap in gaps)
    assert max(visit.end - visit.start for visit in visits) >= timedelta(seconds=20)


def test_every_arrival_is_overlapped_by_an_alert_within_its_span(sequence, events):
    alerts = started(events, AlertKind.PERSON_AT_NIGHT)
    for visit in sequence.visits:
        during = [alert for alert in alerts if _during(alert.confirmed_at, visit.start, visit.end)]
        assert 1 <= len(during) <= 2, (visit, [a.confirmed_at for a in alerts])


def test_no_alert_outside_the_visits_nor_in_the_first_five_seconds(sequence, events):
    alerts = started(events)
    assert all(any(_during(a.confirmed_at, v.start, v.end) for v in sequence.visits) for a in alerts)
    assert all(alert.confirmed_at >= sequence.start + timedelta(seconds=5) for alert in alerts)
    assert not started(events, AlertKind.TAMPERED)  # a visitor cut in is not a knocked camera


def test_a_person_standing_still_for_twenty_seconds_is_one_alert_that_ends_when_they_leave(sequence, events):
    still = max(sequence.visits, key=lambda visit: visit.end - visit.start)
    alerts = [a for a in started(events) if _during(a.confirmed_at, still.start, still.end)]
    assert len(alerts) == 1
    ends = [e for e in events if isinstance(e, EpisodeEnded) and e.track == alerts[0].track]
    assert len(ends) == 1
    # Followed for the whole stay (ended within a second or so of leaving), not lost once they stood still.
    assert ends[0].ended_at >= still.end - timedelta(seconds=1.5)
    assert ends[0].ended_at - ends[0].started_at >= timedelta(seconds=20)


def test_each_arrival_is_a_person_of_their_own(events):
    alerts = started(events, AlertKind.PERSON_AT_NIGHT)
    assert len({alert.track for alert in alerts}) == len(alerts)
    assert all(alert.bbox is not None and alert.bbox.h > alert.bbox.w for alert in alerts)


def test_cars_in_the_car_park_raise_no_alert_under_a_person_only_rule():
    monitor = CameraMonitor([], [PERSON])

    events = play(monitor, clip(CAR_CLIP, start=NIGHT))

    assert started(events) == []
    assert monitor.analyser.person_checks > 10  # the detector did look while the cars moved


# --- loitering: an update on the person's own alert, never an alert more -------------------------------------

LOITER = DetectionRule(AlertKind.LOITERING, min_area=0.005, dwell=10)  # all day, after 10 s


def _run(sequence: Spliced, rules: list[DetectionRule]) -> list[EpisodeEvent]:
    monitor = CameraMonitor([ROOM], rules)
    found: list[EpisodeEvent] = []
    for image, at in sequence.timed():
        found += monitor.process(image, at)
    return found + monitor.close()


def test_a_person_staying_past_the_loitering_time_is_one_alert_with_one_loitering_update_then_one_departure(
    sequence,
):
    events = _run(sequence, [PERSON, LOITER])

    still = max(sequence.visits, key=lambda visit: visit.end - visit.start)
    alerts = started(events)
    assert all(a.kind is AlertKind.PERSON_AT_NIGHT for a in alerts)  # no loitering alert besides the person's
    assert sum(_during(a.confirmed_at, still.start, still.end) for a in alerts) == 1
    (loitered,) = [e for e in events if isinstance(e, EpisodeLoitered)]
    (person,) = [a for a in alerts if a.track == loitered.track]
    # The same episode (so the same alert id): kind, zone and start are the person's.
    assert (loitered.kind, loitered.zone, loitered.started_at) == (person.kind, person.zone, person.started_at)
    assert still.start + timedelta(seconds=10) <= loitered.loitered_at <= still.end
    (left,) = [e for e in events if isinstance(e, EpisodeEnded) and e.track == person.track]
    assert left.ended_at > loitered.loitered_at
    # The short visits (about 4 s each) never reach the loitering time.
    assert len(alerts) == len(sequence.visits)


def test_with_only_a_loitering_rule_the_person_who_stays_is_one_loitering_alert_and_short_visits_none(sequence):
    events = _run(sequence, [LOITER])

    still = max(sequence.visits, key=lambda visit: visit.end - visit.start)
    (alert,) = started(events)
    assert alert.kind is AlertKind.LOITERING and alert.zone == "room"
    assert still.start + timedelta(seconds=10) <= alert.confirmed_at <= still.end
    assert not [e for e in events if isinstance(e, EpisodeLoitered)]  # the alert is the loitering itself
    (left,) = [e for e in events if isinstance(e, EpisodeEnded) and e.track == alert.track]
    assert left.ended_at >= still.end - timedelta(seconds=1.5)


# --- the tracker on its own -----------------------------------------------------------------------------

T0 = datetime(2026, 3, 14, 15, 0)


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _seen(x: int, y: int = 50, zone: str = "room") -> Sighting:
    return Sighting(BBox(x, y, 40, 100), 0.9, zone)


def test_a_person_walking_between_checks_keeps_their_track():
    tracker = Tracker()
    first = tracker.update([_seen(100)], _at(0))[0]
    for step in range(1, 10):
        (track,) = tracker.update([_seen(100 + 15 * step)], _at(0.25 * step))
        assert track.id == first.id
    assert track.hits == 10


def test_two_people_side_by_side_are_two_tracks_and_keep_them_when_they_cross_the_list_order():
    tracker = Tracker()
    left, right = tracker.update([_seen(100), _seen(300)], _at(0))
    again_right, again_left = tracker.update([_seen(305), _seen(95)], _at(0.25))
    assert (again_left.id, again_right.id) == (left.id, right.id) and left.id != right.id


def test_someone_entering_after_the_last_one_left_is_a_new_track_even_on_the_same_spot():
    tracker = Tracker()
    first = tracker.update([_seen(100)], _at(0))[0]
    assert tracker.update([], _at(1.0)) == [] and tracker.active  # a missed check or two: still there
    second = tracker.update([_seen(100)], _at(3.5))[0]
    assert second.id != first.id and len(tracker.tracks) == 1


def test_a_sighting_far_from_a_followed_person_is_somebody_else():
    tracker = Tracker()
    first = tracker.update([_seen(100)], _at(0))[0]
    other = tracker.update([_seen(400)], _at(0.25))[0]
    assert other.id != first.id and len(tracker.tracks) == 2
