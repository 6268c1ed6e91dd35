"""`ssz pdpa`: a reporter's erasure request taken at the console (recorded, decided, carried out, with its receipt),
a refusal, and one run of the retention period. The console acts as the system; the records say from which host
and login. Registered in entrypoints/cli.py beside the other command groups."""

from __future__ import annotations

import getpass
import socket
from typing import Annotated

import typer

from domain.errors import DomainError
from domain.personal_data import ErasureChannel, ErasureRequest, ErasureRequester, ErasureStatus, LegalBasis
from domain.values import SYSTEM_USER_ID
from infrastructure.bootstrap import Container, bootstrap
from infrastructure.readmodels.personal_data import PersonalDataReads
from infrastructure.settings import Settings
from web import (
    i18n,
    personal_data_labels,  # noqa: F401 — registers the labels of the personal-data words
)

pdpa_cli = typer.Typer(
    help="Reporters' personal data (Thai PDPA): erasure requests and retention.", no_args_is_help=True
)


def console_source() -> str:
    return f"cli {getpass.getuser()}@{socket.gethostname()}"


def _refused(error: DomainError) -> None:
    typer.secho(f"Refused: {error.message} Nothing was recorded.", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def receipt_text(container: Container, request_reference: str, lang: str = "en") -> str:
    """The receipt as plain text, in one language: what was asked, decided and erased, and when; no personal data."""
    container.projections.catch_up()
    row = PersonalDataReads(container.engine).erasure_request(ErasureRequest.id_for(request_reference))
    if row is None:
        return ""
    with i18n.use_locale(lang) as t:
        lines = [
            t.gettext("Receipt of a personal-data erasure request"),
            f"{t.gettext('Reference of the request')}: {row['request_reference']}",
            f"{t.gettext('Received')}: {t.datetime(row['received_at'])}",
            f"{t.gettext('Who asked')}: {t.label(ErasureRequester(row['requester']))}",
            f"{t.gettext('How the request came')}: {t.label(ErasureChannel(row['channel']))}",
            f"{t.gettext('Legal basis')}: {t.label(LegalBasis(row['legal_basis']))} {row['basis_text']}".rstrip(),
            f"{t.gettext('Decision')}: {t.label(ErasureStatus(row['status']))}"
            + (f" — {row['decision_reason']}" if row["status"] == "refused" and row["decision_reason"] else ""),
        ]
        if row["erased_at"]:
            lines.append(f"{t.gettext('Incidents it touches')}: {', '.join(row['references'])}")
            lines.append(f"{t.gettext('Erased')}: {t.datetime(row['erased_at'])}")
        return "\n".join(lines)


@pdpa_cli.command("erase")
def erase(
    reference: Annotated[str, typer.Option("--reference", help="The request's own reference, e.g. PDPA-2569/017")],
    requester: Annotated[ErasureRequester, typer.Option(case_sensitive=False)],
    channel: Annotated[ErasureChannel, typer.Option(case_sensitive=False)],
    basis: Annotated[LegalBasis, typer.Option(case_sensitive=False)],
    phone: Annotated[str, typer.Option(help="The reporter's phone number (matched on the sealed data)")] = "",
    incident: Annotated[str, typer.Option(help="Or the reference of one of the reporter's incidents")] = "",
    basis_text: Annotated[str, typer.Option(help="The legal basis in words (required for 'other')")] = "",
    yes: Annotated[bool, typer.Option("--yes", help="Record the request and erase; without it, only show")] = False,
    lang: Annotated[str, typer.Option(help="The receipt's language: th or en")] = "en",
) -> None:
    """Take an erasure request: find the reporter's incidents, record the request, destroy the key, print the receipt."""
    container = bootstrap(Settings())
    app = container.app
    try:
        key_ids, matches = app.erasure_matches(phone=phone, reference=incident) if (phone or incident) else ([], [])
    except DomainError as error:
        _refused(error)
    if not key_ids:
        typer.secho(
            "No contact that can still be erased matches (no report from this number, or erased already). "
            "Nothing was recorded.",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(f"Incidents it touches: {' '.join(m.reference for m in matches) or '(not in the read model yet)'}")
    if not yes:
        typer.echo("Nothing was recorded. Run again with --yes to record the request and erase.")
        return
    try:
        request = app.receive_erasure_request(
            request_reference=reference,
            requester=requester,
            channel=channel,
            legal_basis=basis,
            basis_text=basis_text,
            phone=phone,
            incident_reference=incident,
            by=SYSTEM_USER_ID,
        )
    except DomainError as error:
        _refused(error)
    app.carry_out_erasure(request.id, by=SYSTEM_USER_ID, reason=console_source())
    typer.echo(receipt_text(container, reference, lang))


@pdpa_cli.command("refuse")
def refuse(
    reference: Annotated[str, typer.Argument(help="The request's reference")],
    reason: Annotated[str, typer.Option(help="Why the request is refused")],
) -> None:
    """Refuse a recorded request, with its reason."""
    container = bootstrap(Settings())
    try:
        container.app.refuse_erasure(ErasureRequest.id_for(reference), reason=reason, by=SYSTEM_USER_ID)
    except DomainError as error:
        _refused(error)
    typer.echo(receipt_text(container, reference))


@pdpa_cli.command("receipt")
def receipt(reference: str, lang: Annotated[str, typer.Option(help="th or en")] = "en") -> None:
    """Print a request's receipt."""
    text = receipt_text(bootstrap(Settings()), reference, lang)
    if not text:
        typer.secho(f"There is no erasure request {reference}.", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    typer.echo(text)


@pdpa_cli.command("retention")
def retention(days: Annotated[int | None, typer.Option(help="Default: SSZ_CONTACT_RETENTION_DAYS")] = None) -> None:
    """Run the retention period once: erase the contacts of reporters all of whose incidents closed long enough ago."""
    container = bootstrap(Settings())
    days = container.settings.contact_retention_days if days is None else days
    if days <= 0:
        typer.echo("No retention period is set (SSZ_CONTACT_RETENTION_DAYS or --days): nothing to do.")
        return
    container.projections.catch_up()
    erased = container.app.erase_expired_contacts(days=days)
    typer.echo(f"Erased the contacts of {len(erased)} reporter(s), each recorded as a retention erasure.")
