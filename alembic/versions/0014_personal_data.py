"""read models of reporters' personal data: the contact index, the recorded contact readings, the erasure requests

Revision ID: 0014_personal_data
Revises: 0013_audit
Create Date: 2026-12-08
"""

import sqlalchemy as sa

from alembic import op

revision = "0014_personal_data"
down_revision = "0013_audit"
branch_labels = None
depends_on = None
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Filled by the projections from the log: on the first start after this migration they replay it from the
    # beginning, so incidents reported before it are indexed too (their reports in the log name their keys).
    op.create_table(
        "pd_contact_index",
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(20), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("reported_at", TS, nullable=False),
        sa.Column("closed_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("incident_id"),
    )
    op.create_index("ix_pd_contact_index_key", "pd_contact_index", ["key_id"])
    op.create_index("ix_pd_contact_index_reference", "pd_contact_index", ["reference"])
    op.create_table(
        "pd_contact_reads",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("incident_refs", sa.Text(), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reader_id", sa.Uuid(), nullable=False),
        sa.Column("reader_role", sa.String(16), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_pd_contact_reads_occurred_at", "pd_contact_reads", ["occurred_at"])
    op.create_index("ix_pd_contact_reads_reader", "pd_contact_reads", ["reader_id", "occurred_at"])
    op.create_table(
        "pd_erasure_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("request_reference", sa.String(40), nullable=False),
        sa.Column("requester", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("legal_basis", sa.String(24), nullable=False),
        sa.Column("basis_text", sa.Text(), nullable=False),
        sa.Column("incident_refs", sa.Text(), nullable=False),
        sa.Column("key_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("received_by", sa.Uuid(), nullable=False),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("erased_at", TS, nullable=True),
        sa.Column("keys_destroyed", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_pd_erasure_requests_received_at", "pd_erasure_requests", ["received_at"])
    # After an erasure nothing should link a phone number to a report: the keyed hash of the number is forgotten
    # with the key from now on (infrastructure/vault.py); the hashes of keys destroyed before are forgotten here.
    op.execute("UPDATE reporter_keys SET subject = NULL WHERE key IS NULL AND subject IS NOT NULL")


def downgrade() -> None:
    op.drop_table("pd_erasure_requests")
    op.drop_table("pd_contact_reads")
    op.drop_table("pd_contact_index")
