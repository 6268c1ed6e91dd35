"""The ledger's signed checkpoints as pages for people and witnesses: the latest (`/ledger/checkpoint`) and the
history (`/ledger/checkpoints?since=SIZE`), each also as plain text exactly as signed (`?format=text`), to be
saved and compared later with `ssz ledger verify --from-checkpoint`. Transparency logs publish their checkpoints to
anyone; this is a police system, so they are shown to the people who audit or rely on it, signed in: auditors,
supervisors, administrators and partners (who keep a witness copy). Integrations read them at /api/v1/ledger."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import PlainTextResponse, Response

from domain.values import Role
from infrastructure.checkpoints import configured_signer
from infrastructure.web_sessions import SignedIn
from web import i18n, parse
from web.access import guard
from web.deps import container_of
from web.pages import render

router = APIRouter(include_in_schema=False)
WITNESSES = guard(Role.AUDITOR, Role.SUPERVISOR, Role.ADMIN, Role.PARTNER)
Witness = Annotated[SignedIn, Depends(WITNESSES)]
HISTORY_LIMIT = 1000
NOTE = "text/plain; charset=utf-8"


def _text_wanted(format: str | None) -> bool:
    if format in (None, "", "html"):
        return False
    if format == "text":
        return True
    raise HTTPException(status_code=422, detail=i18n.gettext("The format may be “html” or “text”."))


def _public_key(request: Request) -> str:
    return str(configured_signer(container_of(request).settings).verifier)


@router.get("/ledger/checkpoint")
def latest_checkpoint(request: Request, user: Witness, format: str | None = None) -> Response:
    as_text = _text_wanted(format)
    latest: dict[str, Any] | None = container_of(request).ledger.latest_checkpoint()
    if latest is None:
        raise HTTPException(status_code=404, detail=i18n.gettext("The ledger has not signed a checkpoint yet."))
    if as_text:
        return PlainTextResponse(latest["note"], media_type=NOTE)
    return render(request, "ledger/checkpoint.html", checkpoint=latest, public_key=_public_key(request))


@router.get("/ledger/checkpoints")
def checkpoint_history(request: Request, user: Witness, since: str = "0", format: str | None = None) -> Response:
    as_text = _text_wanted(format)
    try:
        smallest = parse.whole_number(since or "0", low=0, high=10**12 - 1)
    except parse.Unreadable as error:
        raise HTTPException(status_code=422, detail=error.message) from None
    rows = container_of(request).ledger.checkpoints(smallest, HISTORY_LIMIT)
    if as_text:  # each note ends in a newline; one blank line between two notes (a note's body has none)
        return PlainTextResponse("\n".join(row["note"] for row in rows), media_type=NOTE)
    later = rows[-1]["tree_size"] + 1 if len(rows) == HISTORY_LIMIT else None
    return render(
        request,
        "ledger/checkpoints.html",
        checkpoints=rows,
        since=smallest,
        later=later,
        public_key=_public_key(request),
    )
