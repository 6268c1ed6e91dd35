"""Tamper checks on the real car-park clip: four seconds of the normal view (the reference is learned;
no car moves yet), then the interference, for the rest of the clip."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from functools import cache

import cv2
import numpy as np
from vision_footage import CAR_CLIP, WORKER_CLIP, clip, play, started

from domain.values import AlertKind, DetectionRule
from infrastructure.vision import CameraMonitor, EpisodeEnded, Frame, TamperSettings

INTERFERENCE_FROM = 50  # four seconds at 12.5 fps


def interfered(change: Callable[[np.ndarray], np.ndarray]) -> Iterator[Frame]:
    for frame in clip(CAR_CLIP):
        if frame.index >= INTERFERENCE_FROM:
            frame = Frame(change(frame.image), frame.at, frame.index)
        yield frame


def tamper_alerts(frames, rules=()) -> list:
    return started(play(CameraMonitor([], list(rules)), frames), AlertKind.TAMPERED)


@cache
def _palm(shape: tuple[int, ...]) -> np.ndarray:
    skin = np.full(shape, (120, 150, 190), np.float32)
    noise = np.random.default_rng(7).normal(0, 3, shape)
    return np.clip(skin + noise, 0, 255).astype(np.uint8)


def hand_over_the_lens(image: np.ndarray) -> np.ndarray:
    return _palm(image.shape)


def test_the_normal_clips_raise_no_tamper_alert(worker_frames):
    assert tamper_alerts(clip(CAR_CLIP)) == []
    assert tamper_alerts(worker_frames) == []


def test_a_black_stream_is_dark():
    black = np.zeros((432, 768, 3), np.uint8)
    frames = (Frame(black, frame.at, frame.index) for frame in clip(WORKER_CLIP))

    (alert,) = tamper_alerts(frames)

    assert alert.reason == "dark" and alert.score > 0.9


def test_a_covered_lens_is_covered_and_is_not_motion():
    events = play(CameraMonitor([], [DetectionRule(AlertKind.MOTION_IN_ZONE)]), interfered(hand_over_the_lens))

    (alert,) = started(events)
    assert alert.kind is AlertKind.TAMPERED and alert.reason == "covered"
    assert alert.snapshot_at >= alert.started_at


def test_a_heavily_blurred_view_is_blurred():
    (alert,) = tamper_alerts(interfered(lambda image: cv2.GaussianBlur(image, (0, 0), 6)))

    assert alert.reason == "blurred"


def test_a_camera_turned_aside_is_moved():
    turned = interfered(lambda image: np.roll(image, image.shape[1] // 8, axis=1))

    (alert,) = tamper_alerts(turned)

    assert alert.reason == "moved"
    start = alert.started_at - next(clip(CAR_CLIP)).at
    assert timedelta(seconds=4) <= start <= timedelta(seconds=5)


def test_a_lit_night_scene_is_not_dark():
    night = np.full((432, 768, 3), 8, np.uint8)
    for x in range(60, 768, 160):  # street lamps and their pools of light
        cv2.circle(night, (x, 150), 40, (200, 210, 220), -1)
    frames = (Frame(night, frame.at, frame.index) for frame in clip(WORKER_CLIP))

    assert tamper_alerts(frames) == []


def test_a_camera_left_turned_aside_becomes_its_new_view():
    monitor = CameraMonitor([], [], tamper_settings=TamperSettings(rebase_after=timedelta(seconds=5)))
    events = []
    for frame in interfered(lambda image: np.roll(image, image.shape[1] // 8, axis=1)):
        events += monitor.process(frame.image, frame.at)  # not closed: only episodes that ended on their own

    (alert,) = started(events)
    (ended,) = [e for e in events if isinstance(e, EpisodeEnded)]
    assert alert.reason == ended.reason == "moved"
    assert ended.ended_at - alert.started_at < timedelta(seconds=6)
