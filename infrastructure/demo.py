"""A realistic, deterministic demo history of the zone, written through the application's commands.

`generate(app, months=..., seed=...)` simulates the CCOC of the nine communities, minute by minute, for
`months` × 30 days ending at `until`: three 8-hour shifts of patrol units and dispatchers, incidents with
their whole lifecycle (triage, dispatch, travel, on scene, resolution, closing, some reopened, some
cancelled), check-ins at the red boxes, and the alerts of the smart cameras with their triage.

How it works
* A discrete-event simulation: every future action sits in one heap ordered by (time, sequence number),
  so actions run in time order, each aggregate receives its events in time order, and the choice of a
  free unit is made against the state of the units at that simulated moment.
* Every command goes through `ZoneApplication`'s command methods, inside `app.batch(...)`: one atomic
  save per three simulated days (about 2,000 events). Users are created first, outside any batch.
* Several commands (triage, cancel, reopen, notes, flag/void a visit, rotate a token, registrations,
  user creation) take their time from the application's clock rather than from an `occurred_at`
  argument. While it runs, the generator therefore gives the application a *simulated* clock
  (`app.clock` is swapped for one that returns the simulated instant to this thread only, and restored
  afterwards); everything the application stamps "now" is then the simulated now, never the real one.
* All randomness comes from one `random.Random(seed)`; visit and alert ids are drawn from it, incident
  ids follow from their references. Two runs with the same seed into two fresh stores give the same
  event stream (apart from the store's recording timestamps, and the ciphertext of reporter contacts,
  which the vault encrypts with fresh random nonces and keys: they decrypt to the same contacts).
* Re-running into a store that holds a history already reuses the users, units, red boxes and cameras,
  takes the units off duty, and continues the history after the last event of those aggregates.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import random
import sys
import threading
import time as wallclock
from bisect import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timezone
from itertools import accumulate
from typing import Any, TypeVar
from uuid import UUID

from tqdm import tqdm

from application.ports import Contact
from application.zone import ZoneApplication
from domain.accounts import UserAccount
from domain.cameras import Camera
from domain.incident import ReferenceBook
from domain.patrol import PatrolUnit, RedBox
from domain.values import (
    COMMUNITY_NAMES_TH, DETECTION_ALERT_KINDS, SYSTEM_USER_ID, AlertKind, CancelReason, Category, Channel, Community,
    DetectionRule, FalseAlarmReason, GeoPoint, Outcome, PartnerSector, Priority, Role, UnitKind, UnitStatus, Zone, be_year,
)

DEMO_PASSWORD = "demo-password-2569"
DEMO_NAMESPACE = UUID("3b0f6d52-7a55-4c1e-9d0e-5c2a9b8e4f17")
MONTH_DAYS = 30
DAYS_PER_SAVE = 3          # one atomic save per three simulated days: about 2,000 events

LOCAL_OFFSET = 7 * 3600          # Asia/Bangkok: UTC+7 all year
DAY = 86_400
HOUR = 3600
MINUTE = 60
SHIFT = 8 * HOUR                 # shifts start at 06:00, 14:00 and 22:00 local
SHIFT_ORIGIN = 6 * HOUR
SLOT = 2 * HOUR
NIGHT_SLOTS = frozenset({0, 1, 2, 9, 10, 11})   # 00–06 and 18–24 local

T = TypeVar("T")


@dataclass(frozen=True)
class DemoSummary:
    incidents: int
    visits: int
    alerts: int
    events: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        return (f"{self.incidents} incidents, {self.visits} patrol visits, {self.alerts} camera alerts: "
                f"{self.events} events in {self.seconds:.1f} s ({self.events_per_second:,.0f} events/s)")


# --------------------------------------------------------------------------------------------------
# Reference data of the zone (fixed: the same for every seed, so that re-runs reuse it)
# --------------------------------------------------------------------------------------------------

COMMUNITY_NAMES_EN = {
    Community.KO_LOI: "Ko Loi", Community.THOET_PHRA_KIAT: "Thoet Phra Kiat", Community.KLONG_YAO: "Klong Yao",
    Community.RUA_LEK_NUEA: "Rua Lek Nuea", Community.RUA_LEK_TAI: "Rua Lek Tai", Community.SI_KOET: "Si Koet",
    Community.WAT_PHRA_KAEO: "Wat Phra Kaeo", Community.CHET_YOT: "Chet Yot",
    Community.RATCHADET_DAMRONG: "Ratchadet Damrong",
}
COMMUNITIES = list(Community)
# A 3 × 3 grid of community centres over the zone (lat 19.905–19.915, lon 99.825–99.840).
_LATS = (19.9133, 19.9100, 19.9067)
_LONS = (99.8275, 99.8325, 99.8375)
CENTRES = {c: (_LATS[i // 3], _LONS[i % 3]) for i, c in enumerate(COMMUNITIES)}
COMMUNITY_WEIGHTS = {
    Community.KO_LOI: 1.2, Community.THOET_PHRA_KIAT: 0.9, Community.KLONG_YAO: 0.8, Community.RUA_LEK_NUEA: 1.0,
    Community.RUA_LEK_TAI: 1.0, Community.SI_KOET: 1.1, Community.WAT_PHRA_KAEO: 1.3, Community.CHET_YOT: 1.0,
    Community.RATCHADET_DAMRONG: 0.9,
}

_FIRST = ("สมชาย", "สมศักดิ์", "ประเสริฐ", "วิชัย", "สุริยา", "อนุชา", "ธนพล", "กิตติพัฒน์", "ณัฐวุฒิ", "พงศกร",
          "ศุภชัย", "อภิชาติ", "สุภาพร", "กัญญารัตน์", "ปิยะนุช", "ณัฐธิดา", "วราภรณ์", "อรุณี", "พิมพ์ชนก", "ศิริพร")
_LAST = ("แก้วมณี", "ใจดี", "ศรีวงศ์", "อินต๊ะ", "ปัญญาดี", "คำมูล", "จันทร์แก้ว", "บุญเรือง", "ธรรมวงศ์", "สุวรรณ",
         "ชัยมงคล", "ดวงแก้ว", "ไชยวงค์", "อุตมะ", "ทองคำ", "พรหมมินทร์", "เทพวงศ์")


def _person(i: int) -> str:
    return f"{_FIRST[(i * 7) % len(_FIRST)]} {_LAST[(i * 5 + 3) % len(_LAST)]}"


def _staff() -> list[tuple[str, str, Role]]:
    staff = [(f"dispatcher{i:02d}", f"จ.ส.ต. {_person(i)}", Role.DISPATCHER) for i in range(1, 7)]
    ranks = ("ส.ต.ต.", "ส.ต.ท.", "ส.ต.อ.", "จ.ส.ต.", "ด.ต.")
    staff += [(f"officer{i:02d}", f"{ranks[i % len(ranks)]} {_person(i + 6)}", Role.OFFICER) for i in range(1, 25)]
    staff += [(f"supervisor{i:02d}", f"{('ร.ต.อ.', 'พ.ต.ต.', 'พ.ต.ท.')[i - 1]} {_person(i + 30)}", Role.SUPERVISOR)
              for i in range(1, 4)]
    staff += [("auditor01", f"นางสาว{_person(34)} (ผู้ตรวจสอบภายใน)", Role.AUDITOR),
              ("partner01", "ผู้แทนเทศบาลนครเชียงราย", Role.PARTNER),
              ("partner02", "ผู้แทนหอการค้าจังหวัดเชียงราย", Role.PARTNER)]
    return staff


# (code prefix, kind, how many); foot and bicycle patrols keep to a beat of nearby communities.
UNITS = (("CAR", UnitKind.CAR, 3), ("MC", UnitKind.MOTORCYCLE, 5), ("FOOT", UnitKind.FOOT, 2), ("BIKE", UnitKind.BICYCLE, 2))
BEATS = {
    "FOOT-1": (Community.KO_LOI, Community.THOET_PHRA_KIAT, Community.KLONG_YAO, Community.SI_KOET),
    "FOOT-2": (Community.SI_KOET, Community.WAT_PHRA_KAEO, Community.RUA_LEK_TAI, Community.RUA_LEK_NUEA),
    "BIKE-1": (Community.RUA_LEK_NUEA, Community.RUA_LEK_TAI, Community.SI_KOET, Community.KO_LOI, Community.WAT_PHRA_KAEO),
    "BIKE-2": (Community.CHET_YOT, Community.RATCHADET_DAMRONG, Community.WAT_PHRA_KAEO, Community.SI_KOET,
               Community.RUA_LEK_TAI),
}
SPEED_M_PER_S = {UnitKind.CAR: 7.0, UnitKind.MOTORCYCLE: 7.0, UnitKind.BICYCLE: 3.5, UnitKind.FOOT: 1.2}
TRAVEL_MEDIAN_MIN = {UnitKind.CAR: 6.0, UnitKind.MOTORCYCLE: 5.0, UnitKind.BICYCLE: 7.0, UnitKind.FOOT: 9.0}

BOX_PLACES = (("ซอย 3", "Soi 3"), ("หน้าวัด", "temple gate"), ("ตลาด", "market"), ("สวนสาธารณะ", "park"),
              ("ทางเข้าชุมชน", "community entrance"), ("ศาลาชุมชน", "community hall"), ("หน้าโรงเรียน", "school gate"),
              ("ซอย 7", "Soi 7"))
BOXES_PER_COMMUNITY = (4, 4, 3, 3, 3, 3, 4, 3, 3)   # 30 red boxes
CAMERA_PLACES = ("main junction", "Soi 3 entrance", "temple car park", "market lane", "footbridge", "school gate",
                 "riverside walk", "bus stop", "community hall", "night-market lane")
CAMERAS_PER_COMMUNITY = (5, 4, 4, 4, 5, 4, 6, 4, 4)  # 40 cameras
CAMERA_OWNERS = (
    (PartnerSector.POLICE, "สถานีตำรวจภูธรเมืองเชียงราย (Mueang Chiang Rai Police Station)"),
    (PartnerSector.LOCAL_GOVERNMENT, "เทศบาลนครเชียงราย (Chiang Rai City Municipality)"),
    (PartnerSector.BUSINESS, "ร้านค้าในชุมชน (community shop owners)"),
    (PartnerSector.LOCAL_GOVERNMENT, "องค์การบริหารส่วนจังหวัดเชียงราย (Chiang Rai PAO)"),
    (PartnerSector.POLICE, "สถานีตำรวจภูธรเมืองเชียงราย (Mueang Chiang Rai Police Station)"),
    (PartnerSector.STATE_AGENCY, "ที่ว่าการอำเภอเมืองเชียงราย (Mueang Chiang Rai District Office)"),
    (PartnerSector.BUSINESS, "สมาคมผู้ประกอบการไนท์บาซาร์ (Night Bazaar traders' association)"),
    (PartnerSector.CITIZENS, "คณะกรรมการชุมชน (community committee)"),
    (PartnerSector.STATE_AGENCY, "โรงพยาบาลเชียงรายประชานุเคราะห์ (Chiangrai Prachanukroh Hospital)"),
    (PartnerSector.MEDIA, "สื่อมวลชนท้องถิ่นเชียงราย (Chiang Rai local media)"),
)
ZONE_SETS = (
    (Zone("walkway", ((0.05, 0.55), (0.95, 0.55), (0.98, 0.98), (0.02, 0.98))),),
    (Zone("gate", ((0.30, 0.35), (0.70, 0.35), (0.75, 0.95), (0.25, 0.95))),
     Zone("parking", ((0.00, 0.50), (0.28, 0.50), (0.28, 1.00), (0.00, 1.00)))),
    (Zone("road", ((0.00, 0.60), (1.00, 0.45), (1.00, 1.00), (0.00, 1.00))),),
)
NIGHT = (time(18, 0), time(6, 0))
ALL_DAY = (time(0, 0), time(0, 0))
LATE_NIGHT = (time(22, 0), time(5, 0))


def _offset(lat: float, lon: float, metres: float, bearing: float) -> tuple[float, float]:
    dlat = metres * math.cos(bearing) / 110_540.0
    dlon = metres * math.sin(bearing) / (111_320.0 * math.cos(math.radians(lat)))
    return round(lat + dlat, 6), round(lon + dlon, 6)


_GOLDEN = math.pi * (3 - math.sqrt(5))


def _spread(centre: tuple[float, float], k: int, base: float) -> tuple[float, float]:
    """The k-th of several points spread around a centre (a golden-angle spiral), fixed for all runs."""
    return _offset(centre[0], centre[1], base + 45.0 * k, 0.7 + _GOLDEN * k)


# --------------------------------------------------------------------------------------------------
# What happens: categories, priorities, hours, channels, outcomes
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Cat:
    weight: float
    night: float                                  # multiplier of the base hourly curve at night
    priorities: tuple[float, float, float, float]  # P1..P4
    on_scene: float                               # median minutes on scene
    outcomes: tuple[tuple[Outcome, float], ...]
    texts: tuple[tuple[str, str], ...]            # (Thai, English)


O = Outcome
CATS: dict[Category, _Cat] = {
    Category.THEFT: _Cat(16, 0.9, (0, .15, .55, .30), 30, (
        (O.REPORT_FILED, 45), (O.GONE_ON_ARRIVAL, 15), (O.ARREST, 10), (O.NO_OFFENCE_FOUND, 10), (O.REFERRED, 10),
        (O.ASSISTANCE_GIVEN, 10)), (
        ("กระเป๋าสตางค์ถูกล้วงขณะเดินตลาด", "Wallet pickpocketed while walking through the market"),
        ("รถจักรยานยนต์หายจากหน้าบ้าน", "Motorcycle stolen from in front of the house"),
        ("โทรศัพท์มือถือถูกขโมยจากโต๊ะร้านอาหาร", "Mobile phone taken from a restaurant table"),
        ("ของหายจากตะกร้ารถจักรยานยนต์", "Items stolen from a motorcycle basket"))),
    Category.DISTURBANCE: _Cat(14, 1.7, (0, .25, .50, .25), 20, (
        (O.WARNING_GIVEN, 45), (O.MEDIATED, 30), (O.NO_OFFENCE_FOUND, 15), (O.GONE_ON_ARRIVAL, 10)), (
        ("เสียงดังจากงานเลี้ยงเกินเวลา", "Loud party going on after hours"),
        ("กลุ่มวัยรุ่นขับรถจักรยานยนต์เสียงดังรบกวน", "Youths racing noisy motorcycles through the soi"),
        ("คนเมาส่งเสียงดังโวยวายหน้าร้านค้า", "Drunk man shouting outside the shops"))),
    Category.TRAFFIC_ACCIDENT: _Cat(12, 0.8, (.20, .45, .30, .05), 45, (
        (O.ASSISTANCE_GIVEN, 40), (O.REPORT_FILED, 35), (O.MEDIATED, 20), (O.ARREST, 5)), (
        ("รถจักรยานยนต์ชนกับรถเก๋งที่สี่แยก", "Motorcycle and car collided at the junction"),
        ("รถจักรยานยนต์ล้มเอง ผู้ขับขี่บาดเจ็บ", "Motorcyclist fell on the wet road, rider injured"),
        ("รถชนท้ายกันเล็กน้อย คู่กรณีตกลงกันไม่ได้", "Minor rear-end collision, the drivers disagree"))),
    Category.SUSPICIOUS_PERSON: _Cat(11, 1.6, (0, .30, .50, .20), 15, (
        (O.NO_OFFENCE_FOUND, 45), (O.WARNING_GIVEN, 25), (O.GONE_ON_ARRIVAL, 25), (O.ARREST, 5)), (
        ("ชายแปลกหน้าเดินวนดูบ้านหลายหลัง", "Stranger walking around looking into houses"),
        ("มีคนแปลกหน้ายืนอยู่หน้าโรงเรียนนาน", "Unknown man standing at the school gate for a long time"),
        ("ชายสวมหมวกกันน็อกเดินส่องรถที่จอดไว้", "Man in a helmet looking into parked cars"))),
    Category.ASSAULT: _Cat(7, 1.6, (.35, .45, .20, 0), 50, (
        (O.ARREST, 25), (O.MEDIATED, 20), (O.REPORT_FILED, 30), (O.REFERRED, 15), (O.GONE_ON_ARRIVAL, 10)), (
        ("ชายสองคนทะเลาะวิวาทชกต่อยกัน มีผู้บาดเจ็บ", "Two men fighting, one of them bleeding"),
        ("ผู้เสียหายถูกทำร้ายร่างกายหน้าร้านเหล้า", "Victim assaulted outside a bar"))),
    Category.SEXUAL_HARASSMENT: _Cat(4, 1.8, (.30, .50, .20, 0), 40, (
        (O.ARREST, 20), (O.WARNING_GIVEN, 25), (O.REPORT_FILED, 30), (O.REFERRED, 15), (O.GONE_ON_ARRIVAL, 10)), (
        ("หญิงแจ้งถูกชายแปลกหน้าเดินตามและพูดจาคุกคาม", "Woman followed and verbally harassed by a stranger"),
        ("มีชายแอบถ่ายภาพนักศึกษาหญิงในหอพัก", "Man seen filming female students at a dormitory"),
        ("ผู้หญิงถูกลวนลามบนทางเท้าขณะเดินกลับบ้าน", "Woman groped on the footpath while walking home"))),
    Category.DOMESTIC_VIOLENCE: _Cat(5, 1.4, (.40, .45, .15, 0), 60, (
        (O.MEDIATED, 30), (O.REFERRED, 30), (O.ARREST, 20), (O.REPORT_FILED, 20)), (
        ("เพื่อนบ้านได้ยินเสียงทะเลาะและเสียงร้องขอความช่วยเหลือ", "Neighbours hear shouting and a call for help"),
        ("ภรรยาแจ้งถูกสามีทำร้ายร่างกาย", "Woman reports being hit by her husband"))),
    Category.DRUGS: _Cat(6, 1.5, (0, .30, .50, .20), 60, (
        (O.ARREST, 45), (O.NO_OFFENCE_FOUND, 30), (O.GONE_ON_ARRIVAL, 25)), (
        ("พบกลุ่มวัยรุ่นมั่วสุมเสพยาในอาคารร้าง", "Youths suspected of using drugs in an empty building"),
        ("มีการซื้อขายยาบ้าบริเวณท้ายซอย", "Suspected methamphetamine dealing at the end of the soi"))),
    Category.MISSING_PERSON: _Cat(2, 0.8, (.30, .50, .20, 0), 80, (
        (O.ASSISTANCE_GIVEN, 70), (O.REFERRED, 30)), (
        ("ผู้สูงอายุออกจากบ้านแล้วไม่กลับ", "Elderly man with dementia left home and has not returned"),
        ("เด็กพลัดหลงกับผู้ปกครองที่ตลาดกลางคืน", "Child separated from her parents at the night market"))),
    Category.MEDICAL: _Cat(8, 0.9, (.50, .35, .15, 0), 25, (
        (O.ASSISTANCE_GIVEN, 80), (O.REFERRED, 20)), (
        ("ผู้สูงอายุหมดสติในบ้าน", "Elderly woman unconscious at home"),
        ("ชายหมดสติข้างถนน", "Man collapsed by the road"))),
    Category.BURGLARY: _Cat(4, 1.3, (0, .35, .50, .15), 45, (
        (O.REPORT_FILED, 60), (O.ARREST, 8), (O.GONE_ON_ARRIVAL, 20), (O.NO_OFFENCE_FOUND, 12)), (
        ("บ้านถูกงัดขณะเจ้าของไม่อยู่", "House broken into while the owners were away"),
        ("ร้านค้าถูกงัดประตูหลัง", "Shop's back door forced open"))),
    Category.ROBBERY: _Cat(2, 1.4, (.60, .35, .05, 0), 50, (
        (O.REPORT_FILED, 50), (O.ARREST, 25), (O.GONE_ON_ARRIVAL, 25)), (
        ("ถูกกระชากกระเป๋าโดยคนร้ายขับรถจักรยานยนต์", "Bag snatched by a man on a motorcycle"),
        ("ถูกข่มขู่เอาทรัพย์บริเวณทางเดินมืด", "Threatened and robbed on a dark footpath"))),
    Category.VANDALISM: _Cat(4, 1.4, (0, 0, .50, .50), 20, (
        (O.REPORT_FILED, 50), (O.WARNING_GIVEN, 20), (O.GONE_ON_ARRIVAL, 25), (O.ARREST, 5)), (
        ("มีผู้พ่นสีกำแพงวัด", "Graffiti sprayed on the temple wall"),
        ("ไฟส่องสว่างถูกทุบเสียหาย", "Street light smashed"))),
    Category.FIRE: _Cat(1, 1.0, (.80, .20, 0, 0), 70, (
        (O.ASSISTANCE_GIVEN, 70), (O.REFERRED, 30)), (
        ("ไฟไหม้กองขยะข้างบ้าน", "Rubbish pile on fire next to a house"),
        ("ควันไฟออกจากร้านค้า", "Smoke coming out of a shop"))),
    Category.OTHER: _Cat(4, 0.8, (0, 0, .40, .60), 15, (
        (O.ASSISTANCE_GIVEN, 50), (O.NO_OFFENCE_FOUND, 30), (O.WARNING_GIVEN, 20)), (
        ("สุนัขจรจัดไล่กัดคนเดินถนน", "Stray dogs chasing pedestrians"),
        ("ผู้พักอาศัยขอความช่วยเหลือเปิดประตูบ้าน", "Resident locked out asks for help"),
        ("รถจอดขวางทางเข้าออก", "Car parked blocking a driveway"))),
}
# Local hour 0..23: quiet before dawn, busiest in the evening.
BASE_HOURLY = (3.0, 2.4, 1.8, 1.3, 1.0, 1.0, 1.3, 2.0, 2.6, 2.8, 2.9, 3.0,
               3.2, 3.1, 3.0, 3.2, 3.6, 4.2, 5.0, 5.8, 6.2, 6.0, 5.2, 4.0)
WEEKDAY_FACTOR = (0.92, 0.90, 0.93, 0.97, 1.12, 1.20, 1.04)   # Monday..Sunday
MONTH_FACTOR = {1: 1.10, 4: 1.20, 7: 0.93, 8: 0.93, 9: 0.93, 12: 1.12}  # cool-season tourists, Songkran, rains
INCIDENTS_PER_DAY = 18.5   # reported by people; camera escalations come on top
CHANNEL_BASE = {Channel.PHONE_191: 50, Channel.MOBILE_SOS: 13, Channel.WALK_IN: 11, Channel.PATROL: 9,
                Channel.PARTNER: 6, Channel.RED_BOX: 4, Channel.CCTV: 2}
CHANNEL_BIAS: dict[Category, dict[Channel, float]] = {
    Category.SEXUAL_HARASSMENT: {Channel.MOBILE_SOS: 2.2, Channel.RED_BOX: 1.5},
    Category.ASSAULT: {Channel.MOBILE_SOS: 1.6, Channel.WALK_IN: 0.5},
    Category.MEDICAL: {Channel.PHONE_191: 1.5, Channel.PATROL: 0.3, Channel.WALK_IN: 0},
    Category.FIRE: {Channel.PHONE_191: 1.5, Channel.WALK_IN: 0},
    Category.DRUGS: {Channel.PATROL: 2.5, Channel.CCTV: 2},
    Category.SUSPICIOUS_PERSON: {Channel.PATROL: 2.5, Channel.CCTV: 2},
    Category.TRAFFIC_ACCIDENT: {Channel.PHONE_191: 1.3, Channel.PATROL: 1.5, Channel.WALK_IN: 0},
    Category.DISTURBANCE: {Channel.WALK_IN: 0},
    Category.ROBBERY: {Channel.MOBILE_SOS: 1.5},
}
# Call-to-dispatch: median minutes, lowest, highest.
CALL_TO_DISPATCH = {Priority.P1: (1.8, 0.7, 4.0), Priority.P2: (4.5, 1.5, 12.0), Priority.P3: (11.0, 4.0, 30.0),
                    Priority.P4: (20.0, 8.0, 45.0)}
SECOND_UNIT = {Priority.P1: 0.35, Priority.P2: 0.15, Priority.P3: 0.05, Priority.P4: 0.02}
TRIAGE_CATEGORY = {Category.SUSPICIOUS_PERSON: Category.DRUGS, Category.DISTURBANCE: Category.ASSAULT,
                   Category.THEFT: Category.ROBBERY, Category.OTHER: Category.DISTURBANCE,
                   Category.ASSAULT: Category.DOMESTIC_VIOLENCE, Category.BURGLARY: Category.THEFT}
ESCALATION = {
    AlertKind.PERSON_AT_NIGHT: ((Category.SUSPICIOUS_PERSON, 55), (Category.SEXUAL_HARASSMENT, 12), (Category.ASSAULT, 10),
                                (Category.THEFT, 12), (Category.BURGLARY, 11)),
    AlertKind.LOITERING: ((Category.SUSPICIOUS_PERSON, 60), (Category.DRUGS, 25), (Category.VANDALISM, 15)),
    AlertKind.MOTION_IN_ZONE: ((Category.BURGLARY, 40), (Category.VANDALISM, 30), (Category.THEFT, 30)),
}
ESCALATE_SHARE = {AlertKind.PERSON_AT_NIGHT: 0.30, AlertKind.LOITERING: 0.33, AlertKind.MOTION_IN_ZONE: 0.18}
ALERTS_PER_CAMERA_DAY = {AlertKind.PERSON_AT_NIGHT: 0.32, AlertKind.MOTION_IN_ZONE: 0.24, AlertKind.LOITERING: 0.28}
CCTV_TEXTS = {
    Category.SUSPICIOUS_PERSON: "person lingering by parked motorcycles",
    Category.SEXUAL_HARASSMENT: "man following a woman walking alone",
    Category.ASSAULT: "scuffle between two people", Category.THEFT: "person taking items from a motorcycle basket",
    Category.BURGLARY: "person climbing over a shop fence", Category.DRUGS: "group gathering repeatedly in a dark corner",
    Category.VANDALISM: "person damaging property",
}
OUTCOME_SUMMARIES = {
    O.ARREST: ("จับกุมผู้ต้องหาส่งพนักงานสอบสวน สภ.เมืองเชียงราย", "Suspect arrested and handed to the inquiry officer."),
    O.WARNING_GIVEN: ("ว่ากล่าวตักเตือน ผู้เกี่ยวข้องแยกย้าย", "Warning given; the people involved dispersed."),
    O.MEDIATED: ("ไกล่เกลี่ยจนคู่กรณีตกลงกันได้", "Mediated; the parties agreed to settle."),
    O.ASSISTANCE_GIVEN: ("ให้ความช่วยเหลือเรียบร้อย", "Assistance given; situation handled."),
    O.REFERRED: ("ส่งต่อหน่วยงานที่เกี่ยวข้อง", "Referred to the responsible agency."),
    O.REPORT_FILED: ("ลงบันทึกประจำวันไว้เป็นหลักฐาน", "Statement taken and daily report filed."),
    O.NO_OFFENCE_FOUND: ("ตรวจสอบพื้นที่แล้วไม่พบเหตุ", "Area checked; no offence found."),
    O.GONE_ON_ARRIVAL: ("ถึงที่เกิดเหตุแล้วไม่พบผู้เกี่ยวข้อง", "Nobody found at the scene on arrival."),
}
LOCATIONS = (("ซอย {n}", "Soi {n}"), ("หน้าร้านสะดวกซื้อ", "outside the convenience store"), ("ตลาดเช้า", "morning market"),
             ("ลานจอดรถวัด", "temple car park"), ("ป้ายรถประจำทาง", "bus stop"), ("สวนสาธารณะ", "public park"),
             ("หอพักนักศึกษา", "student dormitory"), ("ร้านอาหารริมทาง", "street-food stalls"),
             ("สี่แยกไฟแดง", "traffic-light junction"),
             ("หน้าโรงเรียน", "school gate"), ("ถนนคนเดิน", "walking street"), ("ริมแม่น้ำกก", "Kok riverside path"))
DISPATCHER_NOTES = ("ผู้แจ้งโทรกลับมาให้ข้อมูลเพิ่มเติม", "Caller says the suspect wore a black hoodie.",
                    "Caller asks not to be visited at home.", "แจ้งเตือนหน่วยใกล้เคียงให้เฝ้าระวัง",
                    "Checked nearby CCTV; no clear view.", "Second call from the same address.")
OFFICER_NOTES = ("On scene; talking to the people involved.", "ตรวจสอบพื้นที่โดยรอบแล้ว",
                 "Ambulance requested from the hospital.", "Victim taken to Chiangrai Prachanukroh Hospital.",
                 "ถ่ายภาพที่เกิดเหตุไว้แล้ว")
VISIT_OBSERVATIONS = ("เรียบร้อยดี", "All quiet.", "ไฟส่องสว่างดับ 2 ดวง", "Street light out near the box.",
                      "Group of teenagers; advised them to go home.", "ร้านค้าปิดหมดแล้ว", "Stray dogs around the box.",
                      "Spoke with the community volunteer on duty.")
ROTATION_REASONS = ("QR sticker damaged by rain", "Scheduled quarterly rotation", "Photo of the code was shared in a chat group",
                    "สติกเกอร์ QR ถูกแกะออก")
VOID_REASONS = ("Scanned at the wrong box by mistake", "Test scan during training, not a patrol",
                "Duplicate scan by the same officer", "สแกนผิดตู้")
FLAG_REASONS = ("Officer not seen on CCTV at the check-in time", "QR code appears to have been scanned from a photo",
                "Check-in time does not match the unit's GPS track")
REOPEN_REASONS = ("Victim reported the same person again", "New evidence from CCTV review",
                  "ผู้เสียหายขอให้ติดตามคดีต่อ", "Outcome recorded on the wrong incident")
REPORTER_FIRST = ("สมหญิง", "บุญมี", "จันทร์เพ็ญ", "ประยูร", "มาลี", "ทองใบ", "ศรีนวล", "อำพร", "Anna", "David")
REPORTER_LAST = ("คำปัน", "ใจมา", "ศรีสุข", "วงศ์ไชย", "Schmidt", "Miller", "ปันแก้ว", "อินทร์ตา")



def _cum(weights: Sequence[float]) -> list[float]:
    return list(accumulate(weights))


def _is_night_hour(h: int) -> bool:
    return h >= 18 or h < 6


# --------------------------------------------------------------------------------------------------
# The simulation
# --------------------------------------------------------------------------------------------------

AVAILABLE, ASSIGNED, OFF, GONE = "available", "assigned", "off", "gone"
DISPATCHED, EN_ROUTE, ON_SCENE, CLEARED = "dispatched", "en_route", "on_scene", "cleared"
ACTIVE = (DISPATCHED, EN_ROUTE, ON_SCENE)
OPEN, RESOLVED, CLOSED, CANCELLED = "open", "resolved", "closed", "cancelled"


class _SimClock:
    """The application's clock while the generator runs: the simulated instant for the generating
    thread, the real clock for every other thread."""

    def __init__(self, real: Callable[[], datetime]):
        self.real = real
        self.thread = threading.get_ident()
        self.now: datetime | None = None

    def __call__(self) -> datetime:
        if self.now is not None and threading.get_ident() == self.thread:
            return self.now
        return self.real()


class _Unit:
    __slots__ = ("idx", "id", "call_sign", "kind", "beat", "status", "incident", "crew", "next_crew", "planned", "leaving", "job")

    def __init__(self, idx: int, call_sign: str, kind: UnitKind):
        self.idx = idx
        self.id = PatrolUnit.id_for(call_sign)
        self.call_sign = call_sign
        self.kind = kind
        self.beat = BEATS.get(call_sign)
        self.status = OFF
        self.incident: _Inc | None = None
        self.crew: list[UUID] = []
        self.next_crew: list[UUID] = []
        self.planned = False
        self.leaving = False
        self.job = 0


class _Box:
    __slots__ = ("id", "code", "community", "lat", "lon", "x", "y", "token_version", "retired")

    def __init__(self, code: str, community: Community, lat: float, lon: float):
        self.id = RedBox.id_for(code)
        self.code, self.community, self.lat, self.lon = code, community, lat, lon
        self.x = (lon - 99.83) * 111_320.0 * math.cos(math.radians(19.91))
        self.y = (lat - 19.91) * 110_540.0
        self.token_version = 1
        self.retired = False


class _Cam:
    __slots__ = ("id", "code", "name", "community", "rules", "zones", "retired", "offline_until")

    def __init__(self, code: str, name: str, community: Community, rules: list[DetectionRule], zones: Sequence[Zone]):
        self.id = Camera.id_for(code)
        self.code, self.name, self.community, self.rules, self.zones = code, name, community, rules, zones
        self.retired = False
        self.offline_until = 0


class _Inc:
    __slots__ = ("id", "category", "priority", "community", "channel", "reported", "phase", "units", "epoch",
                 "resolve_pending", "cancel_plan", "self_unit", "second", "arrived")

    def __init__(self, id: UUID, category: Category, priority: Priority, community: Community, channel: Channel, reported: int):
        self.id, self.category, self.priority, self.community, self.channel = id, category, priority, community, channel
        self.reported = reported
        self.phase = OPEN
        self.units: dict[int, str] = {}
        self.epoch = 0
        self.resolve_pending = False
        self.cancel_plan: str | None = None
        self.self_unit: _Unit | None = None
        self.second = False
        self.arrived = False

    def active(self) -> bool:
        return any(s in ACTIVE for s in self.units.values())


class _Alert:
    __slots__ = ("id", "cam", "kind", "raised", "status")

    def __init__(self, id: UUID, cam: _Cam, kind: AlertKind, raised: int):
        self.id, self.cam, self.kind, self.raised = id, cam, kind, raised
        self.status = "raised"


class _Visit:
    __slots__ = ("id", "officer", "voided")

    def __init__(self, id: UUID, officer: UUID):
        self.id, self.officer, self.voided = id, officer, False


def _dt(t: int) -> datetime:
    return datetime.fromtimestamp(t, timezone.utc)


class _Sim:
    def __init__(self, app: ZoneApplication, clock: _SimClock, rng: random.Random, seed: int, salt: int,
                 start: int, until: int):
        self.app, self.clock, self.rng, self.seed, self.salt = app, clock, rng, seed, salt
        self.start, self.until = start, until
        self.salt_bits = int.from_bytes(hashlib.sha256(f"{DEMO_NAMESPACE}/{salt}".encode()).digest()[:16], "big") if salt else 0
        self.heap: list[tuple[int, int, Callable[..., None], tuple[Any, ...]]] = []
        self.seq = 0
        self.incidents = self.visits = self.alerts = self.missed_visits = 0
        staff = _staff()
        ids = {name: UserAccount.id_for(name) for name, _, _ in staff}
        self.dispatchers = [[ids[f"dispatcher{2 * c + i:02d}"] for i in (1, 2)] for c in range(3)]
        self.officers = [[ids[f"officer{8 * c + i:02d}"] for i in range(1, 9)] for c in range(3)]
        self.supervisors = [ids[f"supervisor{c + 1:02d}"] for c in range(3)]
        self.units = [_Unit(idx, call_sign, kind) for idx, (call_sign, kind) in enumerate(
            (f"{prefix}-{i}", kind) for prefix, kind, n in UNITS for i in range(1, n + 1))]
        self.boxes = self._boxes()
        self.cams = self._cams()
        self.last_visit: dict[UUID, tuple[int, _Box, UUID]] = {}
        self.recent: dict[Community, list[_Inc]] = {c: [] for c in COMMUNITIES}
        # Precomputed weighted choices.
        cats = list(CATS)
        self.cat_table = (cats, _cum([CATS[c].weight for c in cats]))
        self.hour_tables = {c: _cum([BASE_HOURLY[h] * (CATS[c].night if _is_night_hour(h) else 1.0)
                                     * (1.6 if c is Category.TRAFFIC_ACCIDENT and h in (7, 8, 16, 17) else 1.0)
                                     for h in range(24)]) for c in cats}
        channels = list(CHANNEL_BASE)
        self.channel_tables = {c: (channels, _cum([CHANNEL_BASE[ch] * CHANNEL_BIAS.get(c, {}).get(ch, 1.0) for ch in channels]))
                               for c in cats}
        self.community_table = (COMMUNITIES, _cum([COMMUNITY_WEIGHTS[c] for c in COMMUNITIES]))
        self.priority_table = {c: (list(Priority), _cum(CATS[c].priorities)) for c in cats}
        self.outcome_table = {c: ([o for o, _ in CATS[c].outcomes], _cum([w for _, w in CATS[c].outcomes])) for c in cats}
        self.escalation_table = {k: ([c for c, _ in v], _cum([w for _, w in v])) for k, v in ESCALATION.items()}
        self.callers = [self._contact() for _ in range(25)]

    # --- reference data ---------------------------------------------------------------------------
    @staticmethod
    def _boxes() -> list[_Box]:
        boxes = []
        for ci, (community, n) in enumerate(zip(COMMUNITIES, BOXES_PER_COMMUNITY)):
            for k in range(n):
                lat, lon = _spread(CENTRES[community], k + ci, 60.0)
                boxes.append(_Box(f"RB-{len(boxes) + 1:02d}", community, lat, lon))
        return boxes

    @staticmethod
    def _cams() -> list[_Cam]:
        cams = []
        for ci, (community, n) in enumerate(zip(COMMUNITIES, CAMERAS_PER_COMMUNITY)):
            for k in range(n):
                i = len(cams) + 1
                rules = []
                if i % 7 != 3:    # most cameras watch for people at night
                    rules.append(DetectionRule(AlertKind.PERSON_AT_NIGHT, *NIGHT, min_score=0.5, min_area=0.01))
                if i % 5 in (1, 3):
                    rules.append(DetectionRule(AlertKind.MOTION_IN_ZONE, *LATE_NIGHT, min_score=0.3, min_area=0.02))
                if i % 4 == 2:
                    rules.append(DetectionRule(AlertKind.LOITERING, *ALL_DAY, min_score=0.6, min_area=0.01))
                place = CAMERA_PLACES[(ci + 3 * k) % len(CAMERA_PLACES)]
                cams.append(_Cam(f"CAM-{i:02d}", f"{place.capitalize()}, {COMMUNITY_NAMES_EN[community]}", community, rules,
                                 ZONE_SETS[i % len(ZONE_SETS)]))
        return cams

    # --- scheduling and randomness ----------------------------------------------------------------
    def at(self, t: int, fn: Callable[..., None], *args: Any) -> None:
        if t <= self.until:
            heapq.heappush(self.heap, (t, self.seq, fn, args))
            self.seq += 1

    def run_until(self, stop: int) -> None:
        heap, clock = self.heap, self.clock
        while heap and heap[0][0] < stop:
            t, _, fn, args = heapq.heappop(heap)
            clock.now = _dt(t)
            fn(t, *args)

    def uuid(self) -> UUID:
        """An id from the seeded generator; `salt` (the store's position before this run) keeps a re-run's ids apart."""
        return UUID(int=self.rng.getrandbits(128) ^ self.salt_bits, version=4)

    def pick(self, table: tuple[list[T], list[float]]) -> T:
        items, cum = table
        return items[bisect(cum, self.rng.random() * cum[-1])]

    def logn(self, median: float, sigma: float, lo: float, hi: float) -> float:
        return min(hi, max(lo, median * math.exp(self.rng.gauss(0.0, sigma))))

    def poisson(self, lam: float) -> int:
        if lam <= 0:
            return 0
        if lam > 60:
            return max(0, round(self.rng.gauss(lam, math.sqrt(lam))))
        limit, k, p = math.exp(-lam), 0, self.rng.random()
        while p > limit:
            k += 1
            p *= self.rng.random()
        return k

    def uniform(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def text(self, pair: tuple[str, str], thai_share: float = 0.55) -> str:
        return pair[0] if self.rng.random() < thai_share else pair[1]

    def _contact(self) -> Contact:
        rng = self.rng
        return Contact(f"{rng.choice(REPORTER_FIRST)} {rng.choice(REPORTER_LAST)}", f"08{rng.randint(0, 99_999_999):08d}")

    # --- who is on shift --------------------------------------------------------------------------
    @staticmethod
    def shift_no(t: int) -> int:
        return (t + LOCAL_OFFSET - SHIFT_ORIGIN) // SHIFT

    def crew_of(self, t: int) -> int:
        n = self.shift_no(t)
        return (n % 3 + n // 21) % 3      # each crew takes every shift in turn, a week at a time

    def dispatcher(self, t: int) -> UUID:
        return self.rng.choice(self.dispatchers[self.crew_of(t)])

    def supervisor(self, t: int) -> UUID:
        return self.supervisors[self.crew_of(t)]

    # --- days -------------------------------------------------------------------------------------
    def plan_day(self, day: int) -> None:
        """Schedules what starts on the local day beginning at `day` (local midnight, as a UTC epoch)."""
        rng, start = self.rng, self.start
        local = _dt(day + LOCAL_OFFSET)
        for hour in (6, 14, 22):
            if day + hour * HOUR > start:
                self.at(day + hour * HOUR, self.shift_change)
        # Incidents reported by people.
        lam = (INCIDENTS_PER_DAY * WEEKDAY_FACTOR[local.weekday()] * MONTH_FACTOR.get(local.month, 1.0)
               * rng.gammavariate(25, 1 / 25))     # some days are busier than others
        for _ in range(self.poisson(lam)):
            category = self.pick(self.cat_table)
            hour = bisect(self.hour_tables[category], rng.random() * self.hour_tables[category][-1])
            t = day + hour * HOUR + rng.randrange(HOUR)
            if t >= start:
                self.at(t, self.report, category)
        # Patrol visits: most (box, night slot) pairs get a visit, fewer by day.
        for slot in range(12):
            night = slot in NIGHT_SLOTS
            slot_start = day + slot * SLOT
            for box in self.boxes:
                if box.retired:
                    continue
                r = rng.random()
                if night:
                    n = 0 if r < 0.08 else 1 if r < 0.70 else 2 if r < 0.97 else 3
                else:
                    n = 0 if r < 0.50 else 1 if r < 0.92 else 2
                for _ in range(n):
                    t = slot_start + rng.randint(5 * MINUTE, 110 * MINUTE)
                    if rng.random() < 0.08:          # late
                        t += rng.randint(20 * MINUTE, 75 * MINUTE)
                    if t >= start:
                        self.at(t, self.visit, box)
        for box in self.boxes:
            if not box.retired and rng.random() < 1 / 55:
                t = day + rng.randint(9 * HOUR, 16 * HOUR)
                if t >= start:
                    self.at(t, self.rotate, box)
        # Camera alerts.
        rainy = 5 <= local.month <= 10
        for cam in self.cams:
            if cam.retired:
                continue
            for rule in cam.rules:
                rate = ALERTS_PER_CAMERA_DAY[rule.kind] * (1.3 if rainy and rule.kind is AlertKind.MOTION_IN_ZONE else 1.0)
                for _ in range(self.poisson(rate)):
                    t = self._in_window(day, rule.start, rule.end)
                    if t >= start:
                        self.at(t, self.raise_alert, cam, rule.kind)
            if rng.random() < 1 / 25:
                t = day + rng.randrange(DAY)
                if t >= start:
                    self.at(t, self.offline, cam, int(self.logn(45 * MINUTE, 1.0, 5 * MINUTE, 10 * HOUR)))
            if rng.random() < 1 / 70:
                t = day + rng.randrange(DAY)
                if t >= start:
                    self.at(t, self.tampered, cam)

    def _in_window(self, day: int, start: time, end: time) -> int:
        rng = self.rng
        if start == end:     # all day, busier in the evening
            hours = self.hour_tables[Category.SUSPICIOUS_PERSON]
            hour = bisect(hours, rng.random() * hours[-1])
            return day + hour * HOUR + rng.randrange(HOUR)
        s, e = start.hour * HOUR + start.minute * MINUTE, end.hour * HOUR + end.minute * MINUTE
        if s < e:
            return day + s + rng.randrange(e - s)
        # Past midnight: [s, 24h) ∪ [0, e) of the same local day.
        x = rng.randrange(DAY - s + e)
        return day + (s + x if x < DAY - s else x - (DAY - s))

    # --- shifts and units -------------------------------------------------------------------------
    def plan_shift(self, t: int) -> None:
        n = self.shift_no(t)
        s = n % 3
        cars, mcs, foot, bikes = ([u for u in self.units if u.kind is k and u.status != GONE]
                                  for k in (UnitKind.CAR, UnitKind.MOTORCYCLE, UnitKind.FOOT, UnitKind.BICYCLE))

        def rotate(units: list[_Unit], k: int) -> list[_Unit]:
            return [units[(n + j) % len(units)] for j in range(min(k, len(units)))]

        if s == 0:       # 06–14
            chosen = rotate(cars, 1) + rotate(mcs, 3) + rotate(foot, 2) + rotate(bikes, 1)
        elif s == 1:     # 14–22
            chosen = rotate(cars, 2) + rotate(mcs, 3) + rotate(foot, 1)
        else:            # 22–06
            chosen = rotate(cars, 2) + rotate(mcs, 4)
        crew = self.rng.sample(self.officers[self.crew_of(t)], 8)
        for u in self.units:
            u.planned = False
        i = 0
        for u in chosen:
            k = 2 if u.kind is UnitKind.CAR else 1
            u.planned, u.next_crew = True, crew[i:i + k] or crew[-1:]
            i += k

    def first_shift(self, t: int) -> None:
        self.plan_shift(t)
        for u in self.units:
            if u.planned and u.status == OFF:
                self.at(t + self.uniform(0, 120), self.unit_on, u)

    def shift_change(self, t: int) -> None:
        self.plan_shift(t)
        for u in self.units:
            if u.status == AVAILABLE:
                u.leaving = True
                self.at(t + self.uniform(0, 10 * MINUTE), self.unit_off, u)
            elif u.status == ASSIGNED:
                u.leaving = True          # goes off duty once cleared
            elif u.status == OFF and u.planned:
                self.at(t + self.uniform(0, 8 * MINUTE), self.unit_on, u)

    def unit_on(self, t: int, u: _Unit) -> None:
        if u.status != OFF or not u.planned:
            return
        self.app.unit_on_duty(u.id, officer_ids=u.next_crew, by=u.next_crew[0], occurred_at=self.clock.now)
        u.status, u.crew = AVAILABLE, u.next_crew

    def unit_off(self, t: int, u: _Unit) -> None:
        if u.status != AVAILABLE or not u.leaving:
            return
        self.app.unit_off_duty(u.id, by=u.crew[0], reason="End of shift", occurred_at=self.clock.now)
        u.status, u.leaving, u.crew = OFF, False, []
        if u.planned:
            self.at(t + self.uniform(MINUTE, 5 * MINUTE), self.unit_on, u)

    def free(self, t: int, u: _Unit) -> None:
        u.status, u.incident = AVAILABLE, None
        if u.leaving:
            self.at(t + self.uniform(MINUTE, 5 * MINUTE), self.unit_off, u)

    def free_units(self, community: Community | None = None) -> list[_Unit]:
        return [u for u in self.units if u.status == AVAILABLE and not u.leaving
                and (u.beat is None or community is None or community in u.beat)]

    # --- incidents --------------------------------------------------------------------------------
    def _location(self, community: Community) -> str:
        th, en = self.rng.choice(LOCATIONS)
        n = self.rng.randint(1, 15)
        if self.rng.random() < 0.55:
            return f"{th.format(n=n)} ชุมชน{COMMUNITY_NAMES_TH[community]}"
        return f"{en.format(n=n)}, {COMMUNITY_NAMES_EN[community]}"

    def _position(self, community: Community) -> GeoPoint | None:
        if self.rng.random() > 0.75:
            return None
        lat, lon = CENTRES[community]
        return GeoPoint(*_offset(lat, lon, self.rng.uniform(0, 280), self.rng.uniform(0, 2 * math.pi)))

    def report(self, t: int, category: Category, duplicate_of: _Inc | None = None) -> None:
        rng = self.rng
        if duplicate_of is not None:
            community, priority = duplicate_of.community, duplicate_of.priority
            channel = Channel.PHONE_191 if rng.random() < 0.7 else Channel.MOBILE_SOS
        else:
            community = self.pick(self.community_table)
            priority = self.pick(self.priority_table[category])
            channel = self.pick(self.channel_tables[category])
        by = self.dispatcher(t)
        reporting_unit = None
        if channel is Channel.PATROL:
            units = self.free_units(community)
            if units:
                reporting_unit = rng.choice(units)
                by = rng.choice(reporting_unit.crew)
            else:
                channel = Channel.PHONE_191
        occurred = t
        if channel is Channel.WALK_IN and rng.random() < 0.5:     # happened a while before it was reported
            occurred = max(self.start, t - self.uniform(10 * MINUTE, 2 * HOUR))
        contact = None
        if channel in (Channel.PHONE_191, Channel.WALK_IN, Channel.MOBILE_SOS) and rng.random() < 0.06:
            contact = rng.choice(self.callers) if rng.random() < 0.25 else self._contact()
        description = self.text(rng.choice(CATS[category].texts))
        if duplicate_of is not None:
            prefix = "ผู้แจ้งอีกรายแจ้งเหตุเดียวกัน: " if rng.random() < 0.5 else "Another caller reports the same: "
            description = prefix + description
        result = self.app.report_incident(
            channel=channel, category=category, priority=priority, community=community, location=self._location(community),
            description=description, by=by, occurred_at=_dt(occurred), position=self._position(community), contact=contact)
        self.incidents += 1
        inc = _Inc(result.id, category, priority, community, channel, t)
        if duplicate_of is not None:
            self.at(t + self.uniform(MINUTE, 4 * MINUTE), self.cancel, inc, CancelReason.DUPLICATE, duplicate_of)
            return
        self._remember(inc, t)
        self.lifecycle(t, inc, reporting_unit)

    def _remember(self, inc: _Inc, t: int) -> None:
        recent = self.recent[inc.community]
        recent.append(inc)
        while recent and recent[0].reported < t - HOUR:
            recent.pop(0)

    def lifecycle(self, t: int, inc: _Inc, reporting_unit: _Unit | None = None) -> None:
        """Plans what happens to a new incident: triage, notes, cancellation, dispatch or desk resolution."""
        rng = self.rng
        r = rng.random()
        if r < 0.025:
            inc.cancel_plan = "false_early" if rng.random() < 0.4 else "false_late"
        elif r < 0.04:
            inc.cancel_plan = "withdrawn"
        if rng.random() < 0.30:
            self.at(t + self.uniform(MINUTE, 10 * MINUTE), self.note, inc, None)
        dispatch_at = None
        triage_at = t + self.uniform(40, 150) if rng.random() < 0.14 else None
        if triage_at is not None:
            self.at(triage_at, self.triage, inc)
        if inc.cancel_plan == "false_early":
            self.at(t + self.uniform(2 * MINUTE, 6 * MINUTE), self.cancel, inc, CancelReason.FALSE_REPORT, None)
        elif inc.cancel_plan == "withdrawn":
            self.at(t + self.uniform(3 * MINUTE, 15 * MINUTE), self.cancel, inc, CancelReason.WITHDRAWN, None)
        if reporting_unit is not None:
            inc.self_unit = reporting_unit
            dispatch_at = t + self.uniform(20, 90)
        elif inc.channel is Channel.WALK_IN and inc.category in (
                Category.THEFT, Category.BURGLARY, Category.VANDALISM, Category.OTHER, Category.ROBBERY) and rng.random() < 0.6:
            outcome = O.REPORT_FILED if rng.random() < 0.8 else O.REFERRED
            self.at(t + int(self.logn(35 * MINUTE, 0.5, 10 * MINUTE, 3 * HOUR)), self.desk_resolve, inc, inc.epoch, outcome)
        elif inc.priority is Priority.P4 and rng.random() < 0.12:
            self.at(t + self.uniform(5 * MINUTE, 15 * MINUTE), self.desk_resolve, inc, inc.epoch, O.ASSISTANCE_GIVEN)
        else:
            median, lo, hi = CALL_TO_DISPATCH[inc.priority]
            dispatch_at = t + int(self.logn(median * MINUTE, 0.4, lo * MINUTE, hi * MINUTE))
            if triage_at is not None:
                dispatch_at = max(dispatch_at, triage_at + self.uniform(10, 60))
        if dispatch_at is not None:
            inc.second = rng.random() < SECOND_UNIT[inc.priority]
            self.at(dispatch_at, self.dispatch, inc)
        if inc.channel in (Channel.PHONE_191, Channel.MOBILE_SOS) and inc.cancel_plan is None and rng.random() < 0.035:
            self.at(t + self.uniform(2 * MINUTE, 15 * MINUTE), self.report, inc.category, inc)

    def triage(self, t: int, inc: _Inc) -> None:
        if inc.phase != OPEN:
            return
        rng = self.rng
        order = list(Priority)
        i = order.index(inc.priority)
        r = rng.random()
        category, priority = None, None
        if r < 0.2 and inc.category in TRIAGE_CATEGORY:
            category = TRIAGE_CATEGORY[inc.category]
            reason = "Reclassified after calling the reporter back"
        elif (r < 0.7 and i > 0) or i == 3:
            priority = order[i - 1]
            reason = rng.choice(("Caller reports a weapon", "Victim injured; ambulance requested", "Suspect still at the scene",
                                 "ผู้แจ้งแจ้งว่ามีผู้บาดเจ็บ"))
        else:
            priority = order[i + 1]
            reason = rng.choice(("Suspect has left; nobody injured", "Caller confirms the situation is calm",
                                 "ผู้แจ้งแจ้งว่าเหตุสงบแล้ว"))
        self.app.triage_incident(inc.id, reason=reason, by=self.dispatcher(t), category=category, priority=priority)
        inc.category = category or inc.category
        inc.priority = priority or inc.priority

    def note(self, t: int, inc: _Inc, officer: UUID | None) -> None:
        text = self.rng.choice(OFFICER_NOTES if officer else DISPATCHER_NOTES)
        self.app.add_incident_note(inc.id, text=text, by=officer or self.dispatcher(t))

    def _choose(self, inc: _Inc) -> _Unit | None:
        free = [u for u in self.free_units(inc.community) if inc.units.get(u.idx) not in ACTIVE]
        if inc.priority in (Priority.P1, Priority.P2):
            fast = [u for u in free if u.kind in (UnitKind.CAR, UnitKind.MOTORCYCLE)]
            free = fast or free
        return self.rng.choice(free) if free else None

    def _takeable(self, inc: _Inc) -> _Unit | None:
        """A unit busy on a low-priority call that a dispatcher would take for an emergency."""
        candidates = [u for u in self.units if u.status == ASSIGNED and not u.leaving and u.incident is not inc
                      and u.incident is not None and u.incident.priority in (Priority.P3, Priority.P4)
                      and (u.beat is None or inc.community in u.beat)]
        return self.rng.choice(candidates) if candidates else None

    def dispatch(self, t: int, inc: _Inc) -> None:
        if inc.phase != OPEN or inc.active():
            return
        unit, reporter = None, inc.self_unit
        inc.self_unit = None
        if reporter is not None and reporter.status == AVAILABLE and not reporter.leaving:
            unit = reporter
        if unit is None and inc.priority is Priority.P1 and self.rng.random() < 0.2:
            unit = self._takeable(inc)       # the nearest unit is busy on a minor call: take it off that one
        unit = unit or self._choose(inc)
        if unit is None and (inc.priority is Priority.P1 or (inc.priority is Priority.P2 and self.rng.random() < 0.5)):
            unit = self._takeable(inc)
        if unit is None:
            self.at(t + self.uniform(90, 300), self.dispatch, inc)
            return
        self.assign(t, inc, unit, self_reported=unit is reporter)
        if inc.second:
            inc.second = False
            self.at(t + self.uniform(MINUTE, 5 * MINUTE), self.dispatch_second, inc)

    def dispatch_second(self, t: int, inc: _Inc) -> None:
        if inc.phase != OPEN or not inc.active():
            return
        unit = self._choose(inc)
        if unit is not None:
            self.assign(t, inc, unit)

    def assign(self, t: int, inc: _Inc, unit: _Unit, self_reported: bool = False) -> None:
        previous = unit.incident if unit.status == ASSIGNED else None
        reason = ""
        if previous is not None:
            reason = f"Taken from a {previous.priority.value} call for a {inc.priority.value} emergency"
        self.app.dispatch_unit(inc.id, unit.id, by=self.dispatcher(t), reassign=previous is not None, reason=reason,
                               occurred_at=self.clock.now)
        idx = unit.idx
        if previous is not None:
            previous.units[idx] = CLEARED
            if not previous.active():
                previous.epoch += 1
                previous.resolve_pending = False
                self.at(t + self.uniform(2 * MINUTE, 6 * MINUTE), self.dispatch, previous)
        unit.status, unit.incident = ASSIGNED, inc
        unit.job += 1
        inc.units[idx] = DISPATCHED
        if self_reported:
            self.at(t + self.uniform(10, 60), self.on_scene, inc, unit, unit.job)
            return
        median = TRAVEL_MEDIAN_MIN[unit.kind] * (0.75 if inc.priority is Priority.P1 else 1.0)
        travel = int(self.logn(median * MINUTE, 0.4, 2 * MINUTE, 20 * MINUTE))
        if self.rng.random() < 0.85:
            self.at(t + self.uniform(15, min(120, travel - 30)), self.en_route, inc, unit, unit.job)
        self.at(t + travel, self.on_scene, inc, unit, unit.job)

    def _still(self, inc: _Inc, unit: _Unit, job: int, states: tuple[str, ...]) -> bool:
        return (unit.job == job and unit.incident is inc and inc.phase == OPEN
                and inc.units.get(unit.idx) in states)

    def en_route(self, t: int, inc: _Inc, unit: _Unit, job: int) -> None:
        if self._still(inc, unit, job, (DISPATCHED,)):
            self.app.mark_en_route(inc.id, unit.id, by=unit.crew[0], occurred_at=self.clock.now)
            inc.units[unit.idx] = EN_ROUTE

    def on_scene(self, t: int, inc: _Inc, unit: _Unit, job: int) -> None:
        if not self._still(inc, unit, job, (DISPATCHED, EN_ROUTE)):
            return
        self.app.mark_on_scene(inc.id, unit.id, by=unit.crew[0], occurred_at=self.clock.now)
        inc.units[unit.idx] = ON_SCENE
        rng = self.rng
        first = not inc.arrived
        inc.arrived = True
        if first and inc.cancel_plan == "false_late":
            self.at(t + self.uniform(5 * MINUTE, 15 * MINUTE), self.cancel, inc, CancelReason.FALSE_REPORT, None)
            return
        if not inc.resolve_pending:
            inc.resolve_pending = True
            duration = int(self.logn(CATS[inc.category].on_scene * MINUTE, 0.5, 8 * MINUTE, 3 * HOUR))
            self.at(t + duration, self.resolve, inc, inc.epoch)
            if rng.random() < 0.15:
                self.at(t + self.uniform(MINUTE, max(MINUTE, duration - MINUTE)), self.note, inc, unit.crew[0])
        elif not first and rng.random() < 0.5:
            self.at(t + self.uniform(10 * MINUTE, 30 * MINUTE), self.clear, inc, unit, job)

    def clear(self, t: int, inc: _Inc, unit: _Unit, job: int) -> None:
        if not self._still(inc, unit, job, ACTIVE):
            return
        idx = unit.idx
        if not any(s in ACTIVE for i, s in inc.units.items() if i != idx):
            return
        self.app.clear_unit(inc.id, unit.id, by=unit.crew[0], reason="Not needed any more; back on patrol",
                            occurred_at=self.clock.now)
        inc.units[idx] = CLEARED
        self.free(t, unit)

    def _release_all(self, t: int, inc: _Inc) -> None:
        for idx, state in inc.units.items():
            if state in ACTIVE:
                inc.units[idx] = CLEARED
                unit = self.units[idx]
                if unit.incident is inc:
                    self.free(t, unit)

    def resolve(self, t: int, inc: _Inc, epoch: int) -> None:
        if inc.phase != OPEN or inc.epoch != epoch:
            return
        on_scene = [self.units[i] for i, s in inc.units.items() if s == ON_SCENE]
        if not on_scene:
            inc.resolve_pending = False
            return
        outcome = self.pick(self.outcome_table[inc.category])
        self.app.resolve_incident(inc.id, outcome=outcome, summary=self.text(OUTCOME_SUMMARIES[outcome], 0.5),
                                  by=on_scene[0].crew[0], occurred_at=self.clock.now)
        self._resolved(t, inc)

    def desk_resolve(self, t: int, inc: _Inc, epoch: int, outcome: Outcome) -> None:
        if inc.phase != OPEN or inc.epoch != epoch or inc.active():
            return
        self.app.resolve_incident(inc.id, outcome=outcome, summary=self.text(OUTCOME_SUMMARIES[outcome], 0.5),
                                  by=self.dispatcher(t), occurred_at=self.clock.now)
        self._resolved(t, inc)

    def _resolved(self, t: int, inc: _Inc) -> None:
        self._release_all(t, inc)
        inc.phase, inc.resolve_pending = RESOLVED, False
        if self.rng.random() < 0.88:
            self.at(t + int(self.logn(6 * HOUR, 0.9, 20 * MINUTE, 72 * HOUR)), self.close, inc)

    def close(self, t: int, inc: _Inc) -> None:
        if inc.phase != RESOLVED:
            return
        reason = self.rng.choice(("", "", "Reviewed; report complete", "ตรวจสอบแล้ว ถูกต้อง"))
        self.app.close_incident(inc.id, by=self.supervisor(t), reason=reason, occurred_at=self.clock.now)
        inc.phase = CLOSED
        if self.rng.random() < 0.015:
            self.at(t + self.uniform(6 * HOUR, 72 * HOUR), self.reopen, inc)

    def reopen(self, t: int, inc: _Inc) -> None:
        if inc.phase not in (RESOLVED, CLOSED):
            return
        self.app.reopen_incident(inc.id, reason=self.rng.choice(REOPEN_REASONS), by=self.supervisor(t))
        inc.phase, inc.resolve_pending, inc.arrived, inc.cancel_plan = OPEN, False, False, None
        inc.epoch += 1
        if self.rng.random() < 0.5:
            self.at(t + self.uniform(5 * MINUTE, 30 * MINUTE), self.dispatch, inc)
        else:
            outcome = O.ARREST if self.rng.random() < 0.3 else O.REPORT_FILED
            self.at(t + self.uniform(30 * MINUTE, 3 * HOUR), self.desk_resolve, inc, inc.epoch, outcome)

    def cancel(self, t: int, inc: _Inc, reason: CancelReason, original: _Inc | None) -> None:
        if inc.phase != OPEN:
            return
        note = ""
        if reason is CancelReason.DUPLICATE and original is not None and original.phase == CANCELLED:
            reason, original, note = CancelReason.WITHDRAWN, None, "The first report of this was cancelled"
        elif reason is CancelReason.FALSE_REPORT:
            note = self.rng.choice(("Nothing found at the address; caller unreachable", "Prank call", "แจ้งเหตุเท็จ"))
        elif reason is CancelReason.WITHDRAWN:
            note = note or self.rng.choice(("Caller called back: no longer needed", "ผู้แจ้งขอยกเลิก"))
        self.app.cancel_incident(inc.id, cancel_reason=reason, by=self.dispatcher(t), note=note,
                                 duplicate_of=original.id if reason is CancelReason.DUPLICATE and original else None)
        self._release_all(t, inc)
        inc.phase = CANCELLED

    # --- red boxes and visits ---------------------------------------------------------------------
    def visit(self, t: int, box: _Box) -> None:
        if box.retired:
            return
        rng = self.rng
        candidates = self.free_units(box.community)
        chosen = None
        for unit in rng.sample(candidates, len(candidates)):
            officer = unit.crew[0] if len(unit.crew) == 1 else rng.choice(unit.crew)
            previous = self.last_visit.get(officer)
            if previous is not None:
                elapsed = t - previous[0]
                metres = math.hypot(previous[1].x - box.x, previous[1].y - box.y)
                if elapsed < 3 * MINUTE or metres > elapsed * SPEED_M_PER_S[unit.kind]:
                    continue
            chosen = unit, officer, previous
            break
        if chosen is None:
            self.missed_visits += 1
            return
        unit, officer, previous = chosen
        r = rng.random()
        far = r < 0.012
        if far:      # scanned nowhere near the box (a photo of the code): the domain flags it
            position = GeoPoint(*_offset(box.lat, box.lon, rng.uniform(400, 900), rng.uniform(0, 2 * math.pi)))
        elif r < 0.80:
            position = GeoPoint(*_offset(box.lat, box.lon, rng.uniform(0, 25), rng.uniform(0, 2 * math.pi)))
        else:
            position = None
        observation = rng.choice(VISIT_OBSERVATIONS) if rng.random() < 0.12 else ""
        vid = self.uuid()
        self.app.log_patrol_visit(box_id=box.id, token_version=box.token_version, by=officer, unit_id=unit.id, position=position,
                                  observation=observation, occurred_at=self.clock.now,
                                  previous_visit_id=previous[2] if previous else None, id=vid)
        self.visits += 1
        self.last_visit[officer] = (t, box, vid)
        r = rng.random()
        if far and rng.random() < 0.35:
            self.at(t + self.uniform(HOUR, 12 * HOUR), self.void_visit, _Visit(vid, officer))
        elif r < 0.03:
            self.at(t + self.uniform(MINUTE, 15 * MINUTE), self.observe, _Visit(vid, officer))
        elif r < 0.034:
            visit = _Visit(vid, officer)
            self.at(t + self.uniform(HOUR, 8 * HOUR), self.flag_visit, visit)
            if rng.random() < 0.4:
                self.at(t + self.uniform(9 * HOUR, 20 * HOUR), self.void_visit, visit)
        elif r < 0.039:
            self.at(t + self.uniform(HOUR, 12 * HOUR), self.void_visit, _Visit(vid, officer))

    def observe(self, t: int, visit: _Visit) -> None:
        if not visit.voided:
            self.app.add_visit_observation(visit.id, text=self.rng.choice(VISIT_OBSERVATIONS), by=visit.officer)

    def flag_visit(self, t: int, visit: _Visit) -> None:
        if not visit.voided:
            self.app.flag_visit(visit.id, reason=self.rng.choice(FLAG_REASONS), by=self.supervisor(t))

    def void_visit(self, t: int, visit: _Visit) -> None:
        if not visit.voided:
            self.app.void_visit(visit.id, reason=self.rng.choice(VOID_REASONS), by=self.supervisor(t))
            visit.voided = True

    def rotate(self, t: int, box: _Box) -> None:
        if not box.retired:
            self.app.rotate_red_box_token(box.id, reason=self.rng.choice(ROTATION_REASONS), by=self.supervisor(t))
            box.token_version += 1

    # --- camera alerts ----------------------------------------------------------------------------
    def _digest(self, alert_id: UUID) -> str:
        return hashlib.sha256(f"ssz-demo-snapshot/{self.seed}/{alert_id}".encode()).hexdigest()

    def _raise(self, t: int, cam: _Cam, kind: AlertKind, score: float, with_snapshot: bool = True) -> _Alert:
        aid = self.uuid()
        zone = self.rng.choice(cam.zones).name if kind in DETECTION_ALERT_KINDS else ""
        self.app.raise_camera_alert(camera_id=cam.id, kind=kind, score=round(score, 3), zone=zone, id=aid,
                                    snapshot_digest=self._digest(aid) if with_snapshot else "", frame_at=self.clock.now)
        self.alerts += 1
        return _Alert(aid, cam, kind, t)

    def _ack_delay(self, t: int) -> int:
        night = _is_night_hour(((t + LOCAL_OFFSET) % DAY) // HOUR)
        return int(self.logn(48 if night else 38, 0.8, 4, 20 * MINUTE))

    def raise_alert(self, t: int, cam: _Cam, kind: AlertKind) -> None:
        if t < cam.offline_until:      # a camera that is down sees nothing
            return
        rng = self.rng
        escalate = rng.random() < ESCALATE_SHARE[kind]
        score = rng.uniform(0.62, 0.98) if escalate else rng.uniform(0.35, 0.9)
        alert = self._raise(t, cam, kind, score)
        if rng.random() < 0.04:       # nobody looked in time; decided later in one go
            self.at(t + self.uniform(5 * MINUTE, 40 * MINUTE), self.decide, alert, escalate)
            return
        ack = t + self._ack_delay(t)
        self.at(ack, self.acknowledge, alert)
        self.at(ack + self.uniform(8, 150), self.decide, alert, escalate)

    def acknowledge(self, t: int, alert: _Alert) -> None:
        if alert.status == "raised":
            self.app.acknowledge_alert(alert.id, by=self.dispatcher(t), occurred_at=self.clock.now)
            alert.status = "acknowledged"

    def decide(self, t: int, alert: _Alert, escalate: bool) -> None:
        if alert.status not in ("raised", "acknowledged"):
            return
        if escalate:
            category = self.pick(self.escalation_table[alert.kind])
            self.escalate(t, alert, category)
        else:
            self.dismiss(t, alert)

    def dismiss(self, t: int, alert: _Alert, reason: FalseAlarmReason | None = None, note: str = "") -> None:
        rng = self.rng
        if reason is None:
            night = _is_night_hour(((t + LOCAL_OFFSET) % DAY) // HOUR)
            month = _dt(t + LOCAL_OFFSET).month
            weights = {FalseAlarmReason.HEADLIGHTS: 30 if night else 8, FalseAlarmReason.ANIMAL: 25,
                       FalseAlarmReason.SHADOW: 6 if night else 22, FalseAlarmReason.WEATHER: 30 if 5 <= month <= 10 else 10,
                       FalseAlarmReason.AUTHORISED_PERSON: 10, FalseAlarmReason.OTHER: 5}
            reasons = list(weights)
            reason = self.pick((reasons, _cum([weights[r] for r in reasons])))
            if reason is FalseAlarmReason.OTHER:
                note = rng.choice(("Reflection on the wet road", "Cleaning staff at work", "Flag moving in the wind", "ใบไม้ไหว"))
            elif rng.random() < 0.2:
                note = rng.choice(("Checked the live view", "ตรวจสอบภาพสดแล้ว", "Known resident"))
        self.app.dismiss_alert(alert.id, reason=reason, note=note, by=self.dispatcher(t), occurred_at=self.clock.now)
        alert.status = "dismissed"
        if rng.random() < 0.75:
            self.at(t + self.uniform(30, 15 * MINUTE), self.close_alert, alert, "False alarm", None)

    def escalate(self, t: int, alert: _Alert, category: Category) -> None:
        rng = self.rng
        priorities, cum = self.priority_table[category]
        priority = self.pick((priorities, cum))
        if priority is Priority.P1 and rng.random() < 0.6:
            priority = Priority.P2
        description = f"CCTV {alert.cam.code}: {CCTV_TEXTS.get(category, 'activity needing a check')}"
        result = self.app.escalate_alert(alert.id, category=category, priority=priority, location=alert.cam.name,
                                         description=description, by=self.dispatcher(t), occurred_at=self.clock.now)
        self.incidents += 1
        alert.status = "escalated"
        self.at(t + self.uniform(2 * MINUTE, 20 * MINUTE), self.close_alert, alert, "Handed over to the incident", None)
        inc = _Inc(result.id, category, priority, alert.cam.community, Channel.CCTV, t)
        same = [i for i in self.recent[inc.community] if i.phase == OPEN and i.reported >= t - 45 * MINUTE]
        if same and rng.random() < 0.6:      # the camera saw what someone had already called in
            self.at(t + self.uniform(MINUTE, 4 * MINUTE), self.cancel, inc, CancelReason.DUPLICATE, same[-1])
            return
        self._remember(inc, t)
        self.lifecycle(t, inc)

    def close_alert(self, t: int, alert: _Alert, reason: str, by: UUID | None) -> None:
        if alert.status == "closed":
            return
        self_clearing = alert.kind in (AlertKind.OFFLINE, AlertKind.TAMPERED) and alert.status in ("raised", "acknowledged")
        if alert.status not in ("dismissed", "escalated") and not self_clearing:
            return
        self.app.close_alert(alert.id, reason=reason, by=by or self.dispatcher(t), occurred_at=self.clock.now)
        alert.status = "closed"

    def offline(self, t: int, cam: _Cam, duration: int) -> None:
        if t < cam.offline_until:
            return
        cam.offline_until = t + duration
        alert = self._raise(t, cam, AlertKind.OFFLINE, 1.0, with_snapshot=False)
        if self.rng.random() < 0.6:
            ack = t + self.uniform(20, 10 * MINUTE)
            if ack < t + duration:
                self.at(ack, self.acknowledge, alert)
        self.at(t + duration, self.close_alert, alert, "Camera back online", SYSTEM_USER_ID)

    def tampered(self, t: int, cam: _Cam) -> None:
        if t < cam.offline_until:
            return
        rng = self.rng
        alert = self._raise(t, cam, AlertKind.TAMPERED, rng.uniform(0.6, 0.95))
        ack = t + self._ack_delay(t)
        self.at(ack, self.acknowledge, alert)
        r = rng.random()
        if r < 0.6:
            self.at(ack + self.uniform(5 * MINUTE, HOUR), self.close_alert, alert, "View restored", SYSTEM_USER_ID)
        elif r < 0.85:
            self.at(ack + self.uniform(20, 200), self.dismiss_tamper, alert)
        else:
            self.at(ack + self.uniform(20, 200), self.escalate_tamper, alert)

    def dismiss_tamper(self, t: int, alert: _Alert) -> None:
        if alert.status in ("raised", "acknowledged"):
            if self.rng.random() < 0.5:
                self.dismiss(t, alert, FalseAlarmReason.WEATHER, "Rain on the lens")
            else:
                self.dismiss(t, alert, FalseAlarmReason.OTHER, "Maintenance crew cleaning the lens")

    def escalate_tamper(self, t: int, alert: _Alert) -> None:
        if alert.status in ("raised", "acknowledged"):
            self.escalate(t, alert, Category.VANDALISM)

    # --- re-runs ----------------------------------------------------------------------------------
    def reconcile(self, t: int) -> None:
        """Brings the simulation's picture of units, boxes and cameras in line with the store (a re-run)."""
        repo = self.app.repository
        for u in self.units:
            unit = repo.get(u.id)
            if unit.status is UnitStatus.RETIRED:
                u.status = GONE
            elif unit.status is UnitStatus.ASSIGNED:
                incident = repo.get(unit.incident_id)
                if u.id in incident.active_unit_ids:
                    self.app.clear_unit(incident.id, u.id, by=self.supervisor(t), reason="Demo history restarted",
                                        occurred_at=self.clock.now)
                    self.app.unit_off_duty(u.id, by=self.supervisor(t), reason="Demo history restarted",
                                           occurred_at=self.clock.now)
                else:
                    u.status = GONE
            elif unit.status is UnitStatus.AVAILABLE:
                self.app.unit_off_duty(u.id, by=self.supervisor(t), reason="Demo history restarted", occurred_at=self.clock.now)
        for b in self.boxes:
            box = repo.get(b.id)
            b.token_version, b.retired = box.token_version, box.retired
        for c in self.cams:
            c.retired = repo.get(c.id).retired


# --------------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------------

def _exists(app: ZoneApplication, aggregate_id: UUID) -> bool:
    return bool(list(app.events.get(aggregate_id, limit=1)))


def _last_occurred(app: ZoneApplication, ids: Sequence[UUID]) -> int | None:
    latest = None
    for aggregate_id in ids:
        for event in app.events.get(aggregate_id, desc=True, limit=1):
            ts = int(event.occurred_at.timestamp())
            latest = ts if latest is None else max(latest, ts)
    return latest


def _create_users(app: ZoneApplication, clock: _SimClock, at: int) -> None:
    for i, (username, display_name, role) in enumerate(_staff()):
        if _exists(app, UserAccount.id_for(username)):
            continue
        clock.now = _dt(at + i)
        app.create_user(username=username, display_name=display_name, role=role, password=DEMO_PASSWORD, by=SYSTEM_USER_ID)


def _register(app: ZoneApplication, sim: _Sim, at: int) -> None:
    clock, admin = sim.clock, sim.supervisors[0]
    clock.now = _dt(at)
    for u in sim.units:
        if not _exists(app, u.id):
            app.register_unit(call_sign=u.call_sign, kind=u.kind, by=admin)
    for b in sim.boxes:
        if not _exists(app, b.id):
            th, en = BOX_PLACES[(sim.boxes.index(b) * 3) % len(BOX_PLACES)]
            app.register_red_box(code=b.code, name_th=f"ตู้แดง {th} {COMMUNITY_NAMES_TH[b.community]}",
                                 name_en=f"Red box {en}, {COMMUNITY_NAMES_EN[b.community]}", community=b.community,
                                 position=GeoPoint(b.lat, b.lon), by=admin)
    clock.now = _dt(at + HOUR)
    for i, c in enumerate(sim.cams):
        if _exists(app, c.id):
            continue
        owner, owner_name = CAMERA_OWNERS[i % len(CAMERA_OWNERS)]
        lat, lon = _spread(CENTRES[c.community], i % 6, 90.0)
        app.register_camera(code=c.code, name=c.name, community=c.community, owner=owner, owner_name=owner_name,
                            consent_reference=f"MOU-CCTV-CR-2568/{i + 1:03d}",
                            source=f"rtsp://10.71.{COMMUNITIES.index(c.community) + 1}.{i + 11}:554/stream1",
                            by=SYSTEM_USER_ID, position=GeoPoint(lat, lon))
        app.set_camera_zones(c.id, zones=list(c.zones), by=SYSTEM_USER_ID)
        app.set_camera_rules(c.id, rules=c.rules, by=SYSTEM_USER_ID)


def generate(app: ZoneApplication, *, months: int, seed: int, until: datetime | None = None,
             progress: bool = True) -> DemoSummary:
    """Writes `months` × 30 days of history ending at `until` (default: now, to the minute) through the
    application's commands; returns what it wrote and how fast."""
    if months <= 0:
        raise ValueError("months must be positive")
    real_now = app.clock()
    if until is None:
        until = real_now.replace(second=0, microsecond=0)
    if until.tzinfo is None:
        raise ValueError("until must say its time zone")
    if until > real_now:
        raise ValueError("until cannot be in the future: the application refuses events that have not happened yet")
    began = wallclock.perf_counter()
    until_ts = int(until.timestamp())
    start_ts = until_ts - int(months * MONTH_DAYS * DAY)
    first_notification = app.recorder.max_notification_id() or 0
    rng = random.Random(seed)
    clock = _SimClock(app.clock)
    original_clock = app.clock
    app.clock = clock
    try:
        sim = _Sim(app, clock, rng, seed, first_notification, start_ts, until_ts)
        rerun = first_notification > 0 and _exists(app, sim.units[0].id)
        if rerun:   # continue after what is there, so that every aggregate's events stay in time order
            books = [ReferenceBook.id_for(be_year(_dt(ts))) for ts in (start_ts, until_ts)]
            units = [app.repository.get(u.id) for u in sim.units]
            busy_on = [u.incident_id for u in units if u.status is UnitStatus.ASSIGNED]     # cleared by `reconcile`
            last = _last_occurred(app, [u.id for u in sim.units] + [b.id for b in sim.boxes] + [c.id for c in sim.cams]
                                  + books + busy_on)
            if last is not None and last + MINUTE > start_ts:
                start_ts = sim.start = last + MINUTE
        if start_ts >= until_ts:
            return DemoSummary(0, 0, 0, 0, wallclock.perf_counter() - began)
        _create_users(app, clock, start_ts - 3 * DAY)
        first_day = start_ts - (start_ts + LOCAL_OFFSET) % DAY
        days = range(first_day, until_ts + 1, DAY)
        written = 0
        with tqdm(total=len(days), unit="day", desc="demo history", disable=not progress) as bar:
            with app.batch(flush_every=sys.maxsize) as batch:
                _register(app, sim, start_ts - 2 * DAY)
                clock.now = _dt(start_ts)
                if rerun:
                    sim.reconcile(start_ts)
                sim.first_shift(start_ts)
            written += batch.events
            for i in range(0, len(days), DAYS_PER_SAVE):
                with app.batch(flush_every=sys.maxsize) as batch:
                    for day in days[i:i + DAYS_PER_SAVE]:
                        sim.plan_day(day)
                        sim.run_until(min(day + DAY, until_ts + 1))
                        bar.update(1)
                written += batch.events
                bar.set_postfix(events=written, refresh=False)
    finally:
        app.clock = original_clock
    events = (app.recorder.max_notification_id() or 0) - first_notification
    return DemoSummary(sim.incidents, sim.visits, sim.alerts, events, wallclock.perf_counter() - began)
