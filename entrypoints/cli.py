"""ssz — the one command-line entry point."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

import typer

from domain.accounts import UserAccount
from domain.errors import DomainError
from domain.personal_data import ContactReadPurpose
from domain.values import BANGKOK, SYSTEM_USER_ID, Role
from entrypoints.ledger_cli import ledger_cli
from entrypoints.pdpa_cli import console_source, pdpa_cli
from entrypoints.report_cli import report_cli
from infrastructure.bootstrap import Container, bootstrap, migrate
from infrastructure.settings import Settings

cli = typer.Typer(help="Smart Safety Zone 4.0 — CCOC operations system.", no_args_is_help=True)
user_cli = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
cli.add_typer(user_cli, name="user")
projections_cli = typer.Typer(help="Read models: run, rebuild, status.", no_args_is_help=True)
cli.add_typer(projections_cli, name="projections")
cameras_cli = typer.Typer(help="Smart CCTV: the camera analysis workers.", no_args_is_help=True)
cli.add_typer(cameras_cli, name="cameras")
apikey_cli = typer.Typer(help="The integrations' API keys (the JSON API under /api/v1).", no_args_is_help=True)
cli.add_typer(apikey_cli, name="apikey")
cli.add_typer(ledger_cli, name="ledger")
cli.add_typer(report_cli, name="report")
cli.add_typer(pdpa_cli, name="pdpa")


def _container() -> Container:
    return bootstrap(Settings())


def _fail(error: DomainError) -> None:
    typer.secho(f"Refused: {error.message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def ensure_first_admin(container: Container) -> None:
    settings = container.settings
    given = settings.admin_password.get_secret_value() if settings.admin_password else None
    password = given or secrets.token_urlsafe(12)
    try:
        made = container.app.ensure_first_admin(username=settings.admin_username, password=password, one_time=not given)
    except DomainError as error:
        _fail(error)
    if made is None:
        return
    if given:
        typer.echo(
            f"First administrator '{settings.admin_username}' created with the password from SSZ_ADMIN_PASSWORD."
        )
    else:
        typer.secho(
            f"First administrator created — username: {settings.admin_username}  one-time password: {password}"
            "  (shown once; the first sign-in chooses a new one)",
            fg=typer.colors.YELLOW,
            bold=True,
        )


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option()] = None, port: Annotated[int | None, typer.Option()] = None
) -> None:
    """Migrate, create the first administrator if none exists, and serve the web app."""
    import uvicorn

    from web.app import create_app, settle_gc

    container = _container()
    ensure_first_admin(container)
    settings = container.settings
    if not settings.public_url:
        typer.secho(
            "Warning: SSZ_PUBLIC_URL is not set — red-box QR sheets will carry the printing browser's address "
            "(127.0.0.1 here), which phones cannot reach.",
            fg=typer.colors.YELLOW,
            err=True,
        )
    embedded = settings.projections_in_process
    app = create_app(container, run_projections=embedded, auto_publish=True)
    settle_gc()
    uvicorn.run(app, host=host or settings.host, port=port or settings.port, log_config=None)


@cli.command(name="migrate")
def migrate_command() -> None:
    """Bring the database's own tables (Alembic) up to date."""
    migrate(Settings())
    typer.echo("Migrated.")


@user_cli.command("create")
def user_create(
    username: str,
    role: Annotated[Role, typer.Option(case_sensitive=False)],
    name: Annotated[str, typer.Option(help="Display name")],
    password: Annotated[str | None, typer.Option(help="Omitted: a one-time password is generated")] = None,
) -> None:
    """Create a user with a role (recorded as done by the system)."""
    container = _container()
    one_time = password or secrets.token_urlsafe(12)
    try:
        result = container.app.create_user(
            username=username, display_name=name, role=role, password=one_time, by=SYSTEM_USER_ID
        )
    except DomainError as error:
        _fail(error)
    typer.echo(
        f"Created {username} ({role.value}) id={result.id}" + ("" if password else f" one-time password: {one_time}")
    )


@user_cli.command("disable")
def user_disable(username: str, reason: Annotated[str, typer.Option()]) -> None:
    """Disable a user; the reason is recorded."""
    container = _container()
    try:
        container.app.disable_user(UserAccount.id_for(username), reason=reason, by=SYSTEM_USER_ID)
    except DomainError as error:
        _fail(error)
    typer.echo(f"Disabled {username}.")


