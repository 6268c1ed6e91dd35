"""`ssz ledger`: the ledger's public key, a checkpoint on demand, and the independent verifier.

Registered in entrypoints/cli.py beside the other command groups."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Annotated

import typer

from infrastructure.checkpoints import configured_signer
from infrastructure.settings import Settings

VERIFIER = Path(__file__).resolve().parent.parent / "tools" / "verify_ledger.py"

ledger_cli = typer.Typer(
    help="The tamper-evident log: its public key, checkpoints, the verifier.", no_args_is_help=True
)


def verifier_module() -> ModuleType:
    """tools/verify_ledger.py, which imports nothing of the application (so that it can be read as the reference)."""
    module = sys.modules.get("verify_ledger")
    if module is None:
        spec = importlib.util.spec_from_file_location("verify_ledger", VERIFIER)
        module = sys.modules["verify_ledger"] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


@ledger_cli.command("key")
def ledger_key() -> None:
    """Print the verifier key of the ledger's checkpoints (public: give it to auditors and partners)."""
    typer.echo(str(configured_signer(Settings()).verifier))


@ledger_cli.command("checkpoint")
def ledger_checkpoint() -> None:
    """Bring the ledger up to the log's head, sign a checkpoint of it and print it (a signed note)."""
    from infrastructure.bootstrap import bootstrap
    from infrastructure.readmodels.ledger import take_checkpoint

    container = bootstrap(Settings())
    try:
        container.projections.catch_up()
        typer.echo(take_checkpoint(container.engine, container.projections.by_name["ledger"]), nl=False)
    finally:
        container.close()


@ledger_cli.command("verify")
def ledger_verify(
    database_url: Annotated[
        str | None, typer.Option(help="postgresql://… or sqlite:///…; the configured store if omitted")
    ] = None,
    from_checkpoint: Annotated[Path | None, typer.Option(help="a checkpoint kept elsewhere (a witness copy)")] = None,
    key: Annotated[str | None, typer.Option(help="the verifier key; this installation's own if omitted")] = None,
    bundle: Annotated[
        Path | None, typer.Option(help="an exported bundle (JSON Lines from /audit) to verify offline instead")
    ] = None,
) -> None:
    """Recompute the whole ledger from the stored events and check every checkpoint (exit 1 on any finding); or,
    with --bundle, check an exported bundle: its checkpoint's signature, every event's bytes and audit path."""
    settings = Settings()
    if bundle is not None:
        verifier_key = key or str(configured_signer(settings).verifier)
        raise typer.Exit(verifier_module().main(["--bundle", str(bundle), "--key", verifier_key]))
    url = database_url or (settings.sqlalchemy_url() if settings.uses_postgres else f"sqlite:///{settings.sqlite_path}")
    args = ["--database-url", url, "--key", key or str(configured_signer(settings).verifier)]
    if from_checkpoint:
        args += ["--from-checkpoint", str(from_checkpoint)]
    raise typer.Exit(verifier_module().main(args))
