"""An aggregate's timeline in words, in the reader's language, from the timeline read model's rows."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.patrol import FAR_FROM_BOX, NO_POSITION, TOO_FAST
from web import i18n
from web.pages import label


def plain(value: Any) -> Any:
    """The store's tagged values ({"_type_": …, "_data_": …}) as plain data."""
    if isinstance(value, dict):
        if "_type_" in value and "_data_" in value:
            return plain(value["_data_"])
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _call_sign(p: dict[str, Any], units: dict[str, str]) -> str:
    """The event's call sign, or the unit's by its id: the log keeps a UUID as 32 hex digits, the read models as
    text with dashes, so both are read as UUIDs."""
    if p.get("call_sign"):
        return p["call_sign"]
    try:
        unit_id = str(UUID(str(p.get("unit_id"))))
    except ValueError:
        return "?"
    return units.get(unit_id) or next((sign for key, sign in units.items() if _same_id(key, unit_id)), "?")


def _same_id(key: str, unit_id: str) -> bool:
    try:
        return str(UUID(key)) == unit_id
    except ValueError:
        return False


def flag_reason(reason: str | None, finding: dict[str, Any] | None) -> str:
    """Why a visit was flagged, in the reader's language: the system's finding from its figures; a supervisor's flag
    (and a flag recorded before findings were) in the words it was given."""
    _ = i18n.gettext
    finding = plain(finding)
    if not isinstance(finding, dict):
        return reason or ""
    n = i18n.current().number
    if finding.get("kind") == FAR_FROM_BOX:
        return _("Scanned %(metres)s m from red box %(code)s") % {
            "metres": n(finding["metres"]),
            "code": finding["box"],
        }
    if finding.get("kind") == NO_POSITION:
        return _("No position: the phone did not share where it was, so the visit does not count")
    if finding.get("kind") == TOO_FAST:
        return _("%(metres)s m from red box %(code)s in %(duration)s: faster than a patrol can travel") % {
            "metres": n(finding["metres"]),
            "code": finding["from_box"],
            "duration": i18n.current().duration(finding["seconds"]),
        }
    return reason or ""


