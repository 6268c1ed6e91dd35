"""The fault suite's verdict counts a duplicate only where the load stored one request twice: schemathesis, which runs
in the same suite, posts bodies copied from the incidents it lists (the load's markers in them) as reports of its
own, and those are new requests, not the load's repeated."""

from __future__ import annotations

from collections import Counter

from faults.load import Sent
from faults.races import RaceLog
from faults.verdict import judge
from testkit.world import World


def test_a_marked_description_reposted_by_another_account_is_no_duplicate_of_the_loads_request(world: World) -> None:
    marker = "fault-load/" + "7" * 32
    description = f"SOS pressed; the caller is followed. [{marker}]"
    reported = world.report(description=description, by=world.dispatcher)
    world.report(description=description, by=world.supervisor)  # a fuzzer's copy, from its own account
    sent = [Sent(marker=marker, keyed=True, reference=world.app.repository.get(reported).reference)]

    verdict = judge(world.app, sent, RaceLog(outcomes=Counter()), [], world.dispatcher)

    assert verdict.duplicated_commands == 0 and verdict.lost_acknowledged == 0


def test_one_request_of_the_load_stored_twice_is_counted(world: World) -> None:
    marker = "fault-load/" + "8" * 32
    description = f"SOS pressed; the caller is followed. [{marker}]"
    first = world.report(description=description)
    world.report(description=description)
    sent = [Sent(marker=marker, keyed=False, reference=world.app.repository.get(first).reference)]

    assert judge(world.app, sent, RaceLog(outcomes=Counter()), [], world.dispatcher).duplicated_commands == 1