@cli.command()
def demo(
    months: Annotated[float, typer.Option(min=0.03, max=60, help="30-day months of history")] = 3,
    seed: Annotated[int, typer.Option()] = 2569,
    until: Annotated[
        str,
        typer.Option(
            help="Where the history ends, Bangkok time: 2026-12-08 or 2026-12-08T14:00 (default: today 00:00)"
        ),
    ] = "",
) -> None:
    """Write a realistic, deterministic history of the zone through the application: the same seed and the same
    --until write the same history."""
    from simulation import generate
    from simulation.run import default_until

    try:
        end = _bangkok_instant(until) if until else default_until(datetime.now(UTC))
        summary = generate(Settings(), months=months, seed=seed, until=end, progress=True)
    except ValueError as error:
        typer.secho(f"Refused: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    typer.echo(f"Demo history written (until {end.isoformat()}): {summary}")


def _bangkok_instant(text: str) -> datetime:
    """A date or a date and time; without an offset it is meant in Bangkok."""
    found = datetime.fromisoformat(text.strip())
    return found if found.tzinfo is not None else found.replace(tzinfo=BANGKOK)


@cli.command()
def history(
    aggregate: Annotated[str, typer.Argument(help="An incident reference (CR-2569-000123) or an aggregate id")],
    show_contact: Annotated[
        bool, typer.Option("--show-contact", help="Also show the reporter's contact (recorded, needs --reason)")
    ] = False,
    reason: Annotated[
        ContactReadPurpose | None, typer.Option(help="Why the contact is needed", case_sensitive=False)
    ] = None,
    reason_text: Annotated[str, typer.Option(help="The reason in words (required for 'other')")] = "",
) -> None:
    """Show an aggregate's full history: events in order with actor, reason, occurred and recorded times. A reporter's
    contact shows only as sealed or erased, unless --show-contact --reason is given: then the reading is recorded."""
    if show_contact and reason is None:
        typer.secho(
            "--show-contact needs --reason (why you need it). Nothing was recorded.", fg=typer.colors.RED, err=True
        )
        raise typer.Exit(2)
    container = _container()
    zone = container.app
    try:
        aggregate_id = UUID(aggregate) if len(aggregate) in (32, 36) else zone.incident_id_for(aggregate)
        entries = zone.history(aggregate_id)
    except (DomainError, ValueError) as error:
        typer.secho(f"Not found: {getattr(error, 'message', error)}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    for e in entries:
        details = ", ".join(f"{k}={getattr(v, 'value', v)}" for k, v in e.details.items() if v not in (None, "", []))
        typer.echo(
            f"v{e.version:<3} {e.event:<16} occurred {_local(e.occurred_at)}  recorded {_local(e.recorded_at)}  "
            f"by {e.actor_role.value}:{str(e.actor_id)[:8]}"
            + (f"  reason: {e.reason}" if e.reason else "")
            + (f"\n     {details}" if details else "")
        )
    if show_contact:
        try:
            shown = zone.read_contact(
                aggregate_id, by=SYSTEM_USER_ID, purpose=reason, reason=reason_text, source=console_source()
            )
        except DomainError as error:
            _fail(error)
        if shown is None:
            typer.echo("Reporter: none given")
        elif shown.erased:
            typer.echo("Reporter: erased on request (PDPA)")
        else:
            typer.echo(f"Reporter: {shown.name} {shown.phone}  (this reading was recorded: {shown.read_id})")


@projections_cli.command("run")
def projections_run() -> None:
    """Follow the log and keep the read models up to date (a worker process; start several for failover)."""
    import signal
    import threading

    container = _container()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    container.projections.run(stop)


@projections_cli.command("rebuild")
def projections_rebuild(
    name: Annotated[str | None, typer.Argument(help="One projection; all when omitted")] = None,
) -> None:
    """Empty a projection (or all) and replay the whole log into it, with a progress bar."""
    from tqdm import tqdm

    container = _container()
    names = [name] if name else None
    if name and name not in container.projections.by_name:
        typer.secho(
            f"No projection named {name!r}; have: {', '.join(container.projections.by_name)}",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(2)
    with tqdm(total=container.projections.head(), unit="ev", desc=f"rebuild {name or 'all'}") as bar:
        container.projections.rebuild(names, progress=bar.update)


@projections_cli.command("status")
def projections_status() -> None:
    """Each projection's position and lag behind the log's head."""
    container = _container()
    head = container.projections.head()
    typer.echo(f"log head {head}")
    for name, position in container.projections.positions().items():
        typer.echo(f"{name:<14} position {position:>10}  lag {head - position}")


@cameras_cli.command("run")
def cameras_run(
    lease_seconds: Annotated[
        float, typer.Option(help="A dead worker's cameras are taken over this long after its last renewal")
    ] = 10.0,
    tick_seconds: Annotated[
        float, typer.Option(help="Heartbeat, lease renewal, health and rebalancing, this often")
    ] = 2.0,
    backoff_max: Annotated[float, typer.Option(help="Longest wait between attempts to reopen a broken source")] = 30.0,
    worker_id: Annotated[
        str | None, typer.Option(help="This worker's name in the leases (default: host:pid:random)")
    ] = None,
) -> None:
    """Watch the cameras and raise their alerts (a worker process; start several to share the cameras)."""
    import signal
    import threading

    from infrastructure.vision.worker import CameraWorker, WorkerOptions

    container = _container()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    options = WorkerOptions(lease_seconds=lease_seconds, tick_seconds=tick_seconds, backoff_max=backoff_max)
    try:
        CameraWorker(
            container.app,
            container.engine,
            container.settings,
            secrets=container.camera_secrets,
            options=options,
            worker_id=worker_id,
        ).run(stop)
    finally:
        container.close()


@apikey_cli.command("create")
def apikey_create(
    name: Annotated[str, typer.Argument(help="The integration, e.g. 'Police app SOS'")],
    scope: Annotated[
        list[str], typer.Option(help="intake, alerts, lifecycle, read, contacts, cameras (repeat the option)")
    ],
    role: Annotated[
        Role | None, typer.Option(case_sensitive=False, help="Role of the integration's new account")
    ] = None,
    account: Annotated[
        str | None, typer.Option(help="An existing integration account (api-…) instead of a new one")
    ] = None,
) -> None:
    """Create a key (recorded as done by the system); the key is printed once."""
    from infrastructure.api_keys import Scope, issue_key
    from web.access import unusable_scopes

    container = _container()
    try:
        scopes = frozenset(Scope(s) for s in scope)
    except ValueError:
        typer.secho(f"Scopes are: {', '.join(s.value for s in Scope)}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    try:
        acting = role if account is None else container.app.get_user(UserAccount.id_for(account)).role
        if acting is not None and (unusable := unusable_scopes(acting, scopes)):
            typer.secho(
                f"An account with the role {acting.value} cannot use: {', '.join(s.value for s in unusable)}",
                fg=typer.colors.RED,
                err=True,
            )
            raise typer.Exit(2)
        issued = issue_key(
            container.app,
            container.api_keys,
            name=name,
            scopes=scopes,
            role=role,
            account=account,
            by=SYSTEM_USER_ID,
            wait=lambda n: container.projections.catch_up(),
        )
    except DomainError as error:
        _fail(error)
    typer.echo(f"Created API key {issued.key_id} for {name}, acting as {issued.username}. The key (shown once):")
    typer.secho(issued.key, fg=typer.colors.YELLOW, bold=True)


@apikey_cli.command("revoke")
def apikey_revoke(
    key: Annotated[str, typer.Argument(help="The key's id, or the prefix shown by `ssz apikey list`")],
    reason: Annotated[str, typer.Option()],
) -> None:
    """Revoke a key: it is refused from now on."""
    container = _container()
    found = container.api_keys.find(key.rstrip("…"))
    if len(found) != 1:
        typer.secho(
            "No such key." if not found else "More than one key matches; give more of it.",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1)
    try:
        container.api_keys.revoke(found[0]["key_id"], reason=reason, by=SYSTEM_USER_ID)
    except DomainError as error:
        _fail(error)
    typer.echo(f"Revoked {found[0]['name']} ({found[0]['prefix']}…).")


@apikey_cli.command("list")
def apikey_list() -> None:
    """Every key: prefix, name, account, scopes, state."""
    container = _container()
    for k in container.api_keys.listing():
        state = f"revoked {_local(k['revoked_at'])}" if k["revoked_at"] else "active"
        used = _local(k["last_used_at"]) if k["last_used_at"] else "never"
        typer.echo(
            f"{k['prefix']}…  {k['name']:<28} {k['username'] or '?':<24} {' '.join(s.value for s in k['scopes']):<32} "
            f"{state}  last used {used}  id={k['key_id']}"
        )


def _local(instant: datetime) -> str:
    from domain.values import BANGKOK

    return instant.astimezone(BANGKOK).strftime("%Y-%m-%d %H:%M:%S")


# Setting cameras up and analysing recordings: entrypoints/camera_cli.py.
from entrypoints.camera_cli import register as _register_camera_commands  # noqa: E402

_register_camera_commands(cameras_cli, lambda: _container())


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
