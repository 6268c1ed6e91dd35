"""Group commit: concurrent callers in one process hand in their work; one of them at a time, the leader, commits
everything handed in so far in one go, and each caller gets its own outcome.

No timer: a caller that finds nobody committing commits its own work at once; callers that arrive while a commit
is under way queue, and the first of them leads the next commit with all of them. Under no load that is one
commit a call; under load, one commit a wave of calls (the atomic save, the round trip and the store's lock are
shared instead of queued for).

A caller in an event loop (`submit_async`) hands in its work without a thread of its own: when the next group is
led by such a caller, the group's own committer thread leads it, and each waiting coroutine is woken with one call
into its loop per group. Threads and coroutines can share one group commit."""

from __future__ import annotations

import asyncio
import copy
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

I = TypeVar("I")  # noqa: E741 — what a caller hands in
R = TypeVar("R")  # what it gets back


class _Slot(Generic[I, R]):
    __slots__ = ("item", "outcome", "done", "lead", "ready", "future")

    def __init__(self, item: I, future: asyncio.Future[R] | None = None):
        self.item = item
        self.outcome: R | BaseException | None = None
        self.done = False
        self.lead = False
        self.future = future  # a coroutine's: woken in its loop; a thread's by `ready`
        self.ready = threading.Event() if future is None else None


class GroupCommit(Generic[I, R]):
    """`commit(items)` returns one outcome per item, in order: its result, or the exception that item alone raises
    (a refusal of one item must not fail the others). If `commit` itself raises, every item of the group gets that.
    At most `max_group` items are committed together; the rest wait for the next leader."""

    def __init__(self, commit: Callable[[Sequence[I]], Sequence[R | BaseException]], *, max_group: int = 100):
        self._commit = commit
        self.max_group = max_group
        self._lock = threading.Lock()
        self._queue: list[_Slot[I, R]] = []
        self._leading = False
        self._committer: ThreadPoolExecutor | None = None  # leads for coroutines, made on first use

    @property
    def waiting(self) -> int:
        """Items handed in and not yet taken by a leader."""
        return len(self._queue)

    def submit(self, item: I) -> R:
        slot: _Slot[I, R] = _Slot(item)
        with self._lock:
            self._queue.append(slot)
            if not self._leading:
                self._leading = slot.lead = True
        if not slot.lead:
            slot.ready.wait()  # type: ignore[union-attr] — until a leader committed this item, or handed the lead to this caller
        if not slot.done:
            self._lead()
        if isinstance(slot.outcome, BaseException):
            raise slot.outcome
        return slot.outcome  # type: ignore[return-value]

    async def submit_async(self, item: I) -> R:
        """As `submit`, from a coroutine: the event loop is never blocked, and no thread waits for this item."""
        slot: _Slot[I, R] = _Slot(item, asyncio.get_running_loop().create_future())
        with self._lock:
            self._queue.append(slot)
            if not self._leading:
                self._leading = slot.lead = True
        if slot.lead:
            self._lead_in_committer()
        return await slot.future  # a caller cancelled meanwhile is skipped when the group is settled

    def _lead_in_committer(self) -> None:
        if self._committer is None:
            with self._lock:
                if self._committer is None:
                    self._committer = ThreadPoolExecutor(1, thread_name_prefix="group-commit")
        self._committer.submit(self._lead)

    def _lead(self) -> None:
        with self._lock:
            group, self._queue = self._queue[: self.max_group], self._queue[self.max_group :]
        try:
            try:
                outcomes = list(self._commit([s.item for s in group]))
                if len(outcomes) != len(group):
                    raise RuntimeError(f"group commit: {len(outcomes)} outcomes for {len(group)} items")
            except Exception as error:  # the whole group failed: each of its callers is told
                outcomes = [error, *(_copy(error) for _ in group[1:])]
            for slot, outcome in zip(group, outcomes, strict=True):
                slot.outcome, slot.done = outcome, True
        finally:
            successor = None
            with self._lock:
                if self._queue:  # those who came during this commit: the first of them leads the next
                    successor = self._queue[0]
                    successor.lead = True
                else:
                    self._leading = False
            for slot in group:
                if not slot.done:  # the commit was interrupted (not an Exception): nobody waits forever
                    slot.outcome, slot.done = RuntimeError("group commit interrupted"), True
            self._wake(group)
            if successor is not None:
                if successor.ready is not None:
                    successor.ready.set()
                else:
                    self._lead_in_committer()

    @staticmethod
    def _wake(group: list[_Slot[I, R]]) -> None:
        """Threads by their events; coroutines with one call into each loop for the whole group."""
        loops: dict[asyncio.AbstractEventLoop, list[_Slot[I, R]]] = defaultdict(list)
        for slot in group:
            if slot.ready is not None:
                slot.ready.set()
            else:
                loops[slot.future.get_loop()].append(slot)
        for loop, slots in loops.items():
            try:
                loop.call_soon_threadsafe(_settle, slots)
            except RuntimeError:  # the loop is closed: nobody is left to wake
                pass


def _settle(slots: list[_Slot]) -> None:
    for slot in slots:
        if slot.future.done():
            continue
        if isinstance(slot.outcome, BaseException):
            slot.future.set_exception(slot.outcome)
        else:
            slot.future.set_result(slot.outcome)


def _copy(error: Exception) -> Exception:
    """A copy for each caller that raises it, so that their tracebacks do not pile up on one object."""
    try:
        return copy.copy(error)
    except Exception:  # an exception that cannot be copied is shared  # noqa: BLE001
        return error
