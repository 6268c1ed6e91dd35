"""`ssz cameras add|zones|rules|show|analyse`: setting a camera up and analysing recordings from the command
line, the same commands the camera page gives (each change an event on the camera, by the account named
with --by, else by the system)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn
from uuid import UUID

import typer

from domain.accounts import UserAccount
from domain.camera_setup import ADVANCED, describe_rule, parse_rule, parse_zone
from domain.cameras import Camera
from domain.errors import DomainError
from domain.values import BANGKOK, SYSTEM_USER_ID, Community, GeoPoint, PartnerSector

By = Annotated[str | None, typer.Option(help="The administrator's username the change is recorded under")]


def _by(username: str | None) -> UUID:
    return SYSTEM_USER_ID if not username else UserAccount.id_for(username)


def _refused(message: str) -> NoReturn:
    typer.secho(f"Refused: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


@contextmanager
def _session(container_factory: Callable[[], Any]) -> Iterator[Any]:
    """The zone's container for one command; what the domain refuses is said plainly (exit 2), nothing saved."""
    container = container_factory()
    try:
        yield container
    except DomainError as error:
        _refused(error.message)
    finally:
        container.close()


def register(cameras_cli: typer.Typer, container_factory) -> None:  # noqa: ANN001 — the CLI's _container
    def _replace(
        code: str, specs: list[str] | None, clear: bool, what: str, parse: Callable[[str], Any], by: By
    ) -> None:
        """`zones` and `rules`: the camera's whole list replaced by the one given (none with --clear)."""
        if not specs and not clear:
            _refused(f"Give --{what} (one or more) or --clear.")
        with _session(container_factory) as container:
            items = [parse(spec) for spec in specs or []]
            change = container.app.set_camera_zones if what == "zone" else container.app.set_camera_rules
            change(Camera.id_for(code.upper()), **{f"{what}s": items}, by=_by(by))
        typer.echo(f"{code.upper()}: {len(items)} {what}(s) set.")

    @cameras_cli.command("add")
    def cameras_add(
        code: str,
        name: Annotated[str, typer.Option()],
        community: Annotated[Community, typer.Option(case_sensitive=False)],
        owner: Annotated[PartnerSector, typer.Option(case_sensitive=False, help="The owner partner's sector")],
        owner_name: Annotated[str, typer.Option()],
        consent: Annotated[str, typer.Option(help="The owner's consent record, e.g. 'MOU 12/2569'")],
        source: Annotated[str, typer.Option(help="rtsp://..., a video file or a folder of numbered frames")],
        lat: Annotated[float | None, typer.Option()] = None,
        lon: Annotated[float | None, typer.Option()] = None,
        by: By = None,
    ) -> None:
        """Register a camera (then give it zones and rules)."""
        with _session(container_factory) as container:
            position = GeoPoint(lat, lon) if lat is not None and lon is not None else None
            container.app.register_camera(
                code=code,
                name=name,
                community=community,
                owner=owner,
                owner_name=owner_name,
                consent_reference=consent,
                source=source,
                position=position,
                by=_by(by),
            )
        typer.echo(f"Registered camera {code.upper()}. Next: ssz cameras zones {code.upper()} --zone ...")

    @cameras_cli.command("zones")
    def cameras_zones(
        code: str,
        zone: Annotated[
            list[str] | None,
            typer.Option(help="'name|Thai name|x,y x,y x,y ...' in 0..1 of the picture; repeat for more zones"),
        ] = None,
        clear: Annotated[bool, typer.Option(help="No zones: the whole picture")] = False,
        by: By = None,
    ) -> None:
        """Set a camera's zones (replacing the ones it had)."""
        _replace(code, zone, clear, "zone", parse_zone, by)

    @cameras_cli.command("rules")
    def cameras_rules(
        code: str,
        rule: Annotated[
            list[str] | None,
            typer.Option(
                help="'kind=person_at_night zone=gate schedule=night|all_day|custom [start=08:00 end=17:00] "
                "sensitivity=low|normal|high [loiter=SECONDS] [min_score= min_area=]'; repeat for more rules"
            ),
        ] = None,
        clear: Annotated[bool, typer.Option(help="No rules: tamper checks only")] = False,
        by: By = None,
    ) -> None:
        """Set a camera's detection rules (replacing the ones it had)."""
        _replace(code, rule, clear, "rule", lambda spec: parse_rule(spec).to_rule(), by)

    @cameras_cli.command("retention")
    def cameras_retention(
        code: str, days: Annotated[int, typer.Argument(help="Days its snapshots are kept (default 30)")], by: By = None
    ) -> None:
        """Set how many days a camera's alert snapshots are kept before `ssz cameras purge` deletes them."""
        with _session(container_factory) as container:
            container.app.set_camera_retention(Camera.id_for(code.upper()), days=days, by=_by(by))
        typer.echo(f"{code.upper()}: snapshots kept {days} days.")

    @cameras_cli.command("purge")
    def cameras_purge() -> None:
        """Delete the snapshots past their camera's retention; each purge is an event on its alert."""
        from datetime import UTC

        from infrastructure.vision.retention import purge_expired
        from infrastructure.vision.snapshots import SnapshotStore

        container = container_factory()
        try:
            container.projections.catch_up()
            purged = purge_expired(
                container.app, container.engine, SnapshotStore(container.settings.snapshot_dir), datetime.now(UTC)
            )
        finally:
            container.close()
        for p in purged:
            typer.echo(
                f"{p.camera_code}  alert {p.alert_id}  snapshot {p.digest[:12]}…  {'deleted' if p.file_deleted else 'kept (shared)'}"
            )
        typer.echo(f"{len(purged)} snapshot(s) past their retention purged.")

    @cameras_cli.command("show")
    def cameras_show(code: str) -> None:
        """A camera's zones, rules in words and history (who changed what)."""
        container = container_factory()
        try:
            camera = container.app.load(Camera.id_for(code.upper()), fresh=True)
            if not isinstance(camera, Camera):
                _refused(f"There is no camera {code.upper()}.")
            typer.echo(f"{camera.code}  {camera.name}  ({camera.community.value}; owner {camera.owner_name})")
            typer.echo("Zones:" if camera.zones else "Zones: none (the whole picture)")
            for z in camera.zones:
                corners = " ".join(f"{x:.3f},{y:.3f}" for x, y in z.points)
                typer.echo(f"  {z.name}{f' / {z.name_th}' if z.name_th else ''}: {corners}")
            typer.echo("Rules:" if camera.rules else "Rules: none (tamper checks only)")
            for r in map(describe_rule, camera.rules):
                schedule = f"custom {r.start}-{r.end}" if r.start else r.schedule
                sensitivity = r.sensitivity
                if sensitivity == ADVANCED:
                    sensitivity = f"min_score={r.min_score} min_area={r.min_area}"
                extra = f" loiter after {r.loiter_seconds} s" if r.loiter_seconds else ""
                typer.echo(f"  {r.kind} in {r.zone or 'every zone'}, {schedule}, {sensitivity}{extra}")
            typer.echo(f"Snapshots kept {camera.keeps_days} days")
            typer.echo("History:")
            names = container.reads.user_names(e.actor_id for e in container.app.history(camera.id))
            for e in container.app.history(camera.id):
                who = names.get(e.actor_id) or e.actor_role.value
                typer.echo(f"  {e.occurred_at.astimezone(BANGKOK):%Y-%m-%d %H:%M}  {e.event:<10} by {who}")
        finally:
            container.close()

    @cameras_cli.command("analyse")
    def cameras_analyse(
        file: Path,
        camera: Annotated[str, typer.Option(help="The camera whose zones and rules apply, e.g. CAM-07")],
        from_: Annotated[
            str | None,
            typer.Option(
                "--from", help="When the recording started (ISO, e.g. 2026-12-07T22:00; Bangkok time if no zone)"
            ),
        ] = None,
    ) -> None:
        """Run a recording through a camera's zones and rules at full speed and raise its alerts."""
        from infrastructure.vision.recordings import analyse, recording_length
        from infrastructure.vision.snapshots import SnapshotStore
        from infrastructure.vision.sources import SourceBroken

        start = None
        if from_:
            try:
                start = datetime.fromisoformat(from_)
            except ValueError:
                _refused(f"'{from_}' is not a date and time such as 2026-12-07T22:00.")
            start = start if start.tzinfo else start.replace(tzinfo=BANGKOK)
        container = container_factory()
        try:
            found = container.app.load(Camera.id_for(camera.upper()), fresh=True)
            if not isinstance(found, Camera):
                _refused(f"There is no camera {camera.upper()}.")
            try:
                count, _ = recording_length(file) if file.is_file() else (0, 0)
                with typer.progressbar(length=count or None, label=f"Analysing {file.name}") as bar:
                    result = analyse(
                        container.app,
                        SnapshotStore(container.settings.snapshot_dir),
                        found,
                        file,
                        start=start,
                        progress=bar.update,
                    )
            except SourceBroken as broken:
                _refused(f"{file} cannot be analysed: {broken.reason}.")
            except DomainError as error:
                _refused(error.message)
        finally:
            container.close()
        assert result.start is not None
        typer.echo(
            f"{result.frames} frames, {result.seconds:.1f} s of footage from "
            f"{result.start.astimezone(BANGKOK):%Y-%m-%d %H:%M:%S}; {len(result.alerts)} alert(s)"
        )
        if result.alerts:
            typer.echo(f"{'time':<10} {'kind':<16} {'zone':<16} {'score':>5}  {'until':<10} alert")
        for a in result.alerts:
            until = f"{a.ended_at.astimezone(BANGKOK):%H:%M:%S}" if a.ended_at else ""
            note = "" if a.new else "  (raised before)"
            if a.loitered_at:
                note += f"  loitering from {a.loitered_at.astimezone(BANGKOK):%H:%M:%S}"
            typer.echo(
                f"{a.at.astimezone(BANGKOK):%H:%M:%S}   {a.kind.value:<16} {a.zone or '-':<16} "
                f"{a.score:>5.2f}  {until:<10} {a.id}{note}"
            )
