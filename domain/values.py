"""Value objects of the zone. Enums are plain `Enum` (not StrEnum) so that the event
store's transcodings, not JSON's str handling, decide how they round-trip."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import Enum
from uuid import UUID
from zoneinfo import ZoneInfo

from domain.errors import InvalidInput

BANGKOK = ZoneInfo("Asia/Bangkok")
BE_OFFSET = 543
MAX_TEXT = 4000
MAX_SHORT_TEXT = 300


class Priority(Enum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


class Category(Enum):
    ASSAULT = "assault"
    SEXUAL_HARASSMENT = "sexual_harassment"
    DOMESTIC_VIOLENCE = "domestic_violence"
    THEFT = "theft"
    BURGLARY = "burglary"
    ROBBERY = "robbery"
    DRUGS = "drugs"
    DISTURBANCE = "disturbance"
    SUSPICIOUS_PERSON = "suspicious_person"
    TRAFFIC_ACCIDENT = "traffic_accident"
    MISSING_PERSON = "missing_person"
    VANDALISM = "vandalism"
    FIRE = "fire"
    MEDICAL = "medical"
    OTHER = "other"


class Channel(Enum):
    PHONE_191 = "phone_191"
    WALK_IN = "walk_in"
    MOBILE_SOS = "mobile_sos"
    CCTV = "cctv"
    RED_BOX = "red_box"
    PATROL = "patrol"
    PARTNER = "partner"


class Community(Enum):
    KO_LOI = "ko_loi"
    THOET_PHRA_KIAT = "thoet_phra_kiat"
    KLONG_YAO = "klong_yao"
    RUA_LEK_NUEA = "rua_lek_nuea"
    RUA_LEK_TAI = "rua_lek_tai"
    SI_KOET = "si_koet"
    WAT_PHRA_KAEO = "wat_phra_kaeo"
    CHET_YOT = "chet_yot"
    RATCHADET_DAMRONG = "ratchadet_damrong"


COMMUNITY_NAMES_TH = {
    Community.KO_LOI: "เกาะลอย",
    Community.THOET_PHRA_KIAT: "เทิดพระเกียรติ",
    Community.KLONG_YAO: "กลองยาว",
    Community.RUA_LEK_NUEA: "รั้วเหล็กเหนือ",
    Community.RUA_LEK_TAI: "รั้วเหล็กใต้",
    Community.SI_KOET: "ศรีเกิด",
    Community.WAT_PHRA_KAEO: "วัดพระแก้ว",
    Community.CHET_YOT: "เจ็ดยอด",
    Community.RATCHADET_DAMRONG: "ราชเดชดำรง",
}
# Communities are proper names: in English, romanised (DESIGN.md).
COMMUNITY_NAMES_EN = {
    Community.KO_LOI: "Ko Loi",
    Community.THOET_PHRA_KIAT: "Thoet Phra Kiat",
    Community.KLONG_YAO: "Klong Yao",
    Community.RUA_LEK_NUEA: "Rua Lek Nuea",
    Community.RUA_LEK_TAI: "Rua Lek Tai",
    Community.SI_KOET: "Si Koet",
    Community.WAT_PHRA_KAEO: "Wat Phra Kaeo",
    Community.CHET_YOT: "Chet Yot",
    Community.RATCHADET_DAMRONG: "Ratchadet Damrong",
}


class Outcome(Enum):
    ARREST = "arrest"
    WARNING_GIVEN = "warning_given"
    MEDIATED = "mediated"
    ASSISTANCE_GIVEN = "assistance_given"
    REFERRED = "referred"
    REPORT_FILED = "report_filed"
    NO_OFFENCE_FOUND = "no_offence_found"
    GONE_ON_ARRIVAL = "gone_on_arrival"


class CancelReason(Enum):
    DUPLICATE = "duplicate"
    FALSE_REPORT = "false_report"
    WITHDRAWN = "withdrawn"


class IncidentStatus(Enum):
    REPORTED = "reported"
    DISPATCHED = "dispatched"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"


OPEN_INCIDENT_STATUSES = frozenset(
    {IncidentStatus.REPORTED, IncidentStatus.DISPATCHED, IncidentStatus.EN_ROUTE, IncidentStatus.ON_SCENE}
)


class Assignment(Enum):
    """Where one unit stands on one incident."""

    DISPATCHED = "dispatched"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    CLEARED = "cleared"


_FURTHEST_FIRST = (
    (Assignment.ON_SCENE, IncidentStatus.ON_SCENE),
    (Assignment.EN_ROUTE, IncidentStatus.EN_ROUTE),
    (Assignment.DISPATCHED, IncidentStatus.DISPATCHED),
)


def incident_status(phase: IncidentStatus, assignments: Iterable[Assignment]) -> IncidentStatus:
    """An incident's status: once resolved, closed or cancelled, that; while open, how far its furthest unit got."""
    if phase not in OPEN_INCIDENT_STATUSES:
        return phase
    states = set(assignments)
    for assignment, status in _FURTHEST_FIRST:
        if assignment in states:
            return status
    return IncidentStatus.REPORTED


