"""Reporters' personal data on real SQLite and real PostgreSQL: a contact is read only with a reason, and each reading
is an event of its own (never on the incident); a phone finds its reports on the sealed data; an erasure request is
recorded, decided (refused with its reason, or carried out by destroying the key) and leaves a record without the
name or the phone; the retention period erases only reporters whose incidents all closed long enough ago."""

from __future__ import annotations

import hashlib
import hmac
import threading
from datetime import UTC, datetime, timedelta

import pytest

from application.errors import NotFound
from application.ports import Contact
from domain.errors import InvalidInput, NotPermitted, TransitionRefused
from domain.personal_data import (
    ContactReadPurpose,
    ErasureChannel,
    ErasureRequest,
    ErasureRequester,
    LegalBasis,
)
from domain.values import SYSTEM_USER_ID, CancelReason, Outcome, Role
from infrastructure.bootstrap import Container
from infrastructure.readmodels.personal_data import PersonalDataReads, ReadFilter
from infrastructure.retention import RetentionJob
from tests.integration.conftest import World

MALEE = Contact("Malee Srisuk", "081 234 5678")
CALL_BACK = ContactReadPurpose.CALL_BACK


def request(app, world: World, reference: str, **fields):  # noqa: ANN001, ANN201
    return app.receive_erasure_request(
        request_reference=reference,
        requester=fields.pop("requester", ErasureRequester.DATA_SUBJECT),
        channel=fields.pop("channel", ErasureChannel.LETTER),
        legal_basis=fields.pop("legal_basis", LegalBasis.PDPA_ERASURE),
        by=fields.pop("by", world.admin),
        **fields,
    )


def test_a_contact_is_read_only_with_a_reason_and_each_reading_is_an_event_of_its_own(
    container: Container, world: World
) -> None:
    app = container.app
    incident = world.report(contact=MALEE)
    version = app.incident_state(incident).version
    head = world.head()
    with pytest.raises(InvalidInput) as missing:
        app.read_contact(incident, by=world.dispatcher, purpose=None, source="web 10.0.0.7")
    assert missing.value.field == "purpose"
    with pytest.raises(InvalidInput):  # "other" needs its reason in words
        app.read_contact(incident, by=world.dispatcher, purpose=ContactReadPurpose.OTHER, source="web 10.0.0.7")
    assert world.head() == head  # a refused reading records nothing

    shown = app.read_contact(incident, by=world.dispatcher, purpose=CALL_BACK, source="web 10.0.0.7")
    assert (shown.name, shown.phone, shown.erased) == ("Malee Srisuk", "081 234 5678", False)
    assert world.head() == head + 1
    assert app.incident_state(incident).version == version  # not an event of the incident: it never conflicts
    [recorded] = app.history(shown.read_id)
    assert (recorded.event, recorded.actor_id, recorded.actor_role) == ("Recorded", world.dispatcher, Role.DISPATCHER)
    assert recorded.details["references"] == [app.incident_state(incident).reference]
    assert recorded.details["purpose"] is CALL_BACK and recorded.details["source"] == "web 10.0.0.7"
    assert "Malee" not in repr(recorded) and "234" not in repr(recorded.details)

    for role in (Role.AUDITOR, Role.PARTNER):  # auditors and partners never see the contact itself
        reader = app.create_user(
            username=f"{role.value}1", display_name="x", role=role, password="a-long-enough-password", by=world.admin
        ).id
        with pytest.raises(NotPermitted):
            app.read_contact(incident, by=reader, purpose=CALL_BACK, source="web 10.0.0.8")
    assert app.read_contact(world.report(), by=world.dispatcher, purpose=CALL_BACK, source="x") is None  # none given


def test_the_readings_are_listed_for_auditors_by_person_incident_reason_and_period(
    container: Container, world: World
) -> None:
    app = container.app
    first, second = world.report(contact=MALEE), world.report(contact=Contact("Somchai", "089 999 0000"))
    app.read_contact(first, by=world.dispatcher, purpose=CALL_BACK, source="web 10.0.0.7")
    app.read_contact(
        second, by=world.supervisor, purpose=ContactReadPurpose.OTHER, reason="Victim support", source="web 10.0.0.9"
    )
    app.read_contact(
        first,
        by=world.officer,
        purpose=ContactReadPurpose.INVESTIGATION,
        source="web 10.0.0.5",
        occurred_at=datetime.now(UTC) - timedelta(days=3),
    )
    container.projections.catch_up()
    reads = PersonalDataReads(container.engine)
    first_ref = app.incident_state(first).reference

    def found(**where) -> list[tuple[str, str]]:  # noqa: ANN003
        rows, total = reads.contact_reads(ReadFilter(**where))
        assert total == len(rows)
        return sorted((r["reader_role"], r["purpose"]) for r in rows)

    assert len(found()) == 3
    assert found(reader_id=world.supervisor) == [("supervisor", "other")]
    assert found(reference=first_ref) == [("dispatcher", "call_back"), ("officer", "investigation")]
    assert found(purpose="investigation") == [("officer", "investigation")]
    assert found(since=datetime.now(UTC) - timedelta(days=1)) == [("dispatcher", "call_back"), ("supervisor", "other")]
    assert found(until=datetime.now(UTC) - timedelta(days=1)) == [("officer", "investigation")]


