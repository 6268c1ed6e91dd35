"""Simulated time: a clock the simulator's own application reads, a heap of future actions run in time order, and
the seeded chances everything is drawn from."""

from __future__ import annotations

import hashlib
import heapq
import math
import random
from bisect import bisect
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

DEMO_NAMESPACE = UUID("3b0f6d52-7a55-4c1e-9d0e-5c2a9b8e4f17")
LOCAL_OFFSET = 7 * 3600  # Asia/Bangkok: UTC+7 all year
DAY = 86_400
HOUR = 3600
MINUTE = 60

T = TypeVar("T")


def instant(t: int) -> datetime:
    return datetime.fromtimestamp(t, UTC)


class SimulatedClock:
    """The simulator's application asks it for "now": the instant of the action being run."""

    def __init__(self, t: int):
        self.now = instant(t)

    def __call__(self) -> datetime:
        return self.now


class Scheduler:
    """Every future action sits in one heap ordered by (time, sequence number): actions run in time order, each
    aggregate receives its events in time order, and a choice (of a free unit, say) is made against the state of
    the zone at that simulated moment. All randomness comes from one `random.Random(seed)`."""

    def __init__(self, clock: SimulatedClock, rng: random.Random, salt: int, start: int, until: int):
        self.clock, self.rng = clock, rng
        self.start, self.until = start, until
        salted = hashlib.sha256(f"{DEMO_NAMESPACE}/{salt}".encode()).digest()[:16]
        self.salt_bits = int.from_bytes(salted, "big") if salt else 0
        self.heap: list[tuple[int, int, Callable[..., None], tuple[Any, ...]]] = []
        self.sequence = 0

    @property
    def now(self) -> datetime:
        return self.clock.now

    def at(self, t: int, action: Callable[..., None], *args: Any) -> None:
        if t <= self.until:
            heapq.heappush(self.heap, (t, self.sequence, action, args))
            self.sequence += 1

    def run_until(self, stop: int) -> None:
        heap, clock = self.heap, self.clock
        while heap and heap[0][0] < stop:
            t, _, action, args = heapq.heappop(heap)
            clock.now = instant(t)
            action(t, *args)

    def uuid(self) -> UUID:
        """An id from the seeded generator; `salt` (the store's position before this run) keeps a re-run's ids apart."""
        return UUID(int=self.rng.getrandbits(128) ^ self.salt_bits, version=4)

    def pick(self, table: tuple[list[T], list[float]]) -> T:
        items, cumulative_weights = table
        return items[bisect(cumulative_weights, self.rng.random() * cumulative_weights[-1])]

    def logn(self, median: float, sigma: float, lo: float, hi: float) -> float:
        return min(hi, max(lo, median * math.exp(self.rng.gauss(0.0, sigma))))

    def poisson(self, lam: float) -> int:
        if lam <= 0:
            return 0
        if lam > 60:
            return max(0, round(self.rng.gauss(lam, math.sqrt(lam))))
        limit, k, p = math.exp(-lam), 0, self.rng.random()
        while p > limit:
            k += 1
            p *= self.rng.random()
        return k

    def uniform(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def text(self, pair: tuple[str, str], thai_share: float = 0.55) -> str:
        return pair[0] if self.rng.random() < thai_share else pair[1]
