"""The web UI's languages: catalogs that cover the sources, Thai formatting (Buddhist era, Bangkok time),
translated domain errors, and the choice of language per request."""

import ast
import threading
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest
from jinja2 import Environment

from application.errors import ConflictError, NotFound, RecordKind
from domain.errors import DomainError, InvalidInput, NotPermitted, TransitionRefused
from domain.values import (
    COMMUNITY_NAMES_TH,
    AlertStatus,
    Category,
    Channel,
    Community,
    IncidentStatus,
    Outcome,
    Priority,
    UnitStatus,
    clean_text,
)
from web import i18n, i18n_labels, i18n_tools

ROOT = Path(__file__).resolve().parents[2]
TH, EN = i18n.translator("th"), i18n.translator("en")


# --- the catalogs cover the sources ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def extracted():
    return {domain: i18n_tools.extract(domain) for domain in i18n_tools.DOMAINS}


def test_every_extracted_message_has_a_thai_translation_with_the_same_placeholders():
    problems = i18n_tools.problems("th")
    assert not problems, (
        "Thai catalogs do not cover the sources; run `python -m web.i18n_tools update`, translate, and remove "
        "fuzzy flags:\n" + "\n".join(str(p) for p in problems)
    )


def test_the_errors_catalog_holds_the_templates_of_the_domain_and_the_application(extracted):
    templates = {m.id for m in extracted["errors"] if m.id}
    assert len(templates) >= 75
    assert "Incident {reference} must be resolved with an outcome before it can be closed." in templates
    assert "Someone else acted first: {cause}" in templates
    assert "The {field} must not be empty." in templates


def test_every_label_is_extracted_under_its_enum_and_reads_differently_in_thai(extracted):
    keys = {(m.id, m.context) for m in extracted["messages"] if m.id}
    for enum_cls in i18n_labels.LABELLED_ENUMS:
        if enum_cls is Community:
            continue
        for member in enum_cls:
            english = EN.label(member)
            assert (english, enum_cls.__name__) in keys, (
                f"{member!r} has no label marked with N_(…, {enum_cls.__name__!r})"
            )
            assert TH.label(member) != english, f"{member!r} has no Thai label"