def test_a_phone_finds_its_reports_on_the_sealed_data_and_the_lookup_is_one_recorded_reading(
    container: Container, world: World
) -> None:
    app = container.app
    mine = [world.report(contact=MALEE), world.report(contact=Contact("Malee S.", "+66 81-234-5678"))]
    world.report(contact=Contact("Somchai", "089 999 0000"))
    container.projections.catch_up()
    head = world.head()
    with pytest.raises(NotFound) as nothing:
        app.find_contacts_by_phone("02 000 0000", by=world.dispatcher, purpose=CALL_BACK, source="web 10.0.0.7")
    assert nothing.value.field == "phone" and world.head() == head  # a number that matches nothing records nothing
    with pytest.raises(InvalidInput):
        app.find_contacts_by_phone("0812345678", by=world.dispatcher, purpose=None, source="web 10.0.0.7")
    assert world.head() == head

    found = app.find_contacts_by_phone("0812345678", by=world.dispatcher, purpose=CALL_BACK, source="web 10.0.0.7")
    assert sorted(f.incident_id for f in found) == sorted(mine)
    assert {f.name for f in found} == {"Malee Srisuk", "Malee S."}
    assert world.head() == head + 1 and len({f.read_id for f in found}) == 1
    [recorded] = app.history(found[0].read_id)
    assert sorted(recorded.details["references"]) == sorted(app.incident_state(i).reference for i in mine)
    assert recorded.details["kind"].value == "phone_lookup"
    with pytest.raises(NotPermitted):
        app.find_contacts_by_phone("0812345678", by=world.admin, purpose=CALL_BACK, source="web 10.0.0.7")


def test_an_erasure_request_is_recorded_without_the_phone_then_refused_with_its_reason(
    container: Container, world: World
) -> None:
    app = container.app
    incident = world.report(contact=MALEE)
    container.projections.catch_up()
    head = world.head()
    with pytest.raises(NotFound):  # a phone that matches nothing: a clear refusal, nothing recorded
        request(app, world, "PDPA-2569/001", phone="02 000 0000")
    with pytest.raises(NotPermitted):
        request(app, world, "PDPA-2569/001", phone="0812345678", by=world.supervisor)
    with pytest.raises(InvalidInput):  # "other" needs the basis in words
        request(app, world, "PDPA-2569/001", phone="0812345678", legal_basis=LegalBasis.OTHER)
    assert world.head() == head

    received = request(app, world, "PDPA-2569/001", phone="+66 81 234 5678")
    assert received.id == ErasureRequest.id_for("pdpa-2569/001")
    with pytest.raises(InvalidInput):  # one reference, one request
        request(app, world, "PDPA-2569/001", phone="0812345678")
    app.refuse_erasure(
        received.id, reason="Evidence in an open court case (Chiang Rai court, case 12/2569)", by=world.admin
    )
    with pytest.raises(TransitionRefused):
        app.carry_out_erasure(received.id, by=world.admin)
    events = app.history(received.id)
    assert [e.event for e in events] == ["Received", "Refused"]
    assert events[0].details["references"] == [app.incident_state(incident).reference]
    assert "234" not in repr(events) and "Malee" not in repr(events)
    assert events[1].reason.startswith("Evidence")
    shown = app.read_contact(incident, by=world.dispatcher, purpose=CALL_BACK, source="x")
    assert shown.name == "Malee Srisuk"  # refused: still there
    container.projections.catch_up()
    row = PersonalDataReads(container.engine).erasure_request(received.id)
    assert (row["status"], row["decision_reason"][:8], row["erased_at"]) == ("refused", "Evidence", None)


