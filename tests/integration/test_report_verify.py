"""`ssz report build` and `ssz report verify`: the files of a month, and a CSV checked against the log up to the
position it cites — equal after late events, different (line by line) when tampered with."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from domain.errors import InvalidInput
from domain.values import Outcome
from entrypoints.report_cli import build_files, verify_csv
from infrastructure.bootstrap import Container
from tests.integration.conftest import World

BANGKOK = ZoneInfo("Asia/Bangkok")


def february(world: World) -> None:
    for day in range(2, 12):
        incident = world.report(occurred_at=datetime(2025, 2, day, 21, 0, tzinfo=BANGKOK))
        world.app.dispatch_unit(
            incident, world.units[0], by=world.dispatcher, occurred_at=datetime(2025, 2, day, 21, 3, tzinfo=BANGKOK)
        )
        world.app.resolve_incident(
            incident,
            outcome=Outcome.MEDIATED,
            summary="",
            by=world.officer,
            occurred_at=datetime(2025, 2, day, 21, 40, tzinfo=BANGKOK),
        )


def test_a_built_csv_verifies_as_equal_even_after_late_events_and_a_tampered_one_lists_its_differences(
    container: Container, world: World, tmp_path: Path
) -> None:
    february(world)
    container.projections.catch_up()
    files = build_files(container, "2568-02", langs=["th", "en"], formats=["csv", "pdf"], out=tmp_path)
    assert sorted(p.name for p in files) == [
        "ssz-report-2025-02-en.csv",
        "ssz-report-2025-02-en.pdf",
        "ssz-report-2025-02-th.csv",
        "ssz-report-2025-02-th.pdf",
    ]
    english = PdfReader(tmp_path / "ssz-report-2025-02-en.pdf")
    thai = PdfReader(tmp_path / "ssz-report-2025-02-th.pdf")
    assert len(english.pages) >= 4 and len(thai.pages) >= 4
    assert "February 2025 (B.E. 2568)" in english.pages[0].extract_text()
    assert "2568" in thai.pages[0].extract_text() and "Summary" in english.pages[1].extract_text()

    world.report(occurred_at=datetime(2025, 2, 20, 9, 0, tzinfo=BANGKOK))  # late: after the cited position
    container.projections.catch_up()
    for name in ("ssz-report-2025-02-th.csv", "ssz-report-2025-02-en.csv"):
        assert verify_csv(container, (tmp_path / name).read_bytes()) == []

    text = (tmp_path / "ssz-report-2025-02-en.csv").read_bytes().decode("utf-8-sig")
    tampered = text.replace("Incidents reported,10,", "Incidents reported,9,", 1)
    assert tampered != text
    differences = verify_csv(container, ("\ufeff" + tampered).encode())
    assert len(differences) == 1 and "'9'" in differences[0] and "'10'" in differences[0]

    with pytest.raises(InvalidInput, match="not a report's CSV"):
        verify_csv(container, b"name,phone\nsomebody,0812345678\n")
