"""An event written under an older schema still loads after the schema changed."""

import json
from datetime import UTC, datetime
from uuid import uuid4

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from domain.incident import Incident
from domain.intake import IntakeKey, ReferenceBook
from domain.red_box import RedBox, RefusedCheckIn
from domain.values import Actor, Category, CheckInRefusal, Community, GeoPoint, IncidentStatus, Role
from tests.integration.conftest import World


def test_an_incident_reported_under_schema_version_1_still_loads(world: World) -> None:
    app = world.app
    reference = "CR-2568-000042"
    incident_id = Incident.id_for(reference)
    # Version 1 of Reported, as it was written before the map position and the source alert existed.
    v1_state = {
        "originator_topic": get_topic(Incident),
        "timestamp": {"_type_": "datetime_iso", "_data_": "2025-06-01T14:05:00+00:00"},
        "reference": reference,
        "channel": {"_type_": "enum:Channel", "_data_": "walk_in"},
        "category": {"_type_": "enum:Category", "_data_": "theft"},
        "priority": {"_type_": "enum:Priority", "_data_": "P3"},
        "community": {"_type_": "enum:Community", "_data_": "klong_yao"},
        "location": "Market",
        "description": "Phone stolen",
        "contact": None,
        "actor": {
            "_type_": "actor",
            "_data_": {
                "user_id": {"_type_": "uuid_hex", "_data_": world.dispatcher.hex},
                "role": {"_type_": "enum:Role", "_data_": "dispatcher"},
            },
        },
        "occurred_at": {"_type_": "datetime_iso", "_data_": "2025-06-01T13:50:00+00:00"},
    }
    app.recorder.insert_events(
        [
            StoredEvent(
                originator_id=incident_id,
                originator_version=1,
                topic=get_topic(Incident.Reported),
                state=json.dumps(v1_state).encode(),
            )
        ]
    )

    incident = app.repository.get(incident_id)
    assert incident.position is None and incident.source_alert_id is None
    assert incident.category is Category.THEFT and incident.status is IncidentStatus.REPORTED
    assert incident.reported_at == datetime(2025, 6, 1, 13, 50, tzinfo=UTC)
    # and it lives on under the new schema
    app.add_incident_note(incident_id, text="Owner came back with the serial number", by=world.dispatcher)
    assert [h.event for h in app.history(incident_id)] == ["Reported", "NoteAdded"]


def test_red_boxes_and_refused_check_ins_keep_the_topics_of_domain_patrol_in_the_log(world: World) -> None:
    """RedBox and RefusedCheckIn moved to domain.red_box; the log names them as it always did, so what was
    stored before the move and what is stored after it load alike and the read models route both."""
    app = world.app
    supervisor = Actor(uuid4(), Role.SUPERVISOR)
    officer = Actor(uuid4(), Role.OFFICER)
    at = datetime(2026, 3, 14, 2, 30, tzinfo=UTC)
    box = RedBox.register(
        code="RB-31",
        name_th="ตู้แดงตลาด",
        name_en="Market red box",
        community=Community.WAT_PHRA_KAEO,
        position=GeoPoint(19.9071, 99.8310),
        actor=supervisor,
        occurred_at=at,
    )
    box.move(position=GeoPoint(19.9075, 99.8312), reason="Road works", actor=supervisor, occurred_at=at)
    attempt = RefusedCheckIn.record(
        id=uuid4(),
        box=box,
        code="RB-31",
        refusal=CheckInRefusal.OUTDATED,
        token_version=0,
        position=None,
        actor=officer,
        occurred_at=at,
    )
    stored = [app.mapper.to_stored_event(e) for e in (*box.collect_events(), *attempt.collect_events())]
    assert [s.topic for s in stored] == [
        "domain.patrol:RedBox.Registered",
        "domain.patrol:RedBox.Moved",
        "domain.patrol:RefusedCheckIn.Recorded",
    ]
    assert json.loads(stored[0].state)["originator_topic"] == "domain.patrol:RedBox"
    assert json.loads(stored[2].state)["originator_topic"] == "domain.patrol:RefusedCheckIn"
    app.recorder.insert_events(stored)

    loaded = app.repository.get(box.id)
    assert type(loaded) is RedBox and loaded.code == "RB-31" and loaded.position == GeoPoint(19.9075, 99.8312)
    refused = app.repository.get(attempt.id)
    assert type(refused) is RefusedCheckIn and refused.refusal is CheckInRefusal.OUTDATED
    assert refused.box_code == "RB-31" and refused.officer_id == officer.user_id


def test_reference_books_and_intake_keys_keep_the_topics_of_domain_incident_in_the_log(world: World) -> None:
    """ReferenceBook and IntakeKey moved to domain.intake; the log names them as it always did."""
    app = world.app
    dispatcher = Actor(world.dispatcher, Role.DISPATCHER)
    at = datetime(2026, 3, 14, 2, 30, tzinfo=UTC)
    book = ReferenceBook.open(2599, dispatcher, at)
    reference = book.issue(dispatcher, at)
    key = IntakeKey.claim("call-7781", Incident.id_for(reference), dispatcher, at)
    stored = [app.mapper.to_stored_event(e) for e in (*book.collect_events(), *key.collect_events())]
    assert [s.topic for s in stored] == [
        "domain.incident:ReferenceBook.Opened",
        "domain.incident:ReferenceBook.ReferenceIssued",
        "domain.incident:IntakeKey.Claimed",
    ]
    assert json.loads(stored[0].state)["originator_topic"] == "domain.incident:ReferenceBook"
    assert json.loads(stored[2].state)["originator_topic"] == "domain.incident:IntakeKey"
    app.recorder.insert_events(stored)

    loaded = app.repository.get(ReferenceBook.id_for(2599))
    assert type(loaded) is ReferenceBook and loaded.next_reference == "CR-2599-000002"
    claimed = app.repository.get(IntakeKey.id_for("call-7781"))
    assert type(claimed) is IntakeKey and claimed.incident_id == Incident.id_for(reference)
