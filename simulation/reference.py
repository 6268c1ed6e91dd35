"""The zone's reference data, the same for every seed (so that a re-run reuses it): where the communities lie,
the staff, the patrol units and their beats, the red boxes and the cameras."""

from __future__ import annotations

import math
from datetime import time

from domain.values import Community, PartnerSector, Role, UnitKind, Zone

COMMUNITIES = list(Community)
# A 3 × 3 grid of community centres over the zone (lat 19.905–19.915, lon 99.825–99.840).
_LATS = (19.9133, 19.9100, 19.9067)
_LONS = (99.8275, 99.8325, 99.8375)
CENTRES = {c: (_LATS[i // 3], _LONS[i % 3]) for i, c in enumerate(COMMUNITIES)}
COMMUNITY_WEIGHTS = {
    Community.KO_LOI: 1.2,
    Community.THOET_PHRA_KIAT: 0.9,
    Community.KLONG_YAO: 0.8,
    Community.RUA_LEK_NUEA: 1.0,
    Community.RUA_LEK_TAI: 1.0,
    Community.SI_KOET: 1.1,
    Community.WAT_PHRA_KAEO: 1.3,
    Community.CHET_YOT: 1.0,
    Community.RATCHADET_DAMRONG: 0.9,
}

_FIRST = (
    "สมชาย",
    "สมศักดิ์",
    "ประเสริฐ",
    "วิชัย",
    "สุริยา",
    "อนุชา",
    "ธนพล",
    "กิตติพัฒน์",
    "ณัฐวุฒิ",
    "พงศกร",
    "ศุภชัย",
    "อภิชาติ",
    "สุภาพร",
    "กัญญารัตน์",
    "ปิยะนุช",
    "ณัฐธิดา",
    "วราภรณ์",
    "อรุณี",
    "พิมพ์ชนก",
    "ศิริพร",
)
_LAST = (
    "แก้วมณี",
    "ใจดี",
    "ศรีวงศ์",
    "อินต๊ะ",
    "ปัญญาดี",
    "คำมูล",
    "จันทร์แก้ว",
    "บุญเรือง",
    "ธรรมวงศ์",
    "สุวรรณ",
    "ชัยมงคล",
    "ดวงแก้ว",
    "ไชยวงค์",
    "อุตมะ",
    "ทองคำ",
    "พรหมมินทร์",
    "เทพวงศ์",
)


def _person(i: int) -> str:
    return f"{_FIRST[(i * 7) % len(_FIRST)]} {_LAST[(i * 5 + 3) % len(_LAST)]}"


def staff() -> list[tuple[str, str, Role]]:
    staff = [(f"dispatcher{i:02d}", f"จ.ส.ต. {_person(i)}", Role.DISPATCHER) for i in range(1, 7)]
    ranks = ("ส.ต.ต.", "ส.ต.ท.", "ส.ต.อ.", "จ.ส.ต.", "ด.ต.")
    staff += [(f"officer{i:02d}", f"{ranks[i % len(ranks)]} {_person(i + 6)}", Role.OFFICER) for i in range(1, 25)]
    staff += [
        (f"supervisor{i:02d}", f"{('ร.ต.อ.', 'พ.ต.ต.', 'พ.ต.ท.')[i - 1]} {_person(i + 30)}", Role.SUPERVISOR)
        for i in range(1, 4)
    ]
    staff += [
        ("auditor01", f"นางสาว{_person(34)} (ผู้ตรวจสอบภายใน)", Role.AUDITOR),
        ("partner01", "ผู้แทนเทศบาลนครเชียงราย", Role.PARTNER),
        ("partner02", "ผู้แทนหอการค้าจังหวัดเชียงราย", Role.PARTNER),
    ]
    return staff


# (code prefix, kind, how many); foot and bicycle patrols keep to a beat of nearby communities.
UNITS = (
    ("CAR", UnitKind.CAR, 3),
    ("MC", UnitKind.MOTORCYCLE, 5),
    ("FOOT", UnitKind.FOOT, 2),
    ("BIKE", UnitKind.BICYCLE, 2),
)
BEATS = {
    "FOOT-1": (Community.KO_LOI, Community.THOET_PHRA_KIAT, Community.KLONG_YAO, Community.SI_KOET),
    "FOOT-2": (Community.SI_KOET, Community.WAT_PHRA_KAEO, Community.RUA_LEK_TAI, Community.RUA_LEK_NUEA),
    "BIKE-1": (
        Community.RUA_LEK_NUEA,
        Community.RUA_LEK_TAI,
        Community.SI_KOET,
        Community.KO_LOI,
        Community.WAT_PHRA_KAEO,
    ),
    "BIKE-2": (
        Community.CHET_YOT,
        Community.RATCHADET_DAMRONG,
        Community.WAT_PHRA_KAEO,
        Community.SI_KOET,
        Community.RUA_LEK_TAI,
    ),
}
SPEED_M_PER_S = {UnitKind.CAR: 7.0, UnitKind.MOTORCYCLE: 7.0, UnitKind.BICYCLE: 3.5, UnitKind.FOOT: 1.2}
TRAVEL_MEDIAN_MIN = {UnitKind.CAR: 6.0, UnitKind.MOTORCYCLE: 5.0, UnitKind.BICYCLE: 7.0, UnitKind.FOOT: 9.0}

BOX_PLACES = (
    ("ซอย 3", "Soi 3"),
    ("หน้าวัด", "temple gate"),
    ("ตลาด", "market"),
    ("สวนสาธารณะ", "park"),
    ("ทางเข้าชุมชน", "community entrance"),
    ("ศาลาชุมชน", "community hall"),
    ("หน้าโรงเรียน", "school gate"),
    ("ซอย 7", "Soi 7"),
)
BOXES_PER_COMMUNITY = (4, 4, 3, 3, 3, 3, 4, 3, 3)  # 30 red boxes
CAMERA_PLACES = (
    "main junction",
    "Soi 3 entrance",
    "temple car park",
    "market lane",
    "footbridge",
    "school gate",
    "riverside walk",
    "bus stop",
    "community hall",
    "night-market lane",
)
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
    (
        Zone("gate", ((0.30, 0.35), (0.70, 0.35), (0.75, 0.95), (0.25, 0.95))),
        Zone("parking", ((0.00, 0.50), (0.28, 0.50), (0.28, 1.00), (0.00, 1.00))),
    ),
    (Zone("road", ((0.00, 0.60), (1.00, 0.45), (1.00, 1.00), (0.00, 1.00))),),
)
NIGHT = (time(18, 0), time(6, 0))
ALL_DAY = (time(0, 0), time(0, 0))
LATE_NIGHT = (time(22, 0), time(5, 0))


def offset(lat: float, lon: float, metres: float, bearing: float) -> tuple[float, float]:
    dlat = metres * math.cos(bearing) / 110_540.0
    dlon = metres * math.sin(bearing) / (111_320.0 * math.cos(math.radians(lat)))
    return round(lat + dlat, 6), round(lon + dlon, 6)


_GOLDEN = math.pi * (3 - math.sqrt(5))


def spread(centre: tuple[float, float], k: int, base: float) -> tuple[float, float]:
    """The k-th of several points spread around a centre (a golden-angle spiral), fixed for all runs."""
    return offset(centre[0], centre[1], base + 45.0 * k, 0.7 + _GOLDEN * k)
