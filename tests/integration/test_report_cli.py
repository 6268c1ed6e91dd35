"""`ssz report publish` and `ssz report verify` as an operator runs them, on the embedded store."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from entrypoints.report_cli import report_cli
from infrastructure.bootstrap import bootstrap
from infrastructure.settings import Settings
from tests.integration.conftest import build_world
from web.report_editions import store_of

BANGKOK = ZoneInfo("Asia/Bangkok")


def test_publish_then_verify_the_published_pdf_and_a_refusal_for_a_month_not_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSZ_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SSZ_ENVIRONMENT", "test")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    container = bootstrap(Settings())
    world = build_world(container.app, units=1)
    for day in (3, 4, 5):
        world.report(occurred_at=datetime(2025, 2, day, 20, 0, tzinfo=BANGKOK))
    container.close()
    runner = CliRunner()

    published = runner.invoke(report_cli, ["publish", "--month", "2568-02"])
    assert published.exit_code == 0, published.output
    assert "Published edition 1 of 2025-02" in published.output and "th.pdf  sha256:" in published.output

    container = bootstrap(Settings())
    [edition] = container.app.report_editions("2025-02")
    pdf = tmp_path / "edition.pdf"
    pdf.write_bytes(store_of(container).open(edition.files["th.pdf"]))
    container.close()
    checked = runner.invoke(report_cli, ["verify", str(pdf)])
    assert checked.exit_code == 0, checked.output
    assert "EQUAL" in checked.output and "edition 1 of 2025-02 (th.pdf)" in checked.output

    again = runner.invoke(report_cli, ["publish", "--month", "2025-02", "--reason", "Recount"])
    assert again.exit_code == 2 and "nothing to correct" in again.output
    this_month = datetime.now(BANGKOK).strftime("%Y-%m")
    early = runner.invoke(report_cli, ["publish", "--month", this_month])
    assert early.exit_code == 2 and "has not ended yet" in early.output
