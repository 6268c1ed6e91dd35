"""Files written whole or not at all: the content-addressed stores (camera snapshots, published report editions)
write each file once, under the name of its SHA-256, and never change it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_once(target: Path, data: bytes) -> None:
    """Writes `data` at `target` atomically: a temporary file in the same folder, flushed to disk, renamed over the
    target, and the rename itself made durable. A reader sees the whole file or none."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    fsync_directory(target.parent)


def fsync_directory(folder: Path) -> None:
    """Makes a rename in `folder` durable (POSIX); where directories cannot be opened, skips it."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
