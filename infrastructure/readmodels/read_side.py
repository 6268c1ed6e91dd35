"""Read-your-writes, the one way: wait (bounded) until the read models show a notification.

Where this process runs the projections, the runner tells the wait after each page it commits (its `notifier`), so
the wait reads no positions from the database while it is woken. Where another process runs them, only the
database knows: the wait reads the positions every `poll_seconds`."""

from __future__ import annotations

import threading
import time

from infrastructure.readmodels.runner import Projections

POLL_SECONDS = 0.05
LOCAL_RUNNER_SECONDS = 5.0  # a runner that committed this recently runs here and will tell
LOCAL_RECHECK_SECONDS = 0.5  # even so, the database is asked this often (another process may have taken over)


class ReadSide:
    def __init__(self, projections: Projections, *, poll_seconds: float = POLL_SECONDS):
        self.projections = projections
        self.poll_seconds = poll_seconds
        self._condition = threading.Condition()
        self._told: dict[str, int] = {}
        self._told_at = float("-inf")
        self._generation = 0
        projections.notifier = self.committed

    def committed(self, positions: dict[str, int]) -> None:
        with self._condition:
            self._told = positions
            self._told_at = time.monotonic()
            self._generation += 1
            self._condition.notify_all()

    def head(self) -> int:
        return self.projections.head()

    def wait(self, notification_id: int | None, *, names: list[str] | None = None, timeout: float = 2.0) -> bool:
        """True once the named read models (all by default) have applied `notification_id`; False after `timeout`."""
        if notification_id is None:
            return True
        wanted = names or list(self.projections.by_name)
        deadline = time.monotonic() + timeout
        with self._condition:
            generation = self._generation
        positions = self.projections.positions()
        while not all(positions.get(name, 0) >= notification_id for name in wanted):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._condition:
                local = time.monotonic() - self._told_at < LOCAL_RUNNER_SECONDS
                if self._generation == generation:
                    self._condition.wait(min(remaining, LOCAL_RECHECK_SECONDS if local else self.poll_seconds))
                told = self._generation != generation
                generation = self._generation
                if told:
                    positions = {**positions, **{n: max(p, positions.get(n, 0)) for n, p in self._told.items()}}
            if not told:
                positions = self.projections.positions()
        return True
