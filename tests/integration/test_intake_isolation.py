"""One bad report fails alone: it is refused before it joins a group commit, and a group whose commit fails for one
of its reports commits the others without it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from application.intake import PendingReport
from application.ports import Contact
from infrastructure.bootstrap import Container
from tests.integration.conftest import build_world
from tests.integration.test_intake_batching import (
    SOS_FIELDS,
    WAIT,
    head,
    holding_first_save,
    in_one_group,
    recorded,
    report,
    until,
)
from tests.integration.test_web_incidents import REPORT
from tests.integration.web_support import signed_in
from web.app import create_app

LONE_SURROGATE = "help \udc80 now"  # what a part declaring charset=unicode_escape can decode to


def test_a_report_form_with_text_that_is_not_unicode_fails_alone_among_concurrent_intakes(container: Container) -> None:
    """A multipart form declaring charset=unicode_escape decodes to a lone surrogate; meanwhile another integration's
    SOS intakes arrive. The bad form gets its 4xx; every other intake is stored."""
    world, app = build_world(container.app), container.app
    container.projections.catch_up()  # the dispatcher's account in the accounts read model (no projection runs here)
    site = create_app(container, run_projections=False)
    dispatcher = signed_in(site, container, world.dispatcher)
    form = {**REPORT, "csrf_token": dispatcher.csrf(), "description": "help \\udc80 now"}
    encoded = httpx.Request(
        "POST", "http://testserver/incidents", files={k: (None, v.encode()) for k, v in form.items()}
    )
    headers = {"content-type": encoded.headers["content-type"] + "; charset=unicode_escape"}
    before = head(app)
    entered, release = holding_first_save(app)
    with ThreadPoolExecutor(10) as pool:
        leader = pool.submit(report, app, world.dispatcher)
        assert entered.wait(WAIT)  # a commit is under way: whoever comes now waits for the next group
        bad = pool.submit(
            lambda: dispatcher.client.post(
                "/incidents", content=encoded.read(), headers=headers, follow_redirects=False
            )
        )
        good = [pool.submit(report, app, world.dispatcher) for _ in range(8)]
        until(lambda: app._intakes.waiting + bad.done() == 9)  # all eight good ones queued, the bad one too or answered
        release.set()
        stored = [leader.result(), *(g.result() for g in good)]
        refused = bad.result()
    assert 400 <= refused.status_code < 500, refused.text
    assert "ไม่ใช่ข้อความที่ถูกต้อง" in refused.text  # "is not valid text", in the default language
    assert all(result.notification_id is not None for result in stored)
    assert recorded(app, before)["Reported"] == 9


def test_a_group_whose_commit_fails_for_one_report_commits_the_others_without_it(container: Container) -> None:
    world, app = build_world(container.app), container.app
    before = head(app)
    # handed in without the intake's checks: its contact cannot be sealed, which fails the group's commit
    unchecked = PendingReport(
        world.dispatcher,
        None,
        Contact(LONE_SURROGATE, "081 234 5678"),
        {**SOS_FIELDS, "occurred_at": app.clock(), "position": None, "source_alert_id": None},
    )
    first, others = in_one_group(
        app,
        lambda: report(app, world.dispatcher),
        [lambda: app._intakes.submit(unchecked)] + [lambda: report(app, world.dispatcher)] * 5,
    )
    assert isinstance(others[0], UnicodeEncodeError)
    assert not isinstance(first, Exception) and not [o for o in others[1:] if isinstance(o, Exception)]
    assert recorded(app, before)["Reported"] == 6
