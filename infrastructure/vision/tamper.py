"""Is someone interfering with the camera? Each frame is compared with a reference view learned from the
first healthy frames: dark or covered (absolute brightness and contrast), blurred (sharpness falls far below
the reference's) or moved (most of the reference's edges are gone). The findings are per frame; the
`Debouncer` turns a finding that persists into one TAMPERED alert."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import cv2
import numpy as np

from domain.values import AlertKind
from infrastructure.vision.debounce import Detection

DARK = "dark"
COVERED = "covered"
BLURRED = "blurred"
MOVED = "moved"


@dataclass(frozen=True)
class TamperSettings:
    check_width: int = 160
    check_interval: timedelta = timedelta(seconds=0.2)  # between checks the last verdict stands
    learn_checks: int = 10  # healthy checks (one per check_interval) that make the first reference
    dark_mean: float = 25.0  # grey level (0..255) below which a view with little contrast shows nothing
    dark_contrast: float = 16.0  # a lit night scene (lamps against black) has more than this
    uniform_std: float = 8.0  # a real scene has more contrast than this, even a dim car park
    blur_ratio: float = 0.25  # sharpness below this fraction of the reference's means blurred
    min_reference_sharpness: float = 20.0  # a scene flatter than this cannot be judged for blur
    moved_recall: float = 0.45  # fewer of the reference's edges than this still in view means moved
    min_reference_edges: float = 0.002  # fraction of edge pixels a reference needs to judge a move
    adaptation: float = 0.01  # weight of each healthy frame in the slowly updated reference
    rebase_after: timedelta = timedelta(minutes=2)  # a move this old is the camera's new view


@dataclass
class _Reference:
    image: np.ndarray  # float32 grey at check size
    sharpness: float
    edges: np.ndarray  # edge map of the reference

    @classmethod
    def learn(cls, images: list[np.ndarray]) -> _Reference:
        mean = np.mean(np.stack(images).astype(np.float32), axis=0)
        # Sharpness of single frames, not of their average, which is smoother than any of them.
        sharpness = float(np.median([_sharpness(image) for image in images]))
        return cls._with_edges(mean, sharpness)

    @classmethod
    def _with_edges(cls, image: np.ndarray, sharpness: float) -> _Reference:
        return cls(image=image, sharpness=sharpness, edges=_edges(image.astype(np.uint8)))

    def adapt(self, grey: np.ndarray, weight: float) -> _Reference:
        image = cv2.addWeighted(self.image, 1.0 - weight, grey.astype(np.float32), weight, 0.0)
        sharpness = (1.0 - weight) * self.sharpness + weight * _sharpness(grey)
        return self._with_edges(image, sharpness)

    def edge_recall(self, grey: np.ndarray) -> float:
        """Fraction of the reference's edges that the current view still has (within a pixel: the current
        edges are dilated)."""
        reference_edges = np.count_nonzero(self.edges)
        kept = np.count_nonzero(cv2.bitwise_and(self.edges, cv2.dilate(_edges(grey), _NEIGHBOURHOOD)))
        return kept / reference_edges if reference_edges else 1.0


_NEIGHBOURHOOD = np.ones((3, 3), np.uint8)


def _sharpness(grey: np.ndarray) -> float:
    return float(cv2.Laplacian(grey, cv2.CV_32F).var())


def _edges(grey: np.ndarray) -> np.ndarray:
    return cv2.Canny(cv2.GaussianBlur(grey, (3, 3), 0), 50, 150)


class TamperDetector:
    def __init__(self, settings: TamperSettings | None = None):
        self.settings = settings or TamperSettings()
        self._learning: list[np.ndarray] = []
        self._reference: _Reference | None = None
        self._moved_since: datetime | None = None
        self._next_check: datetime | None = None
        self._verdict: list[Detection] = []

    def check(self, frame: np.ndarray, at: datetime) -> list[Detection]:
        """What looks wrong with this frame (nothing, or one finding)."""
        if self._next_check is not None and at < self._next_check:
            return self._verdict
        self._next_check = at + self.settings.check_interval
        grey = self._shrink(frame)
        reason, score = self._judge(grey)
        self._track_move(reason, at)
        if reason is None:
            self._learn(grey)
            self._verdict = []
        else:
            self._verdict = [Detection(kind=AlertKind.TAMPERED, zone="", score=score, reason=reason)]
        return self._verdict

    def _judge(self, grey: np.ndarray) -> tuple[str | None, float]:
        """The first tamper reason that applies, most blatant first, with a 0..1 score."""
        s = self.settings
        mean, std = (float(v[0][0]) for v in cv2.meanStdDev(grey))
        if mean < s.dark_mean and std < s.dark_contrast:
            return DARK, 1.0 - mean / s.dark_mean
        if std < s.uniform_std:
            return COVERED, 1.0 - std / s.uniform_std
        reference = self._reference
        if reference is None:
            return None, 0.0
        if reference.sharpness >= s.min_reference_sharpness:
            ratio = _sharpness(grey) / reference.sharpness
            if ratio < s.blur_ratio:
                return BLURRED, 1.0 - ratio / s.blur_ratio
        if np.count_nonzero(reference.edges) >= s.min_reference_edges * grey.size:
            recall = reference.edge_recall(grey)
            if recall < s.moved_recall:
                return MOVED, 1.0 - recall / s.moved_recall
        return None, 0.0

    def _learn(self, grey: np.ndarray) -> None:
        if self._reference is not None:
            self._reference = self._reference.adapt(grey, self.settings.adaptation)
            return
        self._learning.append(grey)
        if len(self._learning) >= self.settings.learn_checks:
            self._reference = _Reference.learn(self._learning)
            self._learning = []

    def _track_move(self, reason: str | None, at: datetime) -> None:
        if reason != MOVED:
            self._moved_since = None
            return
        if self._moved_since is None:
            self._moved_since = at
        elif at - self._moved_since >= self.settings.rebase_after:
            # Someone repointed the camera on purpose (or nobody will come to fix it): learn the new view.
            self._reference = None
            self._learning = []
            self._moved_since = None

    def _shrink(self, frame: np.ndarray) -> np.ndarray:
        height, width = frame.shape[:2]
        size = (self.settings.check_width, max(1, round(height * self.settings.check_width / width)))
        small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
