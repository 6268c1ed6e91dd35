"""Racing pairs across two servers: the same decision sent to both at once. Each pair must have exactly one winner
(200) and one loser told 409; a pair where both won, or both lost, breaks the rule a dispatcher relies on."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from testkit.api import Integration

KINDS = ("one unit to two incidents", "one dispatch twice", "one resolve twice")


@dataclass
class RaceLog:
    outcomes: Counter = field(default_factory=Counter)  # "one winner", "both won", "both refused", "server error", …
    acknowledged_dispatches: list[tuple[str, str]] = field(default_factory=list)  # (reference, call sign) answered 200
    acknowledged_resolves: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    server_errors: int = 0


def at_once(*calls: Callable[[], httpx.Response]) -> list[httpx.Response | None]:
    barrier = threading.Barrier(len(calls))
    answers: list[httpx.Response | None] = [None] * len(calls)

    def send(n: int) -> None:
        barrier.wait()
        try:
            answers[n] = calls[n]()
        except httpx.HTTPError:
            answers[n] = None

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def _judge(log: RaceLog, answers: list[httpx.Response | None]) -> list[int]:
    codes = [a.status_code if a is not None else 0 for a in answers]
    log.server_errors += sum(1 for c in codes if c >= 500 or c == 0)
    if sorted(codes) == [200, 409]:
        log.outcomes["one winner"] += 1
    elif codes == [200, 200]:
        log.outcomes["both won"] += 1
    elif codes == [409, 409]:
        log.outcomes["both refused"] += 1
    else:
        log.outcomes[f"other {sorted(codes)}"] += 1
    return codes


def run_races(a: Integration, b: Integration, call_signs: list[str], pairs: int, *, seed: int = 2569) -> RaceLog:
    """Rounds of the three kinds in turn, each on a unit in turn; which server goes first, and which one cleans up
    after the round (resolving its incidents, as a dispatcher at either desk would), is drawn from a seeded random."""
    log, draw = RaceLog(), random.Random(seed)
    for n in range(pairs):
        kind = KINDS[n % len(KINDS)]
        call_sign = call_signs[n % len(call_signs)]
        first, second = draw.sample((a, b), 2)
        cleaner = draw.choice((a, b))
        if kind == "one unit to two incidents":
            left, right = first.reported(), second.reported()
            log.references += [left, right]
            codes = _judge(
                log, at_once(lambda: first.dispatch(left, call_sign), lambda: second.dispatch(right, call_sign))
            )
            log.acknowledged_dispatches += [
                (ref, call_sign) for ref, code in zip((left, right), codes, strict=True) if code == 200
            ]
            for reference in (left, right):  # frees the unit for the rounds to come (whoever holds it)
                cleaner.resolve(reference)
        elif kind == "one dispatch twice":
            reference = first.reported()
            log.references.append(reference)
            codes = _judge(
                log,
                at_once(lambda: first.dispatch(reference, call_sign), lambda: second.dispatch(reference, call_sign)),
            )
            if 200 in codes:
                log.acknowledged_dispatches.append((reference, call_sign))
            cleaner.resolve(reference)
        else:
            reference = second.reported()
            log.references.append(reference)
            cleaner.dispatch(reference, call_sign)
            codes = _judge(log, at_once(lambda: first.resolve(reference), lambda: second.resolve(reference)))
            if 200 in codes:
                log.acknowledged_resolves.append(reference)
    return log
