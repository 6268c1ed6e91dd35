"""Camera-alert triage through the pages, on real SQLite and real PostgreSQL: acknowledge, dismiss as a false alarm
with its reason, escalate into an incident that links back, conflicts told plainly, garbage refused without storing
anything, and the snapshot served from the snapshot store by the digest the alert recorded."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from domain.values import AlertKind, Community, PartnerSector, Role
from infrastructure.bootstrap import Container
from infrastructure.vision.snapshots import SnapshotStore
from tests.integration.conftest import PASSWORD, World, build_world
from tests.integration.test_web_incidents import MUST_REFUSE
from tests.integration.web_support import Browser, browser, head, signed_in
from web.app import create_app


class Site:
    def __init__(self, app, container: Container, world: World):  # noqa: ANN001
        self.app, self.container, self.world = app, container, world
        self.camera = container.app.register_camera(
            code="CAM-07",
            name="Clock tower east",
            community=Community.KO_LOI,
            owner=PartnerSector.BUSINESS,
            owner_name="Tower Hotel",
            consent_reference="MOU 2569/4",
            source="rtsp://cam7/stream",
            by=world.admin,
        ).id
        self.store = SnapshotStore(container.settings.snapshot_dir)
        self.frames = 0

    def picture(self) -> str:
        """A distinct 640×360 JPEG in the snapshot store; its digest."""
        self.frames += 1
        frame = np.full((360, 640, 3), 40, np.uint8)
        cv2.putText(frame, f"frame {self.frames}", (40, 200), cv2.FONT_HERSHEY_SIMPLEX, 2, (255, 255, 255), 4)
        return self.store.put(frame)

    def alert(
        self,
        kind: AlertKind = AlertKind.PERSON_AT_NIGHT,
        *,
        digest: str | None = None,
        zone: str = "back gate",
        detail: str = "one person by the wall",
    ) -> UUID:
        snapshot = "" if kind is AlertKind.OFFLINE else (digest if digest is not None else self.picture())
        alert_id = self.container.app.raise_camera_alert(
            camera_id=self.camera,
            kind=kind,
            score=0.82,
            snapshot_digest=snapshot,
            frame_at=datetime.now(UTC) - timedelta(seconds=20),
            zone=zone,
            detail=detail,
        ).id
        assert self.container.projections.wait(head(self.container), timeout=30)
        return alert_id

    def row(self, alert_id: UUID) -> dict:
        return self.container.reads.camera_alert(alert_id)

    def person(self, user_id: UUID) -> Browser:
        b = signed_in(self.app, self.container, user_id)
        b.post("/lang", {"lang": "en", "next": "/board"})  # the assertions read English words
        return b


@pytest.fixture
def site(container: Container) -> Iterator[Site]:
    world = build_world(container.app)
    app = create_app(container, run_projections=True)
    with TestClient(app):  # runs the lifespan: projections follow the log in this process
        assert container.projections.wait(head(container), timeout=30)
        yield Site(app, container, world)


def events(site: Site, alert_id: UUID) -> list[str]:
    return [e.event for e in site.container.app.history(alert_id)]


def test_an_alert_is_acknowledged_then_dismissed_as_a_false_alarm_from_the_board(site: Site) -> None:
    dispatcher = site.person(site.world.dispatcher)
    alert = site.alert()
    board = dispatcher.get("/board").text
    row = board[board.index(f'data-alert="{alert}"') :]
    row = row[: row.index("</li>")]
    assert f'src="/alerts/{alert}/snapshot.jpg?size=thumb"' in row  # the thumbnail
    assert "CAM-07" in row and "Ko Loi" in row and "Person at night" in row and "Raised" in row
    assert 'class="age"' in row
    assert f'action="/alerts/{alert}/acknowledge"' in row and f'href="/alerts/{alert}/escalate"' in row
    reasons = ("headlights", "animal", "weather", "shadow", "authorised_person", "other")
    assert all(f'value="{reason}"' in row for reason in reasons)

    acknowledged = dispatcher.post(f"/alerts/{alert}/acknowledge", {"next": "/board"})
    assert acknowledged.status_code == 303 and acknowledged.headers["location"] == "/board"
    assert site.row(alert)["status"] == "acknowledged" and site.row(alert)["acknowledged_at"] is not None
    board = dispatcher.get("/board").text  # still waiting for a decision, without the acknowledge button
    assert f'data-alert="{alert}"' in board and f'action="/alerts/{alert}/acknowledge"' not in board

    refused = dispatcher.post(f"/alerts/{alert}/dismiss", {"reason": "other", "note": "", "next": "/board"})
    assert refused.status_code == 422 and 'class="field-error"' in refused.text  # "other" needs a note
    assert site.row(alert)["status"] == "acknowledged"

    dismissed = dispatcher.post(
        f"/alerts/{alert}/dismiss", {"reason": "headlights", "note": "a car turning", "next": "/board"}
    )
    assert dismissed.status_code == 303 and dismissed.headers["location"] == "/board"
    row = site.row(alert)
    assert (row["status"], row["outcome"], row["false_alarm_reason"]) == ("dismissed", "false_alarm", "headlights")
    assert f'data-alert="{alert}"' not in dispatcher.get("/board").text
    assert events(site, alert) == ["Raised", "Acknowledged", "Dismissed"]

    page = dispatcher.get(f"/alerts/{alert}").text
    assert "False alarm" in page and "Headlights" in page and "a car turning" in page
    assert "Dismissed as a false alarm: Headlights" in page and "Alert acknowledged" in page  # the timeline in words
    assert f'action="/alerts/{alert}/dismiss"' not in page  # decided: no more triage
    assert f'action="/alerts/{alert}/close"' in page  # a dispatcher may close it now
    closed = dispatcher.post(f"/alerts/{alert}/close", {"reason": "reviewed"})
    assert closed.status_code == 303 and closed.headers["location"] == f"/alerts/{alert}"
    assert site.row(alert)["status"] == "closed" and "Alert closed" in dispatcher.get(f"/alerts/{alert}").text


def test_a_decision_someone_else_made_first_is_told_plainly_and_stores_nothing(site: Site) -> None:
    first, second = site.person(site.world.dispatcher), site.person(site.world.supervisor)
    alert = site.alert()
    assert first.post(f"/alerts/{alert}/acknowledge", {}).status_code == 303
    before = head(site.container)
    late = second.post(f"/alerts/{alert}/acknowledge", {"next": "/board"})
    assert late.status_code == 409 and 'class="alert conflict"' in late.text
    assert "Someone else decided on this alert first." in late.text and "Acknowledged" in late.text  # the fresh state
    assert head(site.container) == before
    assert first.post(f"/alerts/{alert}/dismiss", {"reason": "animal"}).status_code == 303
    before = head(site.container)
    stale = second.post(
        f"/alerts/{alert}/escalate",
        {"category": "suspicious_person", "priority": "P2", "location": "Back gate", "description": "A man climbing"},
    )
    assert stale.status_code == 409 and "Someone else decided on this alert first." in stale.text
    assert "False alarm" in stale.text and "Animal" in stale.text  # how it stands now
    assert head(site.container) == before
    assert site.container.reads.search_incidents().total == 0
    assert events(site, alert) == ["Raised", "Acknowledged", "Dismissed"]


def test_escalating_opens_a_prefilled_incident_form_and_links_the_incident_and_the_alert(site: Site) -> None:
    dispatcher, officer = site.person(site.world.dispatcher), site.person(site.world.officer)
    alert = site.alert()
    form = dispatcher.get(f"/alerts/{alert}/escalate")
    assert form.status_code == 200
    assert 'value="suspicious_person" selected' in form.text and 'value="P2" selected' in form.text
    location = re.search(r'name="location" value="([^"]*)"', form.text).group(1)
    description = re.search(r'name="description"[^>]*>([^<]*)</textarea>', form.text).group(1)
    assert location == "Clock tower east (camera CAM-07, zone back gate)"
    assert "Person at night" in description and "CAM-07" in description and "one person by the wall" in description
    assert officer.get(f"/alerts/{alert}/escalate").status_code == 403  # officers see alerts, dispatchers decide
    assert officer.post(f"/alerts/{alert}/escalate", {}).status_code == 403

    bad = dispatcher.post(
        f"/alerts/{alert}/escalate",
        {"category": "suspicious_person", "priority": "P9", "location": location, "description": description},
    )
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.text and location in bad.text  # values kept
    escalated = dispatcher.post(
        f"/alerts/{alert}/escalate",
        {"category": "suspicious_person", "priority": "P1", "location": location, "description": description},
    )
    assert escalated.status_code == 303
    reference = escalated.headers["location"].rsplit("/", 1)[1]
    assert re.fullmatch(r"CR-\d{4}-\d{6}", reference)
    incident = site.container.reads.incident(site.container.app.incident_id_for(reference))
    row = site.row(alert)
    assert incident["source_alert_id"] == alert and incident["channel"] == "cctv" and incident["priority"] == "P1"
    assert incident["community"] == "ko_loi" and incident["location"] == location
    assert (row["status"], row["outcome"], row["incident_id"]) == ("escalated", "escalated", incident["id"])
    assert events(site, alert) == ["Raised", "Acknowledged", "Escalated"]

    incident_page = dispatcher.get(f"/incidents/{reference}").text
    assert "from camera alert" in incident_page and f'href="/alerts/{alert}"' in incident_page
    alert_page = dispatcher.get(f"/alerts/{alert}").text
    assert f'href="/incidents/{reference}"' in alert_page and f"Escalated to incident {reference}" in alert_page
    assert reference in dispatcher.get("/board").text  # the new incident waits for a unit
    assert f'data-alert="{alert}"' not in dispatcher.get("/board").text
    assert dispatcher.get(f"/alerts/{alert}/escalate").headers["location"] == f"/alerts/{alert}"  # decided already


def test_who_sees_what_on_an_alert_page(site: Site) -> None:
    alert = site.alert()
    auditor_id = site.container.app.create_user(
        username="auditor", display_name="Auditor", role=Role.AUDITOR, password=PASSWORD, by=site.world.admin
    ).id
    site.container.projections.wait(head(site.container), timeout=30)
    for who, acts in ((site.world.supervisor, True), (site.world.officer, False), (auditor_id, False)):
        person = site.person(who)
        page = person.get(f"/alerts/{alert}")
        assert page.status_code == 200 and f'src="/alerts/{alert}/snapshot.jpg"' in page.text
        assert (f'action="/alerts/{alert}/acknowledge"' in page.text) is acts
        assert (f'action="/alerts/{alert}/acknowledge"' in person.get("/board").text) is acts
    admin = site.person(site.world.admin)
    assert admin.get(f"/alerts/{alert}").status_code == 403
    assert admin.get(f"/alerts/{alert}/snapshot.jpg").status_code == 403
    stranger = browser(site.app).get(f"/alerts/{alert}/snapshot.jpg")
    assert stranger.status_code == 303 and stranger.headers["location"].startswith("/login?next=")


def test_the_snapshot_is_served_by_the_digest_the_alert_recorded(site: Site) -> None:
    dispatcher = site.person(site.world.dispatcher)
    alert = site.alert()
    digest = site.row(alert)["snapshot_digest"]
    full = dispatcher.get(f"/alerts/{alert}/snapshot.jpg")
    assert full.status_code == 200 and full.headers["content-type"] == "image/jpeg"
    assert hashlib.sha256(full.content).hexdigest() == digest and full.content == site.store.open(digest)
    assert "private" in full.headers["cache-control"] and full.headers["x-content-type-options"] == "nosniff"
    assert (
        dispatcher.get(f"/alerts/{alert}/snapshot.jpg", headers={"if-none-match": full.headers["etag"]}).status_code
        == 304
    )
    thumb = dispatcher.get(f"/alerts/{alert}/snapshot.jpg?size=thumb")
    assert (
        thumb.status_code == 200
        and thumb.content.startswith(b"\xff\xd8\xff")
        and len(thumb.content) < len(full.content)
    )
    assert cv2.imdecode(np.frombuffer(thumb.content, np.uint8), cv2.IMREAD_COLOR).shape[1] == 320

    offline = site.alert(AlertKind.OFFLINE)
    missing = dispatcher.get(f"/alerts/{offline}/snapshot.jpg")
    assert missing.status_code == 404 and "without a snapshot" in missing.text
    assert "No picture" in dispatcher.get(f"/alerts/{offline}").text
    gone = site.alert(digest="f" * 64)  # recorded, but not in the store
    lost = dispatcher.get(f"/alerts/{gone}/snapshot.jpg")
    assert lost.status_code == 404 and "missing from the snapshot store" in lost.text
    for path in (
        f"/alerts/{UUID(int=5)}/snapshot.jpg",
        f"/alerts/{digest}/snapshot.jpg",
        "/alerts/not-an-id",
        "/alerts/..%2F..%2Fssz.sqlite3/snapshot.jpg",
        f"/alerts/{alert}/..%2F..%2F..%2Fssz.sqlite3",
    ):
        answer = dispatcher.get(path)
        assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html"), path
        assert "%2F" in path or "There is no such camera alert." in answer.text, path


def test_garbage_on_every_alert_form_gives_a_clear_4xx_and_stores_nothing(site: Site) -> None:
    dispatcher, supervisor = site.person(site.world.dispatcher), site.person(site.world.supervisor)
    alert = site.alert()
    forms = [
        (dispatcher, f"/alerts/{alert}/dismiss", {"reason": "enum", "note": "optional_text"}),
        (
            dispatcher,
            f"/alerts/{alert}/escalate",
            {"category": "enum", "priority": "enum", "location": "required_text", "description": "required_text"},
        ),
    ]
    valid = {
        "reason": "weather",
        "note": "rain on the lens",
        "category": "suspicious_person",
        "priority": "P2",
        "location": "Back gate",
        "description": "A man by the wall",
    }
    problems = []
    for who, path, fields in forms:
        for name, kind in fields.items():
            for junk in MUST_REFUSE[kind]:
                before = head(site.container)
                data = {k: v for k, v in valid.items() if k in fields}
                data[name] = junk
                response = who.post(path, data)
                if not 400 <= response.status_code < 500:
                    problems.append(f"{path} {name}={junk[:20]!r}: {response.status_code}")
                if head(site.container) != before:
                    problems.append(f"{path} {name}={junk[:20]!r}: stored something")
    before = head(site.container)
    for path in (f"/alerts/{alert}/{action}" for action in ("acknowledge", "dismiss", "escalate", "close")):
        assert supervisor.post(path, {"csrf_token": "x", **valid}, token=False).status_code == 403
        wrong_type = supervisor.client.post(
            path, content=b"\xff\xfe garbage", headers={"content-type": "application/json"}
        )
        assert 400 <= wrong_type.status_code < 500, path
    for junk in ("not-an-id", "00000000-0000-0000-0000-000000000000", "'; DROP TABLE rm_camera_alerts; --", "🚓" * 20):
        for action in ("acknowledge", "dismiss", "escalate", "close"):
            response = supervisor.post(f"/alerts/{junk}/{action}", valid)
            if response.status_code != 404:
                problems.append(f"/alerts/{junk[:20]!r}/{action}: {response.status_code}")
    refused_close = supervisor.post(f"/alerts/{alert}/close", {})  # a person-at-night alert is decided before it closes
    assert refused_close.status_code == 409
    assert head(site.container) == before
    assert site.row(alert)["status"] == "raised" and site.container.reads.search_incidents().total == 0
    assert not problems, "\n".join(problems)
