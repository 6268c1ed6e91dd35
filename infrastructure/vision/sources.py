"""Frames from a camera source: a video file, a live RTSP/HTTP stream, or a numbered image sequence (a
folder of frames or a printf pattern such as `frames/cam_%05d.jpg`). Each frame comes with the UTC
instant it shows (image sequences have no frame rate of their own: `fps`, else 15). A source that
breaks — cannot be opened, stops delivering, a file cut short — raises `SourceBroken`; a file or
sequence that simply reaches its end just stops.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path

import cv2
import numpy as np
import structlog

from infrastructure.camera_secrets import redact

log = structlog.get_logger()

DEFAULT_FPS = 15.0
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
_NUMBERED = re.compile(r"^(?P<prefix>.*?)(?P<number>\d+)(?P<suffix>\.[A-Za-z0-9]+)$")
_PRINTF = re.compile(r"%(0?\d*)d")


def utc_now() -> datetime:
    return datetime.now(UTC)


class SourceBroken(Exception):
    def __init__(self, address: str, reason: str):
        super().__init__(f"Camera source {redact(address)} is broken: {reason}.")
        self.address = redact(address)
        self.reason = reason


class SourceKind(Enum):
    FILE = "file"
    IMAGES = "images"
    STREAM = "stream"


@dataclass(frozen=True, eq=False)
class Frame:
    image: np.ndarray
    at: datetime
    index: int


@dataclass(frozen=True)
class _ImageSequence:
    """Files `prefix` + number + `suffix` in `folder`."""

    folder: Path
    prefix: str
    suffix: str

    @classmethod
    def in_folder(cls, folder: Path) -> _ImageSequence | None:
        names = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        for name in names:
            match = _NUMBERED.match(name)
            if match:
                return cls(folder, match["prefix"], match["suffix"])
        return None

    @classmethod
    def from_pattern(cls, pattern: str) -> _ImageSequence | None:
        path = Path(pattern)
        parts = _PRINTF.split(path.name, maxsplit=1)
        if len(parts) != 3:
            return None  # the %d is not in the file name
        prefix, _, suffix = parts
        return cls(path.parent, prefix, suffix)

    def numbered_files(self) -> list[tuple[int, Path]]:
        shape = re.compile(re.escape(self.prefix) + r"(\d+)" + re.escape(self.suffix) + "$")
        found = []
        for path in self.folder.iterdir():
            match = shape.match(path.name)
            if match:
                found.append((int(match[1]), path))
        return sorted(found)


class CameraSource:
    """Video files and streams are read with cv2.VideoCapture, image sequences file by file. Files and
    sequences are timed from `start` (default: when reading begins) at their frame rate (or `fps`);
    live streams by the clock when a frame arrives."""

    def __init__(
        self,
        address: str,
        *,
        start: datetime | None = None,
        fps: float | None = None,
        clock: Callable[[], datetime] = utc_now,
        timeout: timedelta = timedelta(seconds=10),
    ):
        if start is not None and start.tzinfo is None:
            raise ValueError("The start time must say its time zone.")
        self.address = address
        self.kind = self._kind_of(address)
        self._start = start
        self._fps = fps
        self._clock = clock
        self._timeout_ms = int(timeout.total_seconds() * 1000)

    @staticmethod
    def _kind_of(address: str) -> SourceKind:
        if "://" in address:
            return SourceKind.STREAM
        if Path(address).is_dir() or _PRINTF.search(address):
            return SourceKind.IMAGES
        return SourceKind.FILE

    def frames(self) -> Iterator[Frame]:
        """The frames in order; raises SourceBroken (when iterated) if the source breaks."""
        if self.kind is SourceKind.IMAGES:
            return self._sequence_frames()
        return self._video_frames()

    def _video_frames(self) -> Iterator[Frame]:
        capture, expected = self._open()
        try:
            fps = self._frame_rate(capture)
            start = self._start_time()
            index = 0
            while True:
                ok, image = capture.read()
                if not ok or image is None:
                    self._ended(index, expected)
                    return
                at = (
                    self._clock().astimezone(UTC)
                    if self.kind is SourceKind.STREAM
                    else start + timedelta(seconds=index / fps)
                )
                yield Frame(image=image, at=at, index=index)
                index += 1
        finally:
            capture.release()

    def _sequence_frames(self) -> Iterator[Frame]:
        """Frame files in the order of their numbers. Not cv2.VideoCapture: its image-sequence reader takes
        the first digits in a name for the frame number (cam07_00100.jpg) and starts a %d pattern only at
        0 or 1, which would misread common exports."""
        folder = Path(self.address)
        sequence = _ImageSequence.in_folder(folder) if folder.is_dir() else _ImageSequence.from_pattern(self.address)
        files = sequence.numbered_files() if sequence and sequence.folder.is_dir() else []
        if not files:
            raise self._broken("there are no numbered image files")
        fps, start = self._fps or DEFAULT_FPS, self._start_time()
        for index, (number, path) in enumerate(files):
            if index and number != files[index - 1][0] + 1:
                raise self._broken(f"frame {files[index - 1][0] + 1} is missing, after {index} of {len(files)} frames")
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                raise self._broken(f"{path.name} cannot be read, after {index} of {len(files)} frames")
            yield Frame(image=image, at=start + timedelta(seconds=index / fps), index=index)

    def _start_time(self) -> datetime:
        return (self._start or self._clock()).astimezone(UTC)

    def _frame_rate(self, capture: cv2.VideoCapture) -> float:
        if self._fps:
            return self._fps
        reported = capture.get(cv2.CAP_PROP_FPS)
        return reported if reported > 0 and math.isfinite(reported) else DEFAULT_FPS

    def _open(self) -> tuple[cv2.VideoCapture, int | None]:
        """The capture and how many frames a finite source should give (None: unknown or endless)."""
        if self.kind is SourceKind.STREAM:
            params = [
                cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
                self._timeout_ms,
                cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                self._timeout_ms,
            ]
            capture = cv2.VideoCapture(self.address, cv2.CAP_FFMPEG, params)
            if not capture.isOpened():
                raise self._broken("the stream cannot be opened (unreachable, refused or not a video)")
            return capture, None
        path = Path(self.address)
        if not path.is_file():
            raise self._broken("the video file does not exist")
        capture = cv2.VideoCapture(str(path))
        if not capture.isOpened():
            raise self._broken("the file is not a video that can be read")
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        return capture, count if count > 0 else None

    def _ended(self, frames_read: int, expected: int | None) -> None:
        """A read failed: the normal end of a file, or a break."""
        if self.kind is SourceKind.STREAM:
            raise self._broken(f"the stream stopped delivering frames after {frames_read}")
        if not Path(self.address).is_file():
            raise self._broken(f"the video file disappeared after {frames_read} frames")
        if frames_read == 0:
            raise self._broken("not a single frame could be decoded")
        # Container frame counts can be an estimate off by a frame or so; a cut-short file falls far below.
        if expected is not None and frames_read + max(1, expected // 100) < expected:
            raise self._broken(f"it ended after {frames_read} of {expected} frames (missing or damaged data)")

    def _broken(self, reason: str) -> SourceBroken:
        log.warning("camera_source_broken", address=redact(self.address), kind=self.kind.value, reason=reason)
        return SourceBroken(self.address, reason)
