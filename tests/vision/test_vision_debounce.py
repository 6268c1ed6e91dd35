"""Episodes from per-frame detections: the rules of the debouncer, frame by frame at 10 fps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from domain.values import AlertKind
from infrastructure.vision import Debouncer, Detection, EpisodeEnded, EpisodeLoitered, EpisodePolicy, EpisodeStarted

T0 = datetime(2026, 3, 14, 15, 0, tzinfo=UTC)
STEP = timedelta(seconds=0.1)
POLICY = EpisodePolicy(
    min_hits=3, max_gap=timedelta(seconds=0.5), quiet=timedelta(seconds=2), cooldown=timedelta(seconds=5)
)
MOTION = AlertKind.MOTION_IN_ZONE


def frame(tag: int) -> np.ndarray:
    return np.full((4, 4, 3), tag, np.uint8)


def hit(zone: str = "gate", score: float = 0.5, kind: AlertKind = MOTION) -> Detection:
    return Detection(kind, zone, score)


def feed(
    debouncer: Debouncer, pattern: str, *, start: int = 0, scores: list[float] | None = None, zone: str = "gate"
) -> list:
    """One character per frame: 'x' a hit, '.' nothing. Frame i is at T0 + i * STEP and shows tag i."""
    events = []
    for offset, mark in enumerate(pattern):
        index = start + offset
        detections = [hit(zone, scores[offset] if scores else 0.5)] if mark == "x" else []
        events += debouncer.update(detections, frame(index), T0 + index * STEP)
    return events


def starts(events: list) -> list[EpisodeStarted]:
    return [e for e in events if isinstance(e, EpisodeStarted)]


def test_a_single_hit_never_alerts_and_three_close_hits_do_once():
    assert feed(Debouncer({MOTION: POLICY}), "x" + "." * 30) == []

    events = feed(Debouncer({MOTION: POLICY}), "x" * 40)

    (alert,) = starts(events)
    assert alert.confirmed_at == T0 + 2 * STEP and alert.started_at == T0


def test_short_gaps_are_bridged_but_a_long_gap_starts_counting_again():
    bridged = feed(Debouncer({MOTION: POLICY}), "x..x..x")
    broken = feed(Debouncer({MOTION: POLICY}), "x.......x.......x")

    assert len(starts(bridged)) == 1
    assert starts(broken) == []


def test_the_alert_carries_the_best_frame_seen_before_it():
    events = feed(Debouncer({MOTION: POLICY}), "xxx", scores=[0.2, 0.9, 0.4])

    (alert,) = starts(events)
    assert alert.score == 0.9 and alert.snapshot_at == T0 + STEP and int(alert.snapshot[0, 0, 0]) == 1


def test_an_episode_ends_after_the_quiet_time_with_its_span():
    events = feed(Debouncer({MOTION: POLICY}), "x" * 10 + "." * 25)

    (ended,) = [e for e in events if isinstance(e, EpisodeEnded)]
    assert ended.started_at == T0 and ended.ended_at == T0 + 9 * STEP and ended.hits == 10


def test_no_new_episode_during_the_cooldown_and_one_after_it():
    debouncer = Debouncer({MOTION: POLICY})
    first = feed(debouncer, "x" * 5 + "." * 20)  # ends at frame 24, cooling until frame 74
    during = feed(debouncer, "x" * 30, start=25)
    after = feed(debouncer, "x" * 5, start=80)

    assert len(starts(first)) == 1
    assert starts(during) == []
    assert len(starts(after)) == 1


def test_each_zone_and_kind_has_its_own_episode():
    debouncer = Debouncer({MOTION: POLICY, AlertKind.PERSON_AT_NIGHT: POLICY})
    events = []
    for index in range(5):
        detections = [hit("gate"), hit("gate", 0.8), hit("car park"), hit("gate", kind=AlertKind.PERSON_AT_NIGHT)]
        events += debouncer.update(detections, frame(index), T0 + index * STEP)

    assert sorted((a.kind.value, a.zone) for a in starts(events)) == [
        ("motion_in_zone", "car park"),
        ("motion_in_zone", "gate"),
        ("person_at_night", "gate"),
    ]


def test_a_tamper_finding_must_last_before_it_alerts():
    policy = EpisodePolicy(min_hits=2, min_duration=timedelta(seconds=2))
    debouncer = Debouncer({AlertKind.TAMPERED: policy})
    dark = [Detection(AlertKind.TAMPERED, "", 1.0, reason="dark")]
    events = [e for i in range(30) for e in debouncer.update(dark, frame(i), T0 + i * STEP)]

    (alert,) = starts(events)
    assert alert.reason == "dark" and alert.confirmed_at == T0 + 20 * STEP


def test_closing_ends_the_open_episodes():
    debouncer = Debouncer({MOTION: POLICY})
    feed(debouncer, "xxxx")

    (ended,) = debouncer.close()

    assert ended.ended_at == T0 + 3 * STEP and debouncer.open_episodes == []


def test_a_tracked_person_loitering_is_one_update_on_their_episode_never_an_episode_more():
    debouncer = Debouncer({AlertKind.PERSON: POLICY})
    events = []
    for index in range(12):
        person = Detection(AlertKind.PERSON, "gate", 0.8, track=7, loitering=index >= 5)
        events += debouncer.update([person], frame(index), T0 + index * STEP)
    events += debouncer.close()

    (started,) = starts(events)
    (loitered,) = [e for e in events if isinstance(e, EpisodeLoitered)]
    assert (loitered.kind, loitered.zone, loitered.track, loitered.started_at) == (
        started.kind,
        started.zone,
        7,
        started.started_at,
    )
    assert loitered.loitered_at == T0 + 5 * STEP and loitered.stayed == 5 * STEP
    assert len([e for e in events if isinstance(e, EpisodeEnded)]) == 1
