"""Content-addressed JPEG store: a snapshot is named by the SHA-256 of its bytes, which an alert records as
evidence. Files live at `root/ab/cdef….jpg` (the first two hex digits shard the folders), are written
atomically (temporary file, fsync, rename) and never change, so storing the same picture twice is a no-op.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import cv2
import numpy as np

from infrastructure.files import write_once

_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_JPEG_MAGIC = b"\xff\xd8\xff"


class SnapshotStore:
    def __init__(self, root: Path | str, *, quality: int = 90):
        self.root = Path(root)
        self.quality = quality

    def put(self, frame: np.ndarray) -> str:
        """Encode `frame` as JPEG, store it, return its digest."""
        ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise ValueError("The frame could not be encoded as JPEG.")
        return self.put_jpeg(encoded.tobytes())

    def put_jpeg(self, data: bytes) -> str:
        """Store JPEG bytes as they are (e.g. an uploaded photo), return their digest."""
        if not data.startswith(_JPEG_MAGIC):
            raise ValueError("Only JPEG pictures are stored.")
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if not target.exists():
            write_once(target, data)
        return digest

    def path(self, digest: str) -> Path:
        if not _DIGEST.match(digest):
            raise ValueError("A snapshot digest is the 64 lower-case hex digits of its SHA-256.")
        return self.root / digest[:2] / f"{digest[2:]}.jpg"

    def __contains__(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def open(self, digest: str) -> bytes:
        """The stored bytes; FileNotFoundError if there is no such snapshot."""
        return self.path(digest).read_bytes()

    def verify(self, digest: str) -> bool:
        """Whether the snapshot exists and its bytes still hash to its name."""
        try:
            data = self.open(digest)
        except FileNotFoundError:
            return False
        return hashlib.sha256(data).hexdigest() == digest
