"""From per-frame detections to episodes: one alert when something starts happening, never one per frame.

Both the motion/person analyser and the tamper checks speak `Detection`; the `Debouncer` groups them by
(kind, zone, reason). An episode is confirmed after enough nearly consecutive hits, announced once with
the best frame seen so far, and ends after a quiet spell; a cooldown keeps a flapping source (a tree in
the wind, a flickering lamp) from raising alert after alert.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from domain.values import AlertKind


@dataclass(frozen=True)
class BBox:
    """A box in pixels of the source frame."""

    x: int
    y: int
    w: int
    h: int

    @property
    def area(self) -> int:
        return self.w * self.h

    def overlap(self, other: BBox) -> int:
        """Area in pixels that the two boxes share."""
        dx = min(self.x + self.w, other.x + other.w) - max(self.x, other.x)
        dy = min(self.y + self.h, other.y + other.h) - max(self.y, other.y)
        return max(dx, 0) * max(dy, 0)


EpisodeKey = tuple[AlertKind, str, str, int]


@dataclass(frozen=True)
class Detection:
    """One thing seen in one frame. `reason` says why a camera looks tampered with ("dark", "covered",
    "blurred", "moved"); it is empty for detections in a zone. `track` is the tracked person it belongs
    to (0: not tracked): each track is an episode of its own, so each person who arrives is an alert."""

    kind: AlertKind
    zone: str
    score: float
    bbox: BBox | None = None
    reason: str = ""
    track: int = 0
    # The tracked person has stayed past a loitering rule's time: an update on their episode, not a key of its own.
    loitering: bool = False

    @property
    def key(self) -> EpisodeKey:
        return (self.kind, self.zone, self.reason, self.track)


@dataclass(frozen=True)
class EpisodePolicy:
    """`min_hits` hits, none further apart than `max_gap` and together spanning at least `min_duration`,
    start an episode; `quiet` without hits ends it; no new episode of the same key for `cooldown` after."""

    min_hits: int = 3
    max_gap: timedelta = timedelta(seconds=1)
    min_duration: timedelta = timedelta(0)
    quiet: timedelta = timedelta(seconds=5)
    cooldown: timedelta = timedelta(seconds=15)

    def __post_init__(self) -> None:
        if self.min_hits < 1:
            raise ValueError("An episode needs at least one hit.")


PERSON_POLICY = EpisodePolicy(
    min_hits=2, max_gap=timedelta(seconds=1.5), quiet=timedelta(seconds=2), cooldown=timedelta(0)
)
DEFAULT_POLICIES: Mapping[AlertKind, EpisodePolicy] = {
    AlertKind.MOTION_IN_ZONE: EpisodePolicy(min_hits=3, max_gap=timedelta(seconds=0.5)),
    # The people detector runs a few times a second at most, so its hits are further apart. Each tracked
    # person is an episode of their own: it ends soon after the tracker lost them, and needs no cooldown.
    AlertKind.PERSON: PERSON_POLICY,
    AlertKind.PERSON_AT_NIGHT: PERSON_POLICY,
    # A loitering alert of its own is a tracked person too (one with no person rule watching them).
    AlertKind.LOITERING: PERSON_POLICY,
    AlertKind.TAMPERED: EpisodePolicy(min_hits=5, min_duration=timedelta(seconds=2), cooldown=timedelta(seconds=60)),
}


@dataclass(frozen=True, eq=False)
class EpisodeStarted:
    """The one alert of an episode. `snapshot` is the best-scoring frame among the hits that confirmed it,
    taken at `snapshot_at`; `started_at` is the first hit, `confirmed_at` the frame that confirmed it."""

    kind: AlertKind
    zone: str
    reason: str
    score: float
    bbox: BBox | None
    snapshot: np.ndarray
    snapshot_at: datetime
    started_at: datetime
    confirmed_at: datetime
    track: int = 0


@dataclass(frozen=True)
class EpisodeEnded:
    kind: AlertKind
    zone: str
    reason: str
    started_at: datetime
    ended_at: datetime
    best_score: float
    hits: int
    track: int = 0


@dataclass(frozen=True)
class EpisodeLoitered:
    """The person of an open episode has stayed past a loitering rule's time (once per episode): an update on the
    episode's alert. `started_at` is the episode's, so the alert is found by the same id."""

    kind: AlertKind
    zone: str
    reason: str
    started_at: datetime
    loitered_at: datetime
    track: int = 0

    @property
    def stayed(self) -> timedelta:
        return self.loitered_at - self.started_at


EpisodeEvent = EpisodeStarted | EpisodeEnded | EpisodeLoitered


@dataclass
class _Track:
    """Hits of one key: pending until confirmed, then an open episode."""

    first_hit: datetime
    last_hit: datetime
    best: Detection
    best_frame: np.ndarray | None
    best_at: datetime
    hits: int = 1
    confirmed: bool = False
    loitered: bool = False

    def add(self, detection: Detection, frame: np.ndarray, at: datetime) -> None:
        self.hits += 1
        self.last_hit = at
        if detection.score > self.best.score:
            self.best = detection
            self.best_at = at
            if not self.confirmed:
                self.best_frame = frame.copy()

    def is_due(self, policy: EpisodePolicy) -> bool:
        return self.hits >= policy.min_hits and self.last_hit - self.first_hit >= policy.min_duration


@dataclass
class Debouncer:
    policies: Mapping[AlertKind, EpisodePolicy] = field(default_factory=lambda: dict(DEFAULT_POLICIES))
    fallback: EpisodePolicy = field(default_factory=EpisodePolicy)
    _tracks: dict[EpisodeKey, _Track] = field(default_factory=dict, init=False, repr=False)
    _cooling_until: dict[EpisodeKey, datetime] = field(default_factory=dict, init=False, repr=False)

    def policy(self, kind: AlertKind) -> EpisodePolicy:
        return self.policies.get(kind, self.fallback)

    @property
    def open_episodes(self) -> list[EpisodeKey]:
        return [key for key, track in self._tracks.items() if track.confirmed]

    def update(self, detections: Iterable[Detection], frame: np.ndarray, at: datetime) -> list[EpisodeEvent]:
        """Feed one frame's detections (possibly none); returns the episodes that started or ended."""
        strongest: dict[EpisodeKey, Detection] = {}
        for detection in detections:
            held = strongest.get(detection.key)
            if held is None or detection.score > held.score:
                strongest[detection.key] = detection

        events: list[EpisodeEvent] = []
        for key, detection in strongest.items():
            started = self._hit(key, detection, frame, at)
            if started is not None:
                events.append(started)
            track = self._tracks.get(key)
            if detection.loitering and track is not None and track.confirmed and not track.loitered:
                track.loitered = True
                kind, zone, reason, person = key
                events.append(EpisodeLoitered(kind, zone, reason, track.first_hit, at, person))
        for key in [key for key in self._tracks if key not in strongest]:
            ended = self._miss(key, at)
            if ended is not None:
                events.append(ended)
        return events

    def close(self) -> list[EpisodeEnded]:
        """End every open episode at its last hit, e.g. when the stream stops."""
        ended = [self._end(key, track, track.last_hit) for key, track in self._tracks.items() if track.confirmed]
        self._tracks.clear()
        return ended

    def _hit(self, key: EpisodeKey, detection: Detection, frame: np.ndarray, at: datetime) -> EpisodeStarted | None:
        if at < self._cooling_until.get(key, at):
            return None
        policy = self.policy(detection.kind)
        track = self._tracks.get(key)
        if track is not None and not track.confirmed and at - track.last_hit > policy.max_gap:
            track = None
        if track is None:
            # A copy: a caller may decode the next frame into the same buffer.
            track = _Track(first_hit=at, last_hit=at, best=detection, best_frame=frame.copy(), best_at=at)
            self._tracks[key] = track
        else:
            track.add(detection, frame, at)
        if track.confirmed or not track.is_due(policy):
            return None
        track.confirmed = True
        snapshot, track.best_frame = track.best_frame, None
        assert snapshot is not None
        best = track.best
        return EpisodeStarted(
            kind=best.kind,
            zone=best.zone,
            reason=best.reason,
            score=best.score,
            bbox=best.bbox,
            snapshot=snapshot,
            snapshot_at=track.best_at,
            started_at=track.first_hit,
            confirmed_at=at,
            track=best.track,
        )

    def _miss(self, key: EpisodeKey, at: datetime) -> EpisodeEnded | None:
        track = self._tracks[key]
        policy = self.policy(key[0])
        if not track.confirmed:
            if at - track.last_hit > policy.max_gap:
                del self._tracks[key]
            return None
        if at - track.last_hit < policy.quiet:
            return None
        del self._tracks[key]
        # Tracked people are keys of their own that never come back: forget cooldowns that have run out.
        self._cooling_until = {k: until for k, until in self._cooling_until.items() if until > at}
        if policy.cooldown:
            self._cooling_until[key] = at + policy.cooldown
        return self._end(key, track, track.last_hit)

    @staticmethod
    def _end(key: EpisodeKey, track: _Track, ended_at: datetime) -> EpisodeEnded:
        kind, zone, reason, tracked = key
        return EpisodeEnded(
            kind=kind,
            zone=zone,
            reason=reason,
            started_at=track.first_hit,
            ended_at=ended_at,
            best_score=track.best.score,
            hits=track.hits,
            track=tracked,
        )
