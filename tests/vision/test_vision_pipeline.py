"""The per-camera pipeline on real footage: a worker crossing a work area at night, cars in a car park."""

from __future__ import annotations

from datetime import time, timedelta
from itertools import islice

from vision_footage import CAR_CLIP, CAR_PASSAGES, NIGHT, NOON, WORKER_CLIP, clip, play, started

from domain.values import AlertKind, DetectionRule, Zone
from infrastructure.vision import AnalyserSettings, CameraAnalyser, CameraMonitor, EpisodePolicy

WORK_AREA = Zone("work area", ((0.0, 0.25), (1.0, 0.25), (1.0, 1.0), (0.0, 1.0)))
# The wall and pillars top right, where nothing moves in the worker clip.
BACK_WALL = Zone("back wall", ((0.75, 0.0), (1.0, 0.0), (1.0, 0.3), (0.75, 0.3)))
PERSON_AT_NIGHT = DetectionRule(
    AlertKind.PERSON_AT_NIGHT, start=time(18, 0), end=time(6, 0), min_score=0.5, min_area=0.005
)
MOTION = DetectionRule(AlertKind.MOTION_IN_ZONE, min_area=0.005)


def test_a_worker_crossing_the_work_area_at_night_is_one_person_episode_and_one_motion_episode(worker_frames):
    monitor = CameraMonitor([WORK_AREA], [PERSON_AT_NIGHT, MOTION])

    events = play(monitor, worker_frames)

    people, motions = started(events, AlertKind.PERSON_AT_NIGHT), started(events, AlertKind.MOTION_IN_ZONE)
    assert len(people) == 1 and len(motions) == 1
    person = people[0]
    assert person.zone == "work area" and person.score >= 0.5
    assert person.snapshot.shape == worker_frames[0].image.shape
    # The box is a standing person: taller than wide, inside the picture.
    box = person.bbox
    assert box is not None and box.h > 1.5 * box.w and box.x >= 0 and box.x + box.w <= 480
    assert len(started(events)) == 2  # no tampering, no loitering rule


def test_the_still_frames_before_the_worker_moves_give_nothing(worker_frames):
    """In this clip the worker is in view from the first frame and stands still from about frame 52 to
    the end; played backwards, those still frames come first, and then the worker walks."""
    backwards = [frame.image for frame in reversed(worker_frames)]
    times = [frame.at for frame in worker_frames]
    # A short warm-up, so that most of the still frames are judged, not just learned from.
    analyser = CameraAnalyser([WORK_AREA], [PERSON_AT_NIGHT, MOTION], AnalyserSettings(warmup_frames=3))

    per_frame = [analyser.analyse(image, at) for image, at in zip(backwards, times, strict=True)]

    still = per_frame[3:19]  # original frames 67 down to 52
    assert not any(still)
    assert all(per_frame[25:])
    monitor = CameraMonitor([WORK_AREA], [PERSON_AT_NIGHT, MOTION])
    events = []
    for image, at in zip(backwards, times, strict=True):
        events += monitor.process(image, at)
    assert len(started(events, AlertKind.MOTION_IN_ZONE)) == 1
    assert len(started(events, AlertKind.PERSON_AT_NIGHT)) == 1
    assert all(alert.started_at >= times[18] for alert in started(events))


def test_motion_outside_every_zone_is_ignored(worker_frames):
    monitor = CameraMonitor([BACK_WALL], [PERSON_AT_NIGHT, MOTION])

    assert play(monitor, worker_frames) == []
    assert monitor.analyser.person_checks == 0


def test_a_night_only_person_rule_is_silent_at_noon_and_never_runs_the_people_detector():
    assert not PERSON_AT_NIGHT.active_at(NOON)
    monitor = CameraMonitor([WORK_AREA], [PERSON_AT_NIGHT])

    events = play(monitor, clip(WORKER_CLIP, start=NOON))

    assert events == []
    assert monitor.analyser.person_checks == 0


def test_cars_moving_in_the_car_park_are_motion_episodes_but_never_a_person():
    car_policy = EpisodePolicy(
        min_hits=3, max_gap=timedelta(seconds=0.5), quiet=timedelta(seconds=3), cooldown=timedelta(seconds=3)
    )
    monitor = CameraMonitor([], [PERSON_AT_NIGHT, MOTION], policies={AlertKind.MOTION_IN_ZONE: car_policy})
    fps = 12.5

    events = play(monitor, clip(CAR_CLIP, start=NIGHT))

    assert started(events, AlertKind.PERSON_AT_NIGHT) == []
    assert monitor.analyser.person_checks > 10  # the people detector did look at the cars
    motions = started(events, AlertKind.MOTION_IN_ZONE)
    assert len(motions) == len(CAR_PASSAGES)
    for alert, (first, last) in zip(motions, CAR_PASSAGES, strict=True):
        frame_index = (alert.started_at - NIGHT).total_seconds() * fps
        assert first - 5 <= frame_index <= last  # the passages' ends are "about" those frames


def test_an_empty_car_park_gives_nothing_and_costs_no_people_detection():
    analyser = CameraAnalyser([], [PERSON_AT_NIGHT, MOTION])

    detections = [analyser.analyse(frame.image, frame.at) for frame in islice(clip(CAR_CLIP), 50)]

    assert not any(detections)
    assert analyser.person_checks == 0


def test_the_people_detector_runs_only_a_few_times_a_second(worker_frames):
    interval = timedelta(seconds=0.25)
    analyser = CameraAnalyser([WORK_AREA], [PERSON_AT_NIGHT], AnalyserSettings(person_check_interval=interval))

    for frame in worker_frames:
        analyser.analyse(frame.image, frame.at)

    duration = worker_frames[-1].at - worker_frames[0].at
    assert 0 < analyser.person_checks <= duration / interval + 1
    assert analyser.person_checks < len(worker_frames) / 3


def test_nothing_is_reported_while_the_background_model_warms_up(worker_frames):
    analyser = CameraAnalyser([WORK_AREA], [MOTION], AnalyserSettings(warmup_frames=15))

    early = [analyser.analyse(frame.image, frame.at) for frame in worker_frames[:15]]

    assert not any(early)
    assert analyser.analyse(worker_frames[15].image, worker_frames[15].at)


def test_the_rules_thresholds_are_honoured(worker_frames):
    demanding = [
        DetectionRule(AlertKind.PERSON_AT_NIGHT, start=time(18, 0), end=time(6, 0), min_score=0.99),
        DetectionRule(AlertKind.MOTION_IN_ZONE, min_area=0.5),
    ]
    monitor = CameraMonitor([WORK_AREA], demanding)

    assert play(monitor, worker_frames) == []
    assert monitor.analyser.person_checks > 0  # it looked, but no sighting was that sure


def test_a_rule_watches_only_its_own_zone(worker_frames):
    """Two zones, the worker walks in one: a person rule on the other zone stays silent, on theirs it alerts."""
    on_wall = DetectionRule(AlertKind.PERSON_AT_NIGHT, min_score=0.5, min_area=0.005, zone="back wall")
    on_floor = DetectionRule(AlertKind.PERSON_AT_NIGHT, min_score=0.5, min_area=0.005, zone="work area")

    assert started(play(CameraMonitor([WORK_AREA, BACK_WALL], [on_wall]), worker_frames)) == []
    alerts = started(play(CameraMonitor([WORK_AREA, BACK_WALL], [on_floor]), worker_frames))
    assert [alert.zone for alert in alerts] == ["work area"]
