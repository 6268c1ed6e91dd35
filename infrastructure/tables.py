"""Tables that live beside the event store and belong to Alembic (never to the library)."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
)

metadata = MetaData()
TS = DateTime(timezone=True)

credentials = Table(
    "credentials",
    metadata,
    Column("user_id", Uuid, primary_key=True),
    Column("username", String(32), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# One key per reporter. Destroying a key (key = NULL) erases that reporter's contact everywhere.
reporter_keys = Table(
    "reporter_keys",
    metadata,
    Column("key_id", String(64), primary_key=True),
    Column("subject", String(64), nullable=True, unique=True),
    Column("key", LargeBinary, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("erased_at", DateTime(timezone=True), nullable=True),
    Column("erased_by", Uuid, nullable=True),
    Column("erasure_reason", Text, nullable=True),
)

# The camera workers' tables (migration 0003). `camera_leases` is both the workers' list of cameras (kept
# from the log's Camera events) and the lease that gives each camera to one worker at a time, with its
# health as its owner last wrote it; `camera_workers` holds heartbeats, so each worker knows how many share
# the cameras; `camera_catalog` remembers how far into the log the list of cameras has been brought.
camera_leases = Table(
    "camera_leases",
    metadata,
    Column("camera_id", Uuid, primary_key=True),
    Column("code", String(24), nullable=False),
    Column("source", Text, nullable=False),
    Column("retired", Boolean, nullable=False),
    Column("config_version", Integer, nullable=False),  # the Camera aggregate's version the row reflects
    Column("owner", String(128), nullable=True),  # a worker id; NULL: nobody's
    Column("lease_expires_at", TS, nullable=True),
    Column("status", String(16), nullable=False),  # unowned, starting, streaming, offline, ended
    Column("fps", Float, nullable=False),
    Column("last_frame_at", TS, nullable=True),
    Column("reconnects", BigInteger, nullable=False),
    # Self-clearing alerts still open (JSON {"offline": id, "tampered/dark": id}), so that whoever owns
    # the camera next closes them and does not raise them again.
    Column("open_alerts", Text, nullable=False),
    Column("health_at", TS, nullable=True),
    Column("updated_at", TS, nullable=False),
    Index("ix_camera_leases_owner", "owner"),
)

camera_workers = Table(
    "camera_workers",
    metadata,
    Column("worker_id", String(128), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", TS, nullable=False),
    Column("heartbeat_at", TS, nullable=False),
)

camera_catalog = Table(
    "camera_catalog",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("position", BigInteger, nullable=False),  # notification id up to which Camera events are in camera_leases
    Column("updated_at", TS, nullable=False),
)

# The secret part of each camera's video source (migration 0008): a URL's password and the values of its
# credential-like query parameters, which the log does not record; sealed (nonce + AES-GCM ciphertext).
camera_secrets = Table(
    "camera_secrets",
    metadata,
    Column("camera_id", Uuid, primary_key=True),
    Column("sealed", LargeBinary, nullable=False),
    Column("updated_at", TS, nullable=False),
)

# The web's own tables (migration 0004). A session is a row, so logging out or disabling an account ends it
# at once; every logon attempt (accepted or refused) is kept, both as the throttle's memory and as a record.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("session_id", String(64), primary_key=True),  # SHA-256 of the cookie's secret part
    Column("user_id", Uuid, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
    Column("ended_at", TS, nullable=True),
    Column("ip", String(64), nullable=False),
    Column("user_agent", String(200), nullable=False),
    Index("ix_web_sessions_user", "user_id"),
)

login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False),
    Column("ip", String(64), nullable=False),
    Column("at", TS, nullable=False),
    Column("accepted", Boolean, nullable=False),
    Column("cause", String(32), nullable=False),  # checking (until decided) | ok | bad_password | throttled | logout
    Index("ix_login_attempts_username_at", "username", "at"),
    Index("ix_login_attempts_ip_at", "ip", "at"),
)

# The integrations' API keys (migration 0005). A key is shown once; only the SHA-256 of the whole key is kept.
# Each key acts as one UserAccount (the integration's own), so the domain's permissions and the log say who acted.
api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", Uuid, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("prefix", String(16), nullable=False),  # the key's first characters, to recognise it in lists and logs
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("scopes", String(200), nullable=False),  # space-separated: intake alerts lifecycle read contacts
    Column("user_id", Uuid, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("created_by", Uuid, nullable=False),
    Column("revoked_at", TS, nullable=True),
    Column("revoked_by", Uuid, nullable=True),
    Column("revoke_reason", Text, nullable=True),
    Column("last_used_at", TS, nullable=True),
    Index("ix_api_keys_user", "user_id"),
)

# Passwords given by someone else (a new account's, a reset's): the first sign-in with one must choose a new one, so
# a one-time password works once (migration 0018). A row is removed when its user sets a password of their own.
one_time_passwords = Table(
    "one_time_passwords",
    metadata,
    Column("user_id", Uuid, primary_key=True),
    Column("issued_at", TS, nullable=False),
)

# Reporters' personal data (migration 0014), read models of the log kept by infrastructure/readmodels/personal_data.py.
# Which reporter's key seals each incident's contact, and since when the incident is closed (PDPA matching, retention);
# every recorded reading of contacts (the auditors' /audit/personal-data); every erasure request and its outcome.
# None holds a name or a phone.
pd_contact_index = Table(
    "pd_contact_index",
    metadata,
    Column("incident_id", Uuid, primary_key=True),
    Column("reference", String(20), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("reported_at", TS, nullable=False),
    Column("closed_at", TS, nullable=True),  # closed or cancelled; NULL while open (and after a reopening)
    Index("ix_pd_contact_index_key", "key_id"),
    Index("ix_pd_contact_index_reference", "reference"),
)

pd_contact_reads = Table(
    "pd_contact_reads",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("incident_refs", Text, nullable=False),  # space-separated incident references
    Column("source", String(200), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("reader_id", Uuid, nullable=False),
    Column("reader_role", String(16), nullable=False),
    Column("occurred_at", TS, nullable=False),
    Column("recorded_at", TS, nullable=False),
    Index("ix_pd_contact_reads_occurred_at", "occurred_at"),
    Index("ix_pd_contact_reads_reader", "reader_id", "occurred_at"),
)

pd_erasure_requests = Table(
    "pd_erasure_requests",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("request_reference", String(40), nullable=False),
    Column("requester", String(16), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("legal_basis", String(24), nullable=False),
    Column("basis_text", Text, nullable=False),
    Column("incident_refs", Text, nullable=False),  # space-separated incident references
    Column("key_count", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("received_at", TS, nullable=False),
    Column("received_by", Uuid, nullable=False),
    Column("decided_at", TS, nullable=True),
    Column("decided_by", Uuid, nullable=True),
    Column("decision_reason", Text, nullable=True),
    Column("erased_at", TS, nullable=True),
    Column("keys_destroyed", Integer, nullable=True),
    Column("version", Integer, nullable=False),
    Index("ix_pd_erasure_requests_received_at", "received_at"),
)

# Every download of a monthly partner report (migration 0012): who, which edition (or a live build's position),
# which file and its SHA-256. Reads are not events: this table is the auditors' record of them.
report_downloads = Table(
    "report_downloads",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", TS, nullable=False),
    Column("user_id", Uuid, nullable=False),
    Column("role", String(16), nullable=False),
    Column("month", String(7), nullable=False),
    Column("edition", Integer, nullable=True),  # the published edition's number; NULL: built live at `position`
    Column("position", BigInteger, nullable=False),
    Column("file", String(8), nullable=False),  # th.pdf | th.csv | en.pdf | en.csv
    Column("digest", String(64), nullable=False),
    Column("sector", String(24), nullable=True),
    Index("ix_report_downloads_month", "month", "at"),
    Index("ix_report_downloads_user", "user_id", "at"),
)
