"""What happens in the zone, and how often: categories with their hours, priorities, outcomes and words; channels;
dispatch delays; camera alerts and their escalations; the notes, reasons and names people use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate

from domain.values import AlertKind, Category, Channel, Outcome, Priority


@dataclass(frozen=True)
class Habits:
    weight: float
    night: float  # multiplier of the base hourly curve at night
    priorities: tuple[float, float, float, float]  # P1..P4
    on_scene: float  # median minutes on scene
    outcomes: tuple[tuple[Outcome, float], ...]
    texts: tuple[tuple[str, str], ...]  # (Thai, English)


CATS: dict[Category, Habits] = {
    Category.THEFT: Habits(
        16,
        0.9,
        (0, 0.15, 0.55, 0.30),
        30,
        (
            (Outcome.REPORT_FILED, 45),
            (Outcome.GONE_ON_ARRIVAL, 15),
            (Outcome.ARREST, 10),
            (Outcome.NO_OFFENCE_FOUND, 10),
            (Outcome.REFERRED, 10),
            (Outcome.ASSISTANCE_GIVEN, 10),
        ),
        (
            ("กระเป๋าสตางค์ถูกล้วงขณะเดินตลาด", "Wallet pickpocketed while walking through the market"),
            ("รถจักรยานยนต์หายจากหน้าบ้าน", "Motorcycle stolen from in front of the house"),
            ("โทรศัพท์มือถือถูกขโมยจากโต๊ะร้านอาหาร", "Mobile phone taken from a restaurant table"),
            ("ของหายจากตะกร้ารถจักรยานยนต์", "Items stolen from a motorcycle basket"),
        ),
    ),
    Category.DISTURBANCE: Habits(
        14,
        1.7,
        (0, 0.25, 0.50, 0.25),
        20,
        (
            (Outcome.WARNING_GIVEN, 45),
            (Outcome.MEDIATED, 30),
            (Outcome.NO_OFFENCE_FOUND, 15),
            (Outcome.GONE_ON_ARRIVAL, 10),
        ),
        (
            ("เสียงดังจากงานเลี้ยงเกินเวลา", "Loud party going on after hours"),
            ("กลุ่มวัยรุ่นขับรถจักรยานยนต์เสียงดังรบกวน", "Youths racing noisy motorcycles through the soi"),
            ("คนเมาส่งเสียงดังโวยวายหน้าร้านค้า", "Drunk man shouting outside the shops"),
        ),
    ),
    Category.TRAFFIC_ACCIDENT: Habits(
        12,
        0.8,
        (0.20, 0.45, 0.30, 0.05),
        45,
        ((Outcome.ASSISTANCE_GIVEN, 40), (Outcome.REPORT_FILED, 35), (Outcome.MEDIATED, 20), (Outcome.ARREST, 5)),
        (
            ("รถจักรยานยนต์ชนกับรถเก๋งที่สี่แยก", "Motorcycle and car collided at the junction"),
            ("รถจักรยานยนต์ล้มเอง ผู้ขับขี่บาดเจ็บ", "Motorcyclist fell on the wet road, rider injured"),
            ("รถชนท้ายกันเล็กน้อย คู่กรณีตกลงกันไม่ได้", "Minor rear-end collision, the drivers disagree"),
        ),
    ),
    Category.SUSPICIOUS_PERSON: Habits(
        11,
        1.6,
        (0, 0.30, 0.50, 0.20),
        15,
        (
            (Outcome.NO_OFFENCE_FOUND, 45),
            (Outcome.WARNING_GIVEN, 25),
            (Outcome.GONE_ON_ARRIVAL, 25),
            (Outcome.ARREST, 5),
        ),
        (
            ("ชายแปลกหน้าเดินวนดูบ้านหลายหลัง", "Stranger walking around looking into houses"),
            ("มีคนแปลกหน้ายืนอยู่หน้าโรงเรียนนาน", "Unknown man standing at the school gate for a long time"),
            ("ชายสวมหมวกกันน็อกเดินส่องรถที่จอดไว้", "Man in a helmet looking into parked cars"),
        ),
    ),
    Category.ASSAULT: Habits(
        7,
        1.6,
        (0.35, 0.45, 0.20, 0),
        50,
        (
            (Outcome.ARREST, 25),
            (Outcome.MEDIATED, 20),
            (Outcome.REPORT_FILED, 30),
            (Outcome.REFERRED, 15),
            (Outcome.GONE_ON_ARRIVAL, 10),
        ),
        (
            ("ชายสองคนทะเลาะวิวาทชกต่อยกัน มีผู้บาดเจ็บ", "Two men fighting, one of them bleeding"),
            ("ผู้เสียหายถูกทำร้ายร่างกายหน้าร้านเหล้า", "Victim assaulted outside a bar"),
        ),
    ),
    Category.SEXUAL_HARASSMENT: Habits(
        4,
        1.8,
        (0.30, 0.50, 0.20, 0),
        40,
        (
            (Outcome.ARREST, 20),
            (Outcome.WARNING_GIVEN, 25),
            (Outcome.REPORT_FILED, 30),
            (Outcome.REFERRED, 15),
            (Outcome.GONE_ON_ARRIVAL, 10),
        ),
        (
            ("หญิงแจ้งถูกชายแปลกหน้าเดินตามและพูดจาคุกคาม", "Woman followed and verbally harassed by a stranger"),
            ("มีชายแอบถ่ายภาพนักศึกษาหญิงในหอพัก", "Man seen filming female students at a dormitory"),
            ("ผู้หญิงถูกลวนลามบนทางเท้าขณะเดินกลับบ้าน", "Woman groped on the footpath while walking home"),
        ),
    ),
    Category.DOMESTIC_VIOLENCE: Habits(
        5,
        1.4,
        (0.40, 0.45, 0.15, 0),
        60,
        ((Outcome.MEDIATED, 30), (Outcome.REFERRED, 30), (Outcome.ARREST, 20), (Outcome.REPORT_FILED, 20)),
        (
            ("เพื่อนบ้านได้ยินเสียงทะเลาะและเสียงร้องขอความช่วยเหลือ", "Neighbours hear shouting and a call for help"),
            ("ภรรยาแจ้งถูกสามีทำร้ายร่างกาย", "Woman reports being hit by her husband"),
        ),
    ),
    Category.DRUGS: Habits(
        6,
        1.5,
        (0, 0.30, 0.50, 0.20),
        60,
        ((Outcome.ARREST, 45), (Outcome.NO_OFFENCE_FOUND, 30), (Outcome.GONE_ON_ARRIVAL, 25)),
        (
            ("พบกลุ่มวัยรุ่นมั่วสุมเสพยาในอาคารร้าง", "Youths suspected of using drugs in an empty building"),
            ("มีการซื้อขายยาบ้าบริเวณท้ายซอย", "Suspected methamphetamine dealing at the end of the soi"),
        ),
    ),
    Category.MISSING_PERSON: Habits(
        2,
        0.8,
        (0.30, 0.50, 0.20, 0),
        80,
        ((Outcome.ASSISTANCE_GIVEN, 70), (Outcome.REFERRED, 30)),
        (
            ("ผู้สูงอายุออกจากบ้านแล้วไม่กลับ", "Elderly man with dementia left home and has not returned"),
            ("เด็กพลัดหลงกับผู้ปกครองที่ตลาดกลางคืน", "Child separated from her parents at the night market"),
        ),
    ),
    Category.MEDICAL: Habits(
        8,
        0.9,
        (0.50, 0.35, 0.15, 0),
        25,
        ((Outcome.ASSISTANCE_GIVEN, 80), (Outcome.REFERRED, 20)),
        (("ผู้สูงอายุหมดสติในบ้าน", "Elderly woman unconscious at home"), ("ชายหมดสติข้างถนน", "Man collapsed by the road")),
    ),
    Category.BURGLARY: Habits(
        4,
        1.3,
        (0, 0.35, 0.50, 0.15),
        45,
        (
            (Outcome.REPORT_FILED, 60),
            (Outcome.ARREST, 8),
            (Outcome.GONE_ON_ARRIVAL, 20),
            (Outcome.NO_OFFENCE_FOUND, 12),
        ),
        (
            ("บ้านถูกงัดขณะเจ้าของไม่อยู่", "House broken into while the owners were away"),
            ("ร้านค้าถูกงัดประตูหลัง", "Shop's back door forced open"),
        ),
    ),
    Category.ROBBERY: Habits(
        2,
        1.4,
        (0.60, 0.35, 0.05, 0),
        50,
        ((Outcome.REPORT_FILED, 50), (Outcome.ARREST, 25), (Outcome.GONE_ON_ARRIVAL, 25)),
        (
            ("ถูกกระชากกระเป๋าโดยคนร้ายขับรถจักรยานยนต์", "Bag snatched by a man on a motorcycle"),
            ("ถูกข่มขู่เอาทรัพย์บริเวณทางเดินมืด", "Threatened and robbed on a dark footpath"),
        ),
    ),
    Category.VANDALISM: Habits(
        4,
        1.4,
        (0, 0, 0.50, 0.50),
        20,
        ((Outcome.REPORT_FILED, 50), (Outcome.WARNING_GIVEN, 20), (Outcome.GONE_ON_ARRIVAL, 25), (Outcome.ARREST, 5)),
        (("มีผู้พ่นสีกำแพงวัด", "Graffiti sprayed on the temple wall"), ("ไฟส่องสว่างถูกทุบเสียหาย", "Street light smashed")),
    ),
    Category.FIRE: Habits(
        1,
        1.0,
        (0.80, 0.20, 0, 0),
        70,
        ((Outcome.ASSISTANCE_GIVEN, 70), (Outcome.REFERRED, 30)),
        (
            ("ไฟไหม้กองขยะข้างบ้าน", "Rubbish pile on fire next to a house"),
            ("ควันไฟออกจากร้านค้า", "Smoke coming out of a shop"),
        ),
    ),
    Category.OTHER: Habits(
        4,
        0.8,
        (0, 0, 0.40, 0.60),
        15,
        ((Outcome.ASSISTANCE_GIVEN, 50), (Outcome.NO_OFFENCE_FOUND, 30), (Outcome.WARNING_GIVEN, 20)),
        (
            ("สุนัขจรจัดไล่กัดคนเดินถนน", "Stray dogs chasing pedestrians"),
            ("ผู้พักอาศัยขอความช่วยเหลือเปิดประตูบ้าน", "Resident locked out asks for help"),
            ("รถจอดขวางทางเข้าออก", "Car parked blocking a driveway"),
        ),
    ),
}
# Local hour 0..23: quiet before dawn, busiest in the evening.
BASE_HOURLY = (
    3.0,
    2.4,
    1.8,
    1.3,
    1.0,
    1.0,
    1.3,
    2.0,
    2.6,
    2.8,
    2.9,
    3.0,
    3.2,
    3.1,
    3.0,
    3.2,
    3.6,
    4.2,
    5.0,
    5.8,
    6.2,
    6.0,
    5.2,
    4.0,
)
WEEKDAY_FACTOR = (0.92, 0.90, 0.93, 0.97, 1.12, 1.20, 1.04)  # Monday..Sunday
MONTH_FACTOR = {1: 1.10, 4: 1.20, 7: 0.93, 8: 0.93, 9: 0.93, 12: 1.12}  # cool-season tourists, Songkran, rains
INCIDENTS_PER_DAY = 18.5  # reported by people; camera escalations come on top
CHANNEL_BASE = {
    Channel.PHONE_191: 50,
    Channel.MOBILE_SOS: 13,
    Channel.WALK_IN: 11,
    Channel.PATROL: 9,
    Channel.PARTNER: 6,
    Channel.RED_BOX: 4,
    Channel.CCTV: 2,
}
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
CALL_TO_DISPATCH = {
    Priority.P1: (1.8, 0.7, 4.0),
    Priority.P2: (4.5, 1.5, 12.0),
    Priority.P3: (11.0, 4.0, 30.0),
    Priority.P4: (20.0, 8.0, 45.0),
}
SECOND_UNIT = {Priority.P1: 0.35, Priority.P2: 0.15, Priority.P3: 0.05, Priority.P4: 0.02}
TRIAGE_CATEGORY = {
    Category.SUSPICIOUS_PERSON: Category.DRUGS,
    Category.DISTURBANCE: Category.ASSAULT,
    Category.THEFT: Category.ROBBERY,
    Category.OTHER: Category.DISTURBANCE,
    Category.ASSAULT: Category.DOMESTIC_VIOLENCE,
    Category.BURGLARY: Category.THEFT,
}
ESCALATION = {
    AlertKind.PERSON_AT_NIGHT: (
        (Category.SUSPICIOUS_PERSON, 55),
        (Category.SEXUAL_HARASSMENT, 12),
        (Category.ASSAULT, 10),
        (Category.THEFT, 12),
        (Category.BURGLARY, 11),
    ),
    AlertKind.LOITERING: ((Category.SUSPICIOUS_PERSON, 60), (Category.DRUGS, 25), (Category.VANDALISM, 15)),
    AlertKind.MOTION_IN_ZONE: ((Category.BURGLARY, 40), (Category.VANDALISM, 30), (Category.THEFT, 30)),
}
ESCALATE_SHARE = {AlertKind.PERSON_AT_NIGHT: 0.30, AlertKind.LOITERING: 0.33, AlertKind.MOTION_IN_ZONE: 0.18}
ALERTS_PER_CAMERA_DAY = {AlertKind.PERSON_AT_NIGHT: 0.32, AlertKind.MOTION_IN_ZONE: 0.24, AlertKind.LOITERING: 0.28}
CCTV_TEXTS = {
    Category.SUSPICIOUS_PERSON: "person lingering by parked motorcycles",
    Category.SEXUAL_HARASSMENT: "man following a woman walking alone",
    Category.ASSAULT: "scuffle between two people",
    Category.THEFT: "person taking items from a motorcycle basket",
    Category.BURGLARY: "person climbing over a shop fence",
    Category.DRUGS: "group gathering repeatedly in a dark corner",
    Category.VANDALISM: "person damaging property",
}
OUTCOME_SUMMARIES = {
    Outcome.ARREST: ("จับกุมผู้ต้องหาส่งพนักงานสอบสวน สภ.เมืองเชียงราย", "Suspect arrested and handed to the inquiry officer."),
    Outcome.WARNING_GIVEN: ("ว่ากล่าวตักเตือน ผู้เกี่ยวข้องแยกย้าย", "Warning given; the people involved dispersed."),
    Outcome.MEDIATED: ("ไกล่เกลี่ยจนคู่กรณีตกลงกันได้", "Mediated; the parties agreed to settle."),
    Outcome.ASSISTANCE_GIVEN: ("ให้ความช่วยเหลือเรียบร้อย", "Assistance given; situation handled."),
    Outcome.REFERRED: ("ส่งต่อหน่วยงานที่เกี่ยวข้อง", "Referred to the responsible agency."),
    Outcome.REPORT_FILED: ("ลงบันทึกประจำวันไว้เป็นหลักฐาน", "Statement taken and daily report filed."),
    Outcome.NO_OFFENCE_FOUND: ("ตรวจสอบพื้นที่แล้วไม่พบเหตุ", "Area checked; no offence found."),
    Outcome.GONE_ON_ARRIVAL: ("ถึงที่เกิดเหตุแล้วไม่พบผู้เกี่ยวข้อง", "Nobody found at the scene on arrival."),
}
LOCATIONS = (
    ("ซอย {n}", "Soi {n}"),
    ("หน้าร้านสะดวกซื้อ", "outside the convenience store"),
    ("ตลาดเช้า", "morning market"),
    ("ลานจอดรถวัด", "temple car park"),
    ("ป้ายรถประจำทาง", "bus stop"),
    ("สวนสาธารณะ", "public park"),
    ("หอพักนักศึกษา", "student dormitory"),
    ("ร้านอาหารริมทาง", "street-food stalls"),
    ("สี่แยกไฟแดง", "traffic-light junction"),
    ("หน้าโรงเรียน", "school gate"),
    ("ถนนคนเดิน", "walking street"),
    ("ริมแม่น้ำกก", "Kok riverside path"),
)
DISPATCHER_NOTES = (
    "ผู้แจ้งโทรกลับมาให้ข้อมูลเพิ่มเติม",
    "Caller says the suspect wore a black hoodie.",
    "Caller asks not to be visited at home.",
    "แจ้งเตือนหน่วยใกล้เคียงให้เฝ้าระวัง",
    "Checked nearby CCTV; no clear view.",
    "Second call from the same address.",
)
OFFICER_NOTES = (
    "On scene; talking to the people involved.",
    "ตรวจสอบพื้นที่โดยรอบแล้ว",
    "Ambulance requested from the hospital.",
    "Victim taken to Chiangrai Prachanukroh Hospital.",
    "ถ่ายภาพที่เกิดเหตุไว้แล้ว",
)
VISIT_OBSERVATIONS = (
    "เรียบร้อยดี",
    "All quiet.",
    "ไฟส่องสว่างดับ 2 ดวง",
    "Street light out near the box.",
    "Group of teenagers; advised them to go home.",
    "ร้านค้าปิดหมดแล้ว",
    "Stray dogs around the box.",
    "Spoke with the community volunteer on duty.",
)
ROTATION_REASONS = (
    "QR sticker damaged by rain",
    "Scheduled quarterly rotation",
    "Photo of the code was shared in a chat group",
    "สติกเกอร์ QR ถูกแกะออก",
)
VOID_REASONS = (
    "Scanned at the wrong box by mistake",
    "Test scan during training, not a patrol",
    "Duplicate scan by the same officer",
    "สแกนผิดตู้",
)
FLAG_REASONS = (
    "Officer not seen on CCTV at the check-in time",
    "QR code appears to have been scanned from a photo",
    "Check-in time does not match the unit's GPS track",
)
REOPEN_REASONS = (
    "Victim reported the same person again",
    "New evidence from CCTV review",
    "ผู้เสียหายขอให้ติดตามคดีต่อ",
    "Outcome recorded on the wrong incident",
)
REPORTER_FIRST = ("สมหญิง", "บุญมี", "จันทร์เพ็ญ", "ประยูร", "มาลี", "ทองใบ", "ศรีนวล", "อำพร", "Anna", "David")
REPORTER_LAST = ("คำปัน", "ใจมา", "ศรีสุข", "วงศ์ไชย", "Schmidt", "Miller", "ปันแก้ว", "อินทร์ตา")


def cumulative(weights: Sequence[float]) -> list[float]:
    return list(accumulate(weights))


def is_night_hour(h: int) -> bool:
    return h >= 18 or h < 6