class UnitKind(Enum):
    MOTORCYCLE = "motorcycle"
    CAR = "car"
    FOOT = "foot"
    BICYCLE = "bicycle"


class UnitStatus(Enum):
    OFF_DUTY = "off_duty"
    AVAILABLE = "available"
    ASSIGNED = "assigned"
    RETIRED = "retired"


class Role(Enum):
    DISPATCHER = "dispatcher"
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"
    PARTNER = "partner"
    ADMIN = "admin"
    SYSTEM = "system"


class AlertKind(Enum):
    MOTION_IN_ZONE = "motion_in_zone"
    PERSON = "person"  # a person, whatever the hour (the rule's schedule still applies)
    PERSON_AT_NIGHT = "person_at_night"
    LOITERING = "loitering"
    TAMPERED = "tampered"
    OFFLINE = "offline"


DETECTION_ALERT_KINDS = frozenset(
    {AlertKind.MOTION_IN_ZONE, AlertKind.PERSON, AlertKind.PERSON_AT_NIGHT, AlertKind.LOITERING}
)
PERSON_ALERT_KINDS = frozenset({AlertKind.PERSON, AlertKind.PERSON_AT_NIGHT})


class AlertStatus(Enum):
    RAISED = "raised"
    ACKNOWLEDGED = "acknowledged"
    DISMISSED = "dismissed"
    ESCALATED = "escalated"
    CLOSED = "closed"


class FalseAlarmReason(Enum):
    HEADLIGHTS = "headlights"
    ANIMAL = "animal"
    WEATHER = "weather"
    SHADOW = "shadow"
    AUTHORISED_PERSON = "authorised_person"
    OTHER = "other"


class PartnerSector(Enum):
    POLICE = "police"
    CITIZENS = "citizens"
    LOCAL_GOVERNMENT = "local_government"
    BUSINESS = "business"
    STATE_AGENCY = "state_agency"
    MEDIA = "media"


class VisitStatus(Enum):
    LOGGED = "logged"
    FLAGGED = "flagged"
    VOIDED = "voided"


class CheckInRefusal(Enum):
    """Why a red-box QR code was refused at check-in."""

    UNKNOWN_BOX = "unknown_box"  # the code names no registered red box
    INVALID = "invalid"  # not a code this system signed (typed in, damaged, forged)
    OUTDATED = "outdated"  # signed, but the box's code has been rotated since it was printed
    RETIRED = "retired"  # the box is no longer in service


@dataclass(frozen=True)
class Actor:
    """Who did it: a user and the role they held when they did it."""

    user_id: UUID
    role: Role


SYSTEM_USER_ID = UUID("00000000-0000-5000-8000-000000000000")
SYSTEM = Actor(SYSTEM_USER_ID, Role.SYSTEM)


@dataclass(frozen=True)
class GeoPoint:
    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not (-90.0 <= self.lat <= 90.0) or not (-180.0 <= self.lon <= 180.0):
            raise InvalidInput(
                "A position needs a latitude between -90 and 90 and a longitude between -180 and 180.", field="position"
            )

    def metres_to(self, other: GeoPoint) -> float:
        r = 6_371_000.0
        p1, p2 = math.radians(self.lat), math.radians(other.lat)
        dp, dl = p2 - p1, math.radians(other.lon - self.lon)
        a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        return 2 * r * math.asin(math.sqrt(a))


@dataclass(frozen=True)
class SealedContact:
    """A reporter's name and phone, encrypted with that reporter's own key (kept outside the log)."""

    key_id: str
    ciphertext: str