def describe(row: dict[str, Any], units: dict[str, str]) -> str:
    """One sentence for one event. `units` maps unit ids to call signs (for events that name only the id)."""
    _ = i18n.gettext
    p = plain(row["params"])
    kind = f"{row['aggregate']}.{row['event']}"
    if kind == "Incident.Reported":
        return _("Reported by %(channel)s: %(category)s, %(priority)s, %(community)s — %(location)s") % {
            "channel": label("channel", p.get("channel")),
            "category": label("category", p.get("category")),
            "priority": label("priority", p.get("priority")),
            "community": label("community", p.get("community")),
            "location": p.get("location", ""),
        }
    if kind == "Incident.Triaged":
        return _("Triaged: %(category)s, %(priority)s") % {
            "category": label("category", p.get("category")),
            "priority": label("priority", p.get("priority")),
        }
    if kind == "Incident.UnitDispatched":
        return _("Unit %(unit)s dispatched") % {"unit": _call_sign(p, units)}
    if kind == "Incident.UnitEnRoute":
        return _("Unit %(unit)s en route") % {"unit": _call_sign(p, units)}
    if kind == "Incident.UnitOnScene":
        return _("Unit %(unit)s on scene") % {"unit": _call_sign(p, units)}
    if kind == "Incident.UnitCleared":
        return _("Unit %(unit)s cleared") % {"unit": _call_sign(p, units)}
    if kind == "Incident.Resolved":
        return _("Resolved: %(outcome)s — %(summary)s") % {
            "outcome": label("outcome", p.get("outcome")),
            "summary": p.get("summary", ""),
        }
    if kind == "Incident.Closed":
        return _("Closed")
    if kind == "Incident.Reopened":
        return _("Reopened")
    if kind == "Incident.Cancelled":
        return _("Cancelled: %(why)s") % {"why": label("cancel_reason", p.get("cancel_reason"))}
    if kind == "Incident.DuplicateLinked":
        return _("%(reference)s was cancelled as a duplicate of this incident") % {
            "reference": p.get("duplicate_reference", "")
        }
    if kind == "Incident.NoteAdded":
        return _("Note: %(text)s") % {"text": p.get("text", "")}
    if kind == "CameraAlert.Raised":
        return _("Camera %(camera)s raised an alert: %(kind)s (score %(score)s %%)") % {
            "camera": p.get("camera_code", ""),
            "kind": label("alert_kind", p.get("kind")),
            "score": i18n.current().number(round(float(p.get("score") or 0) * 100)),
        }
    if kind == "CameraAlert.Acknowledged":
        return _("Alert acknowledged")
    if kind == "CameraAlert.Dismissed":
        return _("Dismissed as a false alarm: %(why)s") % {"why": label("false_alarm", p.get("false_alarm"))}
    if kind == "CameraAlert.Escalated":
        return _("Escalated to incident %(reference)s") % {"reference": p.get("reference", "")}
    if kind == "CameraAlert.Closed":
        return _("Alert closed")
    if kind == "CameraAlert.SnapshotPurged":
        return _("Snapshot %(digest)s… deleted: the camera keeps snapshots %(days)s days") % {
            "digest": str(p.get("digest", ""))[:12],
            "days": p.get("retention_days", ""),
        }
    if kind == "CameraAlert.PersonLeft":
        return _("The person left after %(seconds)s s") % {
            "seconds": i18n.current().number(round(float(p.get("stayed_seconds") or 0)))
        }
    if kind == "CameraAlert.PersonLoitered":
        return _("The person has stayed %(seconds)s s: past the loitering time") % {
            "seconds": i18n.current().number(round(float(p.get("stayed_seconds") or 0)))
        }
    if kind == "PatrolVisit.Logged":
        text = _("Checked in at red box %(code)s") % {"code": p.get("box_code", "")}
        if not p.get("position"):
            text += " (" + _("no position") + ")"
        return text + (" — " + p["observation"] if p.get("observation") else "")
    if kind == "PatrolVisit.ObservationAdded":
        return _("Observation: %(text)s") % {"text": p.get("text", "")}
    if kind == "PatrolVisit.Flagged":
        return _("Visit flagged")
    if kind == "PatrolVisit.Voided":
        return _("Visit voided")
    if kind == "RedBox.Registered":
        return _("Red box %(code)s registered: %(name)s") % {
            "code": p.get("code", ""),
            "name": p.get("name_th" if i18n.current().locale == "th" else "name_en", ""),
        }
    if kind == "RedBox.TokenRotated":
        return _("New QR code (version %(version)s); printed older codes are void") % {
            "version": p.get("token_version", "")
        }
    if kind == "RedBox.Moved":
        return _("Red box moved")
    if kind == "RedBox.Retired":
        return _("Red box retired")
    if kind == "RefusedCheckIn.Recorded":
        return _("Check-in refused at %(code)s: %(why)s") % {
            "code": p.get("box_code", ""),
            "why": label("refusal", p.get("refusal")),
        }
    if kind == "Incident.DispatchAcknowledged":  # the map and the live phone (issue 18)
        return _("Unit %(unit)s confirmed: received") % {"unit": _call_sign(p, units)}
    if kind in ("PatrolUnit.PositionReported", "Camera.Moved"):
        where = plain(p.get("position")) or {}
        text = _("Position: %(lat)s, %(lon)s") % {"lat": where.get("lat", "?"), "lon": where.get("lon", "?")}
        if kind == "PatrolUnit.PositionReported":
            text += " " + _("(± %(metres)s m)") % {"metres": i18n.current().number(round(p.get("accuracy_m") or 0))}
            text += (" — " + _("imprecise, not used for suggestions")) if p.get("imprecise") else ""
        return text
    return _more(kind, p, units) or _("%(what)s recorded") % {"what": f"{row['aggregate']} {row['event']}"}


