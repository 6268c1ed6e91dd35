"""Reporters' personal data through the pages: the contact shown once to a person who gave a reason (and never to
auditors), the reports from a phone number, the auditors' list of readings with its CSV, and a PDPA request taken,
refused or carried out, with its receipt in Thai and English. Bad input is told in the reader's language and
records nothing."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from application.ports import Contact
from domain.values import SYSTEM_USER_ID, Role
from infrastructure.bootstrap import Container, bootstrap
from infrastructure.settings import Settings
from tests.integration.conftest import World, build_world
from tests.integration.web_support import Browser, head, signed_in
from web.app import create_app

NAME, PHONE = "Malee Srisuk", "081 234 5678"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    container = bootstrap(Settings(environment="test", data_dir=tmp_path_factory.mktemp("pd-web")))
    world = build_world(container.app)
    auditor = container.app.create_user(
        username="auditor",
        display_name="Auditor A",
        role=Role.AUDITOR,
        password="a-long-enough-password",
        by=SYSTEM_USER_ID,
    ).id
    app = create_app(container, run_projections=True)
    with TestClient(app):
        yield app, container, world, auditor
    container.close()


def settle(container: Container) -> None:
    assert container.projections.wait(head(container), timeout=30)


def reported(container: Container, world: World, contact: Contact | None) -> str:
    incident = world.report(contact=contact)
    settle(container)
    return container.app.incident_state(incident).reference


def test_the_contact_is_shown_once_to_a_person_who_says_why_and_kept_in_no_cache(site: tuple) -> None:
    app, container, world, auditor = site
    reference = reported(container, world, Contact(NAME, PHONE))
    dispatcher = signed_in(app, container, world.dispatcher)
    page = dispatcher.get(f"/incidents/{reference}")
    assert NAME not in page.text and f"/incidents/{reference}/contact" in page.text
    before = head(container)
    missing = dispatcher.post(f"/incidents/{reference}/contact", {})
    assert missing.status_code == 422 and "โปรดเลือก" in missing.text and NAME not in missing.text  # Thai by default
    other = dispatcher.post(f"/incidents/{reference}/contact", {"purpose": "other"})
    assert other.status_code == 422 and NAME not in other.text
    assert head(container) == before  # refused: nothing recorded
    shown = dispatcher.post(f"/incidents/{reference}/contact", {"purpose": "call_back"})
    assert shown.status_code == 200 and NAME in shown.text and f'href="tel:{PHONE}"' in shown.text
    assert shown.headers["cache-control"] == "no-store" and 'hx-history="false"' in shown.text
    assert head(container) == before + 1
    assert NAME not in dispatcher.get(f"/incidents/{reference}").text  # not kept in the page

    watcher = signed_in(app, container, auditor)
    assert NAME not in watcher.get(f"/incidents/{reference}").text
    assert f"/incidents/{reference}/contact" not in watcher.get(f"/incidents/{reference}").text
    assert watcher.post(f"/incidents/{reference}/contact", {"purpose": "call_back"}).status_code == 403
    assert head(container) == before + 1


def test_a_phone_number_finds_its_reports_for_the_people_who_call_back(site: tuple) -> None:
    app, container, world, _ = site
    references = [
        reported(container, world, Contact(NAME, PHONE)),
        reported(container, world, Contact("M", "0812345678")),
    ]
    dispatcher = signed_in(app, container, world.dispatcher)
    assert dispatcher.get("/search/phone").status_code == 200
    before = head(container)
    unknown = dispatcher.post("/search/phone", {"phone": "02 000 0000", "purpose": "call_back"})
    assert unknown.status_code == 422 and "ไม่มีการแจ้งเหตุจากหมายเลขโทรศัพท์นี้ในระบบ" in unknown.text
    dispatcher.client.cookies.set("ssz_lang", "en")
    unknown = dispatcher.post("/search/phone", {"phone": "02 000 0000", "purpose": "call_back"})
    assert "No report on record was made from this phone number." in unknown.text
    no_reason = dispatcher.post("/search/phone", {"phone": PHONE})
    assert no_reason.status_code == 422 and "Please choose one." in no_reason.text
    assert head(container) == before
    found = dispatcher.post("/search/phone", {"phone": "+66 81 234 5678", "purpose": "investigation"})
    assert found.status_code == 200 and found.headers["cache-control"] == "no-store"
    assert all(r in found.text for r in references) and NAME in found.text
    assert head(container) == before + 1


def test_auditors_see_who_read_personal_data_filter_it_and_export_it_without_any_contact(site: tuple) -> None:
    app, container, world, auditor = site
    reference = reported(container, world, Contact("Somchai Jaidee", "089 999 0000"))
    supervisor = signed_in(app, container, world.supervisor)
    supervisor.post(f"/incidents/{reference}/contact", {"purpose": "other", "reason": "Court summons 44/2569"})
    settle(container)
    watcher = signed_in(app, container, auditor)
    listing = watcher.get(f"/audit/personal-data?incident={reference}")
    assert listing.status_code == 200 and reference in listing.text and "Court summons 44/2569" in listing.text
    assert "Somchai Jaidee" not in listing.text and "089 999 0000" not in listing.text
    assert "Supervisor" in listing.text  # who read it, by name
    row = f'<a href="/incidents/{reference}">'
    assert row in watcher.get("/audit/personal-data?person=supervisor").text
    assert row not in watcher.get("/audit/personal-data?person=dispatcher").text
    assert row not in watcher.get("/audit/personal-data?purpose=call_back&incident=" + reference).text
    assert watcher.get("/audit/personal-data?person=nobody").status_code == 422
    assert watcher.get("/audit/personal-data?from=2026-13-40").status_code == 422
    assert watcher.get("/audit/personal-data?from=2026-12-09&to=2026-12-01").status_code == 422
    exported = watcher.get(f"/audit/personal-data/csv?incident={reference}")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [(r["incidents"], r["role"], r["purpose"], r["reason"]) for r in rows] == [
        (reference, "supervisor", "other", "Court summons 44/2569")
    ]
    assert "Somchai" not in exported.text and "999 0000" not in exported.text


def request_id_of(answer) -> str:  # noqa: ANN001
    assert answer.status_code == 303, answer.text
    return re.fullmatch(r"/admin/pdpa/requests/([0-9a-f-]{36})", answer.headers["location"]).group(1)


def test_an_administrator_takes_a_pdpa_request_refuses_one_and_carries_out_another_with_a_receipt(site: tuple) -> None:
    app, container, world, _ = site
    nok = reported(container, world, Contact("Nok Sukjai", "086 111 2222"))
    other = reported(container, world, Contact("Nok Sukjai", "0861112222"))
    kept = reported(container, world, Contact("Pim", "087 333 4444"))
    admin: Browser = signed_in(app, container, world.admin)
    assert admin.get("/admin/pdpa").status_code == 200
    form = {"requester": "data_subject", "channel": "letter", "legal_basis": "pdpa_erasure"}
    before = head(container)
    unknown = admin.post("/admin/pdpa/requests", {**form, "phone": "02 000 0000", "request_reference": "PDPA-1"})
    assert unknown.status_code == 422 and "ไม่มีการแจ้งเหตุจากหมายเลขโทรศัพท์นี้ในระบบ" in unknown.text
    no_reference = admin.post("/admin/pdpa/requests", {**form, "phone": "086 111 2222"})
    assert no_reference.status_code == 422
    neither = admin.post("/admin/pdpa/requests", {**form, "request_reference": "PDPA-1"})
    assert neither.status_code == 422
    assert head(container) == before

    refused = request_id_of(
        admin.post("/admin/pdpa/requests", {**form, "phone": "087 333 4444", "request_reference": "PDPA-2569/020"})
    )
    assert admin.post(f"/admin/pdpa/requests/{refused}/refuse", {"reason": ""}).status_code == 422
    assert admin.post(f"/admin/pdpa/requests/{refused}/refuse", {"reason": "Open investigation"}).status_code == 303

    taken = admin.post(
        "/admin/pdpa/requests", {**form, "phone": "+66 86 111 2222", "request_reference": "PDPA-2569/021"}
    )
    request_id = request_id_of(taken)
    page = admin.get(f"/admin/pdpa/requests/{request_id}").text
    assert nok in page and other in page and kept not in page and "Nok" not in page
    assert admin.post(f"/admin/pdpa/requests/{request_id}/erase", {}).status_code == 303
    assert admin.post(f"/admin/pdpa/requests/{request_id}/erase", {}).status_code == 422  # done already: told so
    receipt = admin.get(f"/admin/pdpa/requests/{request_id}/receipt")
    assert receipt.status_code == 200 and receipt.headers["cache-control"] == "no-store"
    assert "ใบรับคำขอลบข้อมูลส่วนบุคคล" in receipt.text and "Receipt of a personal-data erasure request" in receipt.text
    assert "PDPA-2569/021" in receipt.text and nok in receipt.text and other in receipt.text
    assert "Nok" not in receipt.text and "111 2222" not in receipt.text and "1112222" not in receipt.text
    refusal = admin.get(f"/admin/pdpa/requests/{refused}/receipt").text
    assert "Open investigation" in refusal and "Pim" not in refusal

    dispatcher = signed_in(app, container, world.dispatcher)
    erased = dispatcher.post(f"/incidents/{nok}/contact", {"purpose": "call_back"}).text
    assert "Nok" not in erased and "ลบตามคำขอแล้ว (PDPA)" in erased
    assert "Pim" in dispatcher.post(f"/incidents/{kept}/contact", {"purpose": "call_back"}).text
    listing = admin.get("/admin/pdpa").text
    assert "PDPA-2569/020" in listing and "PDPA-2569/021" in listing
    assert admin.get("/admin/pdpa/requests/not-a-uuid").status_code == 404
