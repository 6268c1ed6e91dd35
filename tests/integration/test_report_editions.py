"""Editions of the monthly partner reports are events: published with the position, the covering checkpoint and the
digests of their files, the files kept byte for byte, a correction naming what changed and why, only one edition
when several servers publish at once; the CSV and the PDF verify against the log; the same edition builds to the
same bytes."""

from __future__ import annotations

import base64
import hashlib
import io
import threading
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader, PdfWriter

from application.errors import ConflictError
from domain.errors import DomainError, InvalidInput
from domain.reports import MonthlyReport
from domain.values import SYSTEM_USER_ID, Outcome
from entrypoints.report_cli import published_as, verify_file
from infrastructure.bootstrap import Container, bootstrap
from infrastructure.checkpoints import Checkpoint, configured_signer, open_note
from infrastructure.readmodels.ledger_reads import LedgerReads
from infrastructure.report_editions import covering_checkpoint
from tests.integration.conftest import World
from web.report_editions import ReportSettings, build, due_month, publish, publish_due, store_of
from web.report_files import embedded_csv

BANGKOK = ZoneInfo("Asia/Bangkok")


def february(world: World, days: range = range(2, 9)) -> None:
    for day in days:
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


def test_publishing_records_an_edition_with_its_position_checkpoint_and_the_digests_of_files_kept_byte_for_byte(
    container: Container, world: World
) -> None:
    february(world)
    container.projections.catch_up()
    published = publish(container, "2568-02", by=world.supervisor)
    assert (published.month, published.edition) == ("2025-02", 1)

    [edition] = container.app.report_editions("2025-02")
    assert edition.number == 1 and edition.position == published.position == container.kpi.position()
    assert edition.actor.user_id == world.supervisor and not edition.automatic
    # The checkpoint cited covers the position, is signed by the ledger's key, and its root is the ledger's.
    cited = edition.checkpoint
    signer = configured_signer(container.settings)
    assert cited["key_id"] == signer.verifier.id.hex()
    reads = LedgerReads(container.engine, container.app.recorder.events_table_name)
    assert reads.position_of(edition.position) < cited["tree_size"]
    assert base64.b64encode(reads.root(cited["tree_size"])).decode() == cited["root"]
    [note] = [c["note"] for c in reads.checkpoints() if c["tree_size"] == cited["tree_size"]]
    assert Checkpoint.parse(open_note(note, signer.verifier)).size == cited["tree_size"]

    store = store_of(container)
    assert sorted(edition.files) == ["en.csv", "en.pdf", "th.csv", "th.pdf"]
    for name, digest in edition.files.items():
        data = store.open(digest)
        assert hashlib.sha256(data).hexdigest() == digest
        assert published_as(container, data).startswith(f"edition 1 of 2025-02 ({name})")
    english = store.open(edition.files["en.csv"]).decode("utf-8-sig")
    assert f"checkpoint,tree_size={cited['tree_size']} root={cited['root']} key_id={cited['key_id']}" in english
    pdf = store.open(edition.files["en.pdf"])
    assert embedded_csv(pdf) == store.open(edition.files["en.csv"])
    assert f"tree size {cited['tree_size']}" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()

    # Nothing changed: no correction to publish. A late event: a corrected edition naming what changed and why.
    with pytest.raises(DomainError, match="nothing to correct"):
        publish(container, "2025-02", by=world.supervisor, reason="Recount")
    world.report(occurred_at=datetime(2025, 2, 20, 9, 0, tzinfo=BANGKOK))
    container.projections.catch_up()
    with pytest.raises(InvalidInput):
        publish(container, "2025-02", by=world.supervisor, reason="")  # a correction needs its reason
    second = publish(container, "2025-02", by=world.admin, reason="A theft of 20 February was recorded late")
    first, corrected = container.app.report_editions("2025-02")
    assert second.edition == 2 and corrected.position > first.position
    assert corrected.reason == "A theft of 20 February was recorded late"
    assert any("Incidents reported: 7 → 8" in change for change in corrected.changes), corrected.changes
    assert store.open(first.files["en.pdf"]) == pdf  # the first edition's files stay as published

    # Partners may not publish.
    with pytest.raises(DomainError):
        publish(container, "2025-02", by=world.officer, reason="x")