def _more(kind: str, p: dict[str, Any], units: dict[str, str]) -> str | None:
    """The accounts', units', rounds', cameras' and books' events in words: without these, a Thai auditor read
    "บันทึกเหตุการณ์ UserAccount Created" for a third of the log."""
    _ = i18n.gettext
    n = i18n.current().number
    simple = {
        "UserAccount.Disabled": _("Account disabled"),
        "UserAccount.Enabled": _("Account enabled again"),
        "UserAccount.PasswordReset": _("Password reset by an administrator"),
        "UserAccount.PasswordChanged": _("Password changed by its holder"),
        "PatrolUnit.WentOffDuty": _("Off duty"),
        "PatrolUnit.Released": _("Released from its incident"),
        "PatrolUnit.Retired": _("Unit retired"),
        "OfficerRound.Begun": _("Patrol round begun"),
        "OfficerRound.Visited": _("Red box visit counted in the round"),
        "Camera.Retired": _("Camera retired"),
        "CameraAlert.ClipAttached": _("Video clip attached"),
        "ShiftHandover.Acknowledged": _("Handover acknowledged by the incoming shift"),
        "ErasureRequest.Refused": _("Erasure request refused"),
        "ErasureRequest.Approved": _("Erasure request approved"),
        "ContactRead.Recorded": _("A reporter's contact was read"),
    }
    if kind in simple:
        return simple[kind]
    if kind == "UserAccount.Created":
        return _("Account %(username)s created for %(name)s, role %(role)s") % {
            "username": p.get("username", ""),
            "name": p.get("display_name", ""),
            "role": label("role", p.get("role")),
        }
    if kind == "UserAccount.RoleChanged":
        return _("Role changed to %(role)s") % {"role": label("role", p.get("role"))}
    if kind == "PatrolUnit.Registered":
        return _("Unit %(unit)s registered: %(kind)s") % {
            "unit": p.get("call_sign", ""),
            "kind": label("unit_kind", p.get("kind")),
        }
    if kind == "PatrolUnit.WentOnDuty":
        return _("On duty, crew of %(count)s") % {"count": n(len(p.get("officer_ids") or []))}
    if kind in ("PatrolUnit.Assigned", "PatrolUnit.Reassigned"):
        return _("Assigned to incident %(reference)s") % {"reference": p.get("reference", "")}
    if kind == "OfficerRound.Crewed":
        return _("Joined the crew of unit %(unit)s") % {"unit": _call_sign(p, units)}
    if kind == "ReferenceBook.Opened":
        return _("Reference book opened for the year %(year)s") % {"year": p.get("year_be", "")}
    if kind == "ReferenceBook.ReferenceIssued":
        return _("Reference number %(number)s issued") % {"number": p.get("number", "")}
    if kind == "Camera.Registered":
        return _("Camera %(code)s registered: %(name)s") % {"code": p.get("code", ""), "name": p.get("name", "")}
    if kind == "Camera.ZonesSet":
        return _("Detection zones set: %(count)s") % {"count": n(len(p.get("zones") or []))}
    if kind == "Camera.RulesSet":
        return _("Detection rules set: %(count)s") % {"count": n(len(p.get("rules") or []))}
    if kind == "Camera.RetentionSet":
        return _("Snapshots kept %(days)s days") % {"days": p.get("days", "")}
    if kind == "ShiftHandover.HandedOver":
        return _("Shift handed over")
    if kind == "ErasureRequest.Erased":
        return _("Contact erased: %(count)s keys destroyed") % {"count": n(p.get("keys_destroyed") or 0)}
    return None


def timeline_in_words(
    rows: list[dict[str, Any]], names: dict[UUID, str], units: dict[str, str]
) -> list[dict[str, Any]]:
    return [
        {
            **row,
            "text": describe(row, units),
            "actor": names.get(row["actor_id"]) or label("role", row["actor_role"]),
            "actor_is_user": row["actor_id"] in names,  # the system and API keys have no history page of their own
            **(
                {"reason": flag_reason(row.get("reason"), plain(row["params"]).get("finding"))}
                if row["aggregate"] == "PatrolVisit" and row["event"] == "Flagged"
                else {}
            ),
        }
        for row in rows
    ]
