"""Publishing on the /reports page: a supervisor publishes, a partner sees the month's edition history and downloads
the files exactly as published, every download is a row an auditor can query; a correction needs its reason."""

from __future__ import annotations

import hashlib
from datetime import datetime
from zoneinfo import ZoneInfo

from domain.values import SYSTEM_USER_ID, Role
from infrastructure.bootstrap import Container
from infrastructure.report_editions import downloads
from tests.integration.conftest import World
from tests.integration.test_report_editions import february
from tests.integration.web_support import head, signed_in
from web.app import create_app
from web.report_editions import store_of

BANGKOK = ZoneInfo("Asia/Bangkok")


def test_a_supervisor_publishes_and_a_partner_downloads_the_edition_as_published_and_each_download_is_recorded(
    container: Container, world: World
) -> None:
    february(world, range(2, 5))
    partner_id = container.app.create_user(
        username="partner",
        display_name="Partner",
        role=Role.PARTNER,
        password="a-long-enough-password",
        by=SYSTEM_USER_ID,
    ).id
    container.projections.catch_up()
    app = create_app(container)
    supervisor = signed_in(app, container, world.supervisor)
    partner = signed_in(app, container, partner_id)

    page = partner.get("/reports/2025-02?lang=en")
    assert "No edition of this month has been published yet." in page.text and "data-publish" not in page.text
    assert partner.post("/reports/2025-02/publish", {}).status_code == 403

    before = head(container)
    assert "data-publish" in supervisor.get("/reports/2025-02?lang=en").text
    done = supervisor.post("/reports/2025-02/publish", {})
    assert done.status_code == 303 and done.headers["location"] == "/reports/2025-02?published=1"
    assert head(container) > before
    [edition] = container.app.report_editions("2025-02")

    history = partner.get("/reports/2025-02?lang=en").text
    assert "Edition 1" in history and f"log position {edition.position}" in history
    assert f"tree size {edition.checkpoint['tree_size']}" in history
    assert "เผยแพร่แล้ว 1 ฉบับ" in partner.get("/reports").text
    for name in ("th.pdf", "en.csv"):
        got = partner.get(f"/reports/2025-02/editions/1/{name}")
        assert got.status_code == 200
        assert got.content == store_of(container).open(edition.files[name])
        assert hashlib.sha256(got.content).hexdigest() == edition.files[name]
    assert partner.get("/reports/2025-02/editions/2/en.csv").status_code == 404
    assert partner.get("/reports/2025-02/csv?lang=en").status_code == 200  # a live build: recorded too

    rows = downloads(container.engine, "2025-02")
    assert [(r["user_id"], r["role"], r["edition"], r["file"]) for r in rows] == [
        (partner_id, "partner", 1, "th.pdf"),
        (partner_id, "partner", 1, "en.csv"),
        (partner_id, "partner", None, "en.csv"),
    ]
    assert rows[0]["digest"] == edition.files["th.pdf"] and rows[2]["position"] == container.kpi.position()

    # A correction: refused while nothing changed, then refused without its reason, then published.
    refused = supervisor.post("/reports/2025-02/publish", {"reason": "Recount"}, headers={"accept-language": "en"})
    assert refused.status_code == 422 and "nothing to correct" in refused.text
    world.report(occurred_at=datetime(2025, 2, 20, 9, 0, tzinfo=BANGKOK))
    container.projections.catch_up()
    no_reason = supervisor.post("/reports/2025-02/publish", {"reason": ""})
    assert no_reason.status_code == 422 and len(container.app.report_editions("2025-02")) == 1
    assert supervisor.post("/reports/2025-02/publish", {"reason": "Late report"}).status_code == 303
    page = partner.get("/reports/2025-02?lang=en").text
    assert "Edition 2" in page and "Late report" in page and "Incidents reported" in page
