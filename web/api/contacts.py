"""A reporter's contact over the JSON API: read on purpose, for a key with the `contacts` scope whose account may read
contacts. The reading is recorded as an event (who, role, which incident, why, from where) before the contact is
given, and the answer is kept in no cache."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ConfigDict, Field

from domain.incident import Incident
from domain.permissions import Action
from domain.personal_data import ContactReadPurpose
from domain.values import MAX_SHORT_TEXT
from infrastructure.api_keys import ApiCaller, Scope
from web.access import ApiGuard, roles_for
from web.api.incident_models import ReporterOut
from web.api.incidents import WRITE, Reference, _run, not_found
from web.api.models import PREFIX, Text
from web.api.models import Request as Body
from web.api.problems import known_query_only, responses
from web.deps import Zone

router = APIRouter(prefix=PREFIX, dependencies=[Depends(known_query_only)])
API_CONTACTS = ApiGuard(Scope.CONTACTS, roles_for(Action.READ_REPORTER_CONTACT))
ApiContactReader = Annotated[ApiCaller, Depends(API_CONTACTS)]


class ContactReadIn(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"purpose": "call_back"}]})

    purpose: ContactReadPurpose = Field(description="Why the contact is needed")
    reason: Text = Field("", max_length=MAX_SHORT_TEXT, description="In words; required when `purpose` is `other`")


class ContactOut(ReporterOut):
    reference: str
    read_id: str = Field(description="The recorded reading (an event of the log)")


@router.post(
    "/incidents/{reference}/contact",
    response_model=ContactOut,
    tags=["reads"],
    summary="Read the reporter's contact (recorded)",
    responses=responses(*WRITE),
)
def read_contact(
    reference: Reference,
    body: ContactReadIn,
    request: Request,
    response: Response,
    zone: Zone,
    caller: ApiContactReader,
) -> ContactOut:
    """The reporter's name and phone, for a key with the `contacts` scope. Each call is recorded as a reading of
    personal data, with the purpose given; 404 when the report left no contact (nothing is recorded then)."""
    response.headers["cache-control"] = "no-store"
    incident_id = Incident.id_for(reference)
    client = request.client.host if request.client else "unknown"
    source = f"api {client} key {caller.prefix}"
    shown = _run(
        request,
        incident_id,
        reference,
        lambda: zone.app.read_contact(
            incident_id, by=caller.user_id, purpose=body.purpose, reason=body.reason, source=source
        ),
    )
    if shown is None:
        raise not_found(reference)
    if shown.erased:
        return ContactOut(reference=shown.reference, read_id=str(shown.read_id), erased=True)
    return ContactOut(
        reference=shown.reference, read_id=str(shown.read_id), name=shown.name, phone=shown.phone, erased=False
    )
