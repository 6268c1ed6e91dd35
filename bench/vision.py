"""Smart CCTV figures (issue 17), on one core, in CPU time:

- vision.streams_per_core_640x480: frames per CPU-second of the whole per-camera pipeline (tamper checks,
  motion in zones, people detection on the whole view, tracking, loitering, debouncing) / 15 (a camera at
  15 fps), on footage with people in view for most frames: the labelled arrivals of testkit.footage with
  short gaps, scaled to 640x480, re-encoded with mp4v and read back through cv2.VideoCapture (decoding is
  counted, as a camera's frames must be decoded).
- vision.pipeline_vs_bare_mog2: the pipeline against bare MOG2 at the pipeline's own working size and
  colour (320 wide, grey), on the same decoded frames in the same run: what tamper checks, zones, people
  detection, tracking and debouncing cost on top of background subtraction.
- vision.arrival_recall: the share of the spliced arrivals (6, one standing still 20 s) overlapped by a
  person alert within the visit's span +- 1 s.
- vision.false_alerts_per_hour: alerts per hour of the car-park clip (cars, no people) under a person rule.

The process is pinned to one core (sched_setaffinity, as taskset does) and OpenCV to one thread; each
time is the median of a few interleaved runs.
"""

from __future__ import annotations

import os
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
from infrastructure.vision import CameraMonitor, CameraSource, EpisodeStarted
from infrastructure.vision.pipeline import shrink_to_grey
from testkit.footage import CAR_CLIP, arrivals

CAMERA_FPS = 15.0
RUNS = 3
SIZE = (640, 480)
WORKING_WIDTH = 320
ZONES = [Zone("floor", ((0.02, 0.02), (0.98, 0.02), (0.98, 0.98), (0.02, 0.98)))]
# Rules that are all active (all day), so the people detector, the tracker and the loitering tracker run.
RULES = [
    DetectionRule(AlertKind.MOTION_IN_ZONE, min_area=0.005),
    DetectionRule(AlertKind.PERSON_AT_NIGHT, min_score=0.5, min_area=0.005),
    DetectionRule(AlertKind.LOITERING, min_area=0.005),
]
PERSON_ONLY = [DetectionRule(AlertKind.PERSON_AT_NIGHT, min_score=0.5, min_area=0.005)]
START = datetime(2026, 3, 14, 15, 0, tzinfo=UTC)


def busy_footage(folder: Path) -> tuple[Path, float]:
    """People in view for most frames: the arrivals with short gaps, at 640x480. Returns the file and the
    share of frames with a person in view."""
    sequence = arrivals(START, gaps=(2.0, 2.0, 2.0, 2.0, 2.0), lead=1.0, tail=1.0)
    target = folder / "arrivals-640x480.mp4"
    writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"mp4v"), sequence.fps, SIZE)
    for image in sequence.frames:
        writer.write(cv2.resize(image, SIZE, interpolation=cv2.INTER_LINEAR))
    writer.release()
    busy = sum((v.end - v.start).total_seconds() * sequence.fps + 1 for v in sequence.visits)
    return target, busy / len(sequence.frames)


def cpu_ms_per_frame(video: Path, handle: Callable[[np.ndarray, datetime], object]) -> float:
    """CPU time of reading and handling every frame of `video`, per frame."""
    capture = cv2.VideoCapture(str(video))
    frames = 0
    began = time.process_time()
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        handle(frame, START + timedelta(seconds=frames / CAMERA_FPS))
        frames += 1
    elapsed = time.process_time() - began
    capture.release()
    return elapsed * 1000 / frames


def working_size_mog2(video: Path) -> float:
    """MOG2 alone on the pipeline's own view: 320 wide, grey."""
    subtractor = cv2.createBackgroundSubtractorMOG2()
    return cpu_ms_per_frame(video, lambda frame, at: subtractor.apply(shrink_to_grey(frame, WORKING_WIDTH)))


def pipeline(video: Path) -> tuple[float, int]:
    monitor = CameraMonitor(ZONES, RULES)
    took = cpu_ms_per_frame(video, monitor.process)
    return took, monitor.analyser.person_checks


def arrival_recall() -> float:
    sequence = arrivals(START)
    monitor = CameraMonitor(ZONES, PERSON_ONLY)
    alerts = []
    for image, at in sequence.timed():
        alerts += [e for e in monitor.process(image, at) if isinstance(e, EpisodeStarted)]
    slack = timedelta(seconds=1)
    found = sum(any(v.start - slack <= a.confirmed_at <= v.end + slack for a in alerts) for v in sequence.visits)
    return found / len(sequence.visits)


def car_park_false_alerts_per_hour() -> float:
    monitor = CameraMonitor([], PERSON_ONLY)
    alerts, first, last = 0, None, None
    for frame in CameraSource(str(CAR_CLIP), start=START).frames():
        first = first or frame.at
        last = frame.at
        alerts += sum(isinstance(e, EpisodeStarted) for e in monitor.process(frame.image, frame.at))
    hours = (last - first).total_seconds() / 3600
    return alerts / hours


def main() -> None:
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    cv2.setNumThreads(1)
    print(f"# pinned to CPU {sorted(os.sched_getaffinity(0))}, load average {os.getloadavg()}", flush=True)
    with fresh_dir() as folder:
        video, busy = busy_footage(folder)
        small, full, checks = [], [], 0
        for _ in range(RUNS):  # interleaved, so drifts in machine load hit both sides alike
            small.append(working_size_mog2(video))
            took, checks = pipeline(video)
            full.append(took)
        small_ms, pipeline_ms = statistics.median(small), statistics.median(full)
        width, height = SIZE
        metric(f"vision.streams_per_core_{width}x{height}", 1000 / pipeline_ms / CAMERA_FPS)
        metric("vision.pipeline_vs_bare_mog2", pipeline_ms / small_ms)
        metric(f"vision.pipeline_cpu_ms_per_frame_{width}x{height}", pipeline_ms)
        metric(f"vision.working_size_mog2_cpu_ms_per_frame_{width}x{height}", small_ms)
        print(f"# person in view in {busy:.0%} of frames; the people detector ran {checks} times", flush=True)
    metric("vision.arrival_recall", arrival_recall())
    metric("vision.false_alerts_per_hour", car_park_false_alerts_per_hour())
    print(f"# load average after {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
