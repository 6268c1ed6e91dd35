"""An event written under an older schema still loads after the schema changed."""

import json
from datetime import UTC, datetime

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from domain.incident import Incident
from domain.values import Category, IncidentStatus
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