def test_the_same_edition_builds_to_the_same_bytes_and_its_pdf_and_csv_verify_against_the_log(
    container: Container, world: World
) -> None:
    february(world, range(2, 5))
    container.projections.catch_up()
    position = container.kpi.position()
    report, first = build(container, "2025-02", position)
    _, again = build(container, "2025-02", position)
    assert report.edition.checkpoint is not None
    for name in first:
        assert first[name] == again[name], f"{name} differs between two builds of the same edition"
    for name in ("th.csv", "en.pdf", "th.pdf"):
        assert verify_file(container, first[name]) == [], name

    csv = first["en.csv"].decode("utf-8-sig")
    line = next(line for line in csv.split("\r\n") if line.startswith("Incidents reported,"))
    tampered = ("\ufeff" + csv.replace(line, "Incidents reported,9,0,9", 1)).encode()
    [difference] = verify_file(container, tampered)
    assert "'9'" in difference and "the log gives" in difference

    # A PDF whose embedded data was swapped for tampered figures: the difference is listed.
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(first["en.pdf"])))
    writer.add_attachment("report.csv", tampered)
    swapped = io.BytesIO()
    writer.write(swapped)
    assert verify_file(container, swapped.getvalue()) == [difference]
    with pytest.raises(InvalidInput, match="PDF is damaged"):
        verify_file(container, first["en.pdf"][: len(first["en.pdf"]) // 2])
    without = io.BytesIO()
    bare = PdfWriter()
    bare.append(PdfReader(io.BytesIO(first["en.pdf"])))
    bare.write(without)
    with pytest.raises(InvalidInput, match="carries no report data"):
        verify_file(container, without.getvalue())
    with pytest.raises(InvalidInput, match="PDF"):
        verify_file(container, b"%PDF-1.7\n%garbage\n")
    assert covering_checkpoint(container.engine, position).tree_size == report.edition.checkpoint.tree_size


def test_the_first_edition_is_due_on_the_3rd_at_9_in_bangkok_and_several_servers_publish_it_once(
    container: Container, world: World
) -> None:
    options = ReportSettings()
    assert due_month(datetime(2025, 3, 3, 8, 59, tzinfo=BANGKOK), options) is None
    assert due_month(datetime(2025, 3, 3, 9, 0, tzinfo=BANGKOK), options) == "2025-02"
    assert due_month(datetime(2025, 3, 3, 1, 59, tzinfo=UTC), options) is None  # 08:59 in Bangkok
    later = ReportSettings(publish_day=5, publish_time="18:30")
    assert due_month(datetime(2025, 3, 5, 18, 29, tzinfo=BANGKOK), later) is None
    assert due_month(datetime(2025, 3, 5, 18, 30, tzinfo=BANGKOK), later) == "2025-02"

    february(world, range(2, 4))
    container.projections.catch_up()
    now = datetime(2025, 3, 3, 9, 0, tzinfo=BANGKOK)
    other = bootstrap(container.settings)  # a second server on the same database (and the same data directory)
    try:
        results: list = []
        threads = [
            threading.Thread(target=lambda server=server: results.append(publish_due(server, options, now)))
            for server in (container, other)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(results) == 2 and len([r for r in results if r is not None]) == 1
        assert len(other.app.report_editions("2025-02")) == 1
    finally:
        other.close()
    [edition] = container.app.report_editions("2025-02")
    assert edition.automatic and edition.actor.user_id == SYSTEM_USER_ID
    assert publish_due(container, options, now) is None  # published already: nothing more

    # A publisher who built against no edition is told that one was published meanwhile.
    with pytest.raises(ConflictError, match="published meanwhile"):
        container.app.publish_report(
            month="2025-02",
            position=edition.position,
            checkpoint={},
            files=edition.files,
            expected_edition=0,
            by=world.supervisor,
        )
    assert len(container.app.report_editions("2025-02")) == 1
    assert container.app.load(MonthlyReport.id_for("2025-02"), fresh=True).version == 2  # started + 1 edition


def test_a_month_not_over_yet_or_before_the_log_is_refused_plainly(container: Container, world: World) -> None:
    february(world, range(2, 3))
    container.projections.catch_up()
    this_month = container.app.clock().astimezone(BANGKOK).strftime("%Y-%m")
    with pytest.raises(InvalidInput, match="has not ended yet"):
        publish(container, this_month, by=world.supervisor)
    with pytest.raises(InvalidInput, match="starts later"):
        publish(container, "2024-12", by=world.supervisor)
    with pytest.raises(InvalidInput, match="YYYY-MM"):
        publish(container, "2568-13", by=world.supervisor)
    assert container.app.report_editions("2024-12") == []
