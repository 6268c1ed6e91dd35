"""Video analytics of the zone's cameras: sources, per-camera analysis, tamper checks, debouncing into
episodes, the snapshot store and reading red-box QR codes. Pure OpenCV and NumPy; no database."""

from infrastructure.vision.debounce import (
    BBox,
    Debouncer,
    Detection,
    EpisodeEnded,
    EpisodeEvent,
    EpisodeLoitered,
    EpisodePolicy,
    EpisodeStarted,
)
from infrastructure.vision.pipeline import AnalyserSettings, CameraAnalyser, CameraMonitor
from infrastructure.vision.qr import UnreadablePhoto, read_qr
from infrastructure.vision.snapshots import SnapshotStore
from infrastructure.vision.sources import CameraSource, Frame, SourceBroken, SourceKind
from infrastructure.vision.tamper import TamperDetector, TamperSettings

__all__ = [
    "AnalyserSettings",
    "BBox",
    "CameraAnalyser",
    "CameraMonitor",
    "CameraSource",
    "Debouncer",
    "Detection",
    "EpisodeEnded",
    "EpisodeEvent",
    "EpisodeLoitered",
    "EpisodePolicy",
    "EpisodeStarted",
    "Frame",
    "SnapshotStore",
    "SourceBroken",
    "SourceKind",
    "TamperDetector",
    "TamperSettings",
    "UnreadablePhoto",
    "read_qr",
]
