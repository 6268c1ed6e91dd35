"""The content-addressed snapshot store, with real frames."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from infrastructure.vision import SnapshotStore


@pytest.fixture
def store(tmp_path: Path) -> SnapshotStore:
    return SnapshotStore(tmp_path / "snapshots")


def test_a_frame_is_stored_as_a_jpeg_named_by_its_sha256(store: SnapshotStore, worker_frames):
    digest = store.put(worker_frames[30].image)

    data = store.open(digest)
    assert hashlib.sha256(data).hexdigest() == digest
    assert store.path(digest) == store.root / digest[:2] / f"{digest[2:]}.jpg"
    picture = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert picture.shape == (270, 480, 3)
    assert digest in store and store.verify(digest)


def test_storing_the_same_frame_twice_keeps_one_file_and_leaves_no_temporary(store: SnapshotStore, worker_frames):
    first = store.put(worker_frames[30].image)
    second = store.put(worker_frames[30].image.copy())
    other = store.put(worker_frames[31].image)

    assert first == second != other
    assert sorted(p.name for p in store.root.rglob("*") if p.is_file()) == sorted(
        [f"{first[2:]}.jpg", f"{other[2:]}.jpg"]
    )


def test_a_snapshot_altered_on_disk_fails_verification(store: SnapshotStore, worker_frames):
    digest = store.put(worker_frames[30].image)
    path = store.path(digest)
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")

    assert not store.verify(digest)


def test_an_unknown_snapshot_is_missing_and_a_malformed_digest_refused(store: SnapshotStore):
    unknown = "ab" * 32

    assert not store.verify(unknown) and unknown not in store
    with pytest.raises(FileNotFoundError):
        store.open(unknown)
    with pytest.raises(ValueError):
        store.path("../../etc/passwd")


def test_uploaded_jpeg_bytes_are_stored_as_they_are_and_nothing_else_is(store: SnapshotStore, worker_frames):
    jpeg = cv2.imencode(".jpg", worker_frames[0].image)[1].tobytes()

    assert store.open(store.put_jpeg(jpeg)) == jpeg
    with pytest.raises(ValueError):
        store.put_jpeg(b"\x89PNG\r\n\x1a\n")
