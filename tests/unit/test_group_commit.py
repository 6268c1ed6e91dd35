"""The group commit itself, with a commit function of the test's own: what each caller gets, from threads and
from coroutines, when one item is refused, when the whole commit fails, and when a waiting coroutine goes away."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from application.group_commit import GroupCommit
from testkit.loops import run_in_own_loop

WAIT = 20.0


class Held:
    """A commit function whose first commit waits until released, so that callers queue behind it."""

    def __init__(self, fail_whole: bool = False):
        self.groups: list[list[int]] = []
        self.entered, self.release = threading.Event(), threading.Event()
        self.fail_whole = fail_whole

    def __call__(self, items: Sequence[int]) -> list[int | BaseException]:
        if not self.entered.is_set():
            self.entered.set()
            assert self.release.wait(WAIT)
        self.groups.append(list(items))
        if self.fail_whole and len(self.groups) == 2:  # the group queued behind the first
            raise OSError("the store went away")
        return [ValueError(f"{i} refused") if i < 0 else i * 10 for i in items]


async def _queue_behind_first(commits: GroupCommit[int, int], held: Held, items: list[int]) -> list[object]:
    async def one(item: int) -> object:
        try:
            return await commits.submit_async(item)
        except Exception as error:  # the outcome under test
            return error

    first = asyncio.ensure_future(one(1))
    await asyncio.to_thread(held.entered.wait, WAIT)
    rest = [asyncio.ensure_future(one(i)) for i in items]
    while commits.waiting < len(items):
        await asyncio.sleep(0.001)
    held.release.set()
    return [await first, *[await r for r in rest]]


def test_coroutines_queued_behind_a_commit_are_committed_together_each_with_its_own_outcome() -> None:
    held = Held()
    commits: GroupCommit[int, int] = GroupCommit(held)
    outcomes = run_in_own_loop(_queue_behind_first(commits, held, [2, -3, 4]))
    assert held.groups == [[1], [2, -3, 4]]
    assert outcomes[:2] == [10, 20] and outcomes[3] == 40
    assert isinstance(outcomes[2], ValueError) and str(outcomes[2]) == "-3 refused"  # refused alone


def test_when_the_whole_commit_fails_every_coroutine_of_the_group_is_told() -> None:
    held = Held(fail_whole=True)
    commits: GroupCommit[int, int] = GroupCommit(held)
    outcomes = run_in_own_loop(_queue_behind_first(commits, held, [2, 3]))
    assert outcomes[0] == 10
    assert all(isinstance(o, OSError) for o in outcomes[1:]) and outcomes[1] is not outcomes[2]
    assert commits.waiting == 0 and run_in_own_loop(_after(commits)) == [50]  # and the next caller is served


async def _after(commits: GroupCommit[int, int]) -> list[int]:
    return [await commits.submit_async(5)]


def test_a_coroutine_cancelled_while_waiting_does_not_stop_its_group() -> None:
    held = Held()
    commits: GroupCommit[int, int] = GroupCommit(held)

    async def scenario() -> list[object]:
        first = asyncio.ensure_future(commits.submit_async(1))
        await asyncio.to_thread(held.entered.wait, WAIT)
        gone = asyncio.ensure_future(commits.submit_async(2))
        stays = asyncio.ensure_future(commits.submit_async(3))
        while commits.waiting < 2:
            await asyncio.sleep(0.001)
        gone.cancel()  # the client hung up
        held.release.set()
        with pytest.raises(asyncio.CancelledError):
            await gone
        return [await first, await stays]

    assert run_in_own_loop(scenario()) == [10, 30]
    assert held.groups == [[1], [2, 3]]  # what was handed in is committed: it may already be saved


def test_threads_and_coroutines_share_the_groups() -> None:
    held = Held()
    commits: GroupCommit[int, int] = GroupCommit(held)
    threaded: list[int] = []

    async def scenario() -> list[object]:
        first = asyncio.ensure_future(asyncio.to_thread(commits.submit, 1))  # a thread leads the first group
        await asyncio.to_thread(held.entered.wait, WAIT)
        thread = threading.Thread(target=lambda: threaded.append(commits.submit(2)))
        thread.start()
        while commits.waiting < 1:
            await asyncio.sleep(0.001)
        coroutine = asyncio.ensure_future(commits.submit_async(3))  # queued behind the thread: led by the committer
        while commits.waiting < 2:
            await asyncio.sleep(0.001)
        held.release.set()
        await asyncio.to_thread(thread.join, WAIT)
        return [await first, await coroutine]

    assert run_in_own_loop(scenario()) == [10, 30]
    assert threaded == [20] and held.groups == [[1], [2, 3]]
