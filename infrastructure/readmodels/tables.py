"""Read-model tables: everything a person reads comes from here, never from replaying the log."""

from sqlalchemy import BigInteger, Boolean, Column, Date, DateTime, Float, Index, Integer, String, Table, Text, Uuid

from infrastructure.tables import metadata

TS = DateTime(timezone=True)

projection_positions = Table(
    "projection_positions",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("updated_at", TS, nullable=False),
)

incidents = Table(
    "rm_incidents",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("reference", String(20), nullable=False, unique=True),
    Column("status", String(16), nullable=False),
    Column("priority", String(2), nullable=False),
    Column("category", String(32), nullable=False),
    Column("community", String(32), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("location", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("has_contact", Boolean, nullable=False),
    Column("units", Text, nullable=False),  # JSON: [{"unit_id", "call_sign", "state"}], in dispatch order
    Column("outcome", String(32)),
    Column("cancel_reason", String(16)),
    Column("duplicate_of", Uuid),
    Column("source_alert_id", Uuid),
    Column("reopen_count", Integer, nullable=False),
    Column("notes_count", Integer, nullable=False),
    Column("reported_at", TS, nullable=False),
    Column("recorded_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("closed_at", TS),
    Column("version", Integer, nullable=False),
    Column("lat", Float),  # where it was reported (migration 0016), if a position was given
    Column("lon", Float),
    Index("ix_rm_incidents_status_priority", "status", "priority", "reported_at"),
    Index("ix_rm_incidents_community", "community", "reported_at"),
    Index("ix_rm_incidents_category", "category", "reported_at"),
    Index("ix_rm_incidents_channel", "channel", "reported_at"),
    Index("ix_rm_incidents_priority", "priority", "reported_at"),
    Index("ix_rm_incidents_reported_at", "reported_at"),
)

units = Table(
    "rm_units",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("call_sign", String(24), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("incident_id", Uuid),
    Column("incident_reference", String(20)),
    Column("officer_ids", Text, nullable=False),  # JSON list
    Column("updated_at", TS, nullable=False),
    Column("version", Integer, nullable=False),
    Column("lat", Float),  # the last position the crew reported (migration 0016)
    Column("lon", Float),
    Column("accuracy_m", Float),
    Column("position_at", TS),
)

camera_alerts = Table(
    "rm_camera_alerts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("camera_id", Uuid, nullable=False),
    Column("camera_code", String(24), nullable=False),
    Column("community", String(32), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("score", Float, nullable=False),
    Column("zone", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("snapshot_digest", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("raised_at", TS, nullable=False),
    Column("acknowledged_at", TS),
    Column("decided_at", TS),
    Column("outcome", String(16)),  # false_alarm | escalated
    Column("false_alarm_reason", String(24)),
    Column("incident_id", Uuid),
    Column("closed_at", TS),
    Column("version", Integer, nullable=False),
    Index("ix_rm_camera_alerts_status", "status", "raised_at"),
    Index("ix_rm_camera_alerts_camera", "camera_id", "raised_at"),
    Index("ix_rm_camera_alerts_raised_at", "raised_at"),
)

timeline = Table(
    "rm_timeline",
    metadata,
    Column("originator_id", Uuid, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("notification_id", BigInteger, nullable=False, unique=True),
    Column("aggregate", String(16), nullable=False),
    Column("event", String(32), nullable=False),
    Column("actor_id", Uuid, nullable=False),
    Column("actor_role", String(16), nullable=False),
    Column("occurred_at", TS, nullable=False),
    Column("recorded_at", TS, nullable=False),
    Column("reason", Text),
    Column("params", Text, nullable=False),  # JSON; a reporter's contact appears only as its sealed key id
)

kpi_incidents = Table(
    "kpi_incident_facts",
    metadata,
    Column("incident_id", Uuid, primary_key=True),
    Column("reference", String(20), nullable=False),
    Column("report_month", String(7), nullable=False),  # YYYY-MM, Asia/Bangkok, of the first report
    Column("reported_at", TS, nullable=False),
    Column("first_dispatched_at", TS),
    Column("first_en_route_at", TS),
    Column("first_on_scene_at", TS),
    Column("first_resolved_at", TS),
    Column("first_closed_at", TS),
    Column("category_reported", String(32), nullable=False),
    Column("priority_reported", String(2), nullable=False),
    Column("category", String(32), nullable=False),
    Column("priority", String(2), nullable=False),
    Column("community", String(32), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("is_night", Boolean, nullable=False),
    Column("outcome", String(32)),
    Column("cancel_reason", String(16)),
    Column("reopen_count", Integer, nullable=False),
    Index("ix_kpi_incident_facts_month", "report_month", "community"),
)

kpi_visits = Table(
    "kpi_visit_facts",
    metadata,
    Column("visit_id", Uuid, primary_key=True),
    Column("box_id", Uuid, nullable=False),
    Column("box_code", String(24), nullable=False),
    Column("community", String(32), nullable=False),
    Column("officer_id", Uuid, nullable=False),
    Column("visited_at", TS, nullable=False),
    Column("local_day", Date, nullable=False),  # Asia/Bangkok
    Column("slot", Integer, nullable=False),  # 0..11: 2-hour slots from 00:00 local
    Column("is_night_slot", Boolean, nullable=False),
    Column("status", String(8), nullable=False),  # valid | flagged | voided
    Index("ix_kpi_visit_facts_box_day_slot", "box_id", "local_day", "slot"),
    Index("ix_kpi_visit_facts_day", "local_day"),
)

users = Table(
    "rm_users",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("username", String(32), nullable=False, unique=True),
    Column("display_name", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("version", Integer, nullable=False),
)

# The camera registry (migration 0006): one row per camera, as its Camera events leave it. `source` is kept
# only masked (no userinfo, no credential-like query values): a read model holds no camera's password.
# Health is not here: it is read beside it, from the workers' leases and the open tamper/offline alerts.
cameras = Table(
    "rm_cameras",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("code", String(24), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("community", String(32), nullable=False),
    Column("owner", String(24), nullable=False),  # the owner's partner sector (Big 6)
    Column("owner_name", Text, nullable=False),
    Column("consent_reference", Text, nullable=False),
    Column("source", Text, nullable=False),  # masked
    Column("lat", Float),
    Column("lon", Float),
    Column("zones", Text, nullable=False),  # JSON: [{"name", "points": [[x, y], ...]}]
    Column(
        "rules", Text, nullable=False
    ),  # JSON: [{"kind", "start", "end", "min_score", "min_area"}], times HH:MM:SS local
    Column("retired", Boolean, nullable=False),
    Column("retired_at", TS),
    Column("registered_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("version", Integer, nullable=False),
)

# The red boxes (migration 0007): one row per box, as its RedBox events leave it; the QR token's version only
# (the signed token itself is made from the secret when a sheet is printed, and never stored).
red_boxes = Table(
    "rm_red_boxes",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("code", String(24), nullable=False, unique=True),
    Column("name_th", Text, nullable=False),
    Column("name_en", Text, nullable=False),
    Column("community", String(32), nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("token_version", Integer, nullable=False),
    Column("token_rotated_at", TS),
    Column("retired", Boolean, nullable=False),
    Column("registered_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("version", Integer, nullable=False),
)

# Refused check-ins (migration 0007): one row per RefusedCheckIn, for the supervisors' red-box page.
refused_check_ins = Table(
    "rm_refused_check_ins",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("box_id", Uuid),  # none when the code named no registered box
    Column("box_code", String(24), nullable=False),
    Column("refusal", String(16), nullable=False),  # unknown_box | invalid | outdated | retired
    Column("token_version", Integer),
    Column("officer_id", Uuid, nullable=False),
    Column("attempted_at", TS, nullable=False),
    Column("lat", Float),
    Column("lon", Float),
    Index("ix_rm_refused_check_ins_at", "attempted_at"),
)

# The auditor's indexes on the timeline (migration 0013_audit): the log browser's filters, each keyset-paged in
# notification order (infrastructure/readmodels/audit.py); an aggregate's version and the zone's board at an instant
# (audit_instants.py).
Index("ix_rm_timeline_aggregate", timeline.c.aggregate, timeline.c.notification_id)
Index("ix_rm_timeline_kind", timeline.c.aggregate, timeline.c.event, timeline.c.notification_id)
Index(
    "ix_rm_timeline_kind_recorded",
    *(timeline.c[name] for name in ("aggregate", "event", "recorded_at", "originator_id", "version")),
)
Index(
    "ix_rm_timeline_kind_occurred",
    *(timeline.c[name] for name in ("aggregate", "event", "occurred_at", "originator_id", "version")),
)
Index("ix_rm_timeline_actor", timeline.c.actor_id, timeline.c.notification_id)
Index("ix_rm_timeline_role", timeline.c.actor_role, timeline.c.notification_id)
Index("ix_rm_timeline_recorded_at", timeline.c.recorded_at)
Index("ix_rm_timeline_occurred_at", timeline.c.occurred_at)
Index("ix_rm_timeline_originator_recorded", timeline.c.originator_id, timeline.c.recorded_at, timeline.c.version)
Index("ix_rm_timeline_originator_occurred", timeline.c.originator_id, timeline.c.occurred_at, timeline.c.version)
# Shift handovers (migration 0017): the outgoing supervisor's briefing and the incoming one's acknowledgement.
handovers = Table(
    "rm_handovers",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("shift_from", TS, nullable=False),
    Column("shift_to", TS, nullable=False),
    Column("briefing", Text, nullable=False),
    Column("summary", Text, nullable=False),  # JSON: the figures the outgoing supervisor saw
    Column("handed_by", Uuid, nullable=False),
    Column("handed_at", TS, nullable=False),
    Column("acknowledged_by", Uuid),
    Column("acknowledged_at", TS),
    Column("acknowledgement", Text),
    Column("version", Integer, nullable=False),
    Index("ix_rm_handovers_handed_at", "handed_at"),
)
