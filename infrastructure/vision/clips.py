"""Short clips of alerts, as Frigate keeps them: a few seconds before and after the alert, at a low frame rate
and a small size, written as Motion-JPEG AVI through OpenCV and stored content-addressed (by SHA-256) like the
snapshots. A ClipRecorder per camera keeps the last seconds of frames in memory; each alert started is finished
once the seconds after it have been seen (or the footage ends)."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

import cv2
import numpy as np

_DIGEST = re.compile(r"^[0-9a-f]{64}$")
CLIP_FPS = 4.0
CLIP_WIDTH = 320


class ClipStore:
    def __init__(self, root: Path | str):
        self.root = Path(root)

    def path(self, digest: str) -> Path:
        if not _DIGEST.match(digest):
            raise ValueError("A clip digest is the 64 lower-case hex digits of its SHA-256.")
        return self.root / digest[:2] / f"{digest[2:]}.avi"

    def __contains__(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def put_frames(self, frames: list[np.ndarray], fps: float = CLIP_FPS) -> str:
        """Writes the frames as an MJPG AVI and stores it by the digest of its bytes."""
        self.root.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.root, prefix=".incoming-", suffix=".avi")
        os.close(handle)
        try:
            height, width = frames[0].shape[:2]
            writer = cv2.VideoWriter(temporary, cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
            for frame in frames:
                writer.write(frame)
            writer.release()
            data = Path(temporary).read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            target = self.path(digest)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temporary, target)
            return digest
        finally:
            Path(temporary).unlink(missing_ok=True)


@dataclass
class _Pending:
    alert_id: UUID
    until: datetime
    frames: list[np.ndarray] = field(default_factory=list)


class ClipRecorder:
    def __init__(self, before: timedelta = timedelta(seconds=3), after: timedelta = timedelta(seconds=3)):
        self.before, self.after = before, after
        self._recent: deque[tuple[datetime, np.ndarray]] = deque()
        self._pending: list[_Pending] = []
        self._next_at: datetime | None = None

    def feed(self, image: np.ndarray, at: datetime) -> list[tuple[UUID, list[np.ndarray]]]:
        """Keeps a small copy of the frame now and then; returns the clips finished by it."""
        if self._next_at is None or at >= self._next_at:
            self._next_at = at + timedelta(seconds=1 / CLIP_FPS)
            small = cv2.resize(image, (CLIP_WIDTH, max(1, round(image.shape[0] * CLIP_WIDTH / image.shape[1]))))
            self._recent.append((at, small))
            while self._recent and at - self._recent[0][0] > self.before:
                self._recent.popleft()
            for pending in self._pending:
                pending.frames.append(small)
        done = [p for p in self._pending if at >= p.until]
        self._pending = [p for p in self._pending if at < p.until]
        return [(p.alert_id, p.frames) for p in done if p.frames]

    def start(self, alert_id: UUID, at: datetime) -> None:
        """A clip of the seconds before `at` (already seen) and after it."""
        self._pending.append(_Pending(alert_id, at + self.after, [frame for _, frame in self._recent]))

    def finish(self) -> list[tuple[UUID, list[np.ndarray]]]:
        """The clips under way when the footage ends, with what they have."""
        done, self._pending = self._pending, []
        return [(p.alert_id, p.frames) for p in done if p.frames]
