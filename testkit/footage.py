"""Labelled footage built by splicing real frames (tests/media, CC BY 4.0): people arriving one at a time in an
empty room, with a few seconds between one leaving and the next entering, one of them standing still for
20 s. The vision tests and the benchmark share it; it is made in memory from the worker clip in well under
a second, so nothing large is kept in the repository.

The empty room is the per-pixel median of the worker clip (the worker is at any one place in only a few of
its frames), with a little sensor noise of its own in each frame. Each visit is the clip itself (the worker
enters at the bottom edge, walks into the room and stands), cut in with no transition, as a visitor
appears; the still visitor is the clip with frame `HOLD_FRAME`, where the worker stands, repeated.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

MEDIA = Path(__file__).resolve().parents[1] / "tests" / "media"
WORKER_CLIP = MEDIA / "worker-zone-detection.gif"
CAR_CLIP = MEDIA / "car-detection.mp4"
HOLD_FRAME = 60  # the worker stands still from about frame 51 to the end
NOISE_FRAMES = 16


@dataclass(frozen=True)
class Visit:
    """A person in view from `start` to `end` (frame times of the spliced sequence)."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Spliced:
    frames: list[np.ndarray]  # shared, read-only images; the same image may appear many times
    start: datetime
    fps: float
    visits: list[Visit]

    def at(self, index: int) -> datetime:
        return self.start + timedelta(seconds=index / self.fps)

    def timed(self) -> Iterator[tuple[np.ndarray, datetime]]:
        for index, image in enumerate(self.frames):
            yield image, self.at(index)

    @property
    def duration(self) -> timedelta:
        return timedelta(seconds=len(self.frames) / self.fps)

    def write(self, path: Path) -> Path:
        """The sequence as a Motion-JPEG AVI at its own frame rate (what a recorder would keep)."""
        height, width = self.frames[0].shape[:2]
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), self.fps, (width, height))
        for image in self.frames:
            writer.write(image)
        writer.release()
        return path


@functools.cache
def worker_clip() -> tuple[tuple[np.ndarray, ...], float]:
    """The worker clip's frames (read-only) and frame rate."""
    capture = cv2.VideoCapture(str(WORKER_CLIP))
    fps = capture.get(cv2.CAP_PROP_FPS) or 15.0
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        image.setflags(write=False)
        frames.append(image)
    capture.release()
    return tuple(frames), fps


@functools.cache
def empty_room() -> tuple[np.ndarray, ...]:
    """`NOISE_FRAMES` frames of the worker's room without the worker, each with its own faint noise."""
    frames, _ = worker_clip()
    background = np.median(np.stack(frames), axis=0).astype(np.int16)
    rng = np.random.default_rng(17)
    noisy = []
    for _ in range(NOISE_FRAMES):
        image = np.clip(background + rng.normal(0, 1.5, background.shape), 0, 255).astype(np.uint8)
        image.setflags(write=False)
        noisy.append(image)
    return tuple(noisy)


def arrivals(
    start: datetime,
    *,
    gaps: Sequence[float] = (3.0, 2.0, 5.0, 4.0, 2.5),
    hold: float = 20.0,
    hold_visit: int = 2,
    lead: float = 6.0,
    tail: float = 3.0,
) -> Spliced:
    """`len(gaps) + 1` visits: `lead` seconds of the empty room, then a visit, a gap of empty room, the next
    visit, ... and `tail` seconds of empty room. Visit number `hold_visit` (0-based; -1 for none) stands
    still at `HOLD_FRAME` for `hold` seconds."""
    clip, fps = worker_clip()
    room = empty_room()
    frames: list[np.ndarray] = []
    visits: list[Visit] = []

    def empty(seconds: float) -> None:
        for _ in range(round(seconds * fps)):
            frames.append(room[len(frames) % len(room)])

    def at(index: int) -> datetime:
        return start + timedelta(seconds=index / fps)

    empty(lead)
    for number in range(len(gaps) + 1):
        first = len(frames)
        if number == hold_visit:
            frames.extend(clip[: HOLD_FRAME + 1])
            frames.extend([clip[HOLD_FRAME]] * round(hold * fps))
            frames.extend(clip[HOLD_FRAME + 1 :])
        else:
            frames.extend(clip)
        visits.append(Visit(at(first), at(len(frames) - 1)))
        empty(gaps[number] if number < len(gaps) else tail)
    return Spliced(frames=frames, start=start, fps=fps, visits=visits)
