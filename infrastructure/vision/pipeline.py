"""What one camera's frames go through. Motion is found by background subtraction at a small working size
(cheap, every frame); the HOG people detector, the expensive part, looks at the whole view at that working
size a few times a second while anything moves in a zone or a person is still followed there, and a
tracker ties its sightings into people, each of whom is an episode (an alert) of their own.
Everything is per camera and keeps its state in memory: feed frames in order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import cv2
import numpy as np

from domain.values import PERSON_ALERT_KINDS, AlertKind, DetectionRule, Zone
from infrastructure.vision.debounce import DEFAULT_POLICIES, BBox, Debouncer, Detection, EpisodeEvent, EpisodePolicy
from infrastructure.vision.tamper import TamperDetector, TamperSettings
from infrastructure.vision.tracking import Sighting, Track, Tracker, TrackerSettings

# A blob covering this fraction of the frame is unmistakable motion (score 1).
MOTION_FULL_SCORE_AREA = 0.02


@dataclass(frozen=True)
class AnalyserSettings:
    working_width: int = 320
    warmup_frames: int = 15  # the background model is still forming: report nothing
    learning_rate: float = 0.002  # after warm-up: something that stops moving fades out in ~50 frames
    min_blob_area: float = 0.0005  # fraction of the frame; smaller specks are noise, whatever the rules say
    # While anything moves in a zone, or a person is being followed there, the people detector looks at
    # the whole view this often.
    person_check_interval: timedelta = timedelta(seconds=0.33)
    person_scale: float = 1.2  # the detector's pyramid step
    person_stride: int = 8  # the detector's window step in pixels of the working size
    tracker: TrackerSettings = field(default_factory=TrackerSettings)
    loiter_dwell: timedelta = timedelta(seconds=30)  # a loitering rule's time when it gives none


@dataclass(frozen=True)
class MotionBlob:
    zone: str
    area: float  # fraction of the frame
    bbox: BBox  # in pixels of the source frame

    @property
    def score(self) -> float:
        return min(1.0, self.area / MOTION_FULL_SCORE_AREA)


@dataclass(frozen=True)
class _ZoneMask:
    name: str
    mask: np.ndarray | None  # None: the whole view


def shrink_to_grey(image: np.ndarray, width: int) -> np.ndarray:
    """`image` in grey, scaled to `width`. Exact halves first: OpenCV's area resize has a fast path for
    them, several times quicker than one large area resize of a 720p or 1080p frame."""
    while image.shape[1] >= 2 * width:
        image = cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    if grey.shape[1] == width:
        return grey
    height = max(1, round(grey.shape[0] * width / grey.shape[1]))
    return cv2.resize(grey, (width, height), interpolation=cv2.INTER_AREA)


def _zone_masks(zones: Sequence[Zone], width: int, height: int) -> list[_ZoneMask]:
    if not zones:
        return [_ZoneMask(name="", mask=None)]
    masks = []
    for zone in zones:
        mask = np.zeros((height, width), np.uint8)
        corners = np.array([(round(x * (width - 1)), round(y * (height - 1))) for x, y in zone.points], np.int32)
        cv2.fillPoly(mask, [corners], 255)
        masks.append(_ZoneMask(name=zone.name, mask=mask))
    return masks


def _median_level(grey: np.ndarray) -> float:
    cumulative = np.cumsum(cv2.calcHist([grey], [0], None, [256], [0, 256]).ravel())
    return float(np.searchsorted(cumulative, cumulative[-1] / 2))


class MotionDetector:
    """MOG2 background subtraction on a small, grey, blurred copy of each frame, cut to the zones."""

    _OPEN = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    _CLOSE = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))

    def __init__(self, zones: Sequence[Zone], settings: AnalyserSettings):
        self._zones = list(zones)
        self._settings = settings
        self._frame_shape: tuple[int, int] | None = None

    def _start(self, frame_shape: tuple[int, int], view_shape: tuple[int, int]) -> None:
        self._frame_shape = frame_shape
        self._view_shape = view_shape
        (frame_height, frame_width), (view_height, view_width) = frame_shape, view_shape
        self._to_frame = (frame_width / view_width, frame_height / view_height)
        self._masks = _zone_masks(self._zones, view_width, view_height)
        self._subtractor = cv2.createBackgroundSubtractorMOG2(history=500, varThreshold=16, detectShadows=True)
        # Compressed footage has near-noiseless static areas; without a variance floor, a slight
        # exposure drift there already counts as motion.
        self._subtractor.setVarMin(16)
        self._frames_seen = 0
        self._level: float | None = None

    @property
    def warming_up(self) -> bool:
        return self._frame_shape is None or self._frames_seen <= self._settings.warmup_frames

    def detect(self, view: np.ndarray, frame_shape: tuple[int, int]) -> list[MotionBlob]:
        """Moving blobs per zone, boxed in pixels of the source frame, from `view`, the frame in grey at
        the working size. None while the background model warms up (again after the picture size changed)."""
        if frame_shape != self._frame_shape or view.shape != self._view_shape:
            self._start(frame_shape, view.shape)
        grey = cv2.GaussianBlur(self._steady_exposure(view), (5, 5), 0)
        # Warm-up lets MOG2 pick its own fast rate (1/frames seen) so it settles quickly.
        rate = -1.0 if self._frames_seen < self._settings.warmup_frames else self._settings.learning_rate
        foreground = self._subtractor.apply(grey, learningRate=rate)
        self._frames_seen += 1
        if self.warming_up:
            return []
        # MOG2 marks shadows 127 and motion 255: shadows are not things.
        _, moving = cv2.threshold(foreground, 200, 255, cv2.THRESH_BINARY)
        moving = cv2.morphologyEx(moving, cv2.MORPH_OPEN, self._OPEN)
        moving = cv2.morphologyEx(moving, cv2.MORPH_CLOSE, self._CLOSE)
        if not cv2.countNonZero(moving):
            return []
        return [blob for zone in self._masks for blob in self._blobs(moving, zone)]

    def _steady_exposure(self, grey: np.ndarray) -> np.ndarray:
        """Undo the camera's auto-exposure: when a bright vest or headlights enter, the camera darkens the
        whole picture, which background subtraction would take for motion everywhere. The median grey
        level is held at the level the background model learned; a moving object rarely covers half of
        the view, so it barely moves the median."""
        level = _median_level(grey)
        if self._level is None:
            self._level = level
        gain = self._level / max(level, 1.0)
        return grey if abs(gain - 1.0) < 0.02 else cv2.convertScaleAbs(grey, alpha=gain)

    def _blobs(self, moving: np.ndarray, zone: _ZoneMask) -> list[MotionBlob]:
        inside = moving if zone.mask is None else cv2.bitwise_and(moving, zone.mask)
        contours, _ = cv2.findContours(inside, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        pixels = inside.size
        sx, sy = self._to_frame
        blobs = []
        for contour in contours:
            area = cv2.contourArea(contour) / pixels
            if area < self._settings.min_blob_area:
                continue
            x, y, w, h = cv2.boundingRect(contour)
            box = BBox(int(x * sx), int(y * sy), math.ceil(w * sx), math.ceil(h * sy))
            blobs.append(MotionBlob(zone=zone.name, area=area, bbox=box))
        return blobs


class PersonDetector:
    """OpenCV's default HOG people detector (no downloaded weights) on the whole view at the working size: a
    person who stopped moving, whom background subtraction no longer sees, is still found. Measured on the
    worker clip (README, Smart CCTV): at 320 wide, pyramid step 1.2, it finds the fully visible worker in 34
    of 44 frames at about 2 ms a frame, and nothing in the car park; the tracker bridges the misses."""

    _WINDOW = (64, 128)

    def __init__(self, settings: AnalyserSettings):
        self._settings = settings
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())

    def scan(self, view: np.ndarray, frame_shape: tuple[int, int]) -> list[tuple[BBox, float]]:
        """People in `view` (grey, working size): boxes in pixels of the source frame, with scores 0..1."""
        short_y, short_x = max(0, self._WINDOW[1] - view.shape[0]), max(0, self._WINDOW[0] - view.shape[1])
        if short_x or short_y:
            view = cv2.copyMakeBorder(view, 0, short_y, 0, short_x, cv2.BORDER_REPLICATE)
        stride = self._settings.person_stride
        rects, weights = self._hog.detectMultiScale(
            view, hitThreshold=0.0, winStride=(stride, stride), padding=(8, 8), scale=self._settings.person_scale
        )
        frame_height, frame_width = frame_shape
        sx, sy = frame_width / (view.shape[1] - short_x), frame_height / (view.shape[0] - short_y)
        found = []
        for (x, y, w, h), weight in zip(rects, np.ravel(weights), strict=True):
            x0, y0 = max(0, int(x * sx)), max(0, int(y * sy))
            x1, y1 = min(frame_width, math.ceil((x + w) * sx)), min(frame_height, math.ceil((y + h) * sy))
            if x1 <= x0 or y1 <= y0:
                continue
            score = 1.0 - math.exp(-float(weight))  # SVM margin 0.. → 0..1; margin 1 is a clear person
            found.append((BBox(x0, y0, x1 - x0, y1 - y0), score))
        return found


def _watches(rule: DetectionRule, zone: str) -> bool:
    return not rule.zone or rule.zone == zone


def inside(point: tuple[float, float], polygon: Sequence[tuple[float, float]]) -> bool:
    """Whether `point` lies inside `polygon` (ray casting; both in the same coordinates)."""
    x, y = point
    result = False
    previous = polygon[-1]
    for current in polygon:
        (x1, y1), (x2, y2) = previous, current
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            result = not result
        previous = current
    return result


class CameraAnalyser:
    """Per-frame detections of one camera, from its zones (relative polygons) and detection rules."""

    def __init__(self, zones: Sequence[Zone], rules: Sequence[DetectionRule], settings: AnalyserSettings | None = None):
        self.settings = settings or AnalyserSettings()
        self.rules = list(rules)
        self.zones = list(zones)
        self._motion = MotionDetector(zones, self.settings)
        self._people = PersonDetector(self.settings)
        self.tracker = Tracker(self.settings.tracker)
        self._next_person_check: datetime | None = None
        # Loitering is a tracked person's stay: followed even outside the rule's hours, so that someone already
        # there when its hours begin counts.
        self._loiter_rules = [rule for rule in self.rules if rule.kind is AlertKind.LOITERING]
        self.person_checks = 0

    @property
    def warming_up(self) -> bool:
        return self._motion.warming_up

    def view_of(self, frame: np.ndarray) -> np.ndarray:
        """The frame in grey at the working size, as the motion detector sees it."""
        return shrink_to_grey(frame, self.settings.working_width)

    def observe(self, frame: np.ndarray, *, view: np.ndarray | None = None) -> None:
        """Keep the background model current without reporting (e.g. while the view is tampered with)."""
        self._motion.detect(self.view_of(frame) if view is None else view, frame.shape[:2])

    def analyse(self, frame: np.ndarray, at: datetime, *, view: np.ndarray | None = None) -> list[Detection]:
        """This frame's detections. `view`: the frame already through `view_of`, if the caller has it."""
        view = self.view_of(frame) if view is None else view
        blobs = self._motion.detect(view, frame.shape[:2])
        active = [rule for rule in self.rules if rule.active_at(at)]
        detections: list[Detection] = []
        for rule in active:
            if rule.kind is AlertKind.MOTION_IN_ZONE:
                detections += [
                    Detection(rule.kind, blob.zone, blob.score, blob.bbox)
                    for blob in blobs
                    if _watches(rule, blob.zone) and blob.area >= rule.min_area and blob.score >= rule.min_score
                ]
        person_rules = [r for r in active if r.kind in PERSON_ALERT_KINDS]
        detections += self._people_seen(view, frame.shape[:2], blobs, person_rules, at)
        return detections

    def _zone_of(self, box: BBox, frame_shape: tuple[int, int]) -> str | None:
        """The zone a person stands in: the first whose polygon holds the middle of their feet."""
        height, width = frame_shape
        foot = ((box.x + box.w / 2) / width, min(box.y + box.h, height - 1) / height)
        if not self.zones:
            return ""
        return next((zone.name for zone in self.zones if inside(foot, zone.points)), None)

    def _people_seen(
        self,
        view: np.ndarray,
        frame_shape: tuple[int, int],
        blobs: Sequence[MotionBlob],
        rules: Sequence[DetectionRule],
        at: datetime,
    ) -> list[Detection]:
        """People on the whole view, a few times a second while something moves in a zone or a person is
        still followed there; each detection carries the person's track. A person who stays past a loitering
        rule's time is an update on their own alert (`loitering`), or, with no person rule watching them, a
        loitering alert of its own: one alert per person either way."""
        watching = [*rules, *self._loiter_rules]
        if not watching:
            return []
        self.tracker.expire(at)
        if self._next_person_check is not None and at < self._next_person_check:
            return []
        if not self.tracker.active and not any(
            blob.area >= rule.min_area and _watches(rule, blob.zone) for rule in watching for blob in blobs
        ):
            return []
        self._next_person_check = at + self.settings.person_check_interval
        self.person_checks += 1
        floor = min(rule.min_score for rule in watching)
        sightings = []
        for box, score in self._people.scan(view, frame_shape):
            zone = self._zone_of(box, frame_shape)
            if zone is not None and score >= floor:
                sightings.append(Sighting(box, score, zone))
        frame_area = frame_shape[0] * frame_shape[1]

        def fits(rule: DetectionRule, track: Track) -> bool:
            return (
                _watches(rule, track.zone)
                and track.bbox.area / frame_area >= rule.min_area
                and track.score >= rule.min_score
            )

        detections = []
        for track in self.tracker.update(sightings, at):
            loitering = any(
                fits(rule, track) and rule.active_at(at) and at - track.first_seen >= self._dwell(rule)
                for rule in self._loiter_rules
            )
            seen = [
                Detection(rule.kind, track.zone, track.score, track.bbox, track=track.id, loitering=loitering)
                for rule in rules
                if fits(rule, track)
            ]
            if not seen and loitering:
                # No person rule follows them here: staying is their one alert.
                seen = [Detection(AlertKind.LOITERING, track.zone, track.score, track.bbox, track=track.id)]
            detections += seen
        return detections

    def _dwell(self, rule: DetectionRule) -> timedelta:
        return timedelta(seconds=rule.dwell) if rule.dwell else self.settings.loiter_dwell


class CameraMonitor:
    """The whole per-camera pipeline: tamper checks, detections, and debouncing into episodes."""

    def __init__(
        self,
        zones: Sequence[Zone],
        rules: Sequence[DetectionRule],
        *,
        settings: AnalyserSettings | None = None,
        tamper_settings: TamperSettings | None = None,
        policies: Mapping[AlertKind, EpisodePolicy] | None = None,
    ):
        self.analyser = CameraAnalyser(zones, rules, settings)
        self.tamper = TamperDetector(tamper_settings)
        self.debouncer = Debouncer({**DEFAULT_POLICIES, **(policies or {})})

    def process(self, frame: np.ndarray, at: datetime) -> list[EpisodeEvent]:
        view = self.analyser.view_of(frame)
        tampering = self.tamper.check(view, at)
        if tampering:
            # A covered or knocked camera changes every pixel: that is tampering, not motion in a zone.
            self.analyser.observe(frame, view=view)
            return self.debouncer.update(tampering, frame, at)
        return self.debouncer.update(self.analyser.analyse(frame, at, view=view), frame, at)

    def close(self) -> list[EpisodeEvent]:
        return list(self.debouncer.close())
