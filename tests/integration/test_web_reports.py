"""The partners' reports and the supervisors' dashboard over the demo history: every report page, CSV and
PDF, in Thai and English, read as a partner, holds no reporter's name or phone, no description, note or
resolution summary; partners reach nothing else; bad input is a clear 4xx."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from domain.incident import Incident
from domain.values import SYSTEM_USER_ID, Role
from infrastructure.bootstrap import Container
from tests.integration.recompute import read_log
from tests.integration.test_projections import Demo, demo, load_demo  # noqa: F401 — the session's demo history
from tests.integration.web_support import signed_in
from web.app import create_app

MONTHS = ("2025-02", "2025-03")


def personal_texts(container: Container, demo: Demo) -> list[str]:
    """What must never reach a partner: contacts, and every free text of the log."""
    texts = [c.name for c in demo.contacts] + [c.phone for c in demo.contacts]
    texts += [re.sub(r"\D", "", c.phone) for c in demo.contacts]
    for _, e in read_log(container.app):
        if isinstance(e, Incident.Reported):
            texts += [e.description, e.location]
        elif isinstance(e, Incident.NoteAdded):
            texts.append(e.text)
        elif isinstance(e, Incident.Resolved) and e.summary:
            texts.append(e.summary)
    return sorted({t for t in texts if t and len(t) >= 6})


@pytest.fixture
def site(container: Container, demo: Demo):
    load_demo(container, demo)
    container.projections.catch_up()
    people = {
        role: container.app.create_user(
            username=role.value,
            display_name=f"{role.value} person",
            role=role,
            password="a-long-enough-password",
            by=SYSTEM_USER_ID,
        ).id
        for role in (Role.PARTNER, Role.SUPERVISOR, Role.DISPATCHER)
    }
    container.projections.catch_up()
    return create_app(container), people


def test_every_report_page_csv_and_pdf_of_the_demo_holds_no_personal_data_in_either_language(
    container: Container, demo: Demo, site
) -> None:
    app, people = site
    partner = signed_in(app, container, people[Role.PARTNER])
    forbidden = personal_texts(container, demo)
    assert len(forbidden) > 20
    index = partner.get("/reports")
    assert index.status_code == 200 and all(f"/reports/{m}" in index.text for m in MONTHS)
    for month in MONTHS:
        for lang in ("th", "en"):
            page = partner.get(f"/reports/{month}?lang={lang}")
            csv = partner.get(f"/reports/{month}/csv?lang={lang}")
            pdf = partner.get(f"/reports/{month}/pdf?lang={lang}")
            assert (page.status_code, csv.status_code, pdf.status_code) == (200, 200, 200)
            assert csv.content.startswith("\ufeff".encode()) and pdf.content.startswith(b"%PDF")
            reader = PdfReader(io.BytesIO(pdf.content))
            assert len(reader.pages) >= 4  # cover, summary, charts, detail
            pdf_text = "\n".join(p.extract_text() for p in reader.pages)
            fonts = {
                str(f.get_object().get("/BaseFont"))
                for p in reader.pages
                for f in (p["/Resources"].get("/Font") or {}).values()
            }
            assert any("Sarabun" in f for f in fonts), fonts
            for text in forbidden:
                for name, body in (("page", page.text), ("csv", csv.content.decode("utf-8-sig")), ("pdf", pdf_text)):
                    assert text not in body, f"{text!r} is in the {lang} {name} of {month}"
            expected_month = {
                "th": {"2025-02": "กุมภาพันธ์ 2568", "2025-03": "มีนาคม 2568"},
                "en": {"2025-02": "February 2025", "2025-03": "March 2025"},
            }[lang][month]
            assert expected_month in page.text
            assert "position" in csv.content.decode("utf-8-sig").splitlines()[1]


def test_partners_reach_the_reports_and_nothing_else_and_supervisors_reach_the_dashboard(
    container: Container, site
) -> None:
    app, people = site
    partner = signed_in(app, container, people[Role.PARTNER])
    assert partner.get("/").headers["location"] == "/reports"
    for path in (
        "/kpi?month=2025-02",
        "/kpi/drill?month=2025-02&what=incidents&which=reported",
        "/board",
        "/incidents",
    ):
        assert partner.get(path).status_code == 403, path
    dispatcher = signed_in(app, container, people[Role.DISPATCHER])
    assert dispatcher.get("/reports").status_code == 403
    supervisor = signed_in(app, container, people[Role.SUPERVISOR])
    dashboard = supervisor.get("/kpi?month=2568-02&community=ko_loi&time=night")
    assert dashboard.status_code == 200 and "<svg" in dashboard.text
    assert dashboard.text.count("<svg") == 4 and "dot-graph" in dashboard.text  # trends, distribution, heat map
    drill = supervisor.get("/kpi/drill?month=2025-02&what=incidents&which=counted")
    assert drill.status_code == 200 and re.search(r'href="/incidents/CR-\d{4}-\d{6}"', drill.text)
    assert 'href="/kpi/drill?' in dashboard.text
    visits = supervisor.get("/kpi/drill?month=2025-02&what=visits&which=counting")
    assert visits.status_code == 200 and re.search(r'href="/visits/[0-9a-f-]{36}"', visits.text)
    kinds = [
        k
        for k in ("motion_in_zone", "person_at_night", "loitering")
        if 'href="/alerts/' in supervisor.get(f"/kpi/drill?month=2025-02&what=alerts&which={k}").text
    ]
    assert kinds, "no alert of the demo's February drills down to its page"
    assert supervisor.get("/kpi/drill?month=2025-02&what=names&which=all").status_code == 422


def test_bad_months_and_filters_are_a_clear_4xx_in_the_users_language(container: Container, site) -> None:
    app, people = site
    supervisor = signed_in(app, container, people[Role.SUPERVISOR])
    partner = signed_in(app, container, people[Role.PARTNER])
    cases = [
        (partner, "/reports/2099-01?lang=en", "has not begun"),
        (partner, "/reports/2020-01?lang=en", "starts later"),
        (partner, "/reports/2020-01", "บันทึกเหตุการณ์เริ่มหลังจากนั้น"),
        (partner, "/reports/May", "ปปปป-ดด"),
        (partner, "/reports/2025-02/pdf?sector=aliens&lang=en", "sector called aliens"),
        (supervisor, "/kpi?month=2025-02&community=atlantis", "atlantis"),
        (supervisor, "/kpi?first=2025-02-10&last=2025-02-01", "ช่วงวันที่สิ้นสุดก่อนวันเริ่มต้น"),
        (supervisor, "/kpi?month=2025-02&time=noon", "noon"),
        (supervisor, "/kpi?first=yesterday&last=2025-02-01", "YYYY-MM-DD"),
        (supervisor, "/kpi?month=2025-02&position=abc", "ตำแหน่งในบันทึกเป็นจำนวนเต็ม"),
        (supervisor, "/kpi/drill?month=2025-02&what=incidents&which=counted&position=1e3", "1e3"),
        (partner, "/reports/2025-02?position=-1&lang=en", "A position of the log is a whole number"),
        (partner, "/reports/2025-02/csv?position=99999999999&lang=en", "is not in it"),
    ]
    for who, path, words in cases:
        response = who.get(path)
        assert response.status_code == 422, (path, response.status_code)
        assert words in response.text
