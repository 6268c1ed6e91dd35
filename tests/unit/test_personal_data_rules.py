"""The personal-data aggregates' own rules: a reading needs a reason and a reader who may read contacts; an erasure
request names its keys and its basis, is decided once, and is carried out only once approved."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from domain.errors import InvalidInput, NotPermitted, TransitionRefused
from domain.personal_data import (
    ContactRead,
    ContactReadKind,
    ContactReadOutcome,
    ContactReadPurpose,
    ErasureChannel,
    ErasureRequest,
    ErasureRequester,
    ErasureStatus,
    LegalBasis,
)
from domain.values import SYSTEM, Actor, Role

NOW = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)
DISPATCHER, ADMIN, AUDITOR = (Actor(uuid4(), r) for r in (Role.DISPATCHER, Role.ADMIN, Role.AUDITOR))


def reading(**changes):  # noqa: ANN003, ANN201
    fields = dict(
        kind=ContactReadKind.INCIDENT,
        purpose=ContactReadPurpose.CALL_BACK,
        reason="",
        incident_ids=[uuid4()],
        references=["CR-2569-000001"],
        source="web 10.0.0.7",
        outcome=ContactReadOutcome.SHOWN,
        actor=DISPATCHER,
        occurred_at=NOW,
    )
    return ContactRead.record(**{**fields, **changes})


def request(**changes):  # noqa: ANN003, ANN201
    fields = dict(
        request_reference="PDPA-2569/017",
        requester=ErasureRequester.DATA_SUBJECT,
        channel=ErasureChannel.LETTER,
        legal_basis=LegalBasis.PDPA_ERASURE,
        basis_text="",
        key_ids=["k1", "k1"],
        references=["CR-2569-000002", "CR-2569-000001"],
        actor=ADMIN,
        occurred_at=NOW,
    )
    return ErasureRequest.receive(**{**fields, **changes})


def test_a_reading_needs_a_reason_a_source_an_incident_and_a_reader_who_may_read_contacts() -> None:
    assert reading().purpose is ContactReadPurpose.CALL_BACK
    with pytest.raises(InvalidInput):
        reading(purpose=None)
    with pytest.raises(InvalidInput):
        reading(purpose=ContactReadPurpose.OTHER, reason="  ")
    assert reading(purpose=ContactReadPurpose.OTHER, reason="Victim support").purpose is ContactReadPurpose.OTHER
    with pytest.raises(InvalidInput):
        reading(source="")
    with pytest.raises(InvalidInput):
        reading(incident_ids=[])
    with pytest.raises(NotPermitted):
        reading(actor=AUDITOR)
    assert reading(actor=SYSTEM).version == 1  # the console


def test_an_erasure_request_is_decided_once_and_carried_out_only_once_approved() -> None:
    received = request()
    assert received.id == ErasureRequest.id_for(" pdpa-2569/017 ") and received.key_ids == ["k1"]
    assert received.references == ["CR-2569-000001", "CR-2569-000002"]
    with pytest.raises(TransitionRefused):
        received.record_erasure(keys_destroyed=1, references=[], actor=ADMIN, occurred_at=NOW)
    with pytest.raises(InvalidInput):
        received.refuse(reason="", actor=ADMIN, occurred_at=NOW)
    received.approve(actor=ADMIN, occurred_at=NOW)
    with pytest.raises(TransitionRefused):
        received.refuse(reason="Too late", actor=ADMIN, occurred_at=NOW)
    received.record_erasure(keys_destroyed=1, references=["CR-2569-000003"], actor=ADMIN, occurred_at=NOW)
    assert received.status is ErasureStatus.ERASED and "CR-2569-000003" in received.references
    refused = request()
    refused.refuse(reason="Evidence in an open case", actor=ADMIN, occurred_at=NOW)
    with pytest.raises(TransitionRefused):
        refused.approve(actor=ADMIN, occurred_at=NOW)


def test_an_erasure_request_names_its_keys_its_reference_and_its_basis_and_only_an_administrator_takes_it() -> None:
    with pytest.raises(InvalidInput):
        request(key_ids=[])
    for bad in ("", "PDPA 2569/017", "x" * 41, "-PDPA"):
        with pytest.raises(InvalidInput):
            request(request_reference=bad)
    with pytest.raises(InvalidInput):
        request(legal_basis=LegalBasis.OTHER)
    assert request(legal_basis=LegalBasis.OTHER, basis_text="Consent of a minor's guardian withdrawn").version == 1
    with pytest.raises(NotPermitted):
        request(actor=DISPATCHER)
