"""The real footage the vision tests run on (tests/media, CC BY 4.0, see ATTRIBUTION.md) and small helpers
to play it through the pipeline."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

from domain.values import BANGKOK, AlertKind
from infrastructure.vision import CameraMonitor, CameraSource, EpisodeEvent, EpisodeStarted, Frame

MEDIA = Path(__file__).resolve().parents[1] / "media"
# 480x270, 71 frames at 16.7 fps. The worker is in view from the first frame, walks away from the camera
# across the floor (moving until about frame 51) and then stands still to the end.
WORKER_CLIP = MEDIA / "worker-zone-detection.gif"
# 768x432, 377 frames at 12.5 fps, an empty car park seen from above; cars move at about frames 55-111,
# 184-238 and 317-351, nothing moves before frame 55.
CAR_CLIP = MEDIA / "car-detection.mp4"
CAR_PASSAGES = [(55, 111), (184, 238), (317, 351)]

NIGHT = datetime(2026, 3, 14, 22, 0, tzinfo=BANGKOK)
NOON = datetime(2026, 3, 14, 12, 0, tzinfo=BANGKOK)


def clip(path: Path, start: datetime = NIGHT) -> Iterator[Frame]:
    return CameraSource(str(path), start=start).frames()


def play(monitor: CameraMonitor, frames: Iterable[Frame]) -> list[EpisodeEvent]:
    """Every episode event of the whole run, including those ended when the footage stops."""
    events: list[EpisodeEvent] = []
    for frame in frames:
        events += monitor.process(frame.image, frame.at)
    return events + monitor.close()


def started(events: Iterable[EpisodeEvent], kind: AlertKind | None = None) -> list[EpisodeStarted]:
    return [e for e in events if isinstance(e, EpisodeStarted) and (kind is None or e.kind is kind)]
