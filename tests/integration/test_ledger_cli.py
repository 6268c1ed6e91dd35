"""`ssz ledger key | checkpoint | verify` on the embedded store, as an operator runs them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from entrypoints.ledger_cli import ledger_cli
from infrastructure.bootstrap import bootstrap
from infrastructure.checkpoints import Checkpoint, Verifier, open_note
from infrastructure.settings import Settings
from tests.integration.conftest import build_world


def test_key_checkpoint_and_verify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSZ_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SSZ_ENVIRONMENT", "test")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    container = bootstrap(Settings())
    build_world(container.app, units=1).report()
    head = container.app.recorder.max_notification_id()
    container.close()
    runner = CliRunner()

    key = runner.invoke(ledger_cli, ["key"])
    assert key.exit_code == 0, key.output
    verifier = Verifier.parse(key.output.strip())

    made = runner.invoke(ledger_cli, ["checkpoint"])
    assert made.exit_code == 0, made.output
    checkpoint = Checkpoint.parse(open_note(made.output[made.output.index(verifier.name) :], verifier))
    assert checkpoint.size == head
    witness = tmp_path / "witness.note"
    witness.write_text(made.output[made.output.index(verifier.name) :])

    checked = runner.invoke(ledger_cli, ["verify", "--from-checkpoint", str(witness)])
    assert checked.exit_code == 0, checked.output
    assert "the log verifies" in checked.output

    wrong = runner.invoke(
        ledger_cli, ["verify", "--key", "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"]
    )
    assert wrong.exit_code == 1
    assert "not signed by PeterNeumann" in wrong.output
