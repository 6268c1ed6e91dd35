"""Frames per second of the whole per-camera pipeline (tamper checks, motion in zones, people detection,
loitering, debouncing) on one core, against bare MOG2 on the same frames in the same run.

The car-park clip (tests/media, 377 frames: still stretches and three passages of cars) is re-encoded
with mp4v at 640x480 and at 1280x720, and both sides read it back through cv2.VideoCapture: decoding is
included on both sides of the ratio. Bare MOG2 is OpenCV's default subtractor applied to each decoded
frame as it comes; the pipeline works on a 320-wide grey copy and runs HOG only around motion, so it
beats bare MOG2 at full size. pipeline_vs_working_size_mog2 compares it with MOG2 on that same 320-wide
view instead: what tamper checks, zones, people detection and debouncing add on top.
streams_per_core = pipeline fps / 15 (a camera at 15 fps). Each figure is the median of a few runs.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2
import numpy as np

from bench._common import fresh_dir, metric
from domain.values import AlertKind, DetectionRule, Zone
from infrastructure.vision import CameraMonitor
from infrastructure.vision.pipeline import shrink_to_grey

CLIP = Path(__file__).resolve().parent.parent / "tests" / "media" / "car-detection.mp4"
CAMERA_FPS = 15.0
RUNS = 3
SIZES = [(640, 480), (1280, 720)]
# Rules that are all active (all day), so the people detector and the loitering tracker do run.
ZONES = [Zone("car park", ((0.05, 0.05), (0.95, 0.05), (0.95, 0.95), (0.05, 0.95)))]
RULES = [
    DetectionRule(AlertKind.MOTION_IN_ZONE, min_area=0.005),
    DetectionRule(AlertKind.PERSON_AT_NIGHT, min_score=0.5, min_area=0.005),
    DetectionRule(AlertKind.LOITERING, min_area=0.005),
]
START = datetime(2026, 3, 14, 15, 0, tzinfo=UTC)


def reencode(folder: Path, size: tuple[int, int]) -> Path:
    target = folder / f"car-{size[0]}x{size[1]}.mp4"
    reader = cv2.VideoCapture(str(CLIP))
    writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"mp4v"), CAMERA_FPS, size)
    while True:
        ok, frame = reader.read()
        if not ok:
            break
        writer.write(cv2.resize(frame, size, interpolation=cv2.INTER_AREA))
    writer.release()
    reader.release()
    return target


def ms_per_frame(video: Path, handle: Callable[[np.ndarray, datetime], object]) -> float:
    """Reading and handling every frame of `video`, per frame."""
    capture = cv2.VideoCapture(str(video))
    frames = 0
    began = time.perf_counter()
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        handle(frame, START + timedelta(seconds=frames / CAMERA_FPS))
        frames += 1
    elapsed = time.perf_counter() - began
    capture.release()
    return elapsed * 1000 / frames


def decode_only(video: Path) -> float:
    return ms_per_frame(video, lambda frame, at: None)


def bare_mog2(video: Path) -> float:
    subtractor = cv2.createBackgroundSubtractorMOG2()
    return ms_per_frame(video, lambda frame, at: subtractor.apply(frame))


def working_size_mog2(video: Path) -> float:
    """MOG2 alone on the pipeline's own 320-wide grey view: what the rest of the pipeline adds."""
    subtractor = cv2.createBackgroundSubtractorMOG2()
    return ms_per_frame(video, lambda frame, at: subtractor.apply(shrink_to_grey(frame, 320)))


def pipeline(video: Path) -> tuple[float, int]:
    monitor = CameraMonitor(ZONES, RULES)
    took = ms_per_frame(video, monitor.process)
    return took, monitor.analyser.person_checks


def main() -> None:
    cv2.setNumThreads(1)
    with fresh_dir() as folder:
        for width, height in SIZES:
            video = reencode(folder, (width, height))
            decode, bare, small, full, checks = [], [], [], [], 0
            for _ in range(RUNS):  # interleaved, so drifts in machine load hit all sides alike
                decode.append(decode_only(video))
                bare.append(bare_mog2(video))
                small.append(working_size_mog2(video))
                took, checks = pipeline(video)
                full.append(took)
            decode_ms, bare_ms, small_ms, pipeline_ms = (statistics.median(v) for v in (decode, bare, small, full))
            suffix = "" if (width, height) == SIZES[0] else f"_{width}x{height}"
            metric(f"vision.streams_per_core_{width}x{height}", 1000 / pipeline_ms / CAMERA_FPS)
            metric(f"vision.pipeline_vs_bare_mog2{suffix}", pipeline_ms / bare_ms)
            metric(f"vision.pipeline_ms_per_frame_{width}x{height}", pipeline_ms)
            metric(f"vision.bare_mog2_ms_per_frame_{width}x{height}", bare_ms)
            metric(f"vision.decode_ms_per_frame_{width}x{height}", decode_ms)
            metric(f"vision.pipeline_vs_working_size_mog2_{width}x{height}", pipeline_ms / small_ms)
            print(f"# {width}x{height}: people detector ran {checks} times in 377 frames", flush=True)


if __name__ == "__main__":
    main()
