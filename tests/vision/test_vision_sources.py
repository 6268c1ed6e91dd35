"""Camera sources: files, image sequences and live HTTP streams, and how each reports a break."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from itertools import islice
from pathlib import Path

import cv2
import pytest
from vision_footage import CAR_CLIP, MEDIA, NIGHT, WORKER_CLIP

from infrastructure.vision import CameraSource, SourceBroken, SourceKind


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def media_server() -> Iterator[str]:
    """tests/media over HTTP on a free local port, as a camera's HTTP stream would be."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(MEDIA)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def frame_folder(tmp_path: Path, worker_frames) -> Path:
    """The first 20 worker frames as JPEG files numbered from 100, as an NVR export might be."""
    folder = tmp_path / "export"
    folder.mkdir()
    for frame in worker_frames[:20]:
        cv2.imwrite(str(folder / f"cam07_{100 + frame.index:05d}.jpg"), frame.image)
    return folder


def test_a_video_file_gives_every_frame_timed_from_its_start():
    frames = list(CameraSource(str(WORKER_CLIP), start=NIGHT).frames())

    assert len(frames) == 71 and frames[0].image.shape == (270, 480, 3)
    assert all(frame.at.tzinfo is UTC for frame in frames)
    assert frames[0].at == NIGHT and frames[-1].at == NIGHT + timedelta(seconds=70 / 16.666666666666668)
    assert [frame.index for frame in frames] == list(range(71))


def test_a_start_time_must_say_its_time_zone():
    with pytest.raises(ValueError):
        CameraSource(str(WORKER_CLIP), start=datetime(2026, 3, 14, 22, 0))


def test_a_folder_of_numbered_frames_is_read_in_order(frame_folder: Path, worker_frames):
    source = CameraSource(str(frame_folder), start=NIGHT, fps=10)

    frames = list(source.frames())

    assert source.kind is SourceKind.IMAGES and len(frames) == 20
    assert frames[1].at - frames[0].at == timedelta(seconds=0.1)
    # JPEG is lossy, but each frame is the frame of the same number.
    assert cv2.absdiff(frames[7].image, worker_frames[7].image).mean() < 3


def test_a_printf_pattern_names_the_same_sequence(frame_folder: Path):
    frames = list(CameraSource(str(frame_folder / "cam07_%05d.jpg"), start=NIGHT).frames())

    assert len(frames) == 20


def test_a_damaged_frame_file_breaks_the_sequence(frame_folder: Path):
    (frame_folder / "cam07_00110.jpg").write_bytes(b"")  # the recorder died while writing it

    frames = CameraSource(str(frame_folder), start=NIGHT).frames()

    assert [frame.index for frame in islice(frames, 10)] == list(range(10))
    with pytest.raises(SourceBroken, match=r"cam07_00110\.jpg cannot be read, after 10 of 20 frames"):
        next(frames)


def test_a_missing_frame_file_breaks_the_sequence(frame_folder: Path):
    (frame_folder / "cam07_00105.jpg").unlink()

    with pytest.raises(SourceBroken, match="frame 105 is missing, after 5 of 19 frames"):
        list(CameraSource(str(frame_folder), start=NIGHT).frames())


def test_a_file_that_is_not_there_is_broken(tmp_path: Path):
    with pytest.raises(SourceBroken, match="does not exist"):
        next(CameraSource(str(tmp_path / "gone.mp4")).frames())


def test_a_file_that_disappears_while_read_is_broken(tmp_path: Path):
    video = tmp_path / "clip.mp4"
    shutil.copy(CAR_CLIP, video)
    frames = CameraSource(str(video), start=NIGHT).frames()
    next(frames)

    video.unlink()

    with pytest.raises(SourceBroken, match="disappeared"):
        list(frames)


def test_a_file_cut_short_while_read_is_broken(tmp_path: Path):
    video = tmp_path / "clip.mp4"
    shutil.copy(CAR_CLIP, video)
    frames = CameraSource(str(video), start=NIGHT).frames()
    list(islice(frames, 10))

    os.truncate(video, video.stat().st_size // 2)

    with pytest.raises(SourceBroken, match="of 377 frames"):
        list(frames)


def test_something_that_is_not_a_video_is_broken(tmp_path: Path):
    notes = tmp_path / "notes.mp4"
    notes.write_text("not a video")

    with pytest.raises(SourceBroken):
        next(CameraSource(str(notes)).frames())


def test_an_unreachable_stream_is_broken_and_its_password_is_not_repeated():
    with pytest.raises(SourceBroken) as broken:
        next(CameraSource("rtsp://admin:s3cret@127.0.0.1:9/stream1", timeout=timedelta(seconds=2)).frames())

    assert "cannot be opened" in str(broken.value)
    assert "s3cret" not in str(broken.value) and "admin:***@127.0.0.1:9" in broken.value.address


def test_a_live_stream_is_timed_by_the_clock_and_is_broken_when_it_stops(media_server: str):
    ticks = iter(NIGHT + timedelta(seconds=n) for n in range(1000))
    source = CameraSource(f"{media_server}/worker-zone-detection.gif", clock=lambda: next(ticks))

    frames = source.frames()

    first, second = next(frames), next(frames)
    assert source.kind is SourceKind.STREAM and second.at - first.at == timedelta(seconds=1)
    with pytest.raises(SourceBroken, match="stopped delivering frames after 71"):
        for _ in frames:  # the clip's other 69 frames, then the stream ends
            pass