def test_an_erasure_destroys_the_key_of_every_report_from_the_number_and_is_recorded_step_by_step(
    container: Container, world: World
) -> None:
    app = container.app
    mine = [world.report(contact=MALEE), world.report(contact=Contact("M.", "0812345678"))]
    other = world.report(contact=Contact("Somchai", "089 999 0000"))
    container.projections.catch_up()
    received = request(app, world, "PDPA-2569/002", incident_reference=app.incident_state(mine[1]).reference)
    app.carry_out_erasure(received.id, by=world.admin)
    assert [e.event for e in app.history(received.id)] == ["Received", "Approved", "Erased"]
    for incident in mine:
        assert app.read_contact(incident, by=world.dispatcher, purpose=CALL_BACK, source="x").erased
        assert app.history(incident)[0].details["contact"] == {"erased": True}
    assert app.read_contact(other, by=world.dispatcher, purpose=CALL_BACK, source="x").name == "Somchai"
    with pytest.raises(NotFound):  # erased: the number no longer finds anything
        app.find_contacts_by_phone("0812345678", by=world.dispatcher, purpose=CALL_BACK, source="x")
    with pytest.raises(NotFound):
        request(app, world, "PDPA-2569/003", phone="0812345678")
    container.projections.catch_up()
    row = PersonalDataReads(container.engine).erasure_request(received.id)
    assert row["status"] == "erased" and row["keys_destroyed"] == 1
    assert sorted(row["references"]) == sorted(app.incident_state(i).reference for i in mine)
    later = world.report(contact=MALEE)  # the same reporter again later: a new key, readable
    assert app.read_contact(later, by=world.dispatcher, purpose=CALL_BACK, source="x").name == "Malee Srisuk"


def test_the_retention_period_erases_only_reporters_whose_incidents_all_closed_long_enough_ago(
    container: Container, world: World
) -> None:
    app = container.app
    closed_long_ago = world.report(contact=MALEE)
    app.cancel_incident(closed_long_ago, cancel_reason=CancelReason.FALSE_REPORT, by=world.dispatcher)
    somchai_closed = world.report(contact=Contact("Somchai", "089 999 0000"))
    app.cancel_incident(somchai_closed, cancel_reason=CancelReason.WITHDRAWN, by=world.dispatcher)
    somchai_open = world.report(contact=Contact("Somchai", "089 999 0000"))  # still open: keeps his contact
    resolved = world.report(contact=Contact("Nok", "086 111 2222"))
    app.dispatch_unit(resolved, world.units[0], by=world.dispatcher)
    app.resolve_incident(resolved, outcome=Outcome.WARNING_GIVEN, summary="ok", by=world.officer)  # not closed
    container.projections.catch_up()
    assert app.erase_expired_contacts(days=30) == []  # nothing closed 30 days ago yet
    assert app.erase_expired_contacts(days=0) == []  # off
    later = datetime.now(UTC) + timedelta(days=31)
    [done] = app.erase_expired_contacts(days=30, now=later)
    assert app.erase_expired_contacts(days=30, now=later) == []  # each reporter once
    events = app.history(done)
    assert [e.event for e in events] == ["Received", "Approved", "Erased"]
    assert events[0].actor_role is Role.SYSTEM and events[0].details["legal_basis"] is LegalBasis.RETENTION_EXPIRED
    read = lambda i: app.read_contact(i, by=world.dispatcher, purpose=CALL_BACK, source="x")  # noqa: E731
    assert read(closed_long_ago).erased
    assert read(somchai_closed).name == read(somchai_open).name == "Somchai"
    assert read(resolved).name == "Nok"

    job = RetentionJob(app, container.settings)
    assert not job.start()  # off by default (SSZ_CONTACT_RETENTION_DAYS=0)
    container.settings.contact_retention_days = 1
    job = RetentionJob(app, container.settings)
    assert job.run_once() == 0  # the rest is open, or closed today


def test_the_console_acts_as_the_system_and_may_read_and_erase(container: Container, world: World) -> None:
    app = container.app
    incident = world.report(contact=MALEE)
    shown = app.read_contact(incident, by=SYSTEM_USER_ID, purpose=CALL_BACK, source="cli ops@ccoc-1")
    assert shown.name == "Malee Srisuk" and app.history(shown.read_id)[0].actor_role is Role.SYSTEM