@dataclass(frozen=True)
class Zone:
    """A polygon in a camera's view, in coordinates relative to the frame (0..1). `name` is how rules and
    alerts refer to it (English or Thai); `name_th` its Thai name when `name` is English."""

    name: str
    points: tuple[tuple[float, float], ...]
    name_th: str = ""

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise InvalidInput("A zone needs a name.", field="zones")
        if len(self.points) < 3:
            raise InvalidInput("Zone '{zone}' needs at least three corners.", field="zones", zone=self.name)
        if any(not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0) for x, y in self.points):
            raise InvalidInput("Zone '{zone}' has a corner outside the picture.", field="zones", zone=self.name)
        if _self_crossing(self.points):
            raise InvalidInput(
                "Zone '{zone}' crosses itself: draw its corners in order around the area.",
                field="zones",
                zone=self.name,
            )


def _segments_cross(
    a: tuple[float, float], b: tuple[float, float], c: tuple[float, float], d: tuple[float, float]
) -> bool:
    def turn(p: tuple[float, float], q: tuple[float, float], r: tuple[float, float]) -> float:
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    d1, d2, d3, d4 = turn(c, d, a), turn(c, d, b), turn(a, b, c), turn(a, b, d)
    return ((d1 > 0) != (d2 > 0)) and ((d3 > 0) != (d4 > 0)) and 0 not in (d1, d2, d3, d4)


def _self_crossing(points: tuple[tuple[float, float], ...]) -> bool:
    """Whether two edges that do not share a corner cross (a bow tie)."""
    n = len(points)
    edges = [(points[i], points[(i + 1) % n]) for i in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            if j == i + 1 or (i == 0 and j == n - 1):
                continue  # neighbours share a corner
            if _segments_cross(*edges[i], *edges[j]):
                return True
    return False


@dataclass(frozen=True)
class DetectionRule:
    """Raise `kind` alerts (score ≥ min_score, blob ≥ min_area of the frame) between start and end,
    local time; start == end means all day. A window may run past midnight (18:00–06:00). `zone`: the
    camera's zone it watches ("" = every zone); `dwell`: for loitering, the seconds of presence before it
    alerts (0 = the default, 30 s)."""

    kind: AlertKind
    start: time = time(0, 0)
    end: time = time(0, 0)
    min_score: float = 0.0
    min_area: float = 0.0
    zone: str = ""
    dwell: int = 0

    def __post_init__(self) -> None:
        if self.kind not in DETECTION_ALERT_KINDS:
            raise InvalidInput("Rules are for detections (motion, person, loitering) only.", field="rules")
        if not (0.0 <= self.min_score <= 1.0) or not (0.0 <= self.min_area <= 1.0):
            raise InvalidInput("Minimum score and area are fractions between 0 and 1.", field="rules")
        if not 0 <= self.dwell <= 86400:
            raise InvalidInput("A loitering time is between 0 s and one day.", field="rules")

    def active_at(self, instant: datetime) -> bool:
        local = instant.astimezone(BANGKOK).time()
        if self.start == self.end:
            return True
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


def is_night(instant: datetime) -> bool:
    hour = instant.astimezone(BANGKOK).hour
    return hour >= 18 or hour < 6


def be_year(instant: datetime) -> int:
    return instant.astimezone(BANGKOK).year + BE_OFFSET


def clean_text(value: str | None, field: str, *, required: bool, max_len: int = MAX_TEXT) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput("The {field} must not be empty.", field=field)
    if len(text) > max_len:
        raise InvalidInput(
            "The {field} is too long ({length} characters; at most {max_len}).",
            field=field,
            length=len(text),
            max_len=max_len,
        )
    if _CONTROL.search(text):
        raise InvalidInput("The {field} contains invisible control characters.", field=field)
    if _SURROGATE.search(text):
        raise InvalidInput("The {field} is not valid text (its encoding is broken); please type it again.", field=field)
    return text


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tabs and line breaks are text; the rest is not
_SURROGATE = re.compile(r"[\ud800-\udfff]")  # half of a UTF-16 pair: no UTF-8 text holds one, and no store takes it


CLOCK_SKEW = timedelta(minutes=2)


def check_occurred_at(occurred_at: datetime, now: datetime) -> None:
    if occurred_at.tzinfo is None:
        raise InvalidInput("The time must say its time zone.", field="occurred_at")
    if occurred_at > now + CLOCK_SKEW:
        raise InvalidInput("The time it happened cannot be in the future.", field="occurred_at")


def parse_enum(enum_cls: type[Enum], value: object, field: str):
    if isinstance(value, enum_cls):
        return value
    try:
        return enum_cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum_cls)
        raise InvalidInput(
            "Unknown {field} '{value}'; expected one of: {allowed}.", field=field, value=value, allowed=allowed
        ) from None
