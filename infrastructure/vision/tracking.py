"""People followed across the people detector's checks, so that alerts follow people, not zones: a person
who enters is a new track (a new alert), however soon after the previous one left; a person who stays is
one track (one alert), however long they stand still.

A small tracker of our own (norfair would add scipy and matplotlib and pin NumPy below 2): sightings are
matched to the live tracks greedily, best overlap first, by the intersection over union of their boxes or,
for a person who moved between two checks, by how far the box's foot point moved relative to its height.
A track not seen for `lost_after` is gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from infrastructure.vision.debounce import BBox


@dataclass(frozen=True)
class TrackerSettings:
    lost_after: timedelta = timedelta(seconds=1.5)
    min_iou: float = 0.2
    # Between checks a quarter of a second apart a walking person moves well under half their height.
    max_step: float = 0.6


@dataclass
class Track:
    id: int
    bbox: BBox
    score: float
    first_seen: datetime
    last_seen: datetime
    zone: str
    hits: int = 1
    missed: int = field(default=0)

    @property
    def age(self) -> timedelta:
        return self.last_seen - self.first_seen


def iou(a: BBox, b: BBox) -> float:
    shared = a.overlap(b)
    union = a.area + b.area - shared
    return shared / union if union else 0.0


def _step(a: BBox, b: BBox) -> float:
    """How far the foot point moved, in heights of the person."""
    ax, ay = a.x + a.w / 2, a.y + a.h
    bx, by = b.x + b.w / 2, b.y + b.h
    height = max(a.h, b.h, 1)
    return ((ax - bx) ** 2 + (ay - by) ** 2) ** 0.5 / height


@dataclass(frozen=True)
class Sighting:
    bbox: BBox
    score: float
    zone: str


class Tracker:
    """Feed it each check's sightings in time order; it says which track each sighting belongs to."""

    def __init__(self, settings: TrackerSettings | None = None):
        self.settings = settings or TrackerSettings()
        self.tracks: dict[int, Track] = {}
        self._next_id = 1

    @property
    def active(self) -> bool:
        return bool(self.tracks)

    def expire(self, at: datetime) -> list[Track]:
        """The tracks not seen for `lost_after`, removed."""
        gone = [track for track in self.tracks.values() if at - track.last_seen > self.settings.lost_after]
        for track in gone:
            del self.tracks[track.id]
        return gone

    def update(self, sightings: Sequence[Sighting], at: datetime) -> list[Track]:
        """The tracks seen in this check (matched or new), in the order of `sightings`."""
        self.expire(at)
        pairs = []
        for s_index, sighting in enumerate(sightings):
            for track in self.tracks.values():
                overlap = iou(track.bbox, sighting.bbox)
                step = _step(track.bbox, sighting.bbox)
                if overlap >= self.settings.min_iou or step <= self.settings.max_step:
                    # Overlap first; among non-overlapping candidates the shortest step.
                    pairs.append((overlap, -step, s_index, track.id))
        pairs.sort(reverse=True)
        taken_sightings: set[int] = set()
        taken_tracks: set[int] = set()
        seen: dict[int, Track] = {}
        for _, _, s_index, track_id in pairs:
            if s_index in taken_sightings or track_id in taken_tracks:
                continue
            taken_sightings.add(s_index)
            taken_tracks.add(track_id)
            track, sighting = self.tracks[track_id], sightings[s_index]
            track.bbox, track.score, track.last_seen, track.zone = sighting.bbox, sighting.score, at, sighting.zone
            track.hits += 1
            seen[s_index] = track
        for s_index, sighting in enumerate(sightings):
            if s_index in seen:
                continue
            track = Track(self._next_id, sighting.bbox, sighting.score, at, at, sighting.zone)
            self._next_id += 1
            self.tracks[track.id] = track
            seen[s_index] = track
        for track in self.tracks.values():
            if track.id not in taken_tracks and track.last_seen != at:
                track.missed += 1
        return [seen[index] for index in range(len(sightings))]
