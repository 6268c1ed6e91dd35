"""The labels of the personal-data words (why a contact was read, who asked for an erasure, how, on which basis), added
to the UI's labels (web/i18n_labels.py, where the names of their fields are) and to the kinds the templates' `label()`
knows (web/pages.py)."""

from __future__ import annotations

from enum import Enum

from domain.personal_data import (
    ContactReadKind,
    ContactReadOutcome,
    ContactReadPurpose,
    ErasureChannel,
    ErasureRequester,
    ErasureStatus,
    LegalBasis,
)
from web.i18n_labels import LABELS, N_
from web.pages import KINDS

PD_LABELS: dict[Enum, str] = {
    ContactReadPurpose.CALL_BACK: N_("Call the reporter back", "ContactReadPurpose"),
    ContactReadPurpose.INVESTIGATION: N_("Investigation", "ContactReadPurpose"),
    ContactReadPurpose.COURT_REQUEST: N_("Court request", "ContactReadPurpose"),
    ContactReadPurpose.OTHER: N_("Other (say which)", "ContactReadPurpose"),
    ContactReadKind.INCIDENT: N_("One incident's reporter", "ContactReadKind"),
    ContactReadKind.PHONE_LOOKUP: N_("Reports from a phone number", "ContactReadKind"),
    ContactReadOutcome.SHOWN: N_("shown", "ContactReadOutcome"),
    ContactReadOutcome.ERASED: N_("already erased: nothing shown", "ContactReadOutcome"),
    ErasureRequester.DATA_SUBJECT: N_("The reporter themself", "ErasureRequester"),
    ErasureRequester.REPRESENTATIVE: N_("A legal representative", "ErasureRequester"),
    ErasureRequester.AUTHORITY: N_("An authority", "ErasureRequester"),
    ErasureRequester.RETENTION: N_("Nobody: the retention period ended", "ErasureRequester"),
    ErasureChannel.IN_PERSON: N_("In person", "ErasureChannel"),
    ErasureChannel.PHONE: N_("By phone", "ErasureChannel"),
    ErasureChannel.LETTER: N_("By letter", "ErasureChannel"),
    ErasureChannel.EMAIL: N_("By e-mail", "ErasureChannel"),
    ErasureChannel.WEB_FORM: N_("Web form", "ErasureChannel"),
    ErasureChannel.RETENTION: N_("Scheduled retention job", "ErasureChannel"),
    LegalBasis.PDPA_ERASURE: N_("PDPA section 33: right to erasure", "LegalBasis"),
    LegalBasis.CONSENT_WITHDRAWN: N_("PDPA section 19: consent withdrawn", "LegalBasis"),
    LegalBasis.COURT_ORDER: N_("Court order", "LegalBasis"),
    LegalBasis.RETENTION_EXPIRED: N_("Retention period ended", "LegalBasis"),
    LegalBasis.OTHER: N_("Other (say which)", "LegalBasis"),
    ErasureStatus.RECEIVED: N_("Received, not decided", "ErasureStatus"),
    ErasureStatus.REFUSED: N_("Refused", "ErasureStatus"),
    ErasureStatus.APPROVED: N_("Approved, erasure not finished", "ErasureStatus"),
    ErasureStatus.ERASED: N_("Erased", "ErasureStatus"),
}
LABELS.update(PD_LABELS)
KINDS.update(
    {
        "read_purpose": ContactReadPurpose,
        "read_kind": ContactReadKind,
        "read_outcome": ContactReadOutcome,
        "requester": ErasureRequester,
        "erasure_channel": ErasureChannel,
        "legal_basis": LegalBasis,
        "erasure_status": ErasureStatus,
    }
)