def test_the_retention_job_runs_in_the_background_when_a_period_is_set(container: Container, world: World) -> None:
    incident = world.report(contact=MALEE)
    container.app.cancel_incident(
        incident,
        cancel_reason=CancelReason.FALSE_REPORT,
        by=world.dispatcher,
        occurred_at=datetime.now(UTC) - timedelta(days=40),
    )
    container.projections.catch_up()
    container.settings.contact_retention_days = 30
    job = RetentionJob(container.app, container.settings)
    assert job.start()
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=30)
        while job.runs == 0 and datetime.now(UTC) < deadline:
            threading.Event().wait(0.05)
    finally:
        job.stop()
    assert job.runs >= 1
    shown = container.app.read_contact(incident, by=world.dispatcher, purpose=CALL_BACK, source="x")
    assert shown.erased


@pytest.mark.parametrize("store_kind", ["sqlite"])
def test_the_console_takes_an_erasure_request_and_prints_a_receipt_without_the_personal_data(
    container: Container, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from entrypoints.cli import cli

    world.report(contact=MALEE)
    container.projections.catch_up()
    monkeypatch.setenv("SSZ_DATA_DIR", str(container.settings.data_dir))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("SSZ_ENVIRONMENT", "test")
    runner = CliRunner()
    base = ["pdpa", "erase", "--reference", "PDPA-2569/040", "--requester", "data_subject", "--channel", "letter"]
    base += ["--basis", "pdpa_erasure"]
    head = world.head()
    nothing = runner.invoke(cli, [*base, "--phone", "02 000 0000", "--yes"])
    assert nothing.exit_code == 1 and "Nothing was recorded" in nothing.output
    shown = runner.invoke(cli, [*base, "--phone", "0812345678"])  # without --yes: only shown
    assert shown.exit_code == 0 and "CR-" in shown.output and "Nothing was recorded" in shown.output
    assert world.head() == head
    done = runner.invoke(cli, [*base, "--phone", "0812345678", "--yes", "--lang", "th"])
    assert done.exit_code == 0, done.output
    assert "ใบรับคำขอลบข้อมูลส่วนบุคคล" in done.output and "PDPA-2569/040" in done.output
    assert "Malee" not in done.output and "2345678" not in done.output and "234 5678" not in done.output
    assert world.head() == head + 3  # received, approved, erased
    again = runner.invoke(cli, [*base, "--phone", "0812345678", "--yes"])
    assert again.exit_code == 1  # erased: the number matches nothing any more


def test_a_number_typed_in_thai_digits_is_the_same_reporter_for_search_and_erasure(
    container: Container, world: World
) -> None:
    """Found at the desk: a phone typed with Thai digits (๐๘๙ ๘๗๖ ๕๔๓๒, as a Thai keyboard gives them) was keyed
    apart from the same number in Arabic digits: a search for 089-876-5432 did not find that report, and an erasure
    request for the number (PDPA) left its contact readable while the receipt listed the number as erased."""
    app = container.app
    thai = world.report(contact=Contact("Somsri", "๐๘๙ ๘๗๖ ๕๔๓๒"))
    arabic = world.report(contact=Contact("Somsri", "089-876-5432"))
    container.projections.catch_up()
    found = app.find_contacts_by_phone("0898765432", by=world.dispatcher, purpose=CALL_BACK, source="x")
    assert sorted(s.incident_id for s in found) == sorted([thai, arabic])
    found = app.find_contacts_by_phone("๐๘๙๘๗๖๕๔๓๒", by=world.dispatcher, purpose=CALL_BACK, source="x")
    assert sorted(s.incident_id for s in found) == sorted([thai, arabic])
    received = request(app, world, "PDPA-2569/090", phone="+66 89 876 5432")
    app.carry_out_erasure(received.id, by=world.admin)
    for incident in (thai, arabic):
        assert app.read_contact(incident, by=world.dispatcher, purpose=CALL_BACK, source="x").erased


def test_a_reporter_keyed_by_thai_digits_before_the_fix_is_still_found_and_erased(container: Container) -> None:
    """Keys made before the number's digits were read as Arabic ones carry the keyed hash of the Thai digits: a
    search or an erasure by the number in either script still reaches them."""
    vault = container.app.vault
    legacy = hmac.new(vault.secret, "๐๘๙๘๗๖๕๔๓๒".encode(), hashlib.sha256).hexdigest()
    [(key_id, _)] = vault._keys_for([legacy])
    assert vault.key_ids_for_phone("089 876 5432") == [key_id]
    assert vault.key_ids_for_phone("๐๘๙-๘๗๖-๕๔๓๒") == [key_id]
    assert vault.erase("0898765432", reason="test", erased_by=SYSTEM_USER_ID) == 1
    assert vault.key_ids_for_phone("0898765432") == []
