"""The tamper-evident log over the JSON API: its signed checkpoints, and proofs that anyone can check against
one (RFC 9162 audit paths and consistency proofs, hashes in base64). Registered beside the other API modules
(web/api/__init__.py: `for module in (incidents, alerts, ledger)`)."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from infrastructure.api_keys import ApiCaller
from infrastructure.checkpoints import NoteError
from infrastructure.readmodels.ledger_reads import LedgerReads, NotInLedger
from web.access import API_READ
from web.api.models import PREFIX
from web.api.problems import ApiProblem, known_query_only, responses
from web.deps import container_of

router = APIRouter(prefix=f"{PREFIX}/ledger", dependencies=[Depends(known_query_only)], tags=["ledger"])
Reader = Annotated[ApiCaller, Depends(API_READ)]


class CheckpointOut(BaseModel):
    tree_size: int
    root: str  # base64, as in the note
    note: str  # the signed note, exactly as signed
    signed_at: datetime


class InclusionOut(BaseModel):
    position: int
    tree_size: int
    notification_id: int
    leaf_hash: str
    leaf_entry: str  # the event's canonical bytes (README, "Tamper-evident log"), base64
    path: list[str]


class WitnessOut(BaseModel):
    tree_size: int  # the witness's checkpoint's
    consistent: bool  # the ledger's tree of that size has its root
    detail: str
    latest: CheckpointOut | None  # the latest checkpoint signed
    proof: list[str]  # RFC 9162 consistency proof from tree_size to the latest's size (base64), when consistent


class ConsistencyOut(BaseModel):
    first: int
    second: int
    proof: list[str]


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def _reads(request: Request) -> LedgerReads:
    return container_of(request).ledger


def _refused(error: ValueError, field: str) -> ApiProblem:
    return ApiProblem(
        422, "invalid", "The request was not valid", str(error), errors=[{"field": field, "message": str(error)}]
    )


def _checkpoint(row: dict[str, Any]) -> CheckpointOut:
    return CheckpointOut(
        tree_size=row["tree_size"], root=_b64(row["root"]), note=row["note"], signed_at=row["signed_at"]
    )


def _latest(request: Request) -> dict[str, Any]:
    row = _reads(request).latest_checkpoint()
    if row is None:
        raise ApiProblem(404, "not-found", "No checkpoint yet", "The ledger has not signed a checkpoint yet.")
    return row


@router.get(
    "/checkpoint",
    response_model=CheckpointOut,
    summary="The latest signed checkpoint",
    responses=responses(401, 403, 404, 422, 429),
)
def latest_checkpoint(request: Request, caller: Reader) -> CheckpointOut:
    return _checkpoint(_latest(request))


@router.get(
    "/checkpoint/note",
    response_class=PlainTextResponse,
    summary="The latest checkpoint as signed (text)",
    responses=responses(401, 403, 404, 422, 429),
)
def latest_checkpoint_note(request: Request, caller: Reader) -> PlainTextResponse:
    return PlainTextResponse(_latest(request)["note"])


@router.get(
    "/checkpoints",
    response_model=list[CheckpointOut],
    summary="Signed checkpoints, oldest first",
    responses=responses(401, 403, 422, 429),
)
def checkpoint_history(
    request: Request,
    caller: Reader,
    since: Annotated[int, Query(ge=0, le=2**62, description="the smallest tree size")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[CheckpointOut]:
    return [_checkpoint(row) for row in _reads(request).checkpoints(since, limit)]


@router.get(
    "/inclusion",
    response_model=InclusionOut,
    summary="The audit path of one event",
    responses={**responses(401, 403, 404, 422, 429), 304: {"description": "Not modified (If-None-Match)"}},
)
def inclusion(
    request: Request,
    caller: Reader,
    position: Annotated[int | None, Query(ge=0, le=2**62, description="the leaf's place in the tree")] = None,
    notification_id: Annotated[int | None, Query(ge=1, le=2**62, description="or the event's notification id")] = None,
    tree_size: Annotated[int | None, Query(ge=1, le=2**62, description="the latest checkpoint's when omitted")] = None,
) -> Response:
    if (position is None) == (notification_id is None):
        raise ApiProblem(
            422,
            "invalid",
            "The request was not valid",
            "Give either position or notification_id.",
            errors=[{"field": "position", "message": "give either position or notification_id"}],
        )
    if tree_size is not None and position is not None and _unchanged(request, _proof_tag(position, tree_size)):
        return Response(status_code=304, headers=_proof_caching(position, tree_size, fixed=True))
    try:  # one connection, at most two statements (infrastructure/readmodels/ledger_reads.py, LedgerReads.proof)
        proof = _reads(request).proof(position=position, notification_id=notification_id, size=tree_size)
    except NotInLedger as error:
        raise ApiProblem(404, "not-found", "Not in the ledger", str(error)) from None
    except ValueError as error:
        raise _refused(error, "tree_size" if "tree size" in str(error) else "position") from None
    caching = _proof_caching(proof["position"], proof["tree_size"], fixed=tree_size is not None)
    if _unchanged(request, caching["ETag"]):  # (the latest checkpoint's: not signed anew since the client's copy)
        return Response(status_code=304, headers=caching)
    # Sent as it is (plain strings and integers, InclusionOut's fields): not validated and serialized again through
    # the response model (7 % of the server's samples under load, py-spy --gil).
    return JSONResponse(
        {
            "position": proof["position"],
            "tree_size": proof["tree_size"],
            "notification_id": proof["notification_id"],
            "leaf_hash": _b64(proof["leaf_hash"]),
            "leaf_entry": _b64(proof["leaf_entry"] or b""),
            "path": [_b64(h) for h in proof["path"]],
        },
        headers=caching,
    )


def _proof_tag(position: int, size: int) -> str:
    return f'"leaf-{position}-of-{size}"'


def _proof_caching(position: int, size: int, *, fixed: bool) -> dict[str, str]:
    """A proof for a leaf in the tree of a given size never changes (the tree only grows; RFC 9162): asked with its
    tree size, a client may keep it for good. Against the latest checkpoint, it checks again each time (the ETag
    names the size, so an unchanged answer is a 304 without its body)."""
    return {
        "ETag": _proof_tag(position, size),
        "Cache-Control": "private, max-age=31536000, immutable" if fixed else "private, no-cache",
    }


def _unchanged(request: Request, tag: str) -> bool:
    return tag in {t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")}


@router.get(
    "/consistency",
    response_model=ConsistencyOut,
    summary="A consistency proof between two tree sizes",
    responses=responses(401, 403, 422, 429),
)
def consistency(
    request: Request,
    caller: Reader,
    first: Annotated[int, Query(ge=0, le=2**62)],
    second: Annotated[int, Query(ge=0, le=2**62)],
) -> ConsistencyOut:
    if first > second:
        raise ApiProblem(
            422,
            "invalid",
            "The request was not valid",
            f"first ({first}) is larger than second ({second}).",
            errors=[{"field": "first", "message": "must not be larger than second"}],
        )
    try:
        proof = _reads(request).consistency(first, second)
    except ValueError as error:
        raise _refused(error, "second") from None
    return ConsistencyOut(first=first, second=second, proof=[_b64(h) for h in proof])


@router.post(
    "/witness",
    response_model=WitnessOut,
    summary="Check a checkpoint kept elsewhere against the ledger",
    responses=responses(401, 403, 422, 429),
    openapi_extra={"requestBody": {"required": True, "content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def witness(request: Request, caller: Reader) -> WitnessOut:
    """Send a signed checkpoint as it was published (text/plain, the note exactly as signed: a partner report's, a
    copy saved from `GET /checkpoint/note`). Answered: whether the ledger's tree of its size still has its root, and a
    consistency proof from it to the latest checkpoint. A note that is not a checkpoint of this ledger, or whose
    signature does not verify over its text: 422, saying which."""
    body = await request.body()
    try:
        note = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _note_refused("the body is not UTF-8 text") from None
    if not note.strip():
        raise _note_refused("the body is empty: send the signed checkpoint as text")
    container = container_of(request)
    verifier = container.projections.by_name["ledger"].signer.verifier
    try:
        answer = await run_in_threadpool(_reads(request).witness, note, verifier)
    except NoteError as error:
        raise _note_refused(str(error)) from None
    latest = answer["latest"]
    return WitnessOut(
        tree_size=answer["tree_size"],
        consistent=answer["consistent"],
        detail=answer["detail"],
        latest=_checkpoint(latest) if latest else None,
        proof=[_b64(h) for h in answer["proof"]],
    )


def _note_refused(message: str) -> ApiProblem:
    return ApiProblem(
        422, "invalid", "Not a checkpoint of this ledger", message, errors=[{"field": "body", "message": message}]
    )