def _field_names_in_the_domain() -> set[str]:
    """Every input field that domain/ and application/ name: field=…, and the field arguments of
    clean_text(value, field), check_code(code, field) and parse_enum(cls, value, field)."""
    names = set()
    positions = {"clean_text": 1, "check_code": 1, "parse_enum": 2}
    for path in [*ROOT.joinpath("domain").glob("*.py"), *ROOT.joinpath("application").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            for kw in node.keywords:
                if kw.arg == "field" and isinstance(kw.value, ast.Constant):
                    names.add(kw.value.value)
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            if name in positions and len(node.args) > positions[name]:
                arg = node.args[positions[name]]
                if isinstance(arg, ast.Constant):
                    names.add(arg.value)
    return names


def test_every_field_the_domain_names_has_a_translated_name():
    names = _field_names_in_the_domain()
    assert {"reason", "description", "display_name", "call_sign", "occurred_at"} <= names
    missing = sorted(names - set(i18n_labels.FIELDS))
    assert not missing, f"add these to web/i18n_labels.py FIELDS: {missing}"
    for name in names:
        assert TH.field(name) != EN.field(name)


# --- labels ------------------------------------------------------------------------------------------------


def test_labels_of_domain_words():
    assert (TH.label(Priority.P1), EN.label(Priority.P1)) == ("P1 — อันตรายต่อชีวิต", "P1 — life in danger")
    assert TH.label(Channel.PHONE_191) == "โทร 191" and EN.label(Channel.PHONE_191) == "Phone 191"
    assert TH.label(Category.ASSAULT) == "ทำร้ายร่างกาย"
    assert TH.label(Outcome.REPORT_FILED).startswith("รับแจ้งความ")
    assert TH.label(UnitStatus.OFF_DUTY) == "ออกเวร"
    assert TH.label(RecordKind.RED_BOX) == "ตู้แดง"


def test_equal_english_words_of_different_enums_can_read_differently_in_thai():
    assert EN.label(IncidentStatus.CLOSED) == EN.label(AlertStatus.CLOSED) == "Closed"
    assert TH.label(IncidentStatus.CLOSED) == "ปิดเหตุแล้ว"
    assert TH.label(AlertStatus.CLOSED) == "ปิดแล้ว"


def test_communities_read_as_their_thai_and_romanised_names():
    for community in Community:
        assert TH.label(community) == COMMUNITY_NAMES_TH[community]
    assert EN.label(Community.THOET_PHRA_KIAT) == "Thoet Phra Kiat"
    assert EN.label(Community.RATCHADET_DAMRONG) == "Ratchadet Damrong"


def test_a_read_model_value_is_labelled_and_an_unknown_one_is_shown_as_it_is():
    assert TH.label_value(IncidentStatus, "on_scene") == "ถึงที่เกิดเหตุ"
    assert EN.label_value(IncidentStatus, IncidentStatus.ON_SCENE) == "On scene"
    assert TH.label_value(Community, "si_koet") == "ศรีเกิด"
    assert TH.label_value(IncidentStatus, "teleported") == "teleported"
    assert TH.label_value(IncidentStatus, None) == "" and TH.label_value(IncidentStatus, "") == ""


def test_choices_list_every_member_with_its_label_in_order():
    assert TH.choices(Priority) == [
        ("P1", "P1 — อันตรายต่อชีวิต"),
        ("P2", "P2 — เร่งด่วน"),
        ("P3", "P3 — ทั่วไป"),
        ("P4", "P4 — ไม่เร่งด่วน"),
    ]


# --- instants, durations, numbers ------------------------------------------------------------------------------


def test_an_instant_reads_in_bangkok_time_with_a_buddhist_era_year_in_thai():
    instant = datetime(2026, 11, 25, 7, 5, tzinfo=UTC)  # 14:05 in Bangkok

    assert TH.datetime(instant) == "25 พ.ย. 2569, 14:05 น."
    assert EN.datetime(instant) == "25 Nov 2026, 14:05"


def test_an_instant_late_in_the_utc_year_is_already_the_next_day_and_year_in_bangkok():
    instant = datetime(2026, 12, 31, 18, 30, tzinfo=UTC)

    assert TH.datetime(instant) == "1 ม.ค. 2570, 01:30 น."
    assert EN.datetime(instant) == "1 Jan 2027, 01:30"
    assert TH.date(instant) == "1 ม.ค. 2570" and TH.time(instant) == "01:30 น."


def test_instants_of_other_zones_are_converted_and_naive_ones_taken_as_utc():
    tokyo = timezone(timedelta(hours=9))
    assert EN.datetime(datetime(2026, 3, 14, 11, 30, tzinfo=tokyo)) == "14 Mar 2026, 09:30"
    assert EN.datetime(datetime(2026, 3, 14, 2, 30)) == "14 Mar 2026, 09:30"


def test_dates_times_and_months():
    assert TH.date(date(2026, 4, 13)) == "13 เม.ย. 2569" and EN.date(date(2026, 4, 13)) == "13 Apr 2026"
    assert TH.time(time(9, 5)) == "09:05 น." and EN.time(time(9, 5)) == "09:05"
    assert TH.month(2026, 11) == "พฤศจิกายน 2569" and EN.month(2026, 11) == "November 2026"
    assert [TH.month(2026, m).split()[0] for m in range(1, 13)] == [
        "มกราคม",
        "กุมภาพันธ์",
        "มีนาคม",
        "เมษายน",
        "พฤษภาคม",
        "มิถุนายน",
        "กรกฎาคม",
        "สิงหาคม",
        "กันยายน",
        "ตุลาคม",
        "พฤศจิกายน",
        "ธันวาคม",
    ]


@pytest.mark.parametrize(
    "seconds, thai, english",
    [
        (0, "0 วินาที", "0 s"),
        (45, "45 วินาที", "45 s"),
        (59.9, "59 วินาที", "59 s"),
        (240, "4 นาที", "4 min"),
        (299, "4 นาที", "4 min"),
        (3_600, "1 ชม.", "1 h"),
        (4_800, "1 ชม. 20 นาที", "1 h 20 min"),
        (86_400, "1 วัน", "1 d"),
        (2 * 86_400 + 3 * 3_600 + 59, "2 วัน 3 ชม.", "2 d 3 h"),
        (1_200 * 86_400, "1,200 วัน", "1,200 d"),
        (timedelta(minutes=90), "1 ชม. 30 นาที", "1 h 30 min"),
        (-5, "0 วินาที", "0 s"),
    ],
)
def test_durations_round_down_to_the_two_largest_units(seconds, thai, english):
    assert TH.duration(seconds) == thai
    assert EN.duration(seconds) == english


def test_numbers_group_thousands_with_commas_in_both_languages():
    assert TH.number(1234567) == EN.number(1234567) == "1,234,567"
    assert TH.number(0.5) == "0.5"
    assert EN.number(1234.5678, decimals=1) == "1,234.6" and EN.number(12, decimals=0) == "12"


# --- strings and plurals -------------------------------------------------------------------------------------


def test_english_plurals_follow_the_count_and_unknown_strings_stay_english():
    assert EN.ngettext("%(num)s unit", "%(num)s units", 1) % {"num": 1} == "1 unit"
    assert EN.ngettext("%(num)s unit", "%(num)s units", 3) % {"num": 3} == "3 units"
    assert TH.gettext("A sentence nobody has translated yet.") == "A sentence nobody has translated yet."


def test_a_thai_catalog_has_one_plural_form_for_every_count():
    from babel.messages.catalog import Catalog

    catalog = Catalog(locale="th")
    catalog.add(("%(num)s unit", "%(num)s units"), ("สายตรวจ %(num)s หน่วย",))
    translations = i18n.translations_from(catalog)

    assert translations.ngettext("%(num)s unit", "%(num)s units", 1) == "สายตรวจ %(num)s หน่วย"
    assert translations.ngettext("%(num)s unit", "%(num)s units", 5) == "สายตรวจ %(num)s หน่วย"


def test_fuzzy_translations_are_not_used():
    from babel.messages.catalog import Catalog

    catalog = Catalog(locale="th")
    catalog.add("Closed", "ปิด", flags=["fuzzy"])
    assert i18n.translations_from(catalog).gettext("Closed") == "Closed"


def test_placeholders_of_both_styles_are_found():
    assert i18n.placeholders("Unit {call_sign} is {status:>5}.") == {"call_sign", "status"}
    assert i18n.placeholders("Page %(page)s of %(pages)d, 100%%") == {"page", "pages"}


# --- domain errors ------------------------------------------------------------------------------------------


def test_closing_an_unresolved_incident_is_refused_in_thai_and_in_english(incident, supervisor, now):
    with pytest.raises(TransitionRefused) as info:
        incident.close(actor=supervisor, occurred_at=now)

    assert TH.error(info.value) == f"เหตุ {incident.reference} ต้องบันทึกผลการระงับเหตุก่อน จึงจะปิดเหตุได้"
    assert (
        EN.error(info.value)
        == info.value.message
        == (f"Incident {incident.reference} must be resolved with an outcome before it can be closed.")
    )


def test_a_status_in_a_refusal_reads_as_its_thai_label(incident, advance, dispatcher, now):
    advance(incident, "closed")
    with pytest.raises(TransitionRefused) as info:
        incident.triage(actor=dispatcher, occurred_at=now, reason="Upgrade", priority=Priority.P1)

    assert TH.error(info.value) == f"เหตุ {incident.reference} อยู่ในสถานะ “ปิดเหตุแล้ว” จึงคัดกรองไม่ได้"


def test_a_refused_permission_names_the_role_and_the_action_in_thai(incident, advance, auditor, now):
    advance(incident, "resolved")
    with pytest.raises(NotPermitted) as info:
        incident.close(actor=auditor, occurred_at=now)

    assert TH.error(info.value) == "ผู้ใช้บทบาทผู้ตรวจสอบไม่มีสิทธิ์ปิดเหตุ"
    assert EN.error(info.value) == "An auditor may not close an incident."


def test_a_field_in_a_refusal_reads_as_its_thai_name_and_numbers_are_grouped():
    with pytest.raises(InvalidInput) as empty:
        clean_text("  ", "display_name", required=True)
    with pytest.raises(InvalidInput) as long:
        clean_text("x" * 5000, "description", required=True)

    assert TH.error(empty.value) == "ต้องกรอกชื่อที่แสดง"
    assert TH.error(long.value) == "รายละเอียดเหตุยาวเกินไป (มี 5,000 ตัวอักษร ได้ไม่เกิน 4,000 ตัวอักษร)"


def test_a_conflict_translates_the_refusal_it_wraps_and_a_missing_record_names_its_kind():
    lost = TransitionRefused(
        "Unit {call_sign} is {status} and cannot be dispatched.", call_sign="P-11", status=UnitStatus.OFF_DUTY
    )
    conflict = ConflictError("Someone else acted first: {cause}", cause=lost)
    missing = NotFound("There is no {what} with id {aggregate_id}.", what=RecordKind.CAMERA_ALERT, aggregate_id="42")

    assert TH.error(conflict) == "มีผู้อื่นดำเนินการก่อนแล้ว: สายตรวจ P-11 อยู่ในสถานะ “ออกเวร” จึงสั่งการไม่ได้"
    assert TH.error(missing) == "ไม่พบการแจ้งเตือนจากกล้อง รหัส 42"


def test_a_template_missing_from_the_catalog_falls_back_to_the_english_sentence():
    error = DomainError("A rule written after the catalog was updated ({n}).", n=3)
    assert TH.error(error) == "A rule written after the catalog was updated (3)."


# --- the request's locale ------------------------------------------------------------------------------------


def test_thai_is_the_default_and_use_locale_switches_and_restores():
    assert i18n.current().locale == i18n.DEFAULT_LOCALE == "th"
    with i18n.use_locale("en") as t:
        assert t is i18n.current() is EN
        assert i18n.pgettext("Role", "Dispatcher") == "Dispatcher"
    assert i18n.current() is TH
    assert i18n.pgettext("Role", "Dispatcher") == "เจ้าหน้าที่สั่งการ"


def test_a_locale_set_in_one_thread_does_not_leak_into_another():
    seen = []
    with i18n.use_locale("en"):
        thread = threading.Thread(target=lambda: seen.append(i18n.current().locale))
        thread.start()
        thread.join()
    assert seen == ["th"]


def test_unknown_locales_get_the_default_translator():
    assert i18n.translator("en-GB") is EN and i18n.translator("th_TH") is TH
    assert i18n.translator("fr") is TH and i18n.translator(None) is TH


def test_jinja_templates_translate_through_the_current_locale():
    env = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    i18n.install_jinja(env)
    template = env.from_string(
        '{{ pgettext("Role", "Supervisor") }} · {{ ngettext("%(num)s unit", "%(num)s units", n) }}'
    )

    assert template.render(n=1) == "หัวหน้าเวร · 1 unit"
    with i18n.use_locale("en"):
        assert template.render(n=3) == "Supervisor · 3 units"


@pytest.mark.parametrize(
    "cookie, accept, locale",
    [
        ("en", "th-TH,th;q=0.9", "en"),
        ("th", "en-US,en;q=0.9", "th"),
        (None, "en-US,en;q=0.9,th;q=0.8", "en"),
        (None, "th;q=0.5, en;q=0.8", "en"),
        (None, "fr-FR, de;q=0.9, th;q=0.1", "th"),
        ("xx", "en-GB", "en"),
        (None, "en;q=0", "th"),
        (None, "*", "th"),
        (None, "en;q=oops, th", "th"),
        (None, None, "th"),
        ("", "", "th"),
    ],
)
def test_the_cookie_wins_then_accept_language_then_thai(cookie, accept, locale):
    assert i18n.negotiate(cookie, accept) == locale
