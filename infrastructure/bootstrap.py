"""The composition root: builds the object graph once per process, with overridable parts."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from alembic.config import Config
from sqlalchemy import Engine

from alembic import command
from application.kpi.engine import KpiEngine
from application.zone import ZoneApplication, utcnow
from infrastructure.api_keys import ApiKeys
from infrastructure.camera_secrets import SqlCameraSecrets
from infrastructure.credentials import SqlCredentials
from infrastructure.db import DatabaseGate, gate_event_store, make_engine, make_gate
from infrastructure.logging import configure_logging
from infrastructure.qr_codes import HmacCodeSigner
from infrastructure.readmodels.audit import AuditReads
from infrastructure.readmodels.cameras import CamerasProjection
from infrastructure.readmodels.handovers import HandoversProjection
from infrastructure.readmodels.kpi_marks import KpiMarksProjection
from infrastructure.readmodels.kpi_queries import SqlKpiMarks
from infrastructure.readmodels.ledger import ledger_projection
from infrastructure.readmodels.ledger_reads import LedgerReads
from infrastructure.readmodels.personal_data import SqlContactIndex, personal_data_projections
from infrastructure.readmodels.projections import all_projections
from infrastructure.readmodels.queries import ReadModels
from infrastructure.readmodels.read_side import ReadSide
from infrastructure.readmodels.redboxes import RedBoxesProjection, RefusedCheckInsProjection
from infrastructure.readmodels.runner import Projections
from infrastructure.readmodels.users import UsersProjection
from infrastructure.settings import Settings
from infrastructure.vault import SqlContactVault
from infrastructure.web_sessions import LogonGuard, WebSessions

ALEMBIC_DIR = Path(__file__).resolve().parent.parent / "alembic"


@dataclass
class Container:
    settings: Settings
    engine: Engine
    app: ZoneApplication
    projections: Projections
    reads: ReadModels
    sessions: WebSessions
    logons: LogonGuard
    api_keys: ApiKeys
    camera_secrets: (
        SqlCameraSecrets  # the application keeps sources' secrets in it; camera workers open sources with it
    )
    read_side: ReadSide  # read-your-writes: waits until the read models show a notification
    kpi: KpiEngine  # the figures of KPIS.md as of a log position, for the dashboard and the partner reports
    ledger: LedgerReads  # the Merkle ledger's checkpoints, roots and proofs
    gate: DatabaseGate | None = None  # PostgreSQL: whether the database is worth trying now (infrastructure/db.py)
    audit: AuditReads | None = None  # the auditor's reads: search, the log browser, histories, the board at an instant

    def close(self) -> None:
        if self.gate is not None:
            self.gate.close()
        self.projections.stop()
        self.app.close()
        self.engine.dispose()


def alembic_config(settings: Settings) -> Config:
    config = Config(str(ALEMBIC_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    config.attributes["settings"] = settings
    return config


def migrate(settings: Settings) -> None:
    command.upgrade(alembic_config(settings), "head")


def bootstrap(
    settings: Settings | None = None, *, run_migrations: bool = True, clock: Callable[[], datetime] = utcnow
) -> Container:
    settings = settings or Settings()
    configure_logging(
        json=(settings.log_format or ("json" if settings.environment == "production" else "console")) == "json",
        level=settings.log_level,
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if run_migrations:
        migrate(settings)
    gate = make_gate(settings)
    engine = make_engine(settings, gate)
    secret = hashlib.sha256(b"ssz/reporter-subject/" + settings.secret_key.get_secret_value().encode()).digest()
    camera_secrets = SqlCameraSecrets.for_settings(engine, settings)
    app = ZoneApplication(
        settings.event_store_env(),
        vault=SqlContactVault(engine, secret),
        credentials=SqlCredentials(engine),
        codes=HmacCodeSigner(settings.secret_key.get_secret_value().encode()),
        camera_secrets=camera_secrets,
        clock=clock,
        contact_index=SqlContactIndex(engine),
    )
    if gate is not None:
        gate_event_store(app.recorder.datastore.pool, settings, gate)
    projections = Projections(
        app,
        engine,
        settings,
        page_size=settings.projection_page_size,
        projections=[
            *all_projections(app.recorder.events_table_name),
            UsersProjection(),
            CamerasProjection(),
            RedBoxesProjection(),
            RefusedCheckInsProjection(),
            ledger_projection(settings, app.recorder.events_table_name),
            KpiMarksProjection(),
            *personal_data_projections(),
            HandoversProjection(),
        ],
    )
    return Container(
        settings=settings,
        engine=engine,
        app=app,
        projections=projections,
        reads=ReadModels(engine),
        sessions=WebSessions(engine),
        logons=LogonGuard(engine),
        api_keys=ApiKeys(engine),
        camera_secrets=camera_secrets,
        read_side=ReadSide(projections),
        kpi=KpiEngine(SqlKpiMarks(engine)),
        ledger=LedgerReads(engine, app.recorder.events_table_name),
        gate=gate,
        audit=AuditReads(engine, app),
    )
